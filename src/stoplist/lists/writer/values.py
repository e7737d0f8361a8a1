"""The values the writer takes and answers: what an add or an import row asks for, and what a write did."""

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class Change:
    """What one add asks for: the fields it sets; None for reason and note keeps what the entry has."""

    address: str
    address_kind: str
    expire_at: datetime | None
    source: str
    reason: str | None = None
    note: str | None = None
    set_note: bool = False
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
