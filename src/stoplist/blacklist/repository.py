"""All SQL about blacklist entries."""

import functools
import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, literal_column, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.blacklist.models import Entry
from stoplist.blacklist.schemas import EntryOrder
from stoplist.db import Rfc3339Timestamp, naive_utc, pg_rfc3339, sqlite_stamp

_ORDER = {
    EntryOrder.created_at: (Entry.created_at.asc(), Entry.id.asc()),
    EntryOrder.created_at_desc: (Entry.created_at.desc(), Entry.id.desc()),
    EntryOrder.phone_number: (Entry.phone_number.asc(),),
    EntryOrder.phone_number_desc: (Entry.phone_number.desc(),),
    # Entries that never expire sort after those that do, like an infinitely late date.
    EntryOrder.expire_at: (Entry.expire_at.is_(None).asc(), Entry.expire_at.asc(), Entry.id.asc()),
    EntryOrder.expire_at_desc: (Entry.expire_at.is_(None).desc(), Entry.expire_at.desc(), Entry.id.desc()),
}


EXPORT_BATCH = 5000
# Numbers per `IN (...)` lookup: well under every database's limit on bound parameters.
LOOKUP_BATCH = 500


_ORDER_SQL = {
    EntryOrder.created_at: "created_at, id",
    EntryOrder.created_at_desc: "created_at DESC, id DESC",
    EntryOrder.phone_number: "phone_number",
    EntryOrder.phone_number_desc: "phone_number DESC",
    EntryOrder.expire_at: "expire_at IS NULL, expire_at, id",
    EntryOrder.expire_at_desc: "expire_at IS NULL DESC, expire_at DESC, id DESC",
}


# An import's write: a new number is inserted; a listed one takes the new expiry, and keeps its
# created_at unless it had lapsed (then it is listed anew, as POST would).
_ON_CONFLICT = (
    " ON CONFLICT (account_id, phone_number) DO UPDATE SET expire_at = excluded.expire_at,"
    " created_at = CASE WHEN blacklist_entries.expire_at IS NOT NULL AND blacklist_entries.expire_at <= excluded.created_at"
    " THEN excluded.created_at ELSE blacklist_entries.created_at END"
)


