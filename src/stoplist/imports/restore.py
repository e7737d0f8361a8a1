"""What `stoplist import` keeps of a native file and the API's import stamps afresh: each new entry's
created_at, updated_at and source, so that a file `stoplist export` wrote restores the entries it holds."""

from datetime import datetime, timedelta
from typing import NamedTuple

from stoplist.lists.expiry import parse_moment
from stoplist.lists.moments import EARLIEST
from stoplist.lists.schemas import SOURCES


# How far ahead of this host's clock a time may be and still be kept (as this host's now): the clock of the host that
# wrote the file may run a little ahead; rejecting the row would leave its recipient unblocked for a few seconds' skew.
CLOCK_SKEW = timedelta(minutes=5)


class InvalidRecord(Exception):
    """A created_at, updated_at or source that a restore cannot keep: its row is rejected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Recorded(NamedTuple):
    """An entry's times and source as its file gives them; None: the import's own."""

    created_at: datetime | None
    updated_at: datetime | None
    source: str | None


def recorded(*, created_at: str | None, updated_at: str | None, source: str | None, now: datetime) -> Recorded:
    """The times and source of a native row, checked: readable, not after `now` (up to CLOCK_SKEW after it is `now`),
    and updated no earlier than created.

    Without updated_at, an entry is as it was created (an export older than that column has created_at alone)."""
    created = _moment("created_at", created_at, now)
    updated = _moment("updated_at", updated_at, now)
    if updated is not None and created is None:
        raise InvalidRecord(f"updated_at {updated_at!r} is given without the created_at it follows.")
    if updated is not None and created is not None and updated < created:
        raise InvalidRecord(f"updated_at {updated_at!r} is before created_at {created_at!r}.")
    # Compared as written, then kept no later than now (a clock a little ahead: CLOCK_SKEW).
    latest = now.replace(microsecond=0)
    created, updated = (None if moment is None else min(moment, latest) for moment in (created, updated))
    return Recorded(created, updated or created, _source(source))


def _moment(name: str, raw: str | None, now: datetime) -> datetime | None:
    if raw is None:
        return None
    moment = parse_moment(raw)
    if moment is None:
        raise InvalidRecord(f"{name} {raw!r} is neither a date (2026-12-01) nor an RFC 3339 date-time (2026-12-01T10:00:00Z).")
    moment = moment.replace(microsecond=0)
    if moment < EARLIEST:
        # Stored times sort as text on SQLite, four digits of year first: an earlier year would sort after 2026 and
        # could not be read back (nor exported, nor restored); a date filter takes none either.
        raise InvalidRecord(f"{name} {raw!r} is before the year 1000: entries hold times of the years 1000 to 9999.")
    if moment > now + CLOCK_SKEW:
        raise InvalidRecord(f"{name} {raw!r} is in the future (more than {CLOCK_SKEW.seconds // 60} minutes ahead of this host's clock).")
    return moment


def _source(raw: str | None) -> str | None:
    if raw is None:
        return None
    source = raw.strip().lower()
    if source not in SOURCES:
        raise InvalidRecord(f"source {raw!r} is not one of {', '.join(SOURCES)}.")
    return source
