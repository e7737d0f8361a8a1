"""Migration 0016 with data in it: on SQLite the trigram index is built from the entries already there and
answers `q` as the scan does, up, down (gone, triggers too) and up again; on PostgreSQL it changes nothing."""

from datetime import datetime, timezone

from sqlalchemy import inspect, select

from stoplist import migrate
from stoplist.db import create_db_engine
from stoplist.lists.models import Entry
from stoplist.lists.queries import EntryFilter, matching
from stoplist.lists.search import SEARCH_INDEX, searched_entries
from tests.migrations.test_lists_migration import _run

ENTRIES = "SELECT id, account_id, list_id, address, expire_at, created_at FROM blacklist_entries ORDER BY id"
NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def _objects(url: str) -> set[str]:
    """The search index's tables and triggers (SQLite), or nothing."""
    if not url.startswith("sqlite"):
        return set()
    return {name for (name,) in _run(url, f"SELECT name FROM sqlite_master WHERE name LIKE '{SEARCH_INDEX}%'")}


def _found(url: str, q: str) -> tuple[set[int], set[int]]:
    """The ids `q` finds from the index (where there is one) and by the scan."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            where = EntryFilter(digits=q)
            indexed, scanned = (
                set(connection.scalars(select(Entry.id).select_from(entries).where(*matching(where, account_id=1, now=None))))
                for entries in (searched_entries(where), Entry.__table__)
            )
            return indexed, scanned
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_index_is_built_from_the_entries_there_and_goes_and_comes_back_with_them(at_0004: str):
    url = at_0004
    sqlite = url.startswith("sqlite")
    migrate.upgrade(url, "0015")
    before = _run(url, ENTRIES)
    assert before and _objects(url) == set()
    tables = _tables(url)

    for step in ("up", "down", "up"):
        (migrate.upgrade if step == "up" else migrate.downgrade)(url, "0016" if step == "up" else "0015")
        assert _run(url, ENTRIES) == before
        if step == "down" or not sqlite:
            assert _objects(url) == set() and _tables(url) == tables
            continue
        made = {f"{SEARCH_INDEX}{suffix}" for suffix in ("", "_data", "_idx", "_config", "_insert", "_delete", "_update")}
        assert _objects(url) == made
        # Built from the rows already there: every number of account 1 found by its digits, as the scan finds it.
        for (address,) in _run(url, "SELECT address FROM blacklist_entries WHERE account_id = 1"):
            indexed, scanned = _found(url, address[2:])
            assert indexed == scanned and indexed
        # And kept in step from then on.
        _run(url, "DELETE FROM blacklist_entries WHERE id = (SELECT min(id) FROM blacklist_entries WHERE account_id = 1)")
        indexed, scanned = _found(url, "500")
        assert indexed == scanned
        _run(url, f"INSERT INTO {SEARCH_INDEX} ({SEARCH_INDEX}, rank) VALUES ('integrity-check', 1)")
        before = _run(url, ENTRIES)
