"""A batch of adds (issue 25): POST /blacklist/entries/batch takes up to 1,000 items, each an address or an
object overriding the shared defaults, and answers one result per item, in order, written in one transaction."""

import pytest

from stoplist.lists import batch
from tests.api.helpers import assert_error

ENTRIES = "/blacklist/entries"
BATCH = f"{ENTRIES}/batch"


def post(client, auth, status: int = 200, **body) -> dict:
    response = client.post(BATCH, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def events(client, auth) -> list[dict]:
    return client.get("/blacklist/changes", params={"limit": 10_000}, headers=auth).json()["events"]


def live(client, auth) -> list[dict]:
    return client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()["collection"]


def test_each_item_is_answered_in_order_with_its_outcome(client, auth):
    client.post(ENTRIES, json={"address": "+48500000002", "reason": "unsubscribed"}, headers=auth).raise_for_status()
    client.post(ENTRIES, json={"address": "+48500000003", "reason": "complaint"}, headers=auth).raise_for_status()

    results = post(client, auth, items=["+48500000001", "+48500000002", {"address": "+48500000003", "reason": "complaint"}, "not a number"],
                   reason="unsubscribed")["results"]

    assert [result["outcome"] for result in results] == ["created", "unchanged", "unchanged", "invalid"]
    assert [result["input"] for result in results] == ["+48500000001", "+48500000002", {"address": "+48500000003", "reason": "complaint"}, "not a number"]
    assert [result["entry"]["address"] for result in results[:3]] == ["48500000001", "48500000002", "48500000003"]
    assert results[0]["entry"]["reason"] == "unsubscribed" and results[2]["entry"]["reason"] == "complaint"
    assert results[3]["entry"] is None and results[3]["error"]["error"] == "invalid_address"
    assert all(result["error"] is None for result in results[:3])


def test_an_item_that_changes_an_entry_is_updated_and_records_an_update(client, auth):
    listed = client.post(ENTRIES, json={"address": "+48500000001", "note": "by phone"}, headers=auth).json()
    before = len(events(client, auth))

    result = post(client, auth, items=["+48500000001"], expire_at="2099-01-01", reason="legal")["results"][0]

    assert result["outcome"] == "updated" and result["entry"]["id"] == listed["id"]
    assert (result["entry"]["expire_at"], result["entry"]["reason"], result["entry"]["note"]) == ("2099-01-01T00:00:00Z", "legal", "by phone")
    new = events(client, auth)[before:]
    assert [(event["op"], event["entry_id"]) for event in new] == [("update", listed["id"])]


def test_items_override_the_defaults_and_find_their_own_lists(client, auth):
    results = post(
        client, auth, channel="sms", sender="ACME", note="campaign 7",
        items=["+48500000001", {"address": "Ewa@Example.com", "channel": "email", "sender": None, "note": None, "list": "ALLOW"},
               {"address": "+48500000002", "channel": "whatsapp", "expire_at": "2099-01-01", "reason": "stop_keyword"}],
    )["results"]

    shown = [(r["entry"]["address"], r["entry"]["channel"], r["entry"]["sender"], r["entry"]["list"], r["entry"]["note"], r["entry"]["reason"],
              r["entry"]["expire_at"]) for r in results]
    assert shown == [
        ("48500000001", "sms", "ACME", "block", "campaign 7", "manual", None),
        ("Ewa@example.com", "email", None, "allow", None, "manual", None),
        ("48500000002", "whatsapp", "ACME", "block", "campaign 7", "stop_keyword", "2099-01-01T00:00:00Z"),
    ]


def test_an_item_later_in_the_batch_meets_the_entry_as_the_earlier_ones_left_it(client, auth):
    results = post(client, auth, items=["+48500000001", "0048500000001", {"address": "+48 500 000 001", "reason": "legal"}])["results"]

    assert [result["outcome"] for result in results] == ["created", "unchanged", "updated"]
    assert len({result["entry"]["id"] for result in results}) == 1
    assert results[2]["entry"]["reason"] == "legal"
    assert [(event["op"], event["after"]["reason"]) for event in events(client, auth)] == [("add", "manual"), ("update", "legal")]
    assert [entry["reason"] for entry in live(client, auth)] == ["legal"]


def test_a_lapsed_entry_is_expired_and_its_address_listed_anew(app, client, auth):
    from datetime import datetime, timezone

    from tests.api.helpers import set_expiry

    old = client.post(ENTRIES, json={"address": "+48500000001", "expire_at": "2099-01-01"}, headers=auth).json()
    set_expiry(app, old["id"], datetime(2020, 1, 1, tzinfo=timezone.utc))

    result = post(client, auth, items=["+48500000001"])["results"][0]

    assert result["outcome"] == "created" and result["entry"]["id"] != old["id"]
    assert [(event["op"], event["entry_id"]) for event in events(client, auth)[-2:]] == [("expire", old["id"]), ("add", result["entry"]["id"])]


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ("jan@example.com ", None),
        ({"address": "jan@example.com", "channel": "sms"}, "invalid_address"),
        ({"address": "+48500000001", "channel": "fax"}, "invalid_scope"),
        ({"address": "+48500000001", "sender": "all"}, "invalid_scope"),
        ({"address": "+48500000001", "list": "maybe"}, "invalid_scope"),
        ({"address": "+48500000001", "reason": "bored"}, "invalid_scope"),
        ({"address": "+48500000001", "note": "x" * 501}, "invalid_scope"),
        ({"address": "+48500000001", "expire_at": "2020-01-01"}, "invalid_expire_at"),
        ({"address": "+48500000001", "expire_at": "soon"}, "invalid_expire_at"),
    ],
)
def test_an_item_with_a_value_that_is_not_valid_is_invalid_alone(client, auth, item, code):
    results = post(client, auth, items=[item, "+48500000002"])["results"]

    assert results[1]["outcome"] == "created"
    if code is None:
        assert results[0]["outcome"] == "created"
    else:
        assert (results[0]["outcome"], results[0]["error"]["error"]) == ("invalid", code)
        assert [entry["address"] for entry in live(client, auth)] == ["48500000002"]


