"""The change feed under concurrent writers (issue 11): a reader that keeps its cursor sees every
event exactly once, in order, while several writers commit at the same time, on both databases
(on PostgreSQL the writers' transactions really overlap; each account's head orders them)."""

import threading
from datetime import datetime, timezone

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow
from stoplist.history import service as history
from stoplist.lists import service as lists
from stoplist.testing.lists import fill

WRITERS = 4
ADDS = 40  # per writer, one transaction each
IMPORT_BATCHES = 5
BATCH = 200  # addresses per import batch


def test_a_reader_sees_every_event_once_in_order_while_writers_commit(session_factory):
    with transaction(session_factory) as session:
        account_id = AuthRepository(session).add_account("feed", created_at=utcnow()).id
    expected = WRITERS * ADDS + IMPORT_BATCHES * BATCH
    errors: list[BaseException] = []
    done = threading.Event()

    def adder(writer: int) -> None:
        try:
            for index in range(ADDS):
                with transaction(session_factory) as session:
                    lists.add(
                        session, account_id=account_id, scope=lists.Scope("block", "sms" if writer % 2 else "", ""), address=f"4860{writer}{index:06d}",
                        address_kind="phone", expire_at=None, reason=None, note=None, set_note=False, origin=Origin("api"),
                    )
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    def importer() -> None:
        try:
            for batch in range(IMPORT_BATCHES):
                with transaction(session_factory) as session:
                    fill(session, account_id, {f"4870{batch}{index:06d}": None for index in range(BATCH)}, now=datetime.now(timezone.utc).replace(microsecond=0))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    seen: list[int] = []

    def reader() -> None:
        cursor = "0"
        while True:
            finished = done.is_set()
            with session_factory() as session:
                page = history.feed(session, account_id=account_id, after=cursor, limit=37)
            seen.extend(seq for seq, _body, _hash in page.events)
            cursor = page.next
            if finished and not page.events:
                return

    threads = [threading.Thread(target=adder, args=(writer,)) for writer in range(WRITERS)] + [threading.Thread(target=importer)]
    watcher = threading.Thread(target=reader)
    watcher.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    done.set()
    watcher.join(60)

    assert not errors, errors
    assert seen == list(range(1, expected + 1))
    with session_factory() as session:
        assert history.verify(session, account_id=account_id)[1:3] == (expected, None)
