"""Every revision goes up, down and up again, on SQLite and on PostgreSQL, and ends where the models are."""

import json
import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, make_url

from stoplist import migrate
from stoplist.db import raw, utcnow
from stoplist.lists.queries import known_unnest, live_addresses_json, live_addresses_unnest
from stoplist.db import Base, create_db_engine


def revisions(url: str) -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def tables(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_every_revision_walks_up_down_and_up_again(empty_database_url: str):
    url = empty_database_url
    steps = revisions(url)
    assert steps[0] == "0001"

    for index, revision in enumerate(steps):
        migrate.upgrade(url, revision)
        assert migrate.current_revision(url) == revision
        migrate.downgrade(url, steps[index - 1] if index else "base")
        migrate.upgrade(url, revision)
        assert migrate.current_revision(url) == revision

    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None
    assert tables(url) == set()
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision(url)


def test_head_matches_the_models(empty_database_url: str):
    migrate.upgrade(empty_database_url)
    engine = create_db_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            options = {"compare_type": True, "include_object": migrate.include_object_for(connection.dialect.name)}
            differences = compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata)
    finally:
        engine.dispose()

    assert differences == []


def test_postgresql_search_by_part_of_a_number_has_a_trigram_index(database_url: str, backend: str):
    if backend != "postgresql":
        pytest.skip("SQLite's trigram index is an FTS5 table: tests/lists/test_search_index.py and test_search_index_migration.py")
    engine = create_db_engine(database_url)
    try:
        indexes = {index["name"] for index in inspect(engine).get_indexes("blacklist_entries")}
    finally:
        engine.dispose()
    assert "ix_blacklist_entries_phone_trgm" in indexes


def test_sqlite_bulk_checks_read_the_covering_index_and_not_the_table(database_url: str, backend: str):
    if backend != "sqlite":
        pytest.skip("PostgreSQL's checks probe the unique index; the covering index is SQLite's (migrations 0004, 0005)")
    sql, _names = raw(live_addresses_json, "sqlite")
    with sqlite3.connect(make_url(database_url).database) as connection:
        addresses = json.dumps(["48500000001", "48500000002", "48500000003"])
        plan = connection.execute(f"EXPLAIN QUERY PLAN {sql}", (1, addresses, "2026-11-25T00:00:00Z")).fetchall()
    details = " ".join(row[-1] for row in plan)
    # The entries' lists, addresses and ids from the index alone, one search of it per address; only the JSON array is scanned.
    entries = [row[-1] for row in plan if "blacklist_entries" in row[-1]]
    assert entries == ["SEARCH blacklist_entries USING COVERING INDEX ix_blacklist_entries_account_address_expire (account_id=? AND address=?)"], details
    assert all("VIRTUAL TABLE" in row[-1] for row in plan if row[-1].startswith("SCAN")), details


def _account_with_numbers(database_url: str, count: int) -> int:
    """A new account whose default list holds +48500000000 onwards, `count` numbers: its id."""
    from stoplist.auth.repository import AuthRepository
    from stoplist.db import create_session_factory, transaction
    from stoplist.testing.lists import fill

    engine = create_db_engine(database_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            account = AuthRepository(session).add_account("default", created_at=utcnow()).id
            fill(session, account, {f"+48{500000000 + i}": None for i in range(count)}, now=utcnow())
    finally:
        engine.dispose()
    return account


def _psycopg_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_postgresql_lookups_by_address_probe_the_unique_index_on_statistics_from_before_an_import(database_url: str, backend: str):
    """Right after a bulk import, before autovacuum has analysed the table, the planner believes it
    holds a few rows: a lookup of 500 addresses must still probe the unique index once each (an
    import's batch, a bulk check, an add's own lookup), never hash every entry of the account."""
    if backend != "postgresql":
        pytest.skip("SQLite's lookups by address are the IN list of the covering-index test above")
    from psycopg import connect

    account = _account_with_numbers(database_url, 50_000)
    wanted = [f"+48{600000000 + i}" for i in range(500)]
    parameters = {"account": account, "addresses": wanted, "now": utcnow().replace(tzinfo=None), "channel": "sms", "sender": "ACME"}
    with connect(_psycopg_url(database_url)) as connection:
        # An import's lookup and a check's both take their addresses as a JSON array.
        for statement in (known_unnest, live_addresses_unnest):
            sql, _names = raw(statement, "psycopg")
            plan = connection.execute(f"EXPLAIN {sql}", {**parameters, "addresses": json.dumps(wanted)}).fetchall()
            details = "\n".join(row[0] for row in plan)
            assert "Hash Join" not in details and "Nested Loop" in details, details
            assert "Scan using uq_blacklist_entries_account_id_address_list_id" in details, details


def test_postgresql_bulk_checks_read_the_unique_index_and_not_the_table(database_url: str, backend: str):
    """Once the table is vacuumed (autovacuum does it after an import), a bulk check finds each
    address's lists, ids and expiries in the unique index alone: no table page per listed address."""
    if backend != "postgresql":
        pytest.skip("SQLite's bulk checks have the covering-index test above")
    from psycopg import connect

    account = _account_with_numbers(database_url, 5_000)
    wanted = [f"48{500000000 + i}" for i in range(0, 1_000, 2)] + [f"48{600000000 + i}" for i in range(500)]
    with connect(_psycopg_url(database_url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE blacklist_entries")
        sql, _names = raw(live_addresses_unnest, "psycopg")
        parameters = {"account": account, "addresses": json.dumps(wanted), "now": utcnow().replace(tzinfo=None)}
        plan = connection.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", parameters).fetchall()
    details = "\n".join(row[0] for row in plan)
    assert "Index Only Scan using uq_blacklist_entries_account_id_address_list_id" in details, details
    assert "Heap Fetches: 0" in details, details
