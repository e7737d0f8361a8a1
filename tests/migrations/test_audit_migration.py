"""Migration 0006 with data in it, on SQLite and on PostgreSQL: every entry that exists gets its one
`add` event, chained per account, so the trail accounts for every entry from the start."""

import json


from stoplist import migrate
from stoplist.db import create_session_factory, create_db_engine
from stoplist.history import service as history
from tests.migrations.test_lists_migration import ENTRIES, _run


def test_every_existing_entry_gets_one_add_event_and_the_chains_verify(at_0004):
    url = at_0004
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision(url)

    rows = _run(url, "SELECT account_id, seq, op, address, entry_id, body FROM entry_events ORDER BY account_id, seq")
    assert [(account, seq, op) for account, seq, op, *_ in rows] == [(1, 1, "add"), (1, 2, "add"), (1, 3, "add"), (2, 1, "add"), (2, 2, "add")]
    # In created_at order within each account.
    assert [entry_id for account, _s, _o, _a, entry_id, _b in rows if account == 2] == [5, 9]
    expected = {(account, number, entry_id) for entry_id, account, number, _e, _c in ENTRIES}
    assert {(account, address, entry_id) for account, _s, _o, address, entry_id, _b in rows} == expected
    assert [entry_id for account, _s, _o, _a, entry_id, _b in rows if account == 1] == [3, 1, 2]
    first = json.loads(next(body for _a, _s, _o, _ad, entry_id, body in rows if entry_id == 1))
    assert first["source"] == "system" and first["evidence"].startswith("Listed before the audit trail began")
    assert first["at"] == "2026-01-02T03:04:05Z" and first["list"] == {"kind": "block", "channel": None, "sender": None}
    assert first["after"] == {"expire_at": None, "reason": "manual", "note": None}
    heads = _run(url, "SELECT account_id, seq FROM audit_heads ORDER BY account_id")
    assert heads == [(1, 3), (2, 2)]

    engine = create_db_engine(url)
    try:
        with create_session_factory(engine)() as session:
            accounts, checked, broken, _entries = history.verify(session)
    finally:
        engine.dispose()
    assert (accounts, checked, broken) == (2, 5, None)


def test_the_way_down_drops_the_trail_and_the_way_up_again_rebuilds_it(at_0004):
    url = at_0004
    migrate.upgrade(url)
    migrate.downgrade(url, "0005")
    assert migrate.current_revision(url) == "0005"
    tables = "SELECT name FROM sqlite_master WHERE name = 'entry_events'" if url.startswith("sqlite") else "SELECT tablename FROM pg_tables WHERE tablename = 'entry_events'"
    assert _run(url, tables) == []
    migrate.upgrade(url)
    assert _run(url, "SELECT count(*) FROM entry_events") == [(len(ENTRIES),)]
