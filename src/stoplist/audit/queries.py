"""Where an account's trail stands, read for the feed and its cursors: statements the raw read path
runs (compiled per dialect by stoplist.db.raw) and the session paths run alike, and the cursor's form.

A cursor names an event by its seq and the first characters of its hash (`13-0a1b2c3d4e5f6071`), so
that a cursor kept from another trail (a database restored from an older backup, whose event 13 is
not the one the cursor saw) is refused instead of silently skipping what the restored trail lacks.
"""

import re
from typing import NamedTuple

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from stoplist.audit.models import Event, Head

# Hex characters of an event's hash that a cursor carries: 64 bits, no collision by chance.
CHECK_CHARS = 16
# Matched whole (fullmatch: `$` would let a trailing line end through).
CURSOR = re.compile(rf"(?P<seq>[0-9]{{1,18}})(?:-(?P<check>[0-9a-f]{{{CHECK_CHARS}}}))?")
# The same, as the OpenAPI document declares it (ECMA-262).
CURSOR_PATTERN = rf"^[0-9]{{1,18}}(?:-[0-9a-f]{{{CHECK_CHARS}}})?$"
# The header that names the change feed's position when a listing or an export was read.
FEED_CURSOR_HEADER = "X-Feed-Cursor"


class FeedBounds(NamedTuple):
    """The cursors an account's feed serves: from its base (the last event retention dropped; 0 while
    none was) to its newest event, each with its hash."""

    base: int
    base_hash: str
    newest: int
    newest_hash: str


NO_TRAIL = FeedBounds(0, "", 0, "")


def cursor_text(seq: int, hash_: str) -> str:
    """The cursor of event `seq` whose hash is `hash_` ("0" before the first event)."""
    return "0" if seq == 0 else f"{seq}-{hash_[:CHECK_CHARS]}"


def head_seq() -> Select:
    """The seq of an account's newest event."""
    return select(Head.seq).where(Head.account_id == bindparam("account"))


def feed_bounds() -> Select:
    """An account's FeedBounds."""
    return select(Head.base_seq, Head.base_hash, Head.seq, Head.hash).where(Head.account_id == bindparam("account"))


def event_hash() -> Select:
    """The hash of an account's event `seq`."""
    return select(Event.hash).where(Event.account_id == bindparam("account"), Event.seq == bindparam("seq"))


def bounds_of(session: Session, account_id: int) -> FeedBounds:
    """The account's FeedBounds, read in the session (NO_TRAIL before its first write)."""
    row = session.execute(feed_bounds(), {"account": account_id}).one_or_none()
    return NO_TRAIL if row is None else FeedBounds(*row)


def feed_cursor(session: Session, account_id: int) -> str:
    """The feed's cursor as of now: read before a listing or export in the same session, a mirror that
    loads that snapshot and follows the feed from here misses nothing (an event it already reflects
    replays harmlessly)."""
    bounds = bounds_of(session, account_id)
    return cursor_text(bounds.newest, bounds.newest_hash)