# sqlite_stamp, remembered: an import formats the same few expiries again and again.
_sqlite_stamp = functools.lru_cache(maxsize=4096)(sqlite_stamp)


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

    def add_or_extend(self, *, account_id: int, phone_number: str, expire_at: datetime | None, now: datetime) -> tuple[Entry, bool] | None:
        """Insert the number, or give its live entry the new expiry: (the entry as stored, True if inserted).

        None when the stored entry had lapsed by `now`: it is left as it was, but held by this
        transaction (no other request can change or delete it before the commit), for
        `relist_lapsed`. So an add is never retried, however many requests race on the number.
        PostgreSQL: one upsert, which locks the row it conflicts with even when its WHERE leaves
        it unchanged; `xmax = 0` only on a row this statement inserted. SQLite cannot tell an
        insert from an update in RETURNING, so it first inserts if absent: that statement takes
        the database's write lock, so the row it conflicted with stays as it is for a plain
        UPDATE (an upsert there would use up an id each time).
        """
        options = {"populate_existing": True, "synchronize_session": False}
        if self.session.get_bind().dialect.name == "sqlite":
            insert_new = sqlite.insert(Entry).values(account_id=account_id, phone_number=phone_number, expire_at=expire_at, created_at=now)
            entry_id = self.session.scalar(insert_new.on_conflict_do_nothing(index_elements=[Entry.account_id, Entry.phone_number]).returning(Entry.id))
            if entry_id is not None:
                return self.session.get(Entry, entry_id), True
            extend = update(Entry).where(Entry.account_id == account_id, Entry.phone_number == phone_number, live(now)).values(expire_at=expire_at)
            entry = self.session.scalars(extend.returning(Entry), execution_options=options).one_or_none()
            return None if entry is None else (entry, False)
        statement = postgresql.insert(Entry).values(account_id=account_id, phone_number=phone_number, expire_at=expire_at, created_at=now)
        statement = statement.on_conflict_do_update(
            index_elements=[Entry.account_id, Entry.phone_number], set_={"expire_at": statement.excluded.expire_at}, where=live(now)
        )
        row = self.session.execute(statement.returning(Entry, literal_column("xmax = 0")), execution_options={"populate_existing": True}).one_or_none()
        return None if row is None else (row[0], bool(row[1]))

    def relist_lapsed(self, *, account_id: int, phone_number: str, expire_at: datetime | None, created_at: datetime) -> Entry:
        """List anew the lapsed entry that `add_or_extend` left held: a new expiry and created_at."""
        statement = (
            update(Entry)
            .where(Entry.account_id == account_id, Entry.phone_number == phone_number)
            .values(expire_at=expire_at, created_at=created_at)
            .returning(Entry)
        )
        return self.session.scalars(statement, execution_options={"populate_existing": True, "synchronize_session": False}).one()

    def upsert_many(self, *, account_id: int, entries: dict[str, datetime | None], now: datetime) -> tuple[int, int]:
        """Put many numbers on the list with their expiries, as POST would one by one; return (added, updated)."""
        known = self._expiries(account_id, list(entries))
        # Live now: updated. New, or lapsed and listed anew: added.
        listed = sum(1 for expiry in known.values() if expiry is None or expiry > now)
        self._upsert(account_id, entries, now)
        return len(entries) - listed, listed

    def _upsert(self, account_id: int, entries: dict[str, datetime | None], now: datetime) -> None:
        """Upsert every number straight through the driver (imports write millions).

        SQLite: one upsert per number through executemany (in-process, a statement costs
        microseconds). PostgreSQL: one statement for the whole batch over arrays, since each
        statement costs a round of parse, plan and execute in the server. A row deleted or purged
        since the lookup is simply inserted again, and an entry that had lapsed is listed anew.
        Sorted, so concurrent imports lock rows in the same order and cannot deadlock.
        """
        numbers = sorted(entries)
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        try:
            if self.session.get_bind().dialect.name == "sqlite":
                created = _sqlite_stamp(now)
                expiries = [None if entries[number] is None else _sqlite_stamp(entries[number]) for number in numbers]  # type: ignore[arg-type]
                cursor.executemany(
                    "INSERT INTO blacklist_entries (account_id, phone_number, expire_at, created_at) VALUES (?, ?, ?, ?)" + _ON_CONFLICT,
                    [(account_id, number, expiry, created) for number, expiry in zip(numbers, expiries)],
                )
            else:
                expiries = [None if entries[number] is None else naive_utc(entries[number]) for number in numbers]  # type: ignore[arg-type]
                cursor.execute(
                    "INSERT INTO blacklist_entries (account_id, phone_number, expire_at, created_at)"
                    " SELECT %s, n.phone_number, n.expire_at, %s"
                    " FROM unnest(%s::varchar[], %s::timestamp[]) WITH ORDINALITY AS n(phone_number, expire_at, position)"
                    " ORDER BY n.position" + _ON_CONFLICT,
                    (account_id, naive_utc(now), numbers, expiries),
                )
        finally:
            cursor.close()

    def _expiries(self, account_id: int, numbers: list[str]) -> dict[str, datetime | None]:
        """The expiry of each of `numbers` that has an entry (live or not) on the account's list."""
        if self.session.get_bind().dialect.name == "postgresql":
            # One probe of the (account_id, phone_number) index per number. An IN list would let the
            # planner, whose statistics lag far behind the table during a bulk import, scan every
            # entry of the account once per batch instead.
            rows = self.session.execute(
                text(
                    "SELECT n.number, e.expire_at FROM unnest(CAST(:numbers AS varchar[])) AS n(number)"
                    " CROSS JOIN LATERAL (SELECT expire_at FROM blacklist_entries"
                    " WHERE account_id = :account AND phone_number = n.number LIMIT 1) AS e"
                ).columns(expire_at=Rfc3339Timestamp()),
                {"numbers": numbers, "account": account_id},
            )
            return {number: expiry for number, expiry in rows}
        known: dict[str, datetime | None] = {}
        for start in range(0, len(numbers), LOOKUP_BATCH):
            rows = self.session.execute(
                select(Entry.phone_number, Entry.expire_at).where(Entry.account_id == account_id, Entry.phone_number.in_(numbers[start : start + LOOKUP_BATCH]))
            )
            known.update((number, expiry) for number, expiry in rows)
        return known

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

    def purge_expired(self, *, now: datetime, batch: int = 10_000) -> int:
        """Delete up to `batch` entries that expired by `now`: housekeeping, since reads already ignore them."""
        expired = select(Entry.id).where(Entry.expire_at <= now).limit(batch).scalar_subquery()
        # The expiry is checked again on the row itself: on PostgreSQL a row the DELETE waited for
        # (being relisted by an add) is re-read by id only, and would go though live again.
        return self.session.execute(delete(Entry).where(Entry.id.in_(expired), Entry.expire_at <= now)).rowcount

    def delete_all(self, *, account_id: int) -> int:
        return self.session.execute(delete(Entry).where(Entry.account_id == account_id)).rowcount

    def export_batches(self, *, account_id: int, now: datetime, digits: str | None, order: EntryOrder, offset: int, limit: int | None) -> Iterator[list[tuple]]:
        """Batches of (id, phone_number, expire_at, created_at) rows with timestamps as the API shows them.

        Exports read millions of rows, so this goes straight to the driver's cursor: no
        result objects per row, timestamps already text on SQLite, formatted by the server elsewhere.
        """
        connection = self.session.connection().connection.dbapi_connection
        sqlite_db = self.session.get_bind().dialect.name == "sqlite"
        mark = (lambda name: f":{name}") if sqlite_db else (lambda name: f"%({name})s")
        when = (lambda column: column) if sqlite_db else pg_rfc3339
        params: dict[str, object] = {
            "account": account_id,
            "now": sqlite_stamp(now) if sqlite_db else naive_utc(now),
        }
        sql = (
            f"SELECT id, phone_number, {when('expire_at')}, {when('created_at')} FROM blacklist_entries "
            f"WHERE account_id = {mark('account')} AND (expire_at IS NULL OR expire_at > {mark('now')})"
        )
        if digits:
            sql += f" AND phone_number LIKE {mark('pattern')}"
            params["pattern"] = f"%{digits}%"
        sql += f" ORDER BY {_ORDER_SQL[order]}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        elif offset and sqlite_db:
            sql += " LIMIT -1"
        if offset:
            sql += f" OFFSET {int(offset)}"
        # A named cursor is server-side on PostgreSQL: rows arrive batch by batch, not all at once.
        cursor = connection.cursor() if sqlite_db else connection.cursor(name=f"export_{uuid.uuid4().hex}")
        try:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(EXPORT_BATCH):
                yield batch
        finally:
            cursor.close()

    @staticmethod
    def _matching(account_id: int, now: datetime, digits: str | None):
        statement = select(Entry).where(Entry.account_id == account_id, live(now))
        if digits:
            statement = statement.where(Entry.phone_number.contains(digits, autoescape=True))
        return statement
