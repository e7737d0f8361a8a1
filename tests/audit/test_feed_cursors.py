"""A feed that never skips: a cursor the trail never gave out answers 400 invalid_cursor, one
older than what retention kept answers 410 cursor_expired, and neither ever answers an empty page."""

import time
from datetime import datetime, timezone

from sqlalchemy import delete, select, update

from stoplist.audit import retention
from stoplist.audit.models import Event, Head
from stoplist.db import transaction
from tests.api.helpers import add, assert_error

CHANGES = "/blacklist/changes"


def changes(client, auth, **params):
    return client.get(CHANGES, params=params, headers=auth)


def test_a_cursor_past_the_newest_event_is_refused_and_stays_refused_after_the_next_write(client, auth):
    for index in range(3):
        add(client, auth, f"+4850000000{index}")

    body = assert_error(changes(client, auth, after=200), 400, "invalid_cursor")
    assert body["errors"][0]["path"] == "after"
    assert "newest event (3)" in body["message"] and "resynchronise" in body["message"]
    add(client, auth, "+48500000009")
    assert_error(changes(client, auth, after=200), 400, "invalid_cursor")
    # The newest event's own cursor is one the feed gave out: it answers, with nothing new.
    newest = changes(client, auth, after=3).json()["next"]
    assert changes(client, auth, after=newest).json() == {"events": [], "next": newest}


def test_a_cursor_past_the_newest_event_is_refused_at_once_even_when_asked_to_wait(client, auth):
    add(client, auth, "+48500000001")
    started = time.monotonic()
    assert_error(changes(client, auth, after=2, wait=30), 400, "invalid_cursor")
    # A read that waited could not answer before 30 s; half of that leaves room for a loaded machine.
    assert time.monotonic() - started < 15


def test_an_account_without_events_serves_only_the_start(client, auth):
    assert changes(client, auth).json() == {"events": [], "next": "0"}
    assert changes(client, auth, after=0).json() == {"events": [], "next": "0"}
    assert_error(changes(client, auth, after=1), 400, "invalid_cursor")


def test_history_refuses_a_cursor_past_the_newest_event_too(client, auth):
    entry = add(client, auth, "+48500000001")
    assert_error(client.get("/blacklist/history", params={"address": "+48500000001", "after": 9}, headers=auth), 400, "invalid_cursor")
    assert_error(client.get(f"/blacklist/entries/{entry['id']}/history", params={"after": 9}, headers=auth), 400, "invalid_cursor")
    assert client.get("/blacklist/history", params={"address": "+48500000001", "after": 1}, headers=auth).json() == {"events": [], "next": None}


def _drop_first_two(app) -> int:
    """Date the account's first two events in an old month and let retention drop them; answers the base."""
    with transaction(app.state.session_factory) as session:
        session.execute(update(Event).where(Event.seq <= 2).values(at=datetime(2026, 1, 15, tzinfo=timezone.utc)))
    with transaction(app.state.session_factory) as session:
        assert retention.drop_expired(session, now=datetime(2026, 12, 1, tzinfo=timezone.utc), months=3) == 2
    with app.state.session_factory() as session:
        return session.scalar(select(Head.base_seq))


def test_a_cursor_older_than_what_retention_kept_is_gone_and_says_how_to_resynchronise(app, client, auth):
    for index in range(4):
        add(client, auth, f"+4850000000{index}")
    assert _drop_first_two(app) == 2

    for stale in ({"after": 1}, {"after": 0}, {}):
        body = assert_error(changes(client, auth, **stale), 410, "cursor_expired")
        assert "dropped by retention" in body["message"] and "X-Feed-Cursor" in body["message"], body
    assert_error(changes(client, auth, after=0, wait=5), 410, "cursor_expired")
    # From the base on, nothing was dropped: the feed goes on where retention left it.
    assert [event["seq"] for event in changes(client, auth, after=2).json()["events"]] == [3, 4]
    # History is no sync protocol: it answers what is kept.
    assert client.get("/blacklist/history", params={"address": "+48500000000"}, headers=auth).json() == {"events": [], "next": None}


