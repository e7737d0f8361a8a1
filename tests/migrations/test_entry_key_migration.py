"""Migration 0007 with data in it, on SQLite and on PostgreSQL: an entry's two foreign keys become
one, (account_id, list_id) -> the list of that account. Entries keep their ids and fields, ids are
still never reused, and an entry can no longer sit on another account's list."""

import pytest
from sqlalchemy.exc import IntegrityError

from stoplist import migrate
from tests.migrations.test_lists_migration import ENTRIES, _dialect, _new_rows, _run

INSERT = (
    "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
    " VALUES (:account, :list, '48500000777', 'phone', 'manual', 'api', :now, :now)"
)


def _now(url: str):
    return "2026-12-02T00:00:00Z" if _dialect(url) == "sqlite" else "2026-12-02 00:00:00"


def _default_list(url: str, account: int) -> int:
    return _run(url, f"SELECT id FROM lists WHERE account_id = {account} AND kind = 'block' AND channel = '' AND sender = ''")[0][0]


def test_entries_keep_everything_and_their_list_must_be_their_accounts(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0006")
    before = _new_rows(url)
    migrate.upgrade(url, "0007")
    assert migrate.current_revision(url) == "0007"
    assert _new_rows(url) == before
    assert [row[0] for row in before] == [entry_id for entry_id, *_ in ENTRIES]

    # Account 2's list is not account 1's to put entries on; its own list is.
    with pytest.raises(IntegrityError):
        _run(url, INSERT, [{"account": 1, "list": _default_list(url, 2), "now": _now(url)}])
    _run(url, INSERT, [{"account": 1, "list": _default_list(url, 1), "now": _now(url)}])
    [(first,)] = _run(url, "SELECT id FROM blacklist_entries WHERE address = '48500000777'")
    assert first > 9  # past every id the entries had
    # A deleted entry's id is not given out again.
    _run(url, "DELETE FROM blacklist_entries WHERE address = '48500000777'")
    _run(url, INSERT, [{"account": 1, "list": _default_list(url, 1), "now": _now(url)}])
    [(second,)] = _run(url, "SELECT id FROM blacklist_entries WHERE address = '48500000777'")
    assert second > first

    # Deleting a list still deletes its entries.
    _run(url, f"DELETE FROM lists WHERE id = {_default_list(url, 2)}")
    assert _run(url, "SELECT count(*) FROM blacklist_entries WHERE account_id = 2") == [(0,)]


def test_the_way_down_and_up_again_keeps_every_entry(at_0004: str):
    url = at_0004
    migrate.upgrade(url)
    at_head = _new_rows(url)
    migrate.downgrade(url, "0006")
    assert _new_rows(url) == at_head
    with pytest.raises(IntegrityError):  # the two keys of 0006 are back: a list that does not exist is refused
        _run(url, INSERT, [{"account": 1, "list": 999, "now": _now(url)}])
    migrate.upgrade(url)
    assert _new_rows(url) == at_head
