"""Reads of the trail's heads: statements the raw read path runs (compiled per dialect by stoplist.db.raw), and the feed's cursor as of now."""

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from stoplist.audit.models import Head


def head_seq() -> Select:
    """The seq of an account's newest event."""
    return select(Head.seq).where(Head.account_id == bindparam("account"))


def feed_bounds() -> Select:
    """The cursors an account's feed serves: from its base (the last event retention dropped; 0 while none was) to its newest event."""
    return select(Head.base_seq, Head.seq).where(Head.account_id == bindparam("account"))


# The header that names the change feed's position when a listing or an export was read.
FEED_CURSOR_HEADER = "X-Feed-Cursor"


def feed_cursor(session: Session, account_id: int) -> str:
    """The feed's cursor as of now: read before a listing or export in the same session, a mirror that
    loads that snapshot and follows the feed from here misses nothing (an event it already reflects
    replays harmlessly)."""
    return str(session.scalar(select(Head.seq).where(Head.account_id == account_id)) or 0)
