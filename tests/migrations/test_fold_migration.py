"""Migration 0012 with data in it, on SQLite and on PostgreSQL: senders and e-mail addresses become
their keys, with the spelling first given kept beside them; lists whose senders fold to one key merge
into the oldest; entries that then share a list and a key merge into the oldest, which takes the latest
instruction; each merge is on the audit trail, whose chains still verify; and the way down writes the
spellings back, merges staying merged."""

import json
from datetime import datetime
from random import Random

import pytest
from sqlalchemy import inspect

from stoplist import migrate
from stoplist.audit import chain
from stoplist.config import get_settings
from stoplist.db import create_db_engine
from tests.cli.test_import_export_cli import stoplist
from tests.migrations.test_lists_migration import _dialect, _run, _stamp

ACCOUNTS = [(1, "alice"), (2, "bob")]
# (id, account, kind, channel, sender, created_at)
LISTS = [
    (1, 1, "block", "", "", datetime(2026, 1, 1)),
    (2, 1, "block", "sms", "ACME", datetime(2026, 1, 2)),
    (3, 1, "block", "sms", "acme", datetime(2026, 1, 3)),  # merges into 2, the older
    (4, 1, "allow", "sms", "Acme", datetime(2026, 1, 4)),  # another kind: a list of its own, renamed to its key
    (5, 1, "block", "", "+48 500 000 000", datetime(2026, 1, 5)),
    (6, 1, "block", "", "500 000 000", datetime(2026, 1, 6)),  # the same number, read with STOPLIST_DEFAULT_REGION=PL
    (7, 2, "block", "", "", datetime(2026, 1, 1)),
    (8, 2, "block", "", "ACME", datetime(2026, 1, 9)),  # bob's: nothing to merge with
]
FAR = datetime(2099, 1, 1)
PAST = datetime(2020, 1, 1)
# (id, account, list, address, kind, reason, note, expire_at, created_at, updated_at)
ENTRIES = [
    (1, 1, 1, "Jane.Doe@example.com", "email", "manual", None, None, datetime(2026, 2, 1), datetime(2026, 2, 1)),
    (2, 1, 1, "jane.doe@example.com", "email", "bounce", "second", FAR, datetime(2026, 3, 1), datetime(2026, 5, 1)),
    (3, 1, 1, "JANE.DOE@example.com", "email", "legal", None, PAST, datetime(2019, 1, 1), datetime(2026, 6, 1)),  # lapsed
    (4, 1, 2, "48500000001", "phone", "manual", None, None, datetime(2026, 2, 1), datetime(2026, 2, 1)),
    (5, 1, 3, "48500000001", "phone", "complaint", None, None, datetime(2026, 2, 2), datetime(2026, 4, 1)),
    (6, 1, 3, "48500000002", "phone", "manual", None, None, datetime(2026, 2, 3), datetime(2026, 2, 3)),
    (7, 1, 1, "Other@example.com", "email", "manual", None, None, datetime(2026, 2, 4), datetime(2026, 2, 4)),
    (8, 1, 1, "48500000003", "phone", "manual", None, None, datetime(2026, 2, 5), datetime(2026, 2, 5)),
    (9, 1, 5, "48500000004", "phone", "unsubscribed", None, None, datetime(2026, 2, 6), datetime(2026, 2, 6)),
    (10, 1, 6, "48500000004", "phone", "unsubscribed", None, None, datetime(2026, 2, 7), datetime(2026, 2, 7)),  # same state: no update
    (11, 1, 4, "48500000001", "phone", "other", None, None, datetime(2026, 2, 8), datetime(2026, 2, 8)),
    (12, 2, 7, "Jane.Doe@example.com", "email", "manual", None, None, datetime(2026, 2, 1), datetime(2026, 2, 1)),
    (13, 2, 8, "48500000001", "phone", "manual", None, None, datetime(2026, 2, 1), datetime(2026, 2, 1)),
]


