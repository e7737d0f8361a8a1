"""Reads of the audit trail: an address's or an entry's history, the account's change feed, and
every event in order for verification and proof exports."""

from collections.abc import Iterator
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import String, bindparam, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from stoplist.audit.chain import Stored
from stoplist.history.reconcile import EntryEvent, LiveEntry
from stoplist.audit.trail import state
from stoplist.audit.models import Event, Head
from stoplist.db import driver_connection, raw
from stoplist.lists.models import Entry, List
from stoplist.lists.moments import Period

# Rows fetched at a time by the reads that walk every entry or every event of an account.
_STREAMED = 2_000
# (seq, body, hash) of one event.
EventRow = tuple[int, str, str]


class HeadRow(NamedTuple):
    """An account's row of audit_heads."""

    seq: int
    hash: str
    base_seq: int
    base_hash: str
    at: datetime | str | None


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

    def of_address(self, *, account_id: int, addresses: list[str], after: int, limit: int) -> list[EventRow]:
        """The events of an address, in seq order: those naming it in any of `addresses` (its key, and
        the spelling asked for), and every event of the entries they name or that hold it now, which
        finds an entry's events from before its address was stored by its key (migration 0012) too.
        Each part is read by an index probe, (account, address, seq) or (account, entry_id, seq),
        and merged here: one statement with an OR of them walked the account's whole trail."""
        mine = Event.account_id == account_id
        named = set(self.session.scalars(select(Event.entry_id).where(mine, Event.address.in_(addresses), Event.entry_id.is_not(None)).distinct()))
        named.update(self.session.scalars(select(Entry.id).where(Entry.account_id == account_id, Entry.address.in_(addresses))))
        columns = (Event.seq, Event.body, Event.hash)
        found = {row[0]: tuple(row) for row in self.session.execute(
            select(*columns).where(mine, Event.address.in_(addresses), Event.seq > after).order_by(Event.seq).limit(limit)
        )}
        if named:
            found.update((row[0], tuple(row)) for row in self.session.execute(
                select(*columns).where(mine, Event.entry_id.in_(sorted(named)), Event.seq > after).order_by(Event.seq).limit(limit)
            ))
        return [found[seq] for seq in sorted(found)[:limit]]  # type: ignore[misc]

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

    def during(self, *, account_id: int, period: Period, after: int, limit: int) -> list[EventRow]:
        """The account's events recorded within `period` (from `after`, included, to `before`, excluded), in seq order, after seq `after`."""
        statement = select(Event.seq, Event.body, Event.hash).where(Event.account_id == account_id, Event.seq > after)
        if period.after is not None:
            statement = statement.where(Event.at >= period.after)
        if period.before is not None:
            statement = statement.where(Event.at < period.before)
        return [tuple(row) for row in self.session.execute(statement.order_by(Event.seq).limit(limit))]  # type: ignore[misc]

    def entry_events(self, account_id: int) -> Iterator[EntryEvent]:
        """The account's events of entries in (entry_id, seq) order, the index (account_id, entry_id, seq) walked
        as one statement whose rows come as they are read."""
        statement = select(Event.entry_id, Event.seq, Event.op, Event.body).where(Event.account_id == account_id, Event.entry_id.is_not(None))
        for row in self.session.execute(statement.order_by(Event.entry_id, Event.seq), execution_options={"yield_per": _STREAMED}):
            yield EntryEvent(*row)

    def listed(self, account_id: int) -> Iterator[LiveEntry]:
        """The account's entries in id order, each with its state as events show it, as one statement whose rows come as they are read."""
        statement = (
            select(Entry.id, Entry.expire_at, Entry.reason, Entry.note, Entry.address, Entry.address_kind, List.kind, List.channel, List.sender)
            .join(List, List.id == Entry.list_id)
            .where(Entry.account_id == account_id)
            .order_by(Entry.id)
        )
        for row in self.session.execute(statement, execution_options={"yield_per": _STREAMED}):
            yield LiveEntry(row.id, state(row.expire_at, row.reason, row.note), row.address, row.address_kind, (row.kind, row.channel, row.sender))

    def first_without_head(self, account_id: int | None = None) -> tuple[int, int] | None:
        """(account, id) of an entry of an account (of every account, or one's) that has no trail at all: there should be none."""
        return self._first_headless(Entry.account_id, Entry.id, account_id)

    def accounts(self, account_id: int | None = None) -> list[int]:
        """The accounts that have a trail (just `account_id`'s, if given)."""
        statement = select(Head.account_id).order_by(Head.account_id)
        if account_id is not None:
            statement = statement.where(Head.account_id == account_id)
        return list(self.session.scalars(statement))

    def head(self, account_id: int) -> HeadRow | None:
        """Where the account's chain stands, `at` as stored (see stored()); None before its first write."""
        at = type_coerce(Head.at, String()).label("at")
        row = self.session.execute(select(Head.seq, Head.hash, Head.base_seq, Head.base_hash, at).where(Head.account_id == account_id)).one_or_none()
        return None if row is None else HeadRow(**row._mapping)

    def first_after(self, account_id: int, seq: int) -> int | None:
        """The seq of the account's first event after `seq`, if there is one."""
        return self.session.scalar(select(func.min(Event.seq)).where(Event.account_id == account_id, Event.seq > seq))

    def hash_at(self, account_id: int, seq: int) -> str | None:
        """The stored hash of the account's event `seq`, or None when there is no such event."""
        return self.session.scalar(select(Event.hash).where(Event.account_id == account_id, Event.seq == seq))

    def headless(self, account_id: int | None = None) -> tuple[int, int] | None:
        """(account, first seq) of events (of every account, or one's) whose account has no head, so no chain to be
        verified on: there should be none."""
        return self._first_headless(Event.account_id, Event.seq, account_id)

    def _first_headless(self, account, key, account_id: int | None) -> tuple[int, int] | None:
        """(account, smallest `key`) of the first account whose rows (entries or events) have no head, of every account or one's."""
        found = select(account, func.min(key)).where(~exists().where(Head.account_id == account))
        if account_id is not None:
            found = found.where(account == account_id)
        row = self.session.execute(found.group_by(account).order_by(account).limit(1)).first()
        return None if row is None else (row[0], row[1])

    def stored(self, account_id: int, *, through: int, batch: int = 5_000) -> Iterator[Stored]:
        """The account's events up to seq `through` as stored, every column (a column Stored lacks fails
        here), in seq order, batch by batch."""
        after = -1
        # `at` as the database holds it: a value no timestamp can be read from is something to report, not to fail on.
        columns = [type_coerce(column, String()).label(column.name) if column.name == "at" else column for column in Event.__table__.columns]
        while True:
            statement = select(*columns).where(Event.account_id == account_id, Event.seq > after, Event.seq <= through).order_by(Event.seq).limit(batch)
            rows = self.session.execute(statement).all()
            for row in rows:
                yield Stored(**row._mapping)
            if len(rows) < batch:
                return
            after = rows[-1].seq