def test_an_export_names_the_feed_position_to_resynchronise_from(client, auth):
    """Load the export, follow the feed from its X-Feed-Cursor: the mirror equals the live list."""
    import csv
    import io

    assert client.get("/blacklist/entries", headers={**auth, "Accept": "text/csv"}).headers["X-Feed-Cursor"] == "0"
    kept = add(client, auth, "+48500000001")
    gone = add(client, auth, "+48500000002")
    exported = client.get("/blacklist/entries", headers={**auth, "Accept": "text/csv"})
    position = changes(client, auth, after=1).json()["next"]  # event 2's cursor, as the feed names it
    assert exported.headers["X-Feed-Cursor"] == position
    assert client.get("/blacklist/entries", headers=auth).headers["X-Feed-Cursor"] == position
    assert client.get("/blacklist/entries", params={"limit": 1}, headers={**auth, "Accept": "text/csv"}).headers["X-Feed-Cursor"] == position
    # After the export: one more, one less.
    later = add(client, auth, "+48500000003")
    assert client.delete(f"/blacklist/phone_numbers/{gone['id']}", headers=auth).status_code == 204

    mirror = {row["id"]: row["address"] for row in csv.DictReader(io.StringIO(exported.text))}
    for event in changes(client, auth, after=exported.headers["X-Feed-Cursor"]).json()["events"]:
        if event["op"] in ("add", "update"):
            mirror[event["entry_id"]] = event["address"]
        else:
            mirror.pop(event["entry_id"], None)

    live = {entry["id"]: entry["address"] for entry in client.get("/blacklist/entries", headers=auth).json()["collection"]}
    assert mirror == live == {kept["id"]: "48500000001", later["id"]: "48500000003"}


def test_a_cursor_from_a_trail_restored_from_an_older_backup_is_refused_however_far_the_trail_grows(app, client, auth):
    """The cursor names its event by seq and hash: after a restore to an older copy, the trail's
    event of that seq is another (other writes, other times), so the cursor is refused even once the
    trail has grown past it, instead of skipping the events the restored trail lacks."""
    for index in range(3):
        add(client, auth, f"+4850000000{index}")
    kept = changes(client, auth, after=0).json()["next"]  # a mirror's cursor: event 3
    with transaction(app.state.session_factory) as session:
        # The restore: event 3 and the head as an older copy had them, then new writes on top.
        session.execute(delete(Event).where(Event.seq == 3))
        session.execute(update(Head).values(seq=2, hash=select(Event.hash).where(Event.seq == 2).scalar_subquery()))
    for index in range(3, 6):
        add(client, auth, f"+4850000000{index}")

    body = assert_error(changes(client, auth, after=kept), 400, "invalid_cursor")
    assert "does not hold" in body["message"] and "resynchronise" in body["message"]
    assert_error(changes(client, auth, after=kept, wait=5), 400, "invalid_cursor")
    assert_error(client.get("/blacklist/history", params={"address": "+48500000000", "after": kept}, headers=auth), 400, "invalid_cursor")
    # The restored trail's own event 3 has a cursor of its own, which goes on as usual.
    third = changes(client, auth, after=2, limit=1).json()
    assert [event["seq"] for event in third["events"]] == [3] and third["next"] != kept
    assert [event["seq"] for event in changes(client, auth, after=third["next"]).json()["events"]] == [4, 5]


def test_cursors_that_are_not_of_this_service_are_refused(client, auth):
    add(client, auth, "+48500000001")
    for wrong in ("-1", "1-", "1-xyz", "1-" + "0" * 15, "1-" + "A" * 16, "1.5", "x", "1 2", "1" * 19):
        assert_error(changes(client, auth, after=wrong), 400, "invalid_cursor")


def test_a_wait_that_is_no_number_is_refused_as_such(client, auth):
    # `nan` compares false with every bound: it was refused as if it were over 30 s.
    for value in ("nan", "inf", "-inf", "NaN"):
        body = assert_error(changes(client, auth, after=0, wait=value), 400, "validation_error")
        assert body["errors"] == [{"path": "wait", "message": "Input should be a finite number", "error": "finite_number"}], value
