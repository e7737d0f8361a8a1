"""Reads of the audit trail: an address's or an entry's history, the account's change feed, and
every event in order for verification and proof exports."""

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from stoplist.audit.chain import Stored
from stoplist.audit.models import Event, Head
from stoplist.db import driver_connection, raw

# (seq, body, hash) of one event.
EventRow = tuple[int, str, str]


def _feed():
    return (
        select(Event.seq, Event.body, Event.hash)
        .where(Event.account_id == bindparam("account"), Event.seq > bindparam("after"))
        .order_by(Event.seq)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def of_address(self, *, account_id: int, address: str, after: int, limit: int) -> list[EventRow]:
        statement = select(Event.seq, Event.body, Event.hash).where(Event.account_id == account_id, Event.address == address, Event.seq > after)
        return [tuple(row) for row in self.session.execute(statement.order_by(Event.seq).limit(limit))]  # type: ignore[misc]

    def of_entry(self, *, account_id: int, entry_id: int, after: int, limit: int) -> list[EventRow]:
        statement = select(Event.seq, Event.body, Event.hash).where(Event.account_id == account_id, Event.entry_id == entry_id, Event.seq > after)
        return [tuple(row) for row in self.session.execute(statement.order_by(Event.seq).limit(limit))]  # type: ignore[misc]

    def first_of_entry(self, *, account_id: int, entry_id: int) -> str | None:
        """The body of an entry's first event, or None if it has none."""
        statement = select(Event.body).where(Event.account_id == account_id, Event.entry_id == entry_id).order_by(Event.seq).limit(1)
        return self.session.scalar(statement)

    def feed(self, *, account_id: int, after: int, limit: int) -> list[EventRow]:
        """Straight through the driver, SQL compiled from `_feed`: a page of 10,000 events is some
        5 MB, and SQLAlchemy's result rows cost several times the query itself."""
        dialect = self.session.get_bind().dialect.name
        sql, names = raw(_feed, "sqlite" if dialect == "sqlite" else "psycopg")
        values = {"account": account_id, "after": after, "limit": limit, "offset": 0}
        parameters = tuple(values[name] for name in names) if dialect == "sqlite" else values
        cursor = driver_connection(self.session).cursor()
        try:
            cursor.execute(sql, parameters)
            return cursor.fetchall()
        finally:
            cursor.close()

    def since(self, *, account_id: int | None, since: datetime, batch: int = 5_000) -> Iterator[tuple[int, EventRow]]:
        """(account id, event) of every event recorded at or after `since`, account by account, in seq order."""
        for account in self.accounts(account_id):
            after = 0
            while True:
                statement = select(Event.seq, Event.body, Event.hash).where(Event.account_id == account, Event.seq > after, Event.at >= since)
                rows = self.session.execute(statement.order_by(Event.seq).limit(batch)).all()
                for row in rows:
                    yield account, tuple(row)  # type: ignore[misc]
                if len(rows) < batch:
                    break
                after = rows[-1][0]

    def accounts(self, account_id: int | None = None) -> list[int]:
        """The accounts that have a trail (just `account_id`'s, if given)."""
        statement = select(Head.account_id).order_by(Head.account_id)
        if account_id is not None:
            statement = statement.where(Head.account_id == account_id)
        return list(self.session.scalars(statement))

    def feed_bounds(self, account_id: int) -> tuple[int, int]:
        """(base, newest): the oldest and newest cursors the account's feed serves ((0, 0) before its first event)."""
        row = self.session.execute(select(Head.base_seq, Head.seq).where(Head.account_id == account_id)).one_or_none()
        return (0, 0) if row is None else (row[0], row[1])

    def head(self, account_id: int) -> tuple[int, str, int, str, datetime | None] | None:
        """(seq, hash, base_seq, base_hash, at) of the account's head."""
        row = self.session.execute(select(Head.seq, Head.hash, Head.base_seq, Head.base_hash, Head.at).where(Head.account_id == account_id)).one_or_none()
        return None if row is None else tuple(row)  # type: ignore[return-value]

    def stored(self, account_id: int, *, batch: int = 5_000) -> Iterator[Stored]:
        """Every event of the account as stored, in seq order, batch by batch."""
        after = -1
        columns = (Event.account_id, Event.seq, Event.op, Event.address, Event.entry_id, Event.body, Event.hash)
        while True:
            rows = self.session.execute(select(*columns).where(Event.account_id == account_id, Event.seq > after).order_by(Event.seq).limit(batch)).all()
            for row in rows:
                yield Stored(*row)
            if len(rows) < batch:
                return
            after = rows[-1][1]
