"""Retention of the audit trail: off unless configured; when on, whole calendar months go, oldest first."""

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from stoplist.audit.models import Head
from stoplist.audit.trail import Trail


def cutoff(now: datetime, months: int) -> datetime:
    """The first moment kept: the start of the month `months` months before the current one (UTC)."""
    month_index = now.year * 12 + (now.month - 1) - months
    return datetime(month_index // 12, month_index % 12 + 1, 1, tzinfo=timezone.utc)


def drop_expired(session: Session, *, now: datetime, months: int) -> int:
    """Drop every account's events recorded before the cutoff; the chain keeps where it now starts."""
    first_kept = cutoff(now, months)
    trail = Trail(session)
    return sum(trail.drop_before(account_id, first_kept) for account_id in session.scalars(select(Head.account_id).order_by(Head.account_id)))
