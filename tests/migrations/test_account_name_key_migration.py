"""Migration 0015 with data in it, on SQLite and on PostgreSQL: accounts gain name_key (NFKC, case-folded),
unique; names made before it that are one in that sense keep their names and rows, the later ones' keys
carrying their id; the way down drops the column and keeps every row; up again works."""

from datetime import datetime

import pytest
from sqlalchemy.exc import IntegrityError

from stoplist import migrate
from tests.migrations.test_lists_migration import _dialect, _run

ACCOUNTS = "SELECT id, name, created_at, parent_id, list_mode, deleted_at FROM accounts ORDER BY id"


def test_accounts_keep_their_rows_and_names_alike_made_before_keep_theirs(empty_database_url: str):
    url = empty_database_url
    migrate.upgrade(url, "0014")
    created = "2026-01-01 00:00:00" if _dialect(url) == "sqlite" else datetime(2026, 1, 1)
    names = [(1, "Acme"), (2, "acme"), (3, "Straße"), (4, "STRASSE"), (5, "brand-b")]
    _run(url, "INSERT INTO accounts (id, name, created_at) VALUES (:id, :name, :created)", [{"id": i, "name": n, "created": created} for i, n in names])
    accounts = _run(url, ACCOUNTS)

    migrate.upgrade(url, "0015")
    assert _run(url, ACCOUNTS) == accounts
    assert _run(url, "SELECT id, name_key FROM accounts ORDER BY id") == [
        (1, "acme"), (2, "acme\x1f2"), (3, "strasse"), (4, "strasse\x1f4"), (5, "brand-b"),
    ]
    # From now on the database refuses a name alike, whoever asks.
    with pytest.raises(IntegrityError):
        _run(url, "INSERT INTO accounts (id, name, name_key, created_at) VALUES (6, 'BRAND-B', 'brand-b', :created)", [{"created": created}])

    migrate.downgrade(url, "0014")
    assert _run(url, ACCOUNTS) == accounts
    migrate.upgrade(url)
    assert _run(url, ACCOUNTS) == accounts and _run(url, "SELECT name_key FROM accounts WHERE id = 5") == [("brand-b",)]
