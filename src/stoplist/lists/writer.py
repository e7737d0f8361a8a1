"""The one writer of lists and entries: every change to them goes through here.

API adds, updates and deletes, delete-all, imports, the CLI and the purge of expired entries
all call this module, and nothing else issues INSERT, UPDATE or DELETE on `lists` or
`blacklist_entries` (tests/code/test_one_writer.py fails otherwise). So whatever must happen on
every change, such as recording it, happens here, once, in the caller's transaction.
"""

import functools
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, and_, bindparam, case, delete, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from stoplist.db import naive_utc, sqlite_stamp
from stoplist.lists.models import Entry, List
from stoplist.lists.precedence import BLOCK
from stoplist.lists.queries import known_unnest, live, raw
from stoplist.lists.schemas import DEFAULT_REASON

# Addresses per `IN (...)` lookup: well under every database's limit on bound parameters.
LOOKUP_BATCH = 500
_KEY = [Entry.account_id, Entry.address, Entry.list_id]
_POPULATE = {"populate_existing": True, "synchronize_session": False}


@dataclass(frozen=True)
class Change:
    """What one add asks for: the fields it sets; None for reason and note keeps what the entry has."""

    address: str
    address_kind: str
    expire_at: datetime | None
    source: str
    reason: str | None = None
    note: str | None = None
    set_note: bool = False


@dataclass(frozen=True)
class Row:
    """One row of a bulk write (an import): its list, its address and what it sets."""

    list_id: int
    address: str
    address_kind: str
    expire_at: datetime | None
    reason: str | None
    note: str | None = None


