"""All SQL about blacklist entries."""

from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.blacklist.models import Entry
from stoplist.blacklist.schemas import EntryOrder

_ORDER = {
    EntryOrder.created_at: (Entry.created_at.asc(), Entry.id.asc()),
    EntryOrder.created_at_desc: (Entry.created_at.desc(), Entry.id.desc()),
    EntryOrder.phone_number: (Entry.phone_number.asc(),),
    EntryOrder.phone_number_desc: (Entry.phone_number.desc(),),
    # Entries that never expire sort after those that do, like an infinitely late date.
    EntryOrder.expire_at: (Entry.expire_at.is_(None).asc(), Entry.expire_at.asc(), Entry.id.asc()),
    EntryOrder.expire_at_desc: (Entry.expire_at.is_(None).desc(), Entry.expire_at.desc(), Entry.id.desc()),
}


def live(now: datetime) -> ColumnElement[bool]:
    """Entries still on the list at `now`."""
    return or_(Entry.expire_at.is_(None), Entry.expire_at > now)


class EntryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get_live(self, *, account_id: int, entry_id: int, now: datetime) -> Entry | None:
        return self.session.scalar(select(Entry).where(Entry.id == entry_id, Entry.account_id == account_id, live(now)))

    def by_number(self, *, account_id: int, phone_number: str) -> Entry | None:
        return self.session.scalar(select(Entry).where(Entry.account_id == account_id, Entry.phone_number == phone_number))

    def insert_if_absent(self, *, account_id: int, phone_number: str, expire_at: datetime | None, created_at: datetime) -> Entry | None:
        """Insert the entry unless the account already has the number; never raises on a duplicate."""
        dialect = {"sqlite": sqlite, "postgresql": postgresql}[self.session.get_bind().dialect.name]
        values = {"account_id": account_id, "phone_number": phone_number, "expire_at": expire_at, "created_at": created_at}
        statement = (
            dialect.insert(Entry)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Entry.account_id, Entry.phone_number])
            .returning(Entry.id)
        )
        entry_id = self.session.scalar(statement)
        if entry_id is None:
            return None
        return self.session.get(Entry, entry_id)

    def search(self, *, account_id: int, now: datetime, digits: str | None, order: EntryOrder, offset: int, limit: int) -> list[Entry]:
        statement = self._matching(account_id, now, digits).order_by(*_ORDER[order]).offset(offset).limit(limit)
        return list(self.session.scalars(statement))

    def count(self, *, account_id: int, now: datetime, digits: str | None) -> int:
        statement = self._matching(account_id, now, digits).with_only_columns(func.count())
        return self.session.scalar(statement) or 0

    def delete_live(self, *, account_id: int, entry_id: int, now: datetime) -> bool:
        result = self.session.execute(delete(Entry).where(Entry.id == entry_id, Entry.account_id == account_id, live(now)))
        return result.rowcount > 0

    def delete_number(self, *, account_id: int, phone_number: str) -> int:
        result = self.session.execute(delete(Entry).where(Entry.account_id == account_id, Entry.phone_number == phone_number))
        return result.rowcount

    def delete_all(self, *, account_id: int) -> int:
        return self.session.execute(delete(Entry).where(Entry.account_id == account_id)).rowcount

    @staticmethod
    def _matching(account_id: int, now: datetime, digits: str | None):
        statement = select(Entry).where(Entry.account_id == account_id, live(now))
        if digits:
            statement = statement.where(Entry.phone_number.contains(digits, autoescape=True))
        return statement
