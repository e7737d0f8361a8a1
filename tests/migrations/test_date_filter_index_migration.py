"""Migration 0013 with data in it, on SQLite and on PostgreSQL: the newest-first index gains expire_at, every
entry stays as it was up, down and up again; and on SQLite a date-filtered listing's count reads that index alone."""

import sqlite3

import pytest
from sqlalchemy import func, inspect, make_url, select
from sqlalchemy.dialects import sqlite

from stoplist import migrate
from stoplist.db import create_db_engine, utcnow
from stoplist.lists.models import Entry
from stoplist.lists.moments import Period
from stoplist.lists.queries import EntryFilter, matching
from tests.migrations.test_lists_migration import _run

INDEX = "ix_blacklist_entries_account_created"
ENTRIES = "SELECT id, account_id, list_id, address, expire_at, created_at, updated_at FROM blacklist_entries ORDER BY id"


def _columns(url: str) -> list[str]:
    engine = create_db_engine(url)
    try:
        indexes = {index["name"]: index["column_names"] for index in inspect(engine).get_indexes("blacklist_entries")}
        return indexes[INDEX]
    finally:
        engine.dispose()


def test_the_index_gains_expire_at_and_entries_keep_everything_up_down_and_up_again(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0012")
    before = _run(url, ENTRIES)
    assert before and _columns(url) == ["account_id", "created_at", "id"]

    migrate.upgrade(url, "0013")
    assert _columns(url) == ["account_id", "created_at", "id", "expire_at"]
    assert _run(url, ENTRIES) == before

    migrate.downgrade(url, "0012")
    assert _columns(url) == ["account_id", "created_at", "id"]
    assert _run(url, ENTRIES) == before

    migrate.upgrade(url, "0013")
    assert _columns(url) == ["account_id", "created_at", "id", "expire_at"]
    assert _run(url, ENTRIES) == before


def test_sqlite_counts_a_date_filtered_listing_from_the_index_alone(database_url: str, backend: str):
    if backend != "sqlite":
        pytest.skip("PostgreSQL's plan depends on its statistics and visibility map; the benchmark measures it")
    now = utcnow()
    where = EntryFilter(created=Period(after=now))
    statement = select(func.count()).select_from(Entry).where(*matching(where, account_id=1, now=now))
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with sqlite3.connect(make_url(database_url).database) as connection:
        plan = " ".join(row[-1] for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall())
    assert f"COVERING INDEX {INDEX}" in plan, plan
