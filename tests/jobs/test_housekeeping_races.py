"""Imports racing deletes and purges, and purges of what failed jobs leave behind."""

import json
from datetime import timedelta

from sqlalchemy import func, select, update

from stoplist.audit.models import Event
from stoplist.lists.models import Entry
from stoplist.lists.writer import EntryWriter
from stoplist.testing.lists import fill
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.files.models import StoredFile
from stoplist.files.repository import FileRepository
from stoplist.jobs.models import FAILED, Job
from stoplist.jobs.repository import JobRepository
from stoplist.composition import purge_expired


def test_a_number_purged_between_an_imports_lookup_and_its_write_is_listed_all_the_same(session_factory, account_id, monkeypatch):
    factory, account = session_factory, account_id
    now = utcnow()
    # What the lookup saw: a lapsed entry, since purged.
    monkeypatch.setattr(EntryWriter, "_known", lambda self, account_id, keys: {key: (999_999, now - timedelta(seconds=5), "manual", None) for key in keys})

    with transaction(factory) as session:
        added, updated = fill(session, account, {"48500000007": None}, now=now)

    with factory() as session:
        entry = session.scalar(select(Entry).where(Entry.phone_number == "48500000007"))
    assert (added, updated) == (1, 0)
    assert entry is not None and entry.expire_at is None
    # Its event names the row the import wrote, not the one the lookup saw.
    with factory() as session:
        assert session.scalar(select(Event.entry_id).where(Event.address == "48500000007")) == entry.id


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
