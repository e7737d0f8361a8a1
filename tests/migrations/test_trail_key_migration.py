"""Migration 0011 with data in it, on SQLite and on PostgreSQL: events lose their surrogate id and are
keyed by (account_id, seq), keeping every other column; signing_keys appears; the way down numbers
ids afresh in (account_id, seq) order, new events still get ids past them, and the way up again
keeps everything."""

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from stoplist import migrate
from stoplist.db import create_db_engine, create_session_factory
from stoplist.history import service as history
from tests.migrations.test_lists_migration import _dialect, _run

COLUMNS = "account_id, seq, at, op, address, entry_id, job_id, body, hash"
EVENTS = f"SELECT {COLUMNS} FROM entry_events ORDER BY account_id, seq"
WITH_IDS = f"SELECT id, {COLUMNS} FROM entry_events ORDER BY id"
# A second copy of account 1's first event: the key must refuse it.
COPY = f"INSERT INTO entry_events ({COLUMNS}) SELECT {COLUMNS} FROM entry_events WHERE account_id = 1 AND seq = 1"


def _shape(url: str) -> tuple[list[str], list[str], set[str]]:
    """(columns of entry_events, its primary key, every table)."""
    engine = create_db_engine(url)
    try:
        found = inspect(engine)
        columns = [column["name"] for column in found.get_columns("entry_events")]
        return columns, found.get_pk_constraint("entry_events")["constrained_columns"], set(found.get_table_names())
    finally:
        engine.dispose()


def _verified(url: str):
    engine = create_db_engine(url)
    try:
        with create_session_factory(engine)() as session:
            return history.verify(session)[:3]
    finally:
        engine.dispose()


def test_events_are_keyed_by_account_and_seq_and_keep_everything_up_down_and_up_again(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0010")
    before = _run(url, WITH_IDS)
    assert len(before) == 5 and [row[0] for row in before] == sorted(row[0] for row in before)

    migrate.upgrade(url, "0011")
    columns, key, tables = _shape(url)
    assert "id" not in columns and key == ["account_id", "seq"] and "signing_keys" in tables
    assert _run(url, EVENTS) == [row[1:] for row in before]
    with pytest.raises(IntegrityError):
        _run(url, COPY)
    assert _verified(url) == (2, 5, None)

    migrate.downgrade(url, "0010")
    columns, key, tables = _shape(url)
    assert "id" in columns and key == ["id"] and "signing_keys" not in tables
    # The fixture's events were written account by account, so their ids were in (account_id, seq) order already.
    assert _run(url, WITH_IDS) == before
    # A new event still gets an id of its own, past every other.
    now = "2026-12-06T00:00:00Z" if _dialect(url) == "sqlite" else "2026-12-06 00:00:00"
    _run(url, "INSERT INTO entry_events (account_id, seq, at, op, body, hash) VALUES (1, 99, :now, 'add', '{}', 'x')", [{"now": now}])
    assert _run(url, "SELECT id FROM entry_events WHERE seq = 99") == [(len(before) + 1,)]
    _run(url, "DELETE FROM entry_events WHERE seq = 99")
    with pytest.raises(IntegrityError):
        _run(url, COPY)

    migrate.upgrade(url)
    assert _run(url, EVENTS) == [row[1:] for row in before]
    assert _verified(url) == (2, 5, None)
