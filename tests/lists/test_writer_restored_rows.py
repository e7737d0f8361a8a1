"""The writer's bulk rows that carry created_at, updated_at and source (a restore's): new entries take
them, on both databases' paths (SQLite's JSON insert, PostgreSQL's COPY); entries already listed do not."""

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.lists.addresses import PHONE
from stoplist.lists.models import Entry
from stoplist.lists.writer import EntryWriter, Row

CREATED = datetime(2023, 4, 5, 6, 7, 8, tzinfo=timezone.utc)
UPDATED = CREATED + timedelta(days=9)


def stored(session_factory) -> dict[str, tuple]:
    with session_factory() as session:
        rows = session.execute(select(Entry.address, Entry.created_at, Entry.updated_at, Entry.source, Entry.note))
        return {address: tuple(rest) for address, *rest in rows}


def test_new_entries_keep_the_times_and_source_their_rows_carry_and_listed_ones_do_not(session_factory):
    with transaction(session_factory) as session:
        account_id = AuthRepository(session).add_account("default", created_at=utcnow()).id
    earlier = utcnow() - timedelta(seconds=5)
    with transaction(session_factory) as session:
        writer = EntryWriter(session, Origin("cli"))
        list_id = writer.list_id(account_id=account_id, now=earlier)
        writer.upsert_many(account_id=account_id, rows=[Row(list_id, "48500000009", PHONE, None, None, "listed")], source="cli", now=earlier)

    now = utcnow()
    rows = [
        Row(list_id, "48500000001", PHONE, None, None, "restored", created_at=CREATED, updated_at=UPDATED, source="api"),
        Row(list_id, "48500000002", PHONE, None, None, "fresh"),  # in the same write as rows that carry them
        Row(list_id, "48500000003", PHONE, None, None, None, created_at=CREATED, updated_at=CREATED, source="import"),
        Row(list_id, "48500000009", PHONE, None, None, "again", created_at=CREATED, updated_at=UPDATED, source="api"),
    ]
    with transaction(session_factory) as session:
        assert EntryWriter(session, Origin("cli")).upsert_many(account_id=account_id, rows=rows, source="cli", now=now) == (3, 1, 0)

    entries = stored(session_factory)
    assert entries["48500000001"] == (CREATED, UPDATED, "api", "restored")
    assert entries["48500000002"] == (now, now, "cli", "fresh")
    assert entries["48500000003"] == (CREATED, CREATED, "import", None)
    assert entries["48500000009"] == (earlier, now, "cli", "again")  # an update: the write's own time and source
