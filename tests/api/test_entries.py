"""The native lists API, /blacklist/entries: add and update, list and page, read and delete, and
how it sits beside SMSAPI's routes, which act on the default list only (issue 10)."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.db import transaction
from stoplist.lists.models import Entry
from tests.api.helpers import TIMESTAMP, URL, add, assert_error, set_expiry

ENTRIES = "/blacklist/entries"
FIELDS = {"id", "address", "address_kind", "channel", "sender", "list", "reason", "note", "source", "expire_at", "created_at", "updated_at"}
PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def put(client, auth, status: int | None = 201, **body) -> dict:
    response = client.post(ENTRIES, json=body, headers=auth)
    if status is not None:
        assert response.status_code == status, response.text
    return response.json()


def page(client, auth, **params) -> dict:
    response = client.get(ENTRIES, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: dict) -> list[str]:
    return [entry["id"] for entry in body["collection"]]


def backdate(app, entry_id: str, moment: datetime) -> None:
    """Move an entry's created_at and updated_at into the past, behind the API's back."""
    with transaction(app.state.session_factory) as session:
        session.execute(update(Entry).where(Entry.id == int(entry_id)).values(created_at=moment, updated_at=moment))


@pytest.fixture
def other(make_token) -> dict[str, str]:
    """Headers for a second account."""
    return {"Authorization": f"Bearer {make_token('other')}"}


# POST /blacklist/entries


def test_a_new_entry_is_201_with_every_field(client, auth):
    entry = put(client, auth, address="+48 500 000 001", channel="whatsapp", sender="ACME", list="allow", reason="other", note="order updates only",
                expire_at="2099-12-01")

    assert set(entry) == FIELDS
    assert entry["id"].isdigit()
    assert {key: entry[key] for key in FIELDS - {"id", "created_at", "updated_at"}} == {
        "address": "48500000001", "address_kind": "phone", "channel": "whatsapp", "sender": "ACME", "list": "allow",
        "reason": "other", "note": "order updates only", "source": "api", "expire_at": "2099-12-01T00:00:00Z",
    }
    assert TIMESTAMP.match(entry["created_at"]) and entry["updated_at"] == entry["created_at"]
    assert client.get(f"{ENTRIES}/{entry['id']}", headers=auth).json() == entry


def test_defaults_are_the_default_list_reason_manual_no_note_no_expiry(client, auth):
    entry = put(client, auth, address="+48500000001")

    assert (entry["channel"], entry["sender"], entry["list"], entry["reason"], entry["note"], entry["expire_at"]) == (None, None, "block", "manual", None, None)


def test_the_same_address_on_the_same_list_is_200_and_the_latest_instruction_wins(client, app, auth):
    first = put(client, auth, address="+48500000001", channel="sms", sender="ACME", reason="complaint", note="called us", expire_at="2099-01-01")
    backdate(app, first["id"], PAST)

    second = put(client, auth, 200, address="48 500 000 001", channel="SMS", sender="ACME", expire_at="2098-06-01T12:00:00Z")

    assert second["id"] == first["id"]
    assert second["expire_at"] == "2098-06-01T12:00:00Z"
    # Left out: the reason and note stay as they were.
    assert (second["reason"], second["note"]) == ("complaint", "called us")
    assert second["created_at"] == "2020-01-01T00:00:00Z"
    assert second["updated_at"] > second["created_at"]

    third = put(client, auth, 200, address="+48500000001", channel="sms", sender="ACME", reason="legal", note=None)
    assert (third["reason"], third["note"], third["expire_at"]) == ("legal", None, None)
    assert page(client, auth)["size"] == 1


def test_the_same_address_on_two_scopes_is_two_entries(client, auth):
    default = put(client, auth, address="+48500000001")
    scoped = put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME")
    allow = put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME", list="allow")

    assert len({default["id"], scoped["id"], allow["id"]}) == 3
    assert page(client, auth, address="+48500000001")["size"] == 3


def test_reason_is_read_in_any_case(client, auth):
    assert put(client, auth, address="+48500000001", reason="UNSUBSCRIBED")["reason"] == "unsubscribed"
    assert put(client, auth, address="+48500000002", reason="Stop_Keyword")["reason"] == "stop_keyword"


@pytest.mark.parametrize(
    ("field", "value"),
    [("reason", "spam"), ("reason", ""), ("channel", "fax"), ("channel", "e-mail"), ("list", "black"), ("list", "WHITE"), ("sender", "A" * 65), ("note", "n" * 501)],
)
def test_an_unknown_reason_channel_or_list_or_a_long_sender_or_note_is_invalid_scope(client, auth, field, value):
    response = client.post(ENTRIES, json={"address": "+48500000001", field: value}, headers=auth)

    body = assert_error(response, 400, "invalid_scope")
    assert body["errors"][0]["path"] == field
    assert page(client, auth)["size"] == 0


def test_a_sender_of_64_characters_is_accepted(client, auth):
    assert put(client, auth, address="+48500000001", sender="S" * 64)["sender"] == "S" * 64


def test_an_email_address_has_its_domain_lower_cased_and_idna_encoded(client, auth):
    entry = put(client, auth, address="  Jan.Kowalski@Example.COM ", channel="email", reason="UNSUBSCRIBED")
    idn = put(client, auth, address="ewa@Bücher.Example")

    assert (entry["address"], entry["address_kind"], entry["channel"]) == ("Jan.Kowalski@example.com", "email", "email")
    assert (idn["address"], idn["address_kind"], idn["channel"]) == ("ewa@xn--bcher-kva.example", "email", None)
    # Another spelling of the same domain is the same entry.
    assert put(client, auth, 200, address="ewa@BÜCHER.example")["id"] == idn["id"]


@pytest.mark.parametrize("address", ["not an address", "jan@", "@example.com", "jan@@example.com", "+48 12", "", "jan@exa mple.com"])
def test_garbage_is_invalid_address(client, auth, address):
    assert_error(client.post(ENTRIES, json={"address": address}, headers=auth), 400, "invalid_address")


@pytest.mark.parametrize("channel", ["sms", "rcs", "whatsapp", "voice"])
def test_an_email_address_does_not_go_on_a_phone_channel(client, auth, channel):
    assert_error(client.post(ENTRIES, json={"address": "jan@example.com", "channel": channel}, headers=auth), 400, "invalid_address")
    assert page(client, auth)["size"] == 0


def test_a_phone_number_does_not_go_on_the_email_channel(client, auth):
    assert_error(client.post(ENTRIES, json={"address": "+48500000001", "channel": "email"}, headers=auth), 400, "invalid_address")
    assert page(client, auth)["size"] == 0


def test_an_unknown_field_is_a_validation_error(client, auth):
    body = assert_error(client.post(ENTRIES, json={"address": "+48500000001", "kind": "allow"}, headers=auth), 400, "validation_error")
    assert any(error["path"].endswith("kind") for error in body["errors"])
    assert page(client, auth)["size"] == 0


def test_a_body_that_is_not_json_is_415(client, auth):
    response = client.post(ENTRIES, content="address=%2B48500000001", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})

    assert_error(response, 415, "unsupported_media_type")
    assert page(client, auth)["size"] == 0


def test_an_expired_entry_added_again_is_a_new_listing(client, app, auth):
    first = put(client, auth, address="+48500000001", channel="sms", reason="complaint", expire_at="2099-01-01")
    backdate(app, first["id"], PAST)
    set_expiry(app, first["id"], PAST + timedelta(days=1))

    again = put(client, auth, 201, address="+48500000001", channel="sms")

    assert again["created_at"] > "2020-01-01T00:00:00Z"
    assert again["updated_at"] == again["created_at"]
    assert again["expire_at"] is None
    assert [entry["id"] for entry in page(client, auth)["collection"]] == [again["id"]]


# GET /blacklist/entries


@pytest.fixture
def spread(client, auth) -> dict[str, dict]:
    """Entries over several scopes, reasons and kinds of address."""
    return {
        "default": put(client, auth, address="+48500000001"),
        "wa_acme": put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME", reason="unsubscribed"),
        "sms": put(client, auth, address="+48600111222", channel="sms", reason="stop_keyword"),
        "allow": put(client, auth, address="+48600111222", channel="sms", sender="ACME", list="allow", reason="other"),
        "email": put(client, auth, address="Jan@Example.com", channel="email", reason="bounce"),
        "email_all": put(client, auth, address="ewa@example.org", sender="Shop", reason="complaint"),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["email_all", "email", "allow", "sms", "wa_acme", "default"]),
        ({"address": "48 500 000 001"}, ["wa_acme", "default"]),
        ({"address": "+48500000001"}, ["wa_acme", "default"]),
        ({"address": "Jan@EXAMPLE.com"}, ["email"]),
        ({"q": "111"}, ["allow", "sms"]),
        ({"q": "500 000"}, ["wa_acme", "default"]),
        ({"q": "example"}, ["email_all", "email"]),
        ({"channel": "sms"}, ["allow", "sms"]),
        ({"channel": "SMS"}, ["allow", "sms"]),
        ({"channel": ""}, ["email_all", "default"]),
        ({"sender": "ACME"}, ["allow", "wa_acme"]),
        ({"sender": ""}, ["email", "sms", "default"]),
        ({"channel": "sms", "sender": ""}, ["sms"]),
        ({"list": "allow"}, ["allow"]),
        ({"list": "block"}, ["email_all", "email", "sms", "wa_acme", "default"]),
        ({"reason": "stop_keyword"}, ["sms"]),
        ({"reason": "MANUAL"}, ["default"]),
        ({"address_kind": "email"}, ["email_all", "email"]),
        ({"address_kind": "phone", "list": "block", "sender": "ACME"}, ["wa_acme"]),
    ],
)
def test_every_filter_selects_exactly_its_entries(client, auth, spread, params, expected):
    body = page(client, auth, **params)

    assert ids(body) == [spread[name]["id"] for name in expected]
    assert body["size"] == len(expected)
    assert body["next_cursor"] is None


@pytest.mark.parametrize(("q", "expected"), [("JAN@", ["upper"]), ("jan@", ["upper"]), ("a_b", ["underscore"]), ("b%e", []), ("EXAMPLE.NET", ["underscore", "other", "upper"])])
def test_q_finds_text_of_an_email_address_in_any_case_and_literally(client, auth, q, expected):
    made = {
        "upper": put(client, auth, address="Jan@Example.net"),
        "other": put(client, auth, address="axb@example.net"),
        "underscore": put(client, auth, address="a_b@example.net"),
    }

    assert ids(page(client, auth, q=q)) == [made[name]["id"] for name in expected]


@pytest.mark.parametrize(("q", "expected"), [("+", ["plus"]), ("%", ["percent"]), (".", ["percent", "plus"]), ("+news", ["plus"]), ("500 00", ["phone"]), (" ", ["phone", "percent", "plus"])])
def test_q_with_no_digit_is_text_of_an_email_address(client, auth, q, expected):
    """No number holds a `+`, `.` or `%` alone: such a q looks for it in e-mail addresses, not for every entry, nor an error."""
    made = {
        "plus": put(client, auth, address="jan+news@example.net"),
        "percent": put(client, auth, address="ewa%list@example.net"),
        "phone": put(client, auth, address="+48500000001"),
    }

    body = page(client, auth, q=q)

    assert sorted(ids(body)) == sorted(made[name]["id"] for name in expected) and body["size"] == len(expected)
    dry = client.delete(ENTRIES, params={"q": q, "dry_run": "true"}, headers=auth)
    assert (dry.status_code, dry.json()) == ((400, dry.json()) if not q.strip() else (200, {"count": len(expected)})), dry.text


@pytest.mark.parametrize(
    ("params", "code"),
    [({"channel": "fax"}, "invalid_scope"), ({"list": "white"}, "invalid_scope"), ({"reason": "spam"}, "invalid_scope"),
     ({"address_kind": "fax"}, "invalid_scope"), ({"address": "nonsense"}, "invalid_address"), ({"cursor": "Zm9yZ2Vk"}, "invalid_cursor"),
     ({"cursor": "not base64 at all!"}, "invalid_cursor"),
     # Well formed, but with an id no row can have: refused, not handed to the database to fail on.
     ({"cursor": "MjAyNi0wMS0wMVQwMDowMDowMFp8OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk"}, "invalid_cursor"),
     ({"cursor": "MjAyNi0wMS0wMVQwMDowMDowMFp8LTE"}, "invalid_cursor"),
     # Base64's decoder would skip the characters outside its alphabet and read the cursor around them.
     ({"cursor": "MjAy!!!!Ni0wMS0wMVQwMDowMDowMFp8MQ"}, "invalid_cursor"), ({"limit": 0}, "validation_error"), ({"limit": 1001}, "validation_error")],
)
def test_an_unknown_filter_value_or_a_forged_cursor_is_400(client, auth, spread, params, code):
    assert_error(client.get(ENTRIES, params=params, headers=auth), 400, code)


def test_size_counts_every_match_while_limit_and_offset_cut_the_page(client, auth, spread):
    newest_first = ids(page(client, auth))

    body = page(client, auth, limit=2, offset=1)

    assert body["size"] == 6
    assert ids(body) == newest_first[1:3]
    assert body["next_cursor"] is not None
    assert ids(page(client, auth, offset=5, limit=2)) == newest_first[5:]
    assert page(client, auth, offset=5, limit=2)["next_cursor"] is None
    assert page(client, auth, offset=50)["collection"] == []


def test_a_cursor_walks_every_entry_once_newest_first_while_entries_are_added(client, auth):
    # The same second for many of them: the order falls back on the id, and so must the cursor.
    added = [put(client, auth, address=f"+4850{index:07d}", channel="sms" if index % 2 else None)["id"] for index in range(250)]
    expected = list(reversed(added))

    walked: list[str] = []
    late: list[str] = []
    cursor = None
    for round_ in range(10):
        params = {"limit": 100} if cursor is None else {"limit": 100, "cursor": cursor}
        body = page(client, auth, **params)
        walked += ids(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        late += [put(client, auth, address=f"+4860{round_:02d}{extra:05d}")["id"] for extra in range(3)]

    assert walked == expected
    assert not set(late) & set(walked)
    assert page(client, auth)["size"] == 250 + len(late)


def test_another_accounts_entries_never_appear(client, auth, other, spread):
    theirs = put(client, other, address="+48500000001", channel="whatsapp", sender="ACME")

    assert ids(page(client, other)) == [theirs["id"]]
    for params in ({}, {"address": "+48500000001"}, {"q": "5000"}, {"channel": "whatsapp"}, {"sender": "ACME"}):
        assert theirs["id"] not in ids(page(client, auth, **params))
        assert set(ids(page(client, other, **params))) <= {theirs["id"]}
    assert page(client, other, address="Jan@example.com")["size"] == 0


def test_expired_entries_are_not_listed(client, app, auth, spread):
    set_expiry(app, spread["sms"]["id"], PAST)

    body = page(client, auth)

    assert spread["sms"]["id"] not in ids(body)
    assert body["size"] == 5


# GET / DELETE /blacklist/entries/{id}


def test_an_unknown_foreign_or_expired_id_is_404(client, app, auth, other, spread):
    theirs = put(client, other, address="+48500000009")
    set_expiry(app, spread["sms"]["id"], PAST)

    for entry_id in ("999999", theirs["id"], spread["sms"]["id"], "abc", "-1", "1" * 30):
        assert_error(client.get(f"{ENTRIES}/{entry_id}", headers=auth), 404, "entry_not_found")
        assert_error(client.delete(f"{ENTRIES}/{entry_id}", headers=auth), 404, "entry_not_found")

    assert client.get(f"{ENTRIES}/{theirs['id']}", headers=other).json() == theirs


def test_delete_removes_only_that_entry(client, auth, spread):
    response = client.delete(f"{ENTRIES}/{spread['wa_acme']['id']}", headers=auth)

    assert response.status_code == 204
    assert_error(client.get(f"{ENTRIES}/{spread['wa_acme']['id']}", headers=auth), 404, "entry_not_found")
    remaining = {name: entry["id"] for name, entry in spread.items() if name != "wa_acme"}
    assert sorted(ids(page(client, auth))) == sorted(remaining.values())
    assert client.get(f"{ENTRIES}/{spread['default']['id']}", headers=auth).json() == spread["default"]
    assert_error(client.delete(f"{ENTRIES}/{spread['wa_acme']['id']}", headers=auth), 404, "entry_not_found")


# SMSAPI's routes act on the default list only


def test_a_scoped_entry_is_invisible_to_smsapis_routes_and_survives_their_deletes(client, auth):
    scoped = put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME")
    allow = put(client, auth, address="+48500000002", list="allow")

    assert client.get(URL, headers=auth).json() == {"size": 0, "collection": []}
    assert client.get(URL, params={"q": "500000001"}, headers=auth).json()["size"] == 0
    assert_error(client.get(f"{URL}/{scoped['id']}", headers=auth), 404, "entry_not_found")
    assert_error(client.delete(f"{URL}/{scoped['id']}", headers=auth), 404, "entry_not_found")
    assert client.delete(URL, params={"phone_number": "+48500000001"}, headers=auth).status_code == 204
    assert client.delete(URL, params={"phone_number": "+48500000002"}, headers=auth).status_code == 204
    assert client.delete(URL, headers=auth).status_code == 204

    assert sorted(ids(page(client, auth))) == sorted([scoped["id"], allow["id"]])


def test_smsapis_delete_all_empties_the_default_list_only(client, auth):
    on_default = add(client, auth, "+48500000001")
    scoped = put(client, auth, address="+48500000001", channel="sms")

    assert client.delete(URL, headers=auth).status_code == 204

    assert ids(page(client, auth)) == [scoped["id"]]
    assert_error(client.get(f"{ENTRIES}/{on_default['id']}", headers=auth), 404, "entry_not_found")


def test_smsapis_delete_of_one_number_leaves_its_scoped_entries(client, auth):
    add(client, auth, "+48500000001")
    scoped = put(client, auth, address="+48500000001", channel="voice", sender="ACME")

    assert client.delete(URL, params={"phone_number": "+48500000001"}, headers=auth).status_code == 204

    assert ids(page(client, auth)) == [scoped["id"]]


def test_an_smsapi_entry_is_on_the_default_list_natively(client, auth):
    entry = add(client, auth, "+48 500 000 001", expire_at="2099-12-01")

    native = client.get(f"{ENTRIES}/{entry['id']}", headers=auth).json()

    assert native == {
        "id": entry["id"], "address": "48500000001", "address_kind": "phone", "channel": None, "sender": None, "list": "block",
        "reason": "manual", "note": None, "source": "api", "expire_at": entry["expire_at"], "created_at": entry["created_at"],
        "updated_at": entry["created_at"],
    }
    # And the native add of the same number on the default list is the same entry.
    assert put(client, auth, 200, address="+48500000001", reason="unsubscribed")["id"] == entry["id"]
    assert client.get(f"{URL}/{entry['id']}", headers=auth).json()["phone_number"] == "48500000001"
