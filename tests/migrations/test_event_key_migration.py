"""Migration 0009 with data in it: on PostgreSQL events lose their own key to accounts, and an
account with a trail still cannot be deleted (its head's key refuses it), on both databases, at
0009 and after the way down and up again."""

import pytest
from sqlalchemy.exc import IntegrityError

from stoplist import migrate
from tests.migrations.test_lists_migration import _dialect, _run

# Without the surrogate id, which migration 0011 drops: the test ends at head.
EVENTS = "SELECT account_id, seq, op, address, entry_id, body, hash FROM entry_events ORDER BY account_id, seq"
KEYS = (
    "SELECT count(*) FROM information_schema.table_constraints"
    " WHERE table_name = 'entry_events' AND constraint_type = 'FOREIGN KEY'"
)


def _refuses_deleting_an_account_with_a_trail(url: str) -> None:
    with pytest.raises(IntegrityError):
        _run(url, "DELETE FROM accounts WHERE id = 1")
    assert _run(url, "SELECT count(*) FROM entry_events WHERE account_id = 1") == [(3,)]


def test_events_keep_everything_and_their_account_stays(at_0004: str):
    url = at_0004
    migrate.upgrade(url, "0008")
    before = _run(url, EVENTS)
    assert len(before) == 5
    migrate.upgrade(url, "0009")
    assert _run(url, EVENTS) == before
    if _dialect(url) == "postgresql":
        assert _run(url, KEYS) == [(0,)]
    _refuses_deleting_an_account_with_a_trail(url)

    migrate.downgrade(url, "0008")
    assert _run(url, EVENTS) == before
    if _dialect(url) == "postgresql":
        assert _run(url, KEYS) == [(1,)]
    _refuses_deleting_an_account_with_a_trail(url)
    migrate.upgrade(url)
    assert _run(url, EVENTS) == before
    _refuses_deleting_an_account_with_a_trail(url)
