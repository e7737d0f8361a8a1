"""Editing an entry (issue 25): PATCH /blacklist/entries/{id} changes its fields in place, or moves it to
another list (a new entry); PUT /blacklist/phone_numbers/{id} changes a number or its expiry, SMSAPI-style.
Every change is one writer call, recorded on the trail once."""

from datetime import datetime, timezone

import pytest

from tests.api.helpers import URL, add, assert_error, set_expiry

ENTRIES = "/blacklist/entries"
PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def put(client, auth, status: int = 201, **body) -> dict:
    response = client.post(ENTRIES, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def patch(client, auth, entry_id: str, status: int = 200, headers: dict | None = None, **body) -> dict:
    response = client.patch(f"{ENTRIES}/{entry_id}", json=body, headers={**auth, **(headers or {})})
    assert response.status_code == status, response.text
    return response.json()


def events(client, auth) -> list[dict]:
    response = client.get("/blacklist/changes", params={"limit": 10_000}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def live(client, auth) -> list[dict]:
    return client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()["collection"]


@pytest.fixture
def other(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('other')}"}


# PATCH in place


def test_a_patch_changes_what_it_sends_and_keeps_the_rest(client, auth):
    entry = put(client, auth, address="+48500000001", reason="unsubscribed", note="by SMS", expire_at="2099-01-01")

    edited = patch(client, auth, entry["id"], reason="COMPLAINT")

    assert edited["id"] == entry["id"]
    assert (edited["reason"], edited["note"], edited["expire_at"]) == ("complaint", "by SMS", "2099-01-01T00:00:00Z")
    assert edited["created_at"] == entry["created_at"]
    update = events(client, auth)[-1]
    assert (update["op"], update["entry_id"]) == ("update", entry["id"])
    assert update["before"] == {"expire_at": "2099-01-01T00:00:00Z", "note": "by SMS", "reason": "unsubscribed"}
    assert update["after"] == {"expire_at": "2099-01-01T00:00:00Z", "note": "by SMS", "reason": "complaint"}


def test_null_clears_the_expiry_and_the_note(client, auth):
    entry = put(client, auth, address="+48500000001", note="by SMS", expire_at="2099-01-01")

    edited = patch(client, auth, entry["id"], expire_at=None, note=None)

    assert (edited["expire_at"], edited["note"]) == (None, None)
    assert events(client, auth)[-1]["after"] == {"expire_at": None, "note": None, "reason": "manual"}


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_an_empty_or_blank_note_is_no_note_as_null_is(client, auth, blank):
    """A note nobody can see is none: it clears the note (one event), and on an entry without one it changes nothing."""
    entry = put(client, auth, address="+48500000001", note="by SMS")
    before = len(events(client, auth))

    assert patch(client, auth, entry["id"], note=blank)["note"] is None
    assert len(events(client, auth)) == before + 1 and events(client, auth)[-1]["after"]["note"] is None
    assert patch(client, auth, entry["id"], note=blank)["note"] is None
    assert put(client, auth, address="+48500000002", note=blank)["note"] is None
    assert len(events(client, auth)) == before + 2  # the second patch recorded nothing; the new entry its add
    # Blank or not, a note over its length is refused, as the document's maxLength says.
    assert client.patch(f"/blacklist/entries/{entry['id']}", json={"note": " " * 501}, headers=auth).json()["error"] == "invalid_scope"


def test_a_patch_that_changes_nothing_writes_and_records_nothing(client, auth):
    entry = put(client, auth, address="+48500000001", reason="complaint")
    before = len(events(client, auth))

    assert patch(client, auth, entry["id"], reason="complaint", evidence="again") == entry
    assert patch(client, auth, entry["id"]) == entry
    assert len(events(client, auth)) == before


def test_a_patch_carries_its_evidence_and_request_id_to_the_trail(client, auth):
    entry = put(client, auth, address="+48500000001")

    patch(client, auth, entry["id"], headers={"X-Request-Id": "crm-7"}, reason="legal", evidence="court order 12", received_at="2026-11-30T10:00:00Z")

    last = events(client, auth)[-1]
    assert (last["request_id"], last["evidence"], last["received_at"]) == ("crm-7", "court order 12", "2026-11-30T10:00:00Z")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"reason": "bored"}, "invalid_scope"),
        ({"reason": None}, "validation_error"),
        ({"list": None}, "validation_error"),
        ({"list": "maybe"}, "invalid_scope"),
        ({"channel": "fax"}, "invalid_scope"),
        ({"sender": "every"}, "invalid_scope"),
        ({"expire_at": "2020-01-01"}, "invalid_expire_at"),
        ({"note": "x" * 501}, "invalid_scope"),
        ({"address": "+48500000002"}, "validation_error"),
        ({"evidence": "x" * 1001}, "invalid_evidence"),
    ],
)
def test_a_patch_refuses_what_it_cannot_store_and_changes_nothing(client, auth, body, code):
    entry = put(client, auth, address="+48500000001")
    before = len(events(client, auth))

    assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json=body, headers=auth), 400, code)
    assert live(client, auth) == [entry] and len(events(client, auth)) == before