@pytest.fixture
def at_0011(empty_database_url: str, monkeypatch: pytest.MonkeyPatch):
    """A database at revision 0011 holding LISTS and ENTRIES, each with its `add` event, as migration 0006 and the writer left them."""
    url = empty_database_url
    monkeypatch.setenv("STOPLIST_DATABASE_URL", url)
    monkeypatch.setenv("STOPLIST_DEFAULT_REGION", "PL")
    get_settings.cache_clear()
    migrate.upgrade(url, "0011")
    dialect = _dialect(url)
    created = _stamp(datetime(2026, 1, 1), dialect)
    _run(url, "INSERT INTO accounts (id, name, created_at) VALUES (:id, :name, :created)", [{"id": i, "name": n, "created": created} for i, n in ACCOUNTS])
    _run(
        url,
        "INSERT INTO lists (id, account_id, kind, channel, sender, created_at) VALUES (:id, :account, :kind, :channel, :sender, :created)",
        [{"id": i, "account": a, "kind": k, "channel": c, "sender": s, "created": _stamp(t, dialect)} for i, a, k, c, s, t in LISTS],
    )
    _run(
        url,
        "INSERT INTO blacklist_entries (id, account_id, list_id, address, address_kind, reason, note, source, expire_at, created_at, updated_at)"
        " VALUES (:id, :account, :list, :address, :kind, :reason, :note, 'api', :expire, :created, :updated)",
        [
            {"id": i, "account": a, "list": l, "address": ad, "kind": k, "reason": r, "note": n, "expire": _stamp(e, dialect),
             "created": _stamp(c, dialect), "updated": _stamp(u, dialect)}
            for i, a, l, ad, k, r, n, e, c, u in ENTRIES
        ],
    )
    _trail(url, account_id=1)
    _trail(url, account_id=2)
    if dialect == "postgresql":
        for table in ("accounts", "lists", "blacklist_entries"):
            _run(url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    yield url
    get_settings.cache_clear()


def _trail(url: str, *, account_id: int, lists=LISTS, entries=ENTRIES) -> None:
    """An `add` event per entry of the account, chained as audit.trail writes them, and its head."""
    scopes = {i: (k, c, s) for i, _a, k, c, s, _t in lists}
    seq, previous, events = 0, chain.GENESIS, []
    at = _stamp(datetime(2026, 7, 1), _dialect(url))
    for entry_id, account, list_id, address, kind, reason, note, expire_at, *_ in entries:
        if account != account_id:
            continue
        seq += 1
        body = chain.body(
            chain.common(account_id, "2026-07-01T00:00:00Z", source="api"), seq, "add", address=address, address_kind=kind,
            scope=scopes[list_id], entry_id=entry_id, before=None, after={"expire_at": chain.stamp(expire_at), "reason": reason, "note": note},
        )
        previous = chain.link(previous, body)
        events.append({"account": account_id, "seq": seq, "at": at, "address": address, "entry": entry_id, "body": body, "hash": previous})
    _run(url, "INSERT INTO entry_events (account_id, seq, at, op, address, entry_id, body, hash) VALUES (:account, :seq, :at, 'add', :address, :entry, :body, :hash)", events)
    _run(
        url, "INSERT INTO audit_heads (account_id, seq, hash, at, base_seq, base_hash) VALUES (:account, :seq, :hash, :at, 0, '')",
        [{"account": account_id, "seq": seq, "hash": previous, "at": at}],
    )


def _columns(url: str, table: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return {column["name"] for column in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _lists(url: str) -> list[tuple]:
    return _run(url, "SELECT id, account_id, kind, channel, sender, sender_display FROM lists ORDER BY id")


def _entries(url: str) -> list[tuple]:
    return _run(url, "SELECT id, list_id, address, address_display, reason, note, expire_at, created_at, updated_at FROM blacklist_entries ORDER BY id")


def _events(url: str, since_seq: int = 0, account_id: int = 1) -> list[dict]:
    rows = _run(url, f"SELECT body FROM entry_events WHERE account_id = {account_id} AND seq > {since_seq} ORDER BY seq")
    return [json.loads(body) for (body,) in rows]


def test_lists_and_entries_fold_merge_into_the_oldest_and_record_each_merge(at_0011: str):
    url = at_0011
    dialect = _dialect(url)

    migrate.upgrade(url)

    assert _lists(url) == [
        (1, 1, "block", "", "", None),
        (2, 1, "block", "sms", "acme", "ACME"),
        (4, 1, "allow", "sms", "acme", "Acme"),
        (5, 1, "block", "", "48500000000", "+48 500 000 000"),
        (7, 2, "block", "", "", None),
        (8, 2, "block", "", "acme", "ACME"),
    ]
    s = lambda moment: _stamp(moment, dialect)  # noqa: E731
    assert _entries(url) == [
        # Jane: the oldest live one stays (1, not the lapsed 3), with entry 2's instruction, the latest live one.
        (1, 1, "jane.doe@example.com", "Jane.Doe@example.com", "bounce", "second", s(FAR), s(datetime(2026, 2, 1)), s(datetime(2026, 5, 1))),
        # ACME's number: entry 4 stays on list 2 with entry 5's instruction.
        (4, 2, "48500000001", None, "complaint", None, None, s(datetime(2026, 2, 1)), s(datetime(2026, 4, 1))),
        (6, 2, "48500000002", None, "manual", None, None, s(datetime(2026, 2, 3)), s(datetime(2026, 2, 3))),  # moved, nothing to merge
        (7, 1, "other@example.com", "Other@example.com", "manual", None, None, s(datetime(2026, 2, 4)), s(datetime(2026, 2, 4))),
        (8, 1, "48500000003", None, "manual", None, None, s(datetime(2026, 2, 5)), s(datetime(2026, 2, 5))),
        (9, 5, "48500000004", None, "unsubscribed", None, None, s(datetime(2026, 2, 6)), s(datetime(2026, 2, 7))),  # 10's, the same
        (11, 4, "48500000001", None, "other", None, None, s(datetime(2026, 2, 8)), s(datetime(2026, 2, 8))),
        (12, 7, "jane.doe@example.com", "Jane.Doe@example.com", "manual", None, None, s(datetime(2026, 2, 1)), s(datetime(2026, 2, 1))),
        (13, 8, "48500000001", None, "manual", None, None, s(datetime(2026, 2, 1)), s(datetime(2026, 2, 1))),
    ]

    merges = _events(url, since_seq=11)
    assert [(event["seq"], event["op"], event["entry_id"], event["address"]) for event in merges] == [
        (12, "remove", "2", "jane.doe@example.com"),
        (13, "expire", "3", "jane.doe@example.com"),  # it had lapsed
        (14, "update", "1", "jane.doe@example.com"),
        (15, "remove", "5", "48500000001"),
        (16, "update", "4", "48500000001"),
        (17, "remove", "10", "48500000004"),  # entry 9 already had that instruction: no update
    ]
    assert all(event["source"] == "system" and event["evidence"].startswith("migration 0012: ") for event in merges)
    assert "merged into entry 1" in merges[0]["evidence"] and "JANE.DOE@example.com" in merges[1]["evidence"]
    assert merges[2]["before"] == {"expire_at": None, "reason": "manual", "note": None}
    assert merges[2]["after"] == {"expire_at": "2099-01-01T00:00:00Z", "reason": "bounce", "note": "second"}
    assert merges[3]["list"] == {"kind": "block", "channel": "sms", "sender": "acme"}
    assert [event["op"] for event in _events(url, account_id=2)] == ["add", "add"]  # bob's entries folded without a merge: nothing to record
    assert _run(url, "SELECT account_id, seq FROM audit_heads ORDER BY account_id") == [(1, 17), (2, 2)]

    verified = stoplist("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.strip() == "ok: 19 events of 2 account(s) verified, 9 listed entries agree with them"


def test_a_merge_of_an_account_without_a_trail_starts_its_chain(at_0011: str):
    """An account whose entries no event records (written behind the service's back: migration 0006 gave every entry
    its add): the merge starts its chain all the same, and verify names the entries that the trail does not account for."""
    url = at_0011
    dialect = _dialect(url)
    _run(url, "DELETE FROM entry_events WHERE account_id = 2")
    _run(url, "DELETE FROM audit_heads WHERE account_id = 2")
    _run(
        url,
        "INSERT INTO blacklist_entries (id, account_id, list_id, address, address_kind, reason, source, created_at, updated_at)"
        " VALUES (20, 2, 7, 'JANE.doe@example.com', 'email', 'bounce', 'import', :created, :updated)",
        [{"created": _stamp(datetime(2026, 3, 1), dialect), "updated": _stamp(datetime(2026, 3, 1), dialect)}],
    )

    migrate.upgrade(url)

    assert [(event["seq"], event["op"], event["entry_id"]) for event in _events(url, account_id=2)] == [(1, "remove", "20"), (2, "update", "12")]
    assert _run(url, "SELECT reason, address_display FROM blacklist_entries WHERE id = 12") == [("bounce", "Jane.Doe@example.com")]
    verified = stoplist("audit", "verify")
    assert verified.exit_code == 1, verified.output
    assert verified.stderr.strip() == (
        "BROKEN: account 2, entry 12: its first event (2) is an update, not its add: its add is missing"
        " (every event verified; 7 listed entries before it agree with them)"  # alice's 7; bob's chain of 2 holds
    )


def test_the_way_down_writes_the_spellings_back_and_the_way_up_again_folds_them(at_0011: str):
    url = at_0011
    migrate.upgrade(url)
    migrate.downgrade(url, "0011")

    assert migrate.current_revision(url) == "0011"
    assert _run(url, "SELECT id, sender FROM lists ORDER BY id") == [(1, ""), (2, "ACME"), (4, "Acme"), (5, "+48 500 000 000"), (7, ""), (8, "ACME")]
    # Merged stay merged; each entry left has its spelling back.
    assert _run(url, "SELECT id, address FROM blacklist_entries WHERE address_kind = 'email' ORDER BY id") == [
        (1, "Jane.Doe@example.com"), (7, "Other@example.com"), (12, "Jane.Doe@example.com"),
    ]
    assert "sender_display" not in _columns(url, "lists") and "address_display" not in _columns(url, "blacklist_entries")

    migrate.upgrade(url)
    assert [row[:6] for row in _lists(url)][:2] == [(1, 1, "block", "", "", None), (2, 1, "block", "sms", "acme", "ACME")]
    assert _run(url, "SELECT id, address, address_display FROM blacklist_entries WHERE id IN (1, 7)") == [
        (1, "jane.doe@example.com", "Jane.Doe@example.com"), (7, "other@example.com", "Other@example.com"),
    ]
    verified = stoplist("audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_merges_across_batches_leave_what_one_merge_of_each_group_would(empty_database_url: str, monkeypatch: pytest.MonkeyPatch):
    """6,000 addresses in four spellings each, spread over the id range (the migration reads 5,000 a batch)
    and over two lists that merge: every group ends as one entry, the one a single merge would keep."""
    url = empty_database_url
    monkeypatch.setenv("STOPLIST_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate.upgrade(url, "0011")
    dialect = _dialect(url)
    s = lambda moment: _stamp(moment, dialect)  # noqa: E731
    _run(url, "INSERT INTO accounts (id, name, created_at) VALUES (1, 'alice', :created)", [{"created": s(datetime(2026, 1, 1))}])
    _run(
        url, "INSERT INTO lists (id, account_id, kind, channel, sender, created_at) VALUES (:id, 1, 'block', '', :sender, :created)",
        [{"id": 1, "sender": "Shop", "created": s(datetime(2026, 1, 1))}, {"id": 2, "sender": "SHOP", "created": s(datetime(2026, 1, 2))}],
    )
    random = Random(12)
    groups = 1_500
    rows = []
    for entry_id in range(1, 4 * groups + 1):
        base = f"user{entry_id % groups}"
        spelling = "".join(character.upper() if random.random() < 0.5 else character for character in base)
        created, updated = datetime(2026, 1, 1 + random.randrange(28)), datetime(2026, 2, 1 + random.randrange(28))
        expire_at = random.choice([None, None, FAR, PAST])
        rows.append({
            "id": entry_id, "list": random.choice([1, 2]), "address": f"{spelling}@example.com", "reason": random.choice(["manual", "bounce", "legal"]),
            "expire": s(expire_at), "created": s(created), "updated": s(updated), "moments": (expire_at, created, updated),
        })
    # Spellings already on one list are one entry there before the migration too: drop repeats of an exact (list, address).
    unique = list({(row["list"], row["address"]): row for row in rows}.values())
    _run(
        url,
        "INSERT INTO blacklist_entries (id, account_id, list_id, address, address_kind, reason, source, expire_at, created_at, updated_at)"
        " VALUES (:id, 1, :list, :address, 'email', :reason, 'api', :expire, :created, :updated)",
        [{key: value for key, value in row.items() if key != "moments"} for row in unique],
    )
    _trail(  # each entry's add, as migration 0006 and the writer left them
        url, account_id=1, lists=[(1, 1, "block", "", "Shop", None), (2, 1, "block", "", "SHOP", None)],
        entries=[(row["id"], 1, row["list"], row["address"], "email", row["reason"], None, row["moments"][0]) for row in unique],
    )
    expected, by_key = {}, {}
    now = datetime.now()
    for row in unique:
        by_key.setdefault(row["address"].lower(), []).append(row)
    for key, group in by_key.items():
        live = [row for row in group if row["moments"][0] is None or row["moments"][0] > now] or group
        stays = min(live, key=lambda row: (row["moments"][1], row["id"]))
        latest = max(live, key=lambda row: (row["moments"][2], row["id"]))
        expected[stays["id"]] = (1, key, latest["reason"], latest["expire"], stays["created"], latest["updated"])

    migrate.upgrade(url)

    found = _run(url, "SELECT id, list_id, address, reason, expire_at, created_at, updated_at FROM blacklist_entries ORDER BY id")
    assert {row[0]: row[1:] for row in found} == expected
    assert _run(url, "SELECT count(*) FROM entry_events WHERE op IN ('remove', 'expire')") == [(len(unique) - groups,)]
    verified = stoplist("audit", "verify")
    assert verified.exit_code == 0, verified.output
    get_settings.cache_clear()


def test_lists_named_by_a_scope_word_stay_and_are_named_in_the_log(at_0011: str, caplog: pytest.LogCaptureFixture):
    url = at_0011
    created = _stamp(datetime(2026, 1, 10), _dialect(url))
    _run(url, "INSERT INTO lists (id, account_id, kind, channel, sender, created_at) VALUES (20, 1, 'block', '', 'Every', :created)", [{"created": created}])

    with caplog.at_level("WARNING", logger="alembic.runtime.migration"):
        migrate.upgrade(url)

    assert _run(url, "SELECT sender, sender_display FROM lists WHERE id = 20") == [("every", "Every")]
    assert "migration 0012: 1 list(s) have 'every', 'all' or '*' as their sender" in caplog.text


def test_history_finds_an_addresss_events_from_before_it_was_stored_by_its_key(at_0011: str):
    """Entry 7's `add` names it as given, `Other@example.com`; after 0012 its entry holds the key, and
    history by address, in any spelling, still finds that event, through the entry."""
    from stoplist.db import create_session_factory
    from stoplist.history import service as history

    migrate.upgrade(at_0011)
    engine = create_db_engine(at_0011)
    try:
        with create_session_factory(engine)() as session:
            for spelling in ("other@example.com", "OTHER@Example.COM", "Other@example.com"):
                page = history.history_of_address(session, account_id=1, raw=spelling, default_region="PL", after=None, limit=100)
                found = [json.loads(body) for _seq, body, _hash in page.events]
                assert [(event["op"], event["address"], event["entry_id"]) for event in found] == [("add", "Other@example.com", "7")], spelling
    finally:
        engine.dispose()
