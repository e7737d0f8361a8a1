"""The SQL accounts needs beyond auth's: which lists a subuser has, to empty them when it is deleted."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from stoplist.lists.models import List


def list_ids_of(session: Session, account_id: int) -> list[int]:
    """The ids of the account's lists, oldest first."""
    return list(session.scalars(select(List.id).where(List.account_id == account_id).order_by(List.id)))