def test_a_patch_of_an_unknown_or_anothers_entry_is_404(client, auth, other):
    entry = put(client, auth, address="+48500000001")

    assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json={"reason": "legal"}, headers=other), 404, "entry_not_found")
    assert_error(client.patch(f"{ENTRIES}/999999", json={"reason": "legal"}, headers=auth), 404, "entry_not_found")
    assert_error(client.patch(f"{ENTRIES}/abc", json={"reason": "legal"}, headers=auth), 404, "entry_not_found")


def test_a_patch_of_a_lapsed_entry_is_404_and_records_its_expiry(app, client, auth):
    entry = put(client, auth, address="+48500000001", expire_at="2099-01-01")
    set_expiry(app, entry["id"], PAST)

    assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json={"reason": "legal"}, headers=auth), 404, "entry_not_found")
    assert (events(client, auth)[-1]["op"], events(client, auth)[-1]["entry_id"]) == ("expire", entry["id"])
    assert live(client, auth) == []


def test_a_patch_body_must_be_a_json_object(client, auth):
    entry = put(client, auth, address="+48500000001")

    assert_error(client.patch(f"{ENTRIES}/{entry['id']}", content="reason=legal", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}), 415,
                 "unsupported_media_type")
    assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json=["reason"], headers=auth), 400, "malformed_body")


# PATCH that moves


def test_naming_another_list_moves_the_entry_to_a_new_one_with_its_fields(client, auth):
    entry = put(client, auth, address="Jan@Example.com", reason="unsubscribed", note="by mail", expire_at="2099-01-01")

    moved = patch(client, auth, entry["id"], channel="email", sender=" Acme ", note="moved", headers={"X-Request-Id": "move-1"}, evidence="asked to")

    assert moved["id"] != entry["id"]
    assert {key: moved[key] for key in ("address", "channel", "sender", "list", "reason", "note", "expire_at")} == {
        "address": "Jan@example.com", "channel": "email", "sender": "Acme", "list": "block", "reason": "unsubscribed", "note": "moved",
        "expire_at": "2099-01-01T00:00:00Z",
    }
    assert [item["id"] for item in live(client, auth)] == [moved["id"]]
    removed, added = events(client, auth)[-2:]
    assert (removed["op"], removed["entry_id"], removed["list"]) == ("remove", entry["id"], {"kind": "block", "channel": None, "sender": None})
    assert (added["op"], added["entry_id"], added["list"]) == ("add", moved["id"], {"kind": "block", "channel": "email", "sender": "acme"})
    assert removed["request_id"] == added["request_id"] == "move-1"
    assert removed["evidence"] == f"moved to entry {moved['id']}; asked to"
    assert added["evidence"] == f"moved from entry {entry['id']}; asked to"
    assert added["after"] == {"expire_at": "2099-01-01T00:00:00Z", "note": "moved", "reason": "unsubscribed"}
    assert removed["before"] == {"expire_at": "2099-01-01T00:00:00Z", "note": "by mail", "reason": "unsubscribed"}


def test_a_move_to_the_list_it_is_on_is_an_edit_in_place(client, auth):
    entry = put(client, auth, address="+48500000001", channel="sms")

    edited = patch(client, auth, entry["id"], channel="SMS", list="block", reason="legal")

    assert edited["id"] == entry["id"] and edited["reason"] == "legal"
    assert events(client, auth)[-1]["op"] == "update"


def test_a_move_onto_a_list_that_holds_the_address_is_409_and_changes_nothing(client, auth):
    entry = put(client, auth, address="+48500000001", channel="sms")
    there = put(client, auth, address="+48500000001")
    before = len(events(client, auth))

    body = assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json={"channel": None, "reason": "legal"}, headers=auth), 409, "entry_exists")

    assert there["id"] in body["message"]
    assert sorted(item["id"] for item in live(client, auth)) == sorted([entry["id"], there["id"]])
    assert live(client, auth)[-1]["reason"] == "manual" and len(events(client, auth)) == before


