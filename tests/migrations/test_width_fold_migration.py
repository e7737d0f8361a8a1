"""Migration 0017 with data in it, on SQLite and on PostgreSQL: stored senders and e-mail addresses that hold
full-width characters get their keys folded in width, exactly as 0012 folded case: lists that then share a key
merge into the oldest, entries that then share a list and a key merge into the oldest (which takes the latest
instruction), each merge on the audit trail, whose chains still verify; keys without such characters are untouched."""

import json
from datetime import datetime

import pytest

from stoplist import migrate
from stoplist.audit import chain
from stoplist.config import get_settings
from tests.cli.test_import_export_cli import stoplist
from tests.migrations.test_lists_migration import _dialect, _run, _stamp

# (id, kind, channel, sender key as 0012 stored it, its display, created_at)
LISTS = [
    (1, "block", "", "", None, datetime(2026, 1, 1)),
    (2, "block", "sms", "acme", "ACME", datetime(2026, 1, 2)),
    (3, "block", "sms", "ａｃｍｅ", "ＡＣＭＥ", datetime(2026, 1, 3)),  # case-folded only: merges into 2 now
    (4, "block", "", "＋４８５００００００００", None, datetime(2026, 1, 4)),  # a number in full-width digits: the number's key
    (5, "block", "", "48500000001", None, datetime(2026, 1, 5)),  # a number's key already: untouched
    (6, "block", "", "500000000", None, datetime(2026, 1, 6)),  # digits 0012 kept as text (no region then): untouched under PL now
    (7, "block", "sms", "ａｌｌ", "ＡＬＬ", datetime(2026, 1, 7)),  # folds to a scope word: left as it is, and logged
    (8, "block", "sms", "acme  bank", "ACME  Bank", datetime(2026, 1, 8)),  # a run of spaces: one space now
    (9, "block", "sms", "acme bank", None, datetime(2026, 1, 9)),  # ...so 8 and 9 are one list: 9 merges into 8
]
# (id, list, address key as 0012 stored it, display, kind, reason, note, created_at, updated_at)
ENTRIES = [
    (1, 1, "josé@example.com", "José@example.com", "email", "manual", None, datetime(2026, 2, 1), datetime(2026, 2, 1)),
    (2, 1, "ｊｏｓé@example.com", None, "email", "bounce", "later", datetime(2026, 2, 2), datetime(2026, 3, 1)),  # merges into 1
    (3, 2, "48500000009", None, "phone", "manual", None, datetime(2026, 2, 3), datetime(2026, 2, 3)),
    (4, 3, "48500000009", None, "phone", "complaint", None, datetime(2026, 2, 4), datetime(2026, 2, 5)),  # list 3 merges: into 3
    (5, 3, "48500000008", None, "phone", "manual", None, datetime(2026, 2, 6), datetime(2026, 2, 6)),  # moves to list 2
    (6, 1, "ｅｗａ@example.com", "Ｅｗａ@example.com", "email", "manual", None, datetime(2026, 2, 7), datetime(2026, 2, 7)),  # re-keyed
    (7, 1, "plain@example.com", None, "email", "manual", None, datetime(2026, 2, 8), datetime(2026, 2, 8)),  # untouched
]


