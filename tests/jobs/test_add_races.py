"""Adding a number while another request deletes it: the add wins, never a 500."""

from datetime import timedelta

import pytest

from sqlalchemy import delete, select

from stoplist.blacklist.models import Entry
from stoplist.blacklist.repository import EntryRepository
from stoplist.blacklist.service import add_entry
from stoplist.db import transaction, utcnow

NUMBER = "48500000007"


def test_a_number_deleted_between_the_adds_lookup_and_its_update_is_listed_anew(session_factory, account_id, monkeypatch):
    factory, account = session_factory, account_id
    now = utcnow()
    with transaction(factory) as session:
        EntryRepository(session).insert_if_absent(account_id=account, phone_number=NUMBER, expire_at=None, created_at=now - timedelta(days=1))
    found = EntryRepository.by_number

    def found_then_deleted(self, *, account_id, phone_number):
        # What a concurrent DELETE does right after this request has read the entry.
        entry = found(self, account_id=account_id, phone_number=phone_number)
        if entry is not None:
            self.session.execute(delete(Entry).where(Entry.id == entry.id).execution_options(synchronize_session=False))
        return entry

    monkeypatch.setattr(EntryRepository, "by_number", found_then_deleted)
    expiry = now + timedelta(days=30)
    with transaction(factory) as session:
        result = add_entry(repository=EntryRepository(session), account_id=account, phone_number=NUMBER, expire_at=expiry, now=now)

    with factory() as session:
        entries = session.scalars(select(Entry).where(Entry.account_id == account)).all()
    assert result.created is True
    assert [(e.id, e.phone_number, e.expire_at, e.created_at) for e in entries] == [(result.entry.id, NUMBER, expiry.replace(microsecond=0), now.replace(microsecond=0))]


def test_a_relisting_committed_between_the_adds_lookup_and_its_update_keeps_its_created_at(session_factory, account_id, backend, monkeypatch):
    if backend != "postgresql":
        pytest.skip("on SQLite the add holds the write lock from its first statement: no other write can come between")
    factory, account = session_factory, account_id
    now = utcnow().replace(microsecond=0)
    with transaction(factory) as session:
        EntryRepository(session).insert_if_absent(account_id=account, phone_number=NUMBER, expire_at=now + timedelta(seconds=10), created_at=now - timedelta(days=30))
    found = EntryRepository.by_number

    def found_then_relisted(self, *, account_id, phone_number):
        # What an import does right after this request has read the entry (still live at `now`):
        # at its own later moment the entry has lapsed, so the import lists the number anew.
        entry = found(self, account_id=account_id, phone_number=phone_number)
        with transaction(factory) as other:
            EntryRepository(other).upsert_many(account_id=account_id, entries={NUMBER: now + timedelta(days=2)}, now=now + timedelta(seconds=20))
        return entry

    monkeypatch.setattr(EntryRepository, "by_number", found_then_relisted)
    with transaction(factory) as session:
        result = add_entry(repository=EntryRepository(session), account_id=account, phone_number=NUMBER, expire_at=now + timedelta(days=1), now=now)

    with factory() as session:
        [stored] = session.scalars(select(Entry).where(Entry.account_id == account)).all()
    assert (stored.expire_at, stored.created_at) == (now + timedelta(days=1), now + timedelta(seconds=20))
    assert (result.entry.expire_at, result.entry.created_at) == (stored.expire_at, stored.created_at)
