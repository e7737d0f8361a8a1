"""Imports racing deletes and purges, and purges of what failed jobs leave behind."""

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from stoplist.audit.models import Event
from stoplist.lists.models import Entry
from stoplist.audit.trail import SYSTEM
from stoplist.lists.writer import EntryWriter
from stoplist.testing.lists import fill
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.files.models import StoredFile
from stoplist.files.repository import FileRepository
from stoplist.jobs.models import FAILED, Job
from stoplist.jobs.repository import JobRepository
from stoplist.composition import purge_expired


def test_an_import_of_a_lapsed_number_expires_its_entry_then_lists_it_anew_and_the_sweep_finds_nothing_left(session_factory, account_id):
    """The import holds the account from its lookup to its write: the lapsed entry it saw is the one it expires, once."""
    factory, account = session_factory, account_id
    now = utcnow()
    with transaction(factory) as session:
        fill(session, account, {"48500000007": now - timedelta(seconds=5)}, now=now - timedelta(days=1))
    with factory() as session:
        lapsed_id = session.scalar(select(Entry.id))

    with transaction(factory) as session:
        written = fill(session, account, {"48500000007": None}, now=now)
    with transaction(factory) as sweeper:
        swept = EntryWriter(sweeper, SYSTEM).purge_expired(now=now)

    assert written == (1, 0, 0) and swept == 0
    with factory() as session:
        entry = session.scalar(select(Entry).where(Entry.phone_number == "48500000007"))
        recorded = session.execute(select(Event.op, Event.entry_id).order_by(Event.seq)).all()
    assert entry is not None and entry.expire_at is None and entry.id != lapsed_id
    assert recorded == [("add", lapsed_id), ("expire", lapsed_id), ("add", entry.id)]


def test_purging_a_failed_export_removes_the_file_it_had_started(session_factory, account_id, database_url):
    factory, account = session_factory, account_id
    with transaction(factory) as session:
        partial = FileRepository(session).create(account_id=account, kind="export", now=utcnow())
        FileRepository(session).append(file_id=partial.id, data=b"id,phone_number\n")
        job = JobRepository(session).enqueue(account_id=account, kind="export", params={})
        session.flush()
        session.execute(
            update(Job).where(Job.id == job.id).values(status=FAILED, progress=json.dumps({"file_id": partial.id}), finished_at=utcnow() - timedelta(days=2))
        )

    assert purge_expired(factory, Settings(database_url=database_url)) == 1

    with factory() as session:
        assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
        assert session.scalar(select(func.count()).select_from(Job)) == 0
