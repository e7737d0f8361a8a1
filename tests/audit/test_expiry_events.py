"""Expiry recorded when it happens: the sweep writes each lapsed entry's `expire` within its bound,
from an index, even while a long job runs; a re-add or a delete of a lapsed entry records its
`expire` (never a `remove`) first."""

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text

from stoplist.audit.models import Event
from stoplist.audit.trail import SYSTEM
from stoplist.auth.repository import AuthRepository
from stoplist.composition import HOUSEKEEPING, RUNNERS
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.jobs.repository import JobRepository
from stoplist.jobs.worker import Worker
from stoplist.lists.models import Entry
from stoplist.lists.writer import EntryWriter
from tests.api.helpers import URL, add, assert_error, set_expiry

ENTRIES = "/blacklist/entries"
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


def recorded(app) -> list[tuple[str, int | None]]:
    """(op, entry id) of every event, in order."""
    with app.state.session_factory() as session:
        return [(op, entry_id) for op, entry_id in session.execute(select(Event.op, Event.entry_id).order_by(Event.account_id, Event.seq))]


def stored_ids(app) -> set[int]:
    with app.state.session_factory() as session:
        return set(session.scalars(select(Entry.id)))


def test_the_sweep_records_an_expiry_within_its_interval_even_while_a_long_job_runs(app, client, auth, database_url):
    """A worker busy with a job of many seconds still records the expiry of a lapsed entry within
    STOPLIST_PURGE_INTERVAL (here 0.5 s) and the chores' one-second tick."""
    job_started, release = threading.Event(), threading.Event()

    def long_job(_context):
        job_started.set()
        release.wait(30)
        return {}, None

    settings = Settings(database_url=database_url, purge_interval=0.5, worker_poll_interval=0.05)
    worker = Worker(app.state.session_factory, settings, {**RUNNERS, "long": long_job}, housekeeping=HOUSEKEEPING)
    with transaction(app.state.session_factory) as session:
        JobRepository(session).enqueue(account_id=AuthRepository(session).account_by_name("default").id, kind="long", params={})
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        assert job_started.wait(10)
        expire_at = utcnow() + timedelta(seconds=2)
        entry = add(client, auth, "+48500000001", expire_at=expire_at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        while ("expire", int(entry["id"])) not in recorded(app):
            assert datetime.now(timezone.utc) < expire_at + timedelta(seconds=settings.purge_interval + 1 + 3), "no expire event within its bound"
            time.sleep(0.05)
        late = datetime.now(timezone.utc) - expire_at
        assert late <= timedelta(seconds=settings.purge_interval + 1 + 1), late
        assert not release.is_set(), "the job was still running"
    finally:
        release.set()
        worker.stop.set()
        thread.join(30)
    event = client.get("/blacklist/changes", params={"after": 1}, headers=auth).json()["events"][0]
    assert (event["op"], event["source"], event["entry_id"], event["after"]) == ("expire", "system", entry["id"], None)
    # When the entry lapsed, and when that was recorded.
    assert event["before"]["expire_at"] == expire_at.strftime("%Y-%m-%dT%H:%M:%SZ") <= event["at"]
    assert stored_ids(app) == set()


def test_the_sweep_reads_lapsed_entries_from_the_expiry_index(session_factory):
    """Its query walks ix_blacklist_entries_expire_at, never the whole table."""
    sweep = select(Entry.account_id, Entry.id).where(Entry.expire_at <= utcnow()).order_by(Entry.expire_at).limit(10_000)
    with session_factory() as session:
        dialect = session.get_bind().dialect
        sql = str(sweep.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        if dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            session.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: the planner would scan it for free
            plan = " ".join(row[0] for row in session.execute(text(f"EXPLAIN {sql}")))
    assert "ix_blacklist_entries_expire_at" in plan, plan
    assert "SCAN blacklist_entries" not in plan and "Seq Scan" not in plan, plan


def test_re_adding_a_lapsed_number_records_its_expire_and_then_an_add_of_a_new_entry(app, client, auth):
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], LONG_AGO)

    again = add(client, auth, "+48 500 000 001")

    assert again["id"] != entry["id"]
    assert recorded(app) == [("add", int(entry["id"])), ("expire", int(entry["id"])), ("add", int(again["id"]))]
    assert stored_ids(app) == {int(again["id"])}


@pytest.mark.parametrize("route", [URL, ENTRIES])
def test_deleting_a_lapsed_entry_by_id_answers_404_and_records_its_expire(app, client, auth, route):
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], LONG_AGO)

    assert_error(client.delete(f"{route}/{entry['id']}", headers=auth), 404, "entry_not_found")

    assert recorded(app) == [("add", int(entry["id"])), ("expire", int(entry["id"]))]
    assert stored_ids(app) == set()
    assert_error(client.delete(f"{route}/{entry['id']}", headers=auth), 404, "entry_not_found")
    assert len(recorded(app)) == 2


def test_deleting_a_lapsed_number_answers_as_for_an_unlisted_one_and_records_its_expire(app, client, auth):
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], LONG_AGO)

    response = client.delete(URL, params={"phone_number": "+48500000001"}, headers=auth)

    assert response.status_code == 204 and response.content == b""
    assert recorded(app) == [("add", int(entry["id"])), ("expire", int(entry["id"]))]


def test_delete_all_records_expire_for_lapsed_entries_and_remove_for_live_ones(app, client, auth):
    live = add(client, auth, "+48500000001")
    gone = add(client, auth, "+48500000002")
    set_expiry(app, gone["id"], LONG_AGO)

    assert client.delete(URL, headers=auth).status_code == 204

    assert recorded(app)[2:] == [("remove", int(live["id"])), ("expire", int(gone["id"]))]
    assert stored_ids(app) == set()


def test_an_entry_relisted_since_its_lapse_is_not_swept(app, client, auth):
    """The sweep checks the expiry again on the row it deletes (under the account's hold)."""
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], LONG_AGO)
    again = add(client, auth, "+48500000001")
    with transaction(app.state.session_factory) as session:
        assert EntryWriter(session, SYSTEM).purge_expired(now=utcnow()) == 0
    assert stored_ids(app) == {int(again["id"])}


def test_a_worker_drops_the_events_retention_no_longer_keeps(app, client, auth, database_url):
    """STOPLIST_AUDIT_RETENTION_MONTHS through the worker's chores, not only retention.drop_expired."""
    from sqlalchemy import update

    from stoplist.composition import create_worker

    for index in range(3):
        add(client, auth, f"+4850000000{index}")
    with transaction(app.state.session_factory) as session:
        session.execute(update(Event).where(Event.seq <= 2).values(at=datetime(2020, 1, 15, tzinfo=timezone.utc)))

    create_worker(app.state.session_factory, Settings(database_url=database_url, audit_retention_months=0)).maintain()
    assert len(recorded(app)) == 3
    create_worker(app.state.session_factory, Settings(database_url=database_url, audit_retention_months=6)).maintain()
    assert [op for op, _entry in recorded(app)] == ["add"]
    assert_error(client.get("/blacklist/changes", headers=auth), 410, "cursor_expired")