def test_a_move_onto_a_lapsed_entry_expires_it_first(app, client, auth):
    entry = put(client, auth, address="+48500000001", channel="sms")
    lapsed = put(client, auth, address="+48500000001", expire_at="2099-01-01")
    set_expiry(app, lapsed["id"], PAST)

    moved = patch(client, auth, entry["id"], channel=None)

    assert [(event["op"], event["entry_id"]) for event in events(client, auth)[-3:]] == [
        ("expire", lapsed["id"]), ("remove", entry["id"]), ("add", moved["id"]),
    ]
    assert [item["id"] for item in live(client, auth)] == [moved["id"]]


def test_an_email_address_cannot_move_to_a_list_of_a_phone_channel(client, auth):
    entry = put(client, auth, address="jan@example.com")

    body = assert_error(client.patch(f"{ENTRIES}/{entry['id']}", json={"channel": "sms"}, headers=auth), 400, "invalid_address")

    assert body["errors"][0]["path"] == "channel"
    assert live(client, auth) == [entry]


def test_a_moved_entrys_history_names_both_entries(client, auth):
    entry = put(client, auth, address="+48500000001")
    moved = patch(client, auth, entry["id"], list="allow")

    old = client.get(f"{ENTRIES}/{entry['id']}/history", headers=auth).json()["events"]
    new = client.get(f"{ENTRIES}/{moved['id']}/history", headers=auth).json()["events"]

    assert [event["op"] for event in old] == ["add", "remove"] and [event["op"] for event in new] == ["add"]
    assert_error(client.get(f"{ENTRIES}/{entry['id']}", headers=auth), 404, "entry_not_found")


# PUT /blacklist/phone_numbers/{id}


def test_put_changes_the_expiry_of_a_number_in_place(client, auth):
    entry = add(client, auth, "+48500000001", "2099-01-01")

    response = client.put(f"{URL}/{entry['id']}", json={"expire_at": None}, headers=auth)

    assert response.status_code == 200, response.text
    assert response.json() == {**entry, "expire_at": None}


def test_put_with_another_number_replaces_the_entry_by_a_new_one(client, auth):
    entry = add(client, auth, "+48500000001", "2099-01-01")

    response = client.put(f"{URL}/{entry['id']}", data={"phone_number": "0048 500 000 002"}, headers=auth)

    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["id"] != entry["id"] and (moved["phone_number"], moved["expire_at"]) == ("48500000002", "2099-01-01T00:00:00Z")
    assert [item["phone_number"] for item in client.get(URL, headers=auth).json()["collection"]] == ["48500000002"]
    removed, added = events(client, auth)[-2:]
    assert removed["evidence"] == f"replaced by 48500000002 (entry {moved['id']})"
    assert added["evidence"] == f"replacing 48500000001 (entry {entry['id']})"


def test_put_onto_a_listed_number_is_409(client, auth):
    first = add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")

    body = assert_error(client.put(f"{URL}/{first['id']}", json={"phone_number": 48500000002}, headers=auth), 409, "entry_exists")

    assert body["errors"][0]["path"] == "phone_number"


def test_put_needs_a_number_or_an_expiry_and_takes_nothing_else(client, auth):
    entry = add(client, auth, "+48500000001")

    assert_error(client.put(f"{URL}/{entry['id']}", json={}, headers=auth), 400, "validation_error")
    assert_error(client.put(f"{URL}/{entry['id']}", json={"evidence": "x"}, headers=auth), 400, "validation_error")
    assert_error(client.put(f"{URL}/{entry['id']}", json={"phone_number": None}, headers=auth), 400, "validation_error")
    assert_error(client.put(f"{URL}/{entry['id']}", json={"expire_at": None, "note": "x"}, headers=auth), 400, "validation_error")
    assert_error(client.put(f"{URL}/{entry['id']}", json={"phone_number": "12345"}, headers=auth), 400, "invalid_phone_number")


def test_put_reaches_only_the_numbers_of_the_default_list(client, auth):
    native = put(client, auth, address="+48500000001", channel="sms")
    email = put(client, auth, address="jan@example.com")

    for entry in (native, email):
        assert_error(client.put(f"{URL}/{entry['id']}", json={"expire_at": None}, headers=auth), 404, "entry_not_found")
