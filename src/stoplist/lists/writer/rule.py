"""The one rule of a write to one entry, which every path asks (an add, an import row, an item of a
batch, an edit, a move): the latest instruction wins. Pure: nothing here touches the database.

A live entry takes what the instruction sets and keeps what it leaves unsaid; if that changes
nothing, the write is `unchanged`. An absent entry, or one that had lapsed, is added anew (the
lapsed one expired first): every entry's events read add, update*, then remove or expire.
"""

from datetime import datetime
from typing import NamedTuple

from stoplist.lists.schemas import DEFAULT_REASON
from stoplist.lists.writer.values import KEEP, lapsed


class State(NamedTuple):
    """The fields of an entry an instruction sets, and events show in `before` and `after`."""

    expire_at: datetime | None
    reason: str
    note: str | None


class Stored(NamedTuple):
    """An entry as the writer read it, under the account's hold: its id and its state."""

    id: int
    expire_at: datetime | None
    reason: str
    note: str | None


class Outcome(NamedTuple):
    """What a write does: `add`, `update` or `unchanged`; the id of the lapsed entry it expires
    first, if any; the entry's state before (None for an add) and after."""

    op: str
    expires: int | None
    before: State | None
    after: State


ADD, UPDATE, UNCHANGED = "add", "update", "unchanged"


def decide(stored: Stored | None, *, expire_at, reason, note, now: datetime) -> Outcome:
    """The outcome of an instruction for the entry `stored` (None: there is none). Each field may be
    KEEP; a `reason` of None keeps the entry's too (a new one's is DEFAULT_REASON)."""
    if reason is KEEP:
        reason = None
    if stored is None or lapsed(stored.expire_at, now):
        after = State(None if expire_at is KEEP else expire_at, reason or DEFAULT_REASON, None if note is KEEP else note)
        return Outcome(ADD, None if stored is None else stored.id, None, after)
    before = State(stored.expire_at, stored.reason, stored.note)
    after = State(before.expire_at if expire_at is KEEP else expire_at, reason or before.reason, before.note if note is KEEP else note)
    return Outcome(UPDATE if after != before else UNCHANGED, None, before, after)