def test_a_batch_of_invalid_items_only_writes_nothing(client, auth):
    results = post(client, auth, items=["nope", "12345"])["results"]

    assert [result["outcome"] for result in results] == ["invalid", "invalid"]
    assert live(client, auth) == [] and events(client, auth) == []


def test_a_batch_carries_its_evidence_on_every_event(client, auth):
    post(client, auth, items=["+48500000001", "+48500000002"], evidence="form 12", received_at="2026-11-30T10:00:00Z")

    assert {(event["evidence"], event["received_at"]) for event in events(client, auth)} == {("form 12", "2026-11-30T10:00:00Z")}
    assert len({event["request_id"] for event in events(client, auth)}) == 1


def test_more_than_a_thousand_items_is_413_and_none_is_400(client, auth):
    numbers = [f"+4850{index:07d}" for index in range(batch.MAX_ITEMS + 1)]

    assert_error(client.post(BATCH, json={"items": numbers}, headers=auth), 413, "too_many_items")
    empty = assert_error(client.post(BATCH, json={"items": []}, headers=auth), 400, "validation_error")
    assert empty["errors"] == [{"path": "items", "message": "A batch takes 1 to 1,000 items; this one has none", "error": "too_short"}]
    assert live(client, auth) == []


def test_the_largest_batch_fits_its_body_limit_with_every_note_at_its_longest_in_json_escapes(client, auth):
    import json

    from stoplist.lists.schemas import MAX_NOTE

    note = "é" * MAX_NOTE
    items = [{"address": f"+4850{index:07d}", "note": note, "reason": "complaint"} for index in range(batch.MAX_ITEMS)]
    body = json.dumps({"items": items}).encode()  # ASCII escapes: 6 bytes a character of the notes
    assert len(body) > 2 * 1024 * 1024  # over the limit this route had first

    response = client.post(BATCH, content=body, headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert {result["outcome"] for result in results} == {"created"} and results[-1]["entry"]["note"] == note


def test_a_body_over_its_routes_limit_is_413_and_writes_nothing(client, auth):
    """8 MiB for a batch, 64 KiB for an edit and a replacement: bodies far beyond what they hold are refused unread."""
    from stoplist.entries.edits import MAX_BATCH_BODY, MAX_EDIT_BODY

    huge = {"items": ["+48500000001"], "note": "x" * MAX_BATCH_BODY}
    assert_error(client.post(BATCH, json=huge, headers=auth), 413, "body_too_large")
    assert_error(client.post(f"{ENTRIES}/replace", json={"old": "+48500000001", "new": "x" * MAX_EDIT_BODY}, headers=auth),
                 413, "body_too_large")
    assert_error(client.patch(f"{ENTRIES}/1", json={"note": "x" * MAX_EDIT_BODY}, headers=auth), 413, "body_too_large")
    assert live(client, auth) == [] and events(client, auth) == []


def test_a_thousand_items_are_written_in_one_call(client, auth):
    numbers = [f"+4850{index:07d}" for index in range(batch.MAX_ITEMS)]

    results = post(client, auth, items=numbers)["results"]

    assert [result["outcome"] for result in results] == ["created"] * batch.MAX_ITEMS
    assert client.get(ENTRIES, params={"limit": 1}, headers=auth).json()["size"] == batch.MAX_ITEMS
    assert len(events(client, auth)) == batch.MAX_ITEMS


@pytest.mark.parametrize(
    "body",
    [
        {"items": "+48500000001"},
        {"items": [48500000001]},
        {"items": [None]},
        {"items": [{"phone_number": "+48500000001"}]},
        {"items": [{"address": "+48500000001", "evidence": "x"}]},
        {"items": [{"address": "+48500000001", "reason": None}]},
        {"items": ["+48500000001"], "phone_numbers": []},
        {"items": ["+48500000001"], "list": None},
    ],
)
def test_a_batch_of_the_wrong_shape_is_refused_whole(client, auth, body):
    assert_error(client.post(BATCH, json=body, headers=auth), 400, "validation_error")
    assert live(client, auth) == []


@pytest.mark.parametrize(
    ("items", "paths"),
    [
        (["+48500000001", {"address": "+48500000002", "note": 5}], ["items.1.note"]),
        ([48500000001, None], ["items.0", "items.1"]),
        ([{"adress": "+48500000001"}], ["items.0.address", "items.0.adress"]),
        ([{"address": None}, "+48500000001", True], ["items.0.address", "items.2"]),
        # a value of another JSON type than its field's is the batch's shape (README): refused whole, not that item alone
        (["+48500000001", {"address": "+48500000002", "list": None}], ["items.1.list"]),
        (["+48500000001", {"address": "+48500000002", "reason": None, "expire_at": 12345}], ["items.1.reason", "items.1.expire_at"]),
    ],
)
def test_a_batch_of_the_wrong_shape_names_each_item_as_it_was_sent(client, auth, items, paths):
    """Where each item went wrong, as the client wrote it: an object's field, or an item that is neither text nor an
    object; not the branches of the schema's union (items.1.str beside items.1.BatchItem.note)."""
    response = client.post(BATCH, json={"items": items}, headers=auth)

    assert_error(response, 400, "validation_error")
    assert [error["path"] for error in response.json()["errors"]] == paths
    assert "BatchItem" not in response.text and ".str" not in response.text
    assert live(client, auth) == []  # nothing of it written, the valid items neither


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"channel": "fax"}, "invalid_scope"),
        ({"reason": "bored"}, "invalid_scope"),
        ({"expire_at": "2020-01-01"}, "invalid_expire_at"),
        ({"received_at": "2999-01-01T00:00:00Z"}, "invalid_evidence"),
    ],
)
def test_invalid_defaults_refuse_the_whole_batch(client, auth, body, code):
    assert_error(client.post(BATCH, json={"items": ["+48500000001"], **body}, headers=auth), 400, code)
    assert live(client, auth) == []