@pytest.fixture
def at_0016(empty_database_url: str, monkeypatch: pytest.MonkeyPatch):
    url = empty_database_url
    monkeypatch.setenv("STOPLIST_DATABASE_URL", url)
    # A region set now: keys without wide characters must not be read again with it (500000000 would become 48500000000).
    monkeypatch.setenv("STOPLIST_DEFAULT_REGION", "PL")
    get_settings.cache_clear()
    migrate.upgrade(url, "0016")
    dialect = _dialect(url)
    s = lambda moment: _stamp(moment, dialect)  # noqa: E731
    _run(url, "INSERT INTO accounts (id, name, name_key, created_at) VALUES (1, 'alice', 'alice', :created)", [{"created": s(datetime(2026, 1, 1))}])
    _run(
        url,
        "INSERT INTO lists (id, account_id, kind, channel, sender, sender_display, created_at) VALUES (:id, 1, :kind, :channel, :sender, :display, :created)",
        [{"id": i, "kind": k, "channel": c, "sender": key, "display": d, "created": s(t)} for i, k, c, key, d, t in LISTS],
    )
    _run(
        url,
        "INSERT INTO blacklist_entries (id, account_id, list_id, address, address_display, address_kind, reason, note, source, created_at, updated_at)"
        " VALUES (:id, 1, :list, :address, :display, :kind, :reason, :note, 'api', :created, :updated)",
        [
            {"id": i, "list": l, "address": a, "display": d, "kind": k, "reason": r, "note": n, "created": s(c), "updated": s(u)}
            for i, l, a, d, k, r, n, c, u in ENTRIES
        ],
    )
    scopes = {i: (k, c, key) for i, k, c, key, _d, _t in LISTS}
    previous, events = chain.GENESIS, []
    for seq, (entry_id, list_id, address, _d, kind, reason, note, *_) in enumerate(ENTRIES, start=1):
        body = chain.body(
            chain.common(1, "2026-07-01T00:00:00Z", source="api"), seq, "add", address=address, address_kind=kind,
            scope=scopes[list_id], entry_id=entry_id, before=None, after={"expire_at": None, "reason": reason, "note": note},
        )
        previous = chain.link(previous, body)
        events.append({"seq": seq, "at": s(datetime(2026, 7, 1)), "address": address, "entry": entry_id, "body": body, "hash": previous})
    _run(url, "INSERT INTO entry_events (account_id, seq, at, op, address, entry_id, body, hash) VALUES (1, :seq, :at, 'add', :address, :entry, :body, :hash)", events)
    _run(url, "INSERT INTO audit_heads (account_id, seq, hash, at, base_seq, base_hash) VALUES (1, :seq, :hash, :at, 0, '')",
         [{"seq": len(events), "hash": previous, "at": s(datetime(2026, 7, 1))}])
    if dialect == "postgresql":
        for table in ("accounts", "lists", "blacklist_entries"):
            _run(url, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
    yield url
    get_settings.cache_clear()


def test_keys_with_full_width_characters_fold_and_merge_as_case_did(at_0016: str, caplog: pytest.LogCaptureFixture):
    url = at_0016
    s = lambda moment: _stamp(moment, _dialect(url))  # noqa: E731

    migrate.upgrade(url)

    assert _run(url, "SELECT id, kind, channel, sender, sender_display FROM lists ORDER BY id") == [
        (1, "block", "", "", None),
        (2, "block", "sms", "acme", "ACME"),
        (4, "block", "", "48500000000", "＋４８５００００００００"),
        (5, "block", "", "48500000001", None),
        (6, "block", "", "500000000", None),
        (7, "block", "sms", "ａｌｌ", "ＡＬＬ"),
        (8, "block", "sms", "acme bank", "ACME  Bank"),
    ]
    assert _run(url, "SELECT id, list_id, address, address_display, reason, note, updated_at FROM blacklist_entries ORDER BY id") == [
        (1, 1, "josé@example.com", "José@example.com", "bounce", "later", s(datetime(2026, 3, 1))),  # entry 2's instruction
        (3, 2, "48500000009", None, "complaint", None, s(datetime(2026, 2, 5))),  # entry 4's
        (5, 2, "48500000008", None, "manual", None, s(datetime(2026, 2, 6))),
        (6, 1, "ewa@example.com", "Ｅｗａ@example.com", "manual", None, s(datetime(2026, 2, 7))),
        (7, 1, "plain@example.com", None, "manual", None, s(datetime(2026, 2, 8))),
    ]
    merges = [json.loads(body) for (body,) in _run(url, "SELECT body FROM entry_events WHERE seq > 7 ORDER BY seq")]
    assert [(event["op"], event["entry_id"], event["address"]) for event in merges] == [
        ("remove", "2", "josé@example.com"), ("update", "1", "josé@example.com"),
        ("remove", "4", "48500000009"), ("update", "3", "48500000009"),
    ]
    assert all(event["source"] == "system" and event["evidence"].startswith("migration 0017: ") and "width" in event["evidence"]
               for event in merges if event["op"] == "remove")
    verified = stoplist("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.strip() == "ok: 11 events of 1 account(s) verified, 5 listed entries agree with them"
    assert "migration 0017: 1 list(s) have a sender that is 'every', 'all' or '*' in full width" in caplog.text


def test_what_the_migration_stores_is_what_the_code_now_matches(at_0016: str):
    """After it, a check naming the full-width spellings finds the entries (the keys are the code's)."""
    migrate.upgrade(at_0016)
    from stoplist.lists.addresses import email_and_display
    from stoplist.lists.senders import sender_key

    stored_senders = {sender for (sender,) in _run(at_0016, "SELECT sender FROM lists")}
    assert {sender_key("ＡＣＭＥ", None), sender_key("＋４８ ５００ ０００ ０００", None)} <= stored_senders
    stored_addresses = {address for (address,) in _run(at_0016, "SELECT address FROM blacklist_entries")}
    assert {email_and_display("ｊｏｓé@example.com")[0], email_and_display("ＥＷＡ@example.com")[0]} <= stored_addresses


def test_history_by_address_finds_the_events_recorded_under_the_earlier_key_of_a_deleted_entry(at_0016: str):
    """An entry gone before 0017 keeps its events under 0012's key (`ｅｗａ@…`, case folded only): the trail is not
    rewritten, so a history asked in the address's width spelling, in any case, still finds them."""
    url = at_0016
    removed = chain.body(
        chain.common(1, "2026-07-02T00:00:00Z", source="api"), 8, "remove", address="ｅｗａ@example.com", address_kind="email",
        scope=("block", "", ""), entry_id=6, before={"expire_at": None, "reason": "manual", "note": None}, after=None,
    )
    (head,) = _run(url, "SELECT hash FROM audit_heads WHERE account_id = 1")[0]
    link = chain.link(head, removed)
    at = _stamp(datetime(2026, 7, 2), _dialect(url))
    _run(url, "INSERT INTO entry_events (account_id, seq, at, op, address, entry_id, body, hash) VALUES (1, 8, :at, 'remove', 'ｅｗａ@example.com', 6, :body, :hash)",
         [{"at": at, "body": removed, "hash": link}])
    _run(url, "UPDATE audit_heads SET seq = 8, hash = :hash, at = :at WHERE account_id = 1", [{"hash": link, "at": at}])
    _run(url, "DELETE FROM blacklist_entries WHERE id = 6")

    migrate.upgrade(url)

    for spelling in ("ＥＷＡ@example.com", "ｅｗａ@example.com", "Ｅｗａ@EXAMPLE.com"):
        exported = stoplist("audit", "export", "--account", "alice", "--address", spelling)
        assert exported.exit_code == 0, exported.output
        assert [row.split(",")[2] for row in exported.stdout.splitlines()[1:]] == ['"add"', '"remove"'], (spelling, exported.stdout)
    verified = stoplist("audit", "verify")
    assert verified.exit_code == 0, verified.output
