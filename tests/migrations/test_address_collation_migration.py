"""Migration 0008 with data in it: on PostgreSQL the entries' addresses are compared byte by byte
and the unique index carries each entry's id and expiry; every entry keeps every field, the key
still refuses a second entry for an address on a list, and the way down and up again keeps all."""

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from stoplist import migrate
from tests.migrations.test_lists_migration import _dialect, _new_rows, _run

DUPLICATE = (
    "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
    " SELECT account_id, list_id, address, address_kind, reason, source, created_at, updated_at FROM blacklist_entries WHERE id = 1"
)
MIXED = ["b@example.com", "B@example.com", "_z@example.com", "a.b@example.com", "ab@example.com", "Z@example.com"]


def _collation(url: str) -> str | None:
    [(collation,)] = _run(
        url,
        "SELECT collation_name FROM information_schema.columns WHERE table_name = 'blacklist_entries' AND column_name = 'address'",
    )
    return collation


def _included(url: str) -> list[str]:
    return [
        name
        for (name,) in _run(
            url,
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey[i.indnkeyatts:])"
            " WHERE c.relname = 'uq_blacklist_entries_account_id_address_list_id' ORDER BY a.attname",
        )
    ]


def test_entries_keep_everything_up_down_and_up_again(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0007")
    before = _new_rows(url)
    migrate.upgrade(url, "0008")
    assert _new_rows(url) == before
    with pytest.raises(IntegrityError):
        _run(url, DUPLICATE)
    if _dialect(url) == "postgresql":
        assert _collation(url) == "C"
        assert _included(url) == ["expire_at", "id"]

    migrate.downgrade(url, "0007")
    assert _new_rows(url) == before
    if _dialect(url) == "postgresql":
        assert _collation(url) is None  # the database's default again
        assert _included(url) == []
    with pytest.raises(IntegrityError):
        _run(url, DUPLICATE)
    migrate.upgrade(url)
    assert _new_rows(url) == before


def test_addresses_sort_in_code_point_order_on_both_databases(at_0004: str):
    """The listing's order by address is the same on PostgreSQL as on SQLite (and in Python),
    whatever the database's locale: upper case before punctuation before lower case."""
    url = at_0004
    migrate.upgrade(url)
    list_id = _run(url, "SELECT list_id FROM blacklist_entries WHERE id = 1")[0][0]
    now = "2026-12-02T00:00:00Z" if _dialect(url) == "sqlite" else "2026-12-02 00:00:00"
    _run(
        url,
        "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
        " VALUES (1, :list, :address, 'email', 'manual', 'api', :now, :now)",
        [{"list": list_id, "address": address, "now": now} for address in MIXED],
    )
    listed = [address for (address,) in _run(url, "SELECT address FROM blacklist_entries WHERE address_kind = 'email' ORDER BY address")]
    assert listed == sorted(MIXED)


def test_postgresql_sorts_addresses_byte_by_byte_whatever_the_databases_locale(databases, backend: str):
    """A production database is often created with a language's collation (here ICU's en-US), under
    which 'a.b@…' sorts between 'ab@…' and 'B@…'; from 0008 on the order is SQLite's."""
    if backend != "postgresql":
        pytest.skip("SQLite compares bytes: the test above")
    databases.require(backend)
    from psycopg import connect, sql

    name = f"icu_{uuid.uuid4().hex[:12]}"
    create = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
    with connect(databases.postgres.admin_url, autocommit=True) as connection:
        connection.execute(create.format(sql.Identifier(name)))
    url = databases.postgres.url(name)
    try:
        migrate.upgrade(url, "0007")
        _run(url, "INSERT INTO accounts (id, name, created_at) VALUES (1, 'default', now())")
        _run(url, "INSERT INTO lists (id, account_id, kind, channel, sender, created_at) VALUES (1, 1, 'block', '', '', now())")
        _run(
            url,
            "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
            " VALUES (1, 1, :address, 'email', 'manual', 'api', now(), now())",
            [{"address": address} for address in MIXED],
        )
        listed = "SELECT address FROM blacklist_entries ORDER BY address"
        assert [address for (address,) in _run(url, listed)] != sorted(MIXED)  # the locale's order
        migrate.upgrade(url, "0008")
        assert [address for (address,) in _run(url, listed)] == sorted(MIXED)
    finally:
        with connect(databases.postgres.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
