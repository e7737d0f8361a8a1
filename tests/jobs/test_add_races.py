"""Adding a number while other requests delete or relist it: never a 500, never a lost write."""

import threading
from dataclasses import dataclass
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import select

from stoplist.audit.trail import SYSTEM, Origin
from stoplist.lists.models import Entry
from stoplist.blacklist.service import add_entry, delete_entries
from stoplist.db import transaction, utcnow
from stoplist.lists.writer import EntryWriter
from stoplist.testing.lists import fill

NUMBER = "48500000007"
# Long enough for a write that is not blocked to have finished; short enough for the suite.
BLOCKED_FOR = 0.5

API = Origin("api")


def stored(factory, account: int) -> list[tuple]:
    with factory() as session:
        return [(e.phone_number, e.expire_at, e.created_at) for e in session.scalars(select(Entry).where(Entry.account_id == account))]


def added(session, **kwargs) -> "Added":
    """add_entry, with the entry read back as stored (timestamps as datetimes)."""
    row, created = add_entry(session, origin=API, **kwargs)
    entry = session.get(Entry, int(row[3]))
    return Added(entry, created)


@dataclass
class Added:
    entry: Entry
    created: bool


def in_thread(work) -> tuple[threading.Thread, dict]:
    """Run `work` in a thread of its own (its own connection), keeping what it returns or raises."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except Exception as exc:  # handed to the test, which asserts on it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_delete_sent_while_a_lapsed_entry_is_relisted_waits_and_then_removes_it(session_factory, account_id, monkeypatch):
    """The add holds the lapsed row between its two statements, so the delete comes after it, whole."""
    factory, account = session_factory, account_id
    now = utcnow()
    with transaction(factory) as session:
        fill(session, account, {NUMBER: now - timedelta(seconds=5)}, now=now - timedelta(days=1))
    relist = EntryWriter._expire
    deleter: dict = {}

    def delete_meanwhile(self, *args):
        # What a concurrent DELETE does right after this request found the entry lapsed.
        def delete() -> int:
            with transaction(factory) as other:
                return delete_entries(other, account_id=account, phone_number=NUMBER, spelled=NUMBER, default_region=None, origin=API)

        thread, outcome = in_thread(delete)
        thread.join(BLOCKED_FOR)
        deleter.update(blocked=thread.is_alive(), thread=thread, outcome=outcome)
        return relist(self, *args)

    monkeypatch.setattr(EntryWriter, "_expire", delete_meanwhile)
    expiry = now + timedelta(days=30)
    with transaction(factory) as session:
        result = added(session, account_id=account, phone_number=NUMBER, expire_at=expiry, now=now)
        answered = (result.created, result.entry.phone_number, result.entry.expire_at, result.entry.created_at)
    deleter["thread"].join(30)

    assert answered == (True, NUMBER, expiry, now)
    assert deleter["blocked"], "the delete must wait for the add holding the entry"
    assert deleter["outcome"] == {"value": 1}, "the delete, coming second, removes the relisted entry"
    assert stored(factory, account) == []


def test_an_import_sent_while_a_lapsed_entry_is_relisted_waits_and_keeps_the_new_created_at(session_factory, account_id, monkeypatch):
    """The import writes after the add: it sees the entry live again, so it only replaces the expiry."""
    factory, account = session_factory, account_id
    now = utcnow()
    with transaction(factory) as session:
        fill(session, account, {NUMBER: now - timedelta(seconds=5)}, now=now - timedelta(days=30))
    relist = EntryWriter._expire
    importer: dict = {}

    def import_meanwhile(self, *args):
        def upsert() -> tuple[int, int]:
            with transaction(factory) as other:
                return fill(other, account, {NUMBER: now + timedelta(days=2)}, now=now + timedelta(seconds=1))

        thread, outcome = in_thread(upsert)
        thread.join(BLOCKED_FOR)
        importer.update(blocked=thread.is_alive(), thread=thread, outcome=outcome)
        return relist(self, *args)

    monkeypatch.setattr(EntryWriter, "_expire", import_meanwhile)
    with transaction(factory) as session:
        result = added(session, account_id=account, phone_number=NUMBER, expire_at=now + timedelta(days=1), now=now)
        answered = (result.created, result.entry.expire_at, result.entry.created_at)
    importer["thread"].join(30)

    assert answered == (True, now + timedelta(days=1), now)
    assert importer["blocked"], "the import's write must wait for the add holding the entry"
    assert "error" not in importer["outcome"], importer["outcome"]
    assert stored(factory, account) == [(NUMBER, now + timedelta(days=2), now)]


def test_adds_and_deletes_of_one_number_from_many_threads_never_fail(session_factory, account_id):
    """Each add answers created or updated, as the row it stored says, however the writes interleave."""
    factory, account = session_factory, account_id
    threads, pairs = 6, 60

    def hammer(_: int) -> Counter:
        outcomes: Counter = Counter()
        for _ in range(pairs):
            now = utcnow()
            with transaction(factory) as session:
                result = added(session, account_id=account, phone_number=NUMBER, expire_at=None, now=now)
            if result.created:
                assert result.entry.created_at == now, "a new listing is dated by its own request"
            outcomes["created" if result.created else "updated"] += 1
            with transaction(factory) as session:
                outcomes[f"deleted {delete_entries(session, account_id=account, phone_number=NUMBER, spelled=NUMBER, default_region=None, origin=API)}"] += 1
        return outcomes

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = sum(pool.map(hammer, range(threads)), Counter())

    assert outcomes["created"] + outcomes["updated"] == threads * pairs
    assert outcomes["created"] >= outcomes["deleted 1"] > 0
    assert len(stored(factory, account)) <= 1


def test_a_purge_sent_while_a_lapsed_entry_is_relisted_spares_it(session_factory, account_id, monkeypatch):
    """The purge deletes what had expired; an entry relisted (and acknowledged) before it could run is live."""
    factory, account = session_factory, account_id
    now = utcnow()
    with transaction(factory) as session:
        fill(session, account, {NUMBER: now - timedelta(seconds=5)}, now=now - timedelta(days=1))
    relist = EntryWriter._expire
    purger: dict = {}

    def purge_meanwhile(self, *args):
        def purge() -> int:
            with transaction(factory) as other:
                return EntryWriter(other, SYSTEM).purge_expired(now=utcnow())

        thread, outcome = in_thread(purge)
        thread.join(BLOCKED_FOR)
        purger.update(thread=thread, outcome=outcome)
        return relist(self, *args)

    monkeypatch.setattr(EntryWriter, "_expire", purge_meanwhile)
    with transaction(factory) as session:
        result = added(session, account_id=account, phone_number=NUMBER, expire_at=None, now=now)
    purger["thread"].join(30)

    assert result.created is True
    assert purger["outcome"] == {"value": 0}
    assert stored(factory, account) == [(NUMBER, None, now)]
