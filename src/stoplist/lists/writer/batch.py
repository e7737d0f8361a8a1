"""The writer's batch of adds (an API call of up to a thousand items): each item asks the one rule in
turn, as an add of its own would, and all are written at once through the bulk path's statements."""

from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from stoplist.audit.trail import Fact, state
from stoplist.db import driver_connection
from stoplist.lists.writer.rule import ADD, UNCHANGED, UPDATE, Stored, decide
from stoplist.lists.writer.values import Change, Row, lapsed

_ID = itemgetter(0)  # of an (id, Row, reason, note) to write


class Applied(NamedTuple):
    """What one item of a batch did: `add`, `update` or `unchanged`, and the entry's id."""

    op: str
    entry_id: int


class Added(NamedTuple):
    """What a batch did: one Applied per item, in order, and the final Row of each entry it inserted, by
    id (each was written from it, with the batch's source and time: its caller needs no read back)."""

    applied: list[Applied]
    created: dict[int, Row]


class BatchWrites:
    """EntryWriter's batch. Uses what EntryWriter and BulkWrites hold: session, trail, origin, wait(),
    _scope, _known, _reserve_ids and _write_entries."""

    def add_each(self, *, account_id: int, items: list[tuple[int, Change]], now: datetime) -> Added:
        """Put each (list id, change) in turn, as `add` would one by one, in one lookup and a few
        statements: one answer per item, in order. An item later in the batch meets the entry as the
        items before it left it; an item that changes nothing writes and records nothing (unlike a
        single add, which confirms an opt-out again)."""
        self.wait()
        self.trail.hold(account_id)
        if not items:
            return Added([], {})
        known = self._known(account_id, sorted({(list_id, change.address) for list_id, change in items}))
        absent = len({(list_id, change.address) for list_id, change in items}) - len(known)
        ids = iter(self._reserve_ids(absent + sum(lapsed(found.expire_at, now) for found in known.values())))
        current: dict[tuple[int, str], Stored] = dict(known)
        new: dict[tuple[int, str], tuple] = {}  # written as inserts: (id, Row, reason, note), the last state of each key
        old: dict[tuple[int, str], tuple] = {}  # written as upserts of live entries
        gone: list[int] = []
        facts: list[Fact] = []
        applied: list[Applied] = []
        for list_id, change in items:
            key = (list_id, change.address)
            stored = current.get(key)
            outcome = decide(stored, expire_at=change.expire_at, reason=change.reason, note=change.note, now=now)
            if outcome.op == UNCHANGED:
                applied.append(Applied(UNCHANGED, stored.id))  # type: ignore[union-attr]
                continue
            scope, after = self._scope(list_id), outcome.after
            if outcome.expires is not None:
                gone.append(outcome.expires)
                facts.append(Fact("expire", change.address, change.address_kind, scope, outcome.expires, state(stored.expire_at, stored.reason, stored.note), None))  # type: ignore[union-attr]
            if outcome.op == ADD:
                entry_id = next(ids)
                facts.append(Fact(ADD, change.address, change.address_kind, scope, entry_id, None, state(*after)))
            else:
                entry_id = stored.id  # type: ignore[union-attr]
                facts.append(Fact(UPDATE, change.address, change.address_kind, scope, entry_id, state(*outcome.before), state(*after)))  # type: ignore[misc]
            row = Row(list_id, change.address, change.address_kind, after.expire_at, after.reason, after.note, change.address_display)  # type: ignore[arg-type]
            (new if outcome.op == ADD or key in new else old)[key] = (entry_id, row, after.reason, after.note)
            current[key] = Stored(entry_id, *after)
            applied.append(Applied(outcome.op, entry_id))
        if facts:
            # The new entries in id order (the items' order), as the bulk path inserts them: SQLite's
            # search index (FTS5) writes out what it holds whenever a rowid comes below the last one,
            # which in key order cost a batch of 1,000 about 15 ms more (a list of 1,000,000). The others in key order.
            self._write_entries(driver_connection(self.session), account_id, gone, sorted(new.values(), key=_ID),
                                [old[key] for key in sorted(old)], self.origin.source, now)
            self.trail.record(account_id, facts, self.origin, now)
        return Added(applied, {entry_id: row for entry_id, row, _reason, _note in new.values()})
