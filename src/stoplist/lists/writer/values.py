"""The values the writer takes and answers: what a write asks for (`Change`, and an import's `Row`), and what a write did."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple


class _Keep:
    """What an instruction leaves unsaid: the entry keeps what it has (a new one, its default)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@dataclass(frozen=True)
class Change:
    """What one write asks of an entry (an add, an edit, an item of a batch): each field it sets, or
    KEEP for what it leaves as it is. An add names the address (its key); an edit may name another
    (the entry then moves to it) or KEEP it."""

    source: str
    address: Any = KEEP  # str | KEEP
    address_kind: str | None = None  # of `address`, when it is named
    expire_at: Any = KEEP  # datetime | None (never) | KEEP
    reason: Any = KEEP  # str | KEEP (None keeps too: an import row's way of saying it)
    note: Any = KEEP  # str | None (none) | KEEP
    address_display: str | None = None  # the spelling a new entry shows, where it differs from `address` (the key)


class Written(NamedTuple):
    """What a bulk write did with its rows, one per (list, address): entries added (lapsed ones
    listed anew among them), entries updated, and live entries the row would not have changed."""

    added: int
    updated: int
    unchanged: int


class Deleted(NamedTuple):
    """What a delete by id did: 1 `removed` (it was live) or 1 `expired` (it had lapsed), or neither."""

    removed: int
    expired: int


def lapsed(expire_at: datetime | None, now: datetime) -> bool:
    """Whether an entry of that expiry is off its list at `now`."""
    return expire_at is not None and expire_at <= now


class Row(NamedTuple):
    """One row of a bulk write (an import): its list, its address and what it sets. A tuple: an
    import makes one per row, and a frozen dataclass took a tenth of the time it spends reading them."""

    list_id: int
    address: str
    address_kind: str
    expire_at: datetime | None
    reason: str | None
    note: str | None = None
    address_display: str | None = None  # the spelling a new entry shows, where it differs from `address` (the key)
    # What a restore (`stoplist import` of a native file) keeps for an entry it creates; None: the
    # write's own time and source, as for every other write. An entry already listed takes neither.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    source: str | None = None


def merged(earlier: Row, later: Row) -> Row:
    """Two instructions for one entry, in order: the later one's, keeping the earlier reason and note where it gives none."""
    return later._replace(reason=later.reason or earlier.reason, note=later.note if later.note is not None else earlier.note)