def test_a_failure_while_writing_leaves_nothing_written(client, auth, monkeypatch):
    from stoplist.lists.writer import EntryWriter

    def failing(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(EntryWriter, "_write_entries", failing)
    # Raised through `client` (a server would answer 500 internal_error): a second TestClient, entered or not,
    # would close the database under `client` or share its asyncpg connections across event loops.
    with pytest.raises(RuntimeError, match="disk full"):
        client.post(BATCH, json={"items": ["+48500000001", {"address": "+48500000002", "channel": "sms"}]}, headers=auth)

    monkeypatch.undo()
    assert live(client, auth) == [] and events(client, auth) == []


def test_each_entry_answered_is_the_entry_as_get_shows_it(client, auth):
    # Created (an address spelt otherwise, an e-mail address, an expiry, on a list created with another spelling of its sender),
    # updated, unchanged, created and updated by a later item of the same batch, and a lapsed entry listed anew.
    client.post(ENTRIES, json={"address": "+48500000002", "reason": "unsubscribed", "note": "by phone"}, headers=auth).raise_for_status()
    client.post(ENTRIES, json={"address": "+48500000003", "channel": "sms", "sender": "Acme"}, headers=auth).raise_for_status()
    results = post(client, auth, items=[
        "+48 500 000 001", {"address": "Ewa@Example.com", "expire_at": "2099-01-01T12:30:00+02:00", "note": "ż"},
        {"address": "+48500000002", "reason": "legal"}, {"address": "+48500000003", "channel": "sms", "sender": "ACME"},
        {"address": "+48500000004", "channel": "sms", "sender": "ACME", "note": "new"}, "+48500000005", {"address": "+48500000005", "reason": "complaint"},
    ])["results"]

    assert [result["outcome"] for result in results] == ["created", "created", "updated", "unchanged", "created", "created", "updated"]
    for result in results:
        shown = client.get(f"{ENTRIES}/{result['entry']['id']}", headers=auth)
        assert shown.status_code == 200 and result["entry"] == shown.json()
    assert results[4]["entry"]["sender"] == "Acme" and results[5]["entry"] == results[6]["entry"]


@pytest.mark.parametrize(
    "items",
    [
        ["+48500000001", {"address": "ewa@example.com", "note": "żółw\u2028\x7f"}, "not a number"],
        ["+48500000001", "\ud800"],
    ],
    ids=["texts", "lone-surrogate"],
)
def test_a_batch_answers_the_bytes_json_writes(client, auth, items):
    import json

    response = client.post(BATCH, content=json.dumps({"items": items}), headers={**auth, "Content-Type": "application/json"})

    assert response.status_code == 200
    answer = response.json()
    assert [result["input"] for result in answer["results"]] == items
    expected = json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
    if "\ud800" in items:
        expected = json.dumps(answer, separators=(",", ":"))
    assert response.content == expected.encode()