class EntryWriter:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    # Lists

    def list_id(self, *, account_id: int, kind: str = BLOCK, channel: str = "", sender: str = "", now: datetime) -> int:
        """The id of the account's list of that scope, created if it has none yet."""
        scope = (List.account_id == account_id, List.kind == kind, List.channel == channel, List.sender == sender)
        found = self.session.scalar(select(List.id).where(*scope))
        if found is not None:
            return found
        dialect = sqlite if self._sqlite else postgresql
        insert = dialect.insert(List).values(account_id=account_id, kind=kind, channel=channel, sender=sender, created_at=now)
        self.session.execute(insert.on_conflict_do_nothing(index_elements=[List.account_id, List.kind, List.channel, List.sender]))
        return self.session.scalar(select(List.id).where(*scope))  # type: ignore[return-value]

    # One entry

    def add(self, *, account_id: int, list_id: int, change: Change, now: datetime) -> tuple[Entry, bool]:
        """Put an address on a list, or give its entry what `change` sets: (the entry, True if it is a new listing).

        The latest instruction wins: a listed address takes the new expiry (and reason, note and
        source); one whose entry had lapsed is listed anew (new created_at), as if it were absent.
        """
        added = self._add_or_extend(account_id, list_id, change, now)
        if added is not None:
            return added
        return self._relist(account_id, list_id, change, now), True

    def _relist(self, account_id: int, list_id: int, change: Change, now: datetime) -> Entry:
        """List anew the lapsed entry that `_add_or_extend` left held: what `change` sets, and a new created_at."""
        values = {**self._updates(change, now), "created_at": now}
        statement = update(Entry).where(Entry.account_id == account_id, Entry.list_id == list_id, Entry.address == change.address).values(values)
        return self.session.scalars(statement.returning(Entry), execution_options=_POPULATE).one()

    def _updates(self, change: Change, now: datetime) -> dict:
        values: dict = {"expire_at": change.expire_at, "source": change.source, "updated_at": now}
        if change.reason is not None:
            values["reason"] = change.reason
        if change.set_note:
            values["note"] = change.note
        return values

    def _add_or_extend(self, account_id: int, list_id: int, change: Change, now: datetime) -> tuple[Entry, bool] | None:
        """Insert the address, or update its live entry: (the entry as stored, True if inserted).

        None when the stored entry had lapsed by `now`: it is left as it was, but held by this
        transaction (no other request can change or delete it before the commit), for `add` to
        list anew. So an add is never retried, however many requests race on the address.
        PostgreSQL: one upsert, which locks the row it conflicts with even when its WHERE leaves
        it unchanged; `xmax = 0` only on a row this statement inserted. SQLite cannot tell an
        insert from an update in RETURNING, so it first inserts if absent: that statement takes
        the database's write lock, so the row it conflicted with stays as it is for a plain
        UPDATE (an upsert there would use up an id each time).
        """
        new = {
            "account_id": account_id, "list_id": list_id, "address": change.address, "address_kind": change.address_kind,
            "reason": change.reason or DEFAULT_REASON, "note": change.note, "source": change.source,
            "expire_at": change.expire_at, "created_at": now, "updated_at": now,
        }
        updates = self._updates(change, now)
        if self._sqlite:
            insert_new = sqlite.insert(Entry).values(new).on_conflict_do_nothing(index_elements=_KEY)
            entry_id = self.session.scalar(insert_new.returning(Entry.id))
            if entry_id is not None:
                return self.session.get(Entry, entry_id), True
            key = (Entry.account_id == account_id, Entry.list_id == list_id, Entry.address == change.address)
            extend = update(Entry).where(*key, live(now)).values(updates)
            entry = self.session.scalars(extend.returning(Entry), execution_options=_POPULATE).one_or_none()
            return None if entry is None else (entry, False)
        statement = postgresql.insert(Entry).values(new)
        statement = statement.on_conflict_do_update(index_elements=_KEY, set_=updates, where=live(now))
        row = self.session.execute(statement.returning(Entry, literal_column("xmax = 0")), execution_options={"populate_existing": True}).one_or_none()
        return None if row is None else (row[0], bool(row[1]))

    def delete_live(self, *, account_id: int, entry_id: int, now: datetime, list_id: int | None = None, address_kind: str | None = None) -> bool:
        """Delete one live entry of the account (of one list, and of one kind of address, if given), by id."""
        statement = delete(Entry).where(Entry.id == entry_id, Entry.account_id == account_id, live(now))
        if list_id is not None:
            statement = statement.where(Entry.list_id == list_id)
        if address_kind is not None:
            statement = statement.where(Entry.address_kind == address_kind)
        return self.session.execute(statement).rowcount > 0

    def delete_address(self, *, account_id: int, list_id: int, address: str) -> int:
        return self.session.execute(delete(Entry).where(Entry.account_id == account_id, Entry.list_id == list_id, Entry.address == address)).rowcount

    def delete_all(self, *, account_id: int, list_id: int, address_kind: str | None = None) -> int:
        """Every entry of one list of the account (of one kind of address, if given)."""
        statement = delete(Entry).where(Entry.account_id == account_id, Entry.list_id == list_id)
        if address_kind is not None:
            statement = statement.where(Entry.address_kind == address_kind)
        return self.session.execute(statement).rowcount

    def purge_expired(self, *, now: datetime, batch: int = 10_000) -> int:
        """Delete up to `batch` entries that expired by `now`: housekeeping, since reads already ignore them."""
        expired = select(Entry.id).where(Entry.expire_at <= now).limit(batch).scalar_subquery()
        # The expiry is checked again on the row itself: on PostgreSQL a row the DELETE waited for
        # (being relisted by an add) is re-read by id only, and would go though live again.
        return self.session.execute(delete(Entry).where(Entry.id.in_(expired), Entry.expire_at <= now)).rowcount

    # Many entries (imports)

    def upsert_many(self, *, account_id: int, rows: list[Row], source: str, now: datetime) -> tuple[int, int]:
        """Put many addresses on their lists, as `add` would one by one (the last row of a key wins);
        return (added, updated). A reason or note of None keeps the entry's."""
        last: dict[tuple[int, str], Row] = {}
        for row in rows:
            key = (row.list_id, row.address)
            earlier = last.get(key)
            last[key] = row if earlier is None else merged(earlier, row)
        known = self._known(account_id, list(last))
        # Live now: updated. New, or lapsed and listed anew: added.
        listed = sum(1 for expiry, _reason, _note in known.values() if expiry is None or expiry > now)
        # What a row leaves unsaid, the entry keeps (read just now: a change in between is overwritten,
        # as a later instruction would overwrite it).
        complete = []
        for key in sorted(last):
            row = last[key]
            _expiry, reason, note = known.get(key, (None, None, None))
            complete.append((row, row.reason or reason or DEFAULT_REASON, row.note if row.note is not None else note))
        self._upsert(account_id, complete, source, now)
        return len(last) - listed, listed

    def _known(self, account_id: int, keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
        """(expiry, reason, note) of each (list, address) that has an entry, live or not."""
        known: dict[tuple[int, str], tuple] = {}
        addresses = sorted({address for _list, address in keys})
        wanted = set(keys)
        if not self._sqlite:
            # One probe of the (account_id, address, list_id) index per address. An IN list would let
            # the planner, whose statistics lag far behind the table during a bulk import, scan every
            # entry of the account once per batch instead.
            rows = self.session.execute(known_unnest(), {"addresses": addresses, "account": account_id})
            known.update(((list_id, address), (expiry, reason, note)) for address, list_id, expiry, reason, note in rows if (list_id, address) in wanted)
            return known
        columns = (Entry.list_id, Entry.address, Entry.expire_at, Entry.reason, Entry.note)
        for start in range(0, len(addresses), LOOKUP_BATCH):
            chunk = addresses[start : start + LOOKUP_BATCH]
            rows = self.session.execute(select(*columns).where(Entry.account_id == account_id, Entry.address.in_(chunk)))
            known.update(((list_id, address), (expiry, reason, note)) for list_id, address, expiry, reason, note in rows if (list_id, address) in wanted)
        return known

    def _upsert(self, account_id: int, rows: list[tuple[Row, str, str | None]], source: str, now: datetime) -> None:
        """Upsert every row straight through the driver (imports write millions), SQL compiled from `_upsert_statement`.

        SQLite: one upsert per row through executemany (in-process, a statement costs
        microseconds). PostgreSQL: one statement for the whole batch over arrays, since each
        statement costs a round of parse, plan and execute in the server. A row deleted or purged
        since the lookup is simply inserted again, and an entry that had lapsed is listed anew.
        Sorted, so concurrent imports lock rows in the same order and cannot deadlock.
        """
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        try:
            if self._sqlite:
                sql, names = raw(_upsert_statement, "sqlite")
                assert names == _COLUMNS, names  # the tuples below are built in this order
                stamp = _sqlite_stamp
                created = stamp(now)
                cursor.executemany(sql, [
                    (account_id, row.list_id, row.address, row.address_kind, reason, note, source,
                     None if row.expire_at is None else stamp(row.expire_at), created, created)
                    for row, reason, note in rows
                ])
            else:
                sql, _names = raw(_upsert_unnest_statement, "psycopg")
                cursor.execute(sql, {
                    "account_id": account_id, "source": source, "now": naive_utc(now),
                    "list_ids": [row.list_id for row, _r, _n in rows], "addresses": [row.address for row, _r, _n in rows],
                    "kinds": [row.address_kind for row, _r, _n in rows], "reasons": [reason for _row, reason, _n in rows],
                    "notes": [note for _row, _r, note in rows],
                    "expiries": [None if row.expire_at is None else naive_utc(row.expire_at) for row, _r, _n in rows],
                })
        finally:
            cursor.close()


def merged(earlier: Row, later: Row) -> Row:
    """Two instructions for one entry, in order: the later one's, keeping the earlier reason and note where it gives none."""
    return replace(later, reason=later.reason or earlier.reason, note=later.note if later.note is not None else earlier.note)


# sqlite_stamp, remembered: an import formats the same few expiries again and again.
_sqlite_stamp = functools.lru_cache(maxsize=4096)(sqlite_stamp)


def _on_conflict(statement):
    """An import's write: a listed address takes the new expiry, reason, note and source, and keeps its
    created_at unless it had lapsed (then it is listed anew, as POST would)."""
    excluded = statement.excluded
    relisted = and_(Entry.expire_at.is_not(None), Entry.expire_at <= excluded.created_at)
    return statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            "expire_at": excluded.expire_at, "reason": excluded.reason, "note": excluded.note, "source": excluded.source,
            "updated_at": excluded.updated_at, "created_at": case((relisted, excluded.created_at), else_=Entry.created_at),
        },
    )


_COLUMNS = ("account_id", "list_id", "address", "address_kind", "reason", "note", "source", "expire_at", "created_at", "updated_at")


def _upsert_statement():
    return _on_conflict(sqlite.insert(Entry).values({name: bindparam(name) for name in _COLUMNS}))


def _upsert_unnest_statement():
    arrays = [
        bindparam("list_ids", type_=ARRAY(BigInteger)), bindparam("addresses", type_=ARRAY(String)), bindparam("kinds", type_=ARRAY(String)),
        bindparam("reasons", type_=ARRAY(String)), bindparam("notes", type_=ARRAY(String)), bindparam("expiries", type_=ARRAY(DateTime)),
    ]
    rows = func.unnest(*arrays).table_valued("list_id", "address", "address_kind", "reason", "note", "expire_at", with_ordinality="position").render_derived(name="n")
    now = bindparam("now", type_=DateTime)
    source = select(
        bindparam("account_id", type_=BigInteger), rows.c.list_id, rows.c.address, rows.c.address_kind, rows.c.reason, rows.c.note,
        bindparam("source", type_=String), rows.c.expire_at, now, now,
    ).order_by(rows.c.position)
    return _on_conflict(postgresql.insert(Entry).from_select(list(_COLUMNS), source))

