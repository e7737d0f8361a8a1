"""Migration 0014 with data in it, on SQLite and on PostgreSQL: accounts gain a parent, a list mode
and a deletion time, tokens a name and an expiry; existing rows keep everything and are `own`,
top-level, never expiring; the way down drops the columns and keeps every row; up again works."""

from datetime import datetime

from stoplist import migrate
from tests.migrations.test_lists_migration import _dialect, _run

ACCOUNTS = "SELECT id, name, created_at FROM accounts ORDER BY id"
TOKENS = "SELECT id, account_id, token_hash, prefix, scopes, created_at, revoked_at FROM access_tokens ORDER BY id"


def _tokens(url: str) -> None:
    created = "2026-01-01 00:00:00" if _dialect(url) == "sqlite" else datetime(2026, 1, 1)
    rows = [{"id": i, "account": a, "hash": f"{i:064d}", "created": created} for i, a in ((1, 1), (2, 2))]
    _run(url, "INSERT INTO access_tokens (id, account_id, token_hash, prefix, scopes, created_at) VALUES (:id, :account, :hash, 'sl_x', 'blacklist', :created)", rows)


def test_accounts_and_tokens_keep_their_rows_up_down_and_up_again(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0013")
    _tokens(url)
    accounts, tokens = _run(url, ACCOUNTS), _run(url, TOKENS)

    migrate.upgrade(url, "0014")
    assert _run(url, ACCOUNTS) == accounts and _run(url, TOKENS) == tokens
    assert set(_run(url, "SELECT parent_id, list_mode, deleted_at FROM accounts")) == {(None, "own", None)}
    assert set(_run(url, "SELECT name, expires_at FROM access_tokens")) == {(None, None)}
    # A subuser and an expiring token, as the service writes them.
    expiry = "2030-01-01T00:00:00Z" if _dialect(url) == "sqlite" else datetime(2030, 1, 1)
    _run(url, "UPDATE accounts SET parent_id = 1, list_mode = 'shared' WHERE id = 2")
    _run(url, "UPDATE access_tokens SET name = 'crm', expires_at = :at WHERE id = 2", [{"at": expiry}])

    migrate.downgrade(url, "0013")
    assert _run(url, ACCOUNTS) == accounts and _run(url, TOKENS) == tokens

    migrate.upgrade(url)
    assert _run(url, ACCOUNTS) == accounts and _run(url, TOKENS) == tokens
    assert set(_run(url, "SELECT parent_id, list_mode FROM accounts")) == {(None, "own")}
