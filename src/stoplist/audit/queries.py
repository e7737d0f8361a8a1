"""Statements of the trail that the raw read path runs (compiled per dialect by stoplist.db.raw)."""

from sqlalchemy import Select, bindparam, select

from stoplist.audit.models import Head


def head_seq() -> Select:
    """The seq of an account's newest event."""
    return select(Head.seq).where(Head.account_id == bindparam("account"))


def feed_bounds() -> Select:
    """The cursors an account's feed serves: from its base (the last event retention dropped; 0 while none was) to its newest event."""
    return select(Head.base_seq, Head.seq).where(Head.account_id == bindparam("account"))
