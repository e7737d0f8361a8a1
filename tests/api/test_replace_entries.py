"""Replacing an address by another (issue 25): POST /blacklist/entries/replace moves the old address's
entries, on every list or on the one named, to the new address, in one transaction."""

from datetime import datetime, timezone

from tests.api.helpers import assert_error, set_expiry

ENTRIES = "/blacklist/entries"
REPLACE = f"{ENTRIES}/replace"


def put(client, auth, status: int = 201, **body) -> dict:
    response = client.post(ENTRIES, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def replace(client, auth, status: int = 200, headers: dict | None = None, **body) -> dict:
    response = client.post(REPLACE, json=body, headers={**auth, **(headers or {})})
    assert response.status_code == status, response.text
    return response.json()


def events(client, auth) -> list[dict]:
    return client.get("/blacklist/changes", params={"limit": 10_000}, headers=auth).json()["events"]


def live(client, auth) -> list[tuple]:
    collection = client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()["collection"]
    rows = [(entry["address"], entry["list"], entry["channel"], entry["sender"], entry["reason"], entry["note"], entry["expire_at"]) for entry in collection]
    return sorted(rows, key=lambda row: tuple("" if value is None else value for value in row))


def test_the_new_address_takes_the_old_ones_entries_on_every_list(client, auth):
    put(client, auth, address="+48500000001", reason="unsubscribed", note="by SMS", expire_at="2099-01-01")
    put(client, auth, address="+48500000001", channel="whatsapp", sender="ACME", list="allow", reason="other")
    put(client, auth, address="+48500000003")

    answer = replace(client, auth, old="0048 500 000 001", new="+48 500 000 002", headers={"X-Request-Id": "voodoo-1"}, evidence="number changed")

    assert (answer["old"], answer["new"]) == ("48500000001", "48500000002")
    assert [(entry["address"], entry["list"]) for entry in answer["entries"]] == [("48500000002", "block"), ("48500000002", "allow")]
    assert live(client, auth) == [
        ("48500000002", "allow", "whatsapp", "ACME", "other", None, None),
        ("48500000002", "block", None, None, "unsubscribed", "by SMS", "2099-01-01T00:00:00Z"),
        ("48500000003", "block", None, None, "manual", None, None),
    ]
    moves = events(client, auth)[-4:]
    assert [(event["op"], event["address"]) for event in moves] == [
        ("remove", "48500000001"), ("add", "48500000002"), ("remove", "48500000001"), ("add", "48500000002"),
    ]
    assert {event["request_id"] for event in moves} == {"voodoo-1"}
    first = answer["entries"][0]["id"]
    assert moves[0]["evidence"] == f"replaced by 48500000002 (entry {first}); number changed"
    assert moves[1]["evidence"] == f"replacing 48500000001 (entry {moves[0]['entry_id']}); number changed"


def test_a_named_list_limits_the_replacement_to_it(client, auth):
    put(client, auth, address="+48500000001")
    put(client, auth, address="+48500000001", channel="sms")

    answer = replace(client, auth, old="+48500000001", new="+48500000002", channel="SMS")

    assert [(entry["address"], entry["channel"]) for entry in answer["entries"]] == [("48500000002", "sms")]
    assert [row[:3] for row in live(client, auth)] == [("48500000001", "block", None), ("48500000002", "block", "sms")]


def test_an_address_not_on_the_lists_concerned_is_404(client, auth):
    put(client, auth, address="+48500000001", channel="sms")

    assert_error(client.post(REPLACE, json={"old": "+48500000009", "new": "+48500000002"}, headers=auth), 404, "entry_not_found")
    assert_error(client.post(REPLACE, json={"old": "+48500000001", "new": "+48500000002", "list": "block"}, headers=auth), 404, "entry_not_found")
    assert_error(client.post(REPLACE, json={"old": "+48500000001", "new": "+48500000002", "list": "allow", "channel": "sms"}, headers=auth),
                 404, "entry_not_found")


def test_a_lapsed_entry_of_the_old_address_is_not_moved(app, client, auth):
    lapsed = put(client, auth, address="+48500000001", expire_at="2099-01-01")
    set_expiry(app, lapsed["id"], datetime(2020, 1, 1, tzinfo=timezone.utc))

    assert_error(client.post(REPLACE, json={"old": "+48500000001", "new": "+48500000002"}, headers=auth), 404, "entry_not_found")


def test_a_new_address_listed_already_on_one_of_the_lists_is_409_and_nothing_changes(client, auth):
    put(client, auth, address="+48500000001")
    put(client, auth, address="+48500000001", channel="sms")
    put(client, auth, address="+48500000002", channel="sms", reason="complaint")
    before, listed = len(events(client, auth)), live(client, auth)

    body = assert_error(client.post(REPLACE, json={"old": "+48500000001", "new": "+48500000002"}, headers=auth), 409, "entry_exists")

    assert body["errors"][0]["path"] == "new"
    assert live(client, auth) == listed and len(events(client, auth)) == before


def test_an_e_mail_address_cannot_replace_a_number_on_a_phone_channels_list(client, auth):
    put(client, auth, address="+48500000001", channel="sms")

    body = assert_error(client.post(REPLACE, json={"old": "+48500000001", "new": "jan@example.com"}, headers=auth), 400, "invalid_address")

    assert body["errors"][0]["path"] == "new"


def test_a_number_may_replace_an_e_mail_address_on_a_list_of_every_channel(client, auth):
    put(client, auth, address="Jan@Example.com", reason="bounce")

    answer = replace(client, auth, old="jan@example.com", new="+48500000002")

    assert [(entry["address"], entry["address_kind"], entry["reason"]) for entry in answer["entries"]] == [("48500000002", "phone", "bounce")]


def test_replacing_an_address_by_itself_or_by_no_address_is_400(client, auth):
    put(client, auth, address="jan@example.com")

    for new, path in (("JAN@example.com", "new"), ("not an address", "new")):
        body = assert_error(client.post(REPLACE, json={"old": "jan@example.com", "new": new}, headers=auth), 400, "invalid_address")
        assert body["errors"][0]["path"] == path
    # the same address is valid, only the wrong one: the message says that, not "not a valid address"
    same = assert_error(client.post(REPLACE, json={"old": "jan@example.com", "new": "JAN@example.com"}, headers=auth), 400, "invalid_address")
    assert same["message"].startswith("new 'JAN@example.com' is the address old names") and "not a valid address" not in same["message"]
    body = assert_error(client.post(REPLACE, json={"old": "nope", "new": "ewa@example.com"}, headers=auth), 400, "invalid_address")
    assert body["errors"][0]["path"] == "old"
    assert_error(client.post(REPLACE, json={"old": "jan@example.com"}, headers=auth), 400, "validation_error")
    assert_error(client.post(REPLACE, json={"old": "jan@example.com", "new": "ewa@example.com", "note": "x"}, headers=auth), 400, "validation_error")
