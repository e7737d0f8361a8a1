"""The one writer of lists and entries: every change to them goes through here.

API adds, updates and deletes, delete-all, imports, the CLI and the purge of expired entries
all call this module, and nothing else issues INSERT, UPDATE or DELETE on `lists` or
`blacklist_entries` (tests/code/test_one_writer.py fails otherwise). So whatever must happen on
every change happens here, once, in the caller's transaction: each change to an entry records one
event on the audit trail (audit.trail), on whose grounds (`Origin`) the writer was made with.

Every write first holds the account's head of the trail (Trail.hold): the account's writes then
run one at a time, so what a write reads of the entries before changing them (the event's
`before`) is what it changes.
"""

import functools
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy import BigInteger, DateTime, String, Text, bindparam, cast, column, delete, func, literal_column, select, table, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB, REGCLASS
from sqlalchemy.orm import Session

from stoplist.audit.trail import Fact, Origin, Trail, state
from stoplist.db import driver_connection, in_order, naive_utc, raw, read_sqlite_stamp, rows_json, sqlite_json_rows, sqlite_stamp
from stoplist.lists.models import Entry, List
from stoplist.lists.precedence import BLOCK
from stoplist.lists.queries import known_in, known_unnest, live
from stoplist.lists.schemas import DEFAULT_REASON

# Addresses per `IN (...)` lookup: well under every database's limit on bound parameters.
LOOKUP_BATCH = 500
_ADDRESS_PARAMETERS = tuple(f"a{index}" for index in range(LOOKUP_BATCH))  # queries.known_in's, in order
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
    address_display: str | None = None  # the spelling a new entry shows, where it differs from `address` (the key)


class Written(NamedTuple):
    """What a bulk write did with its rows, one per (list, address): entries added (lapsed ones
    listed anew among them), entries updated, and live entries the row would not have changed."""

    added: int
    updated: int
    unchanged: int


class Deleted(NamedTuple):
    """What a delete by id did: 1 `removed` (it was live) or 1 `expired` (it had lapsed), or neither."""

    removed: int
    expired: int


def lapsed(expire_at: datetime | None, now: datetime) -> bool:
    """Whether an entry of that expiry is off its list at `now`."""
    return expire_at is not None and expire_at <= now


class Row(NamedTuple):
    """One row of a bulk write (an import): its list, its address and what it sets. A tuple: an
    import makes one per row, and a frozen dataclass took a tenth of the time it spends reading them."""

    list_id: int
    address: str
    address_kind: str
    expire_at: datetime | None
    reason: str | None
    note: str | None = None
    address_display: str | None = None  # the spelling a new entry shows, where it differs from `address` (the key)
    # What a restore (`stoplist import` of a native file) keeps for an entry it creates; None: the
    # write's own time and source, as for every other write. An entry already listed takes neither.
    created_at: datetime | None = None
    updated_at: datetime | None = None
    source: str | None = None


_DELETE_BATCH = 10_000  # entries per statement of a delete-all: memory stays bounded on any list
_RETURNED = (Entry.id, Entry.address, Entry.address_kind, Entry.list_id, Entry.expire_at, Entry.reason, Entry.note)


class EntryWriter:
    def __init__(self, session: Session, origin: Origin) -> None:
        self.session = session
        self.origin = origin
        self.trail = Trail(session)
        self._scopes: dict[int, tuple[str, str, str]] = {}
        self._pipeline: _Pipeline | None = None
        self._sequence: str | None = None  # PostgreSQL: the entries' id sequence, once looked up
        # Known once: a background write reads it on its own thread, where the session is not to be touched.
        self._sqlite = session.get_bind().dialect.name == "sqlite"

    # Lists

    def list_id(
        self, *, account_id: int, kind: str = BLOCK, channel: str = "", sender: str = "", now: datetime, sender_display: str | None = None
    ) -> int:
        """The id of the account's list of that scope (`sender` is the sender's key), created if it has none yet,
        showing `sender_display` (a list keeps the display it was created with)."""
        self.wait()
        scope = (List.account_id == account_id, List.kind == kind, List.channel == channel, List.sender == sender)
        found = self.session.scalar(select(List.id).where(*scope))
        if found is not None:
            return found
        self.trail.hold(account_id)
        dialect = sqlite if self._sqlite else postgresql
        insert = dialect.insert(List).values(
            account_id=account_id, kind=kind, channel=channel, sender=sender, sender_display=sender_display, created_at=now
        )
        self.session.execute(insert.on_conflict_do_nothing(index_elements=[List.account_id, List.kind, List.channel, List.sender]))
        return self.session.scalar(select(List.id).where(*scope))  # type: ignore[return-value]

    def _scope(self, list_id: int) -> tuple[str, str, str]:
        scope = self._scopes.get(list_id)
        if scope is None:
            scope = self._scopes[list_id] = tuple(self.session.execute(select(List.kind, List.channel, List.sender).where(List.id == list_id)).one())
        return scope

    def _removed(self, account_id: int, rows, now: datetime) -> int:
        """Record the deletion of entries, from rows of _RETURNED: `remove` for each that was live at
        `now`, `expire` for each whose expiry had passed (it was off its list already); answers how
        many were live."""
        facts = [
            Fact("expire" if lapsed(expiry, now) else "remove", address, kind, self._scope(list_id), entry_id, state(expiry, reason, note), None)
            for entry_id, address, kind, list_id, expiry, reason, note in rows
        ]
        self.trail.record(account_id, facts, self.origin, now)
        return sum(fact.op == "remove" for fact in facts)

    def _expire(self, account_id: int, entry_ids: list[int], now: datetime) -> int:
        """Delete lapsed entries of the account, by id, recording `expire` for each: answers how many."""
        if not entry_ids:
            return 0
        statement = delete(Entry).where(Entry.account_id == account_id, Entry.id.in_(entry_ids), Entry.expire_at <= now)
        rows = sorted(self.session.execute(statement.returning(*_RETURNED)).all())
        self._removed(account_id, rows, now)
        return len(rows)

    # One entry

    def add(self, *, account_id: int, list_id: int, change: Change, now: datetime) -> tuple[Entry, bool]:
        """Put an address on a list, or give its entry what `change` sets: (the entry, True if it is a new listing).

        The latest instruction wins: a listed address takes the new expiry (and reason, note and
        source). An entry that had lapsed is expired (deleted, with its `expire` event) and the
        address listed anew as a new entry (new id, new created_at), as if it were absent: every
        entry's events read add, update*, then remove or expire.
        """
        self.wait()
        self.trail.hold(account_id)
        before = self._at(account_id, list_id, change.address)
        added = self._add_or_extend(account_id, list_id, change, now)
        if added is None:
            # The entry had lapsed: its `expire` is recorded (if the sweep has not yet), then the
            # address is listed anew, as a new entry with an id of its own.
            self._expire(account_id, [before[0]], now)  # type: ignore[index]
            added = self._add_or_extend(account_id, list_id, change, now)
            if added is None:  # the account's hold rules this out: nothing else changed the entry meanwhile
                raise RuntimeError(f"entry {before[0]} was relisted by another writer while held")  # type: ignore[index]
            before = None
        entry, created = added
        fact = Fact(
            "add" if created else "update", entry.address, entry.address_kind, self._scope(list_id), entry.id,
            None if created or before is None else state(*before[1:]), state(entry.expire_at, entry.reason, entry.note),
        )
        self.trail.record(account_id, [fact], self.origin, now)
        return entry, created

    def _at(self, account_id: int, list_id: int, address: str) -> tuple | None:
        """(id, expiry, reason, note) of the entry of `address` on the list, live or not, looked up by
        account and address. Given the list too, PostgreSQL's planner may walk the list's
        (account, list, created) index instead of the unique one until its statistics catch up with
        a bulk import: 30 ms an add on a list of 100,000 just imported, instead of 0.1."""
        return self._known(account_id, [(list_id, address)]).get((list_id, address))

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
            "expire_at": change.expire_at, "created_at": now, "updated_at": now, "address_display": change.address_display,
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

    def delete_live(self, *, account_id: int, entry_id: int, now: datetime, list_id: int | None = None, address_kind: str | None = None) -> Deleted:
        """Delete one entry of the account (of one list, and of one kind of address, if given), by id:
        `remove` if it was live, `expire` if it had lapsed (it was off its list already)."""
        self.wait()
        self.trail.hold(account_id)
        statement = delete(Entry).where(Entry.id == entry_id, Entry.account_id == account_id)
        if list_id is not None:
            statement = statement.where(Entry.list_id == list_id)
        if address_kind is not None:
            statement = statement.where(Entry.address_kind == address_kind)
        rows = self.session.execute(statement.returning(*_RETURNED)).all()
        removed = self._removed(account_id, rows, now)
        return Deleted(removed=removed, expired=len(rows) - removed)

    def delete_address(self, *, account_id: int, list_id: int, address: str, now: datetime) -> int:
        """Delete the entry of an address on a list (`expire` if it had lapsed); answers 1 if it was live, else 0."""
        self.wait()
        self.trail.hold(account_id)
        found = self._at(account_id, list_id, address)
        if found is None:
            return 0
        statement = delete(Entry).where(Entry.id == found[0], Entry.account_id == account_id)
        return self._removed(account_id, self.session.execute(statement.returning(*_RETURNED)).all(), now)

    def delete_all(self, *, account_id: int, list_id: int, now: datetime, address_kind: str | None = None) -> int:
        """Every entry of one list of the account (of one kind of address, if given), one event each
        (`expire` for those that had lapsed); answers how many were live.

        In batches of _DELETE_BATCH, in id order, all in the caller's transaction: a list of
        millions goes at once or not at all, in bounded memory."""
        self.wait()
        self.trail.hold(account_id)
        mine = [Entry.account_id == account_id, Entry.list_id == list_id]
        if address_kind is not None:
            mine.append(Entry.address_kind == address_kind)
        removed, after = 0, 0
        while True:
            batch = select(Entry.id).where(*mine, Entry.id > after).order_by(Entry.id).limit(_DELETE_BATCH).scalar_subquery()
            rows = self.session.execute(delete(Entry).where(Entry.id.in_(batch)).returning(*_RETURNED)).all()
            if not rows:
                return removed
            rows.sort()
            removed += self._removed(account_id, rows, now)
            after = rows[-1][0]

    def purge_expired(self, *, now: datetime, batch: int = 10_000) -> int:
        """The sweep: delete up to `batch` entries whose expiry passed by `now`, one `expire` event
        each, the longest lapsed first (from the expiry index: ix_blacklist_entries_expire_at).
        Account by account, in account order (see Trail.hold)."""
        self.wait()
        expired = self.session.execute(select(Entry.account_id, Entry.id).where(Entry.expire_at <= now).order_by(Entry.expire_at).limit(batch)).all()
        ids: dict[int, list[int]] = {}
        for account_id, entry_id in expired:
            ids.setdefault(account_id, []).append(entry_id)
        purged = 0
        for account_id in sorted(ids):
            self.trail.hold(account_id)
            # The expiry is checked again on the row itself: an entry relisted since is not purged.
            purged += self._expire(account_id, ids[account_id], now)
        return purged

    # Many entries (imports)

    def upsert_many(self, *, account_id: int, rows: list[Row], source: str, now: datetime, per_write: int = 2_000, background: bool = False) -> "Written":
        """Put many addresses on their lists, as `add` would one by one (the last row of a key wins),
        one event per entry changed; a reason or note of None keeps the entry's. A row that would
        change nothing of a live entry (the same expiry, reason and note) writes nothing and records
        nothing: it counts as unchanged. A lapsed entry is expired and its address listed anew.

        One lookup for all the rows, then writes of `per_write` rows in key order: each covers the
        next stretch of the indexes, while what it makes (parameters, events) is freed before the
        next. New entries get ids reserved beforehand, so that a write's events are made before its
        entries are stored. With `background`, the writes run on a thread of their own while the
        next ones are made (the database's work and Python's overlap: each write is a few
        statements, during which the driver lets go of the interpreter's lock) and may still be
        running on return: call `wait` before the session commits or is used otherwise (the
        writer's own methods wait first)."""
        self.wait()
        self.trail.hold(account_id)
        last: dict[tuple[int, str], Row] = {}
        for row in rows:
            key = (row.list_id, row.address)
            earlier = last.get(key)
            last[key] = row if earlier is None else merged(earlier, row)
        keys = sorted(last)
        if not keys:
            return Written(0, 0, 0)
        known = self._known(account_id, keys)
        relisted = sum(lapsed(found[1], now) for found in known.values())
        ids = iter(self._reserve_ids(len(keys) - len(known) + relisted))
        scopes = {list_id: self._scope(list_id) for list_id in {list_id for list_id, _address in keys}}
        appending = self.trail.append(account_id, self.origin, now)
        dbapi = driver_connection(self.session)
        # Known at once, so that whatever happens next, `wait` finds it (and the thread is joined).
        pipeline = self._pipeline = _Pipeline() if background else None
        run = pipeline.submit if pipeline is not None else _call
        added = updated = unchanged = 0
        absent = (None, None, None, None)
        try:
            for start in range(0, len(keys), per_write):
                gone, new, old, facts = [], [], [], []
                for key in keys[start : start + per_write]:
                    row = last[key]
                    entry_id, expiry, stored_reason, stored_note = known.get(key, absent)
                    scope = scopes[row.list_id]
                    if entry_id is not None and lapsed(expiry, now):
                        # Off its list already: its `expire` first (unless the sweep recorded it), then a new entry.
                        gone.append(entry_id)
                        facts.append(Fact("expire", row.address, row.address_kind, scope, entry_id, state(expiry, stored_reason, stored_note), None))
                        entry_id = stored_reason = stored_note = None
                    # What a row leaves unsaid, a live entry keeps (read just now, under the account's hold).
                    reason, note = row.reason or stored_reason or DEFAULT_REASON, row.note if row.note is not None else stored_note
                    if entry_id is None:
                        entry_id = next(ids)
                        new.append((entry_id, row, reason, note))
                        facts.append(Fact("add", row.address, row.address_kind, scope, entry_id, None, state(row.expire_at, reason, note)))
                        added += 1
                    elif expiry == row.expire_at and reason == stored_reason and note == stored_note:
                        unchanged += 1
                    else:
                        old.append((entry_id, row, reason, note))
                        after = state(row.expire_at, reason, note)
                        facts.append(Fact("update", row.address, row.address_kind, scope, entry_id, state(expiry, stored_reason, stored_note), after))
                        updated += 1
                if facts:
                    run(self._write_entries, dbapi, account_id, gone, new, old, source, now)
                    run(appending.insert, appending.link(facts))
            if added or updated or relisted:
                run(appending.finish)
        except BaseException:
            self._pipeline = None
            if pipeline is not None:
                pipeline.close(raising=False)
            raise
        return Written(added, updated, unchanged)

    def wait(self) -> None:
        """Let the writes an `upsert_many` left running in the background finish; raises what failed there."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.close()

    def record_summary(self, *, account_id: int, summary: dict, now: datetime) -> bool:
        """The one `import` event of the writer's job, after its per-entry events; False if the job has one already."""
        self.wait()
        self.trail.hold(account_id)
        if self.trail.has_summary(account_id, self.origin.job_id):
            return False
        self.trail.record(account_id, [Fact("import", after=summary)], self.origin, now)
        return True

    def _known(self, account_id: int, keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple]:
        """(id, expiry, reason, note) of each (list, address) that has an entry, live or not.

        Straight on the driver, SQL compiled from queries.known_in / known_unnest: an import looks
        up every address it writes, and the ORM's expanding IN cost as much as the query."""
        known: dict[tuple[int, str], tuple] = {}
        addresses = sorted({address for _list, address in keys})
        wanted = set(keys)
        cursor = driver_connection(self.session).cursor()
        try:
            if not self._sqlite:
                # One probe of the (account_id, address, list_id) index per address. An IN list would let
                # the planner, whose statistics lag far behind the table during a bulk import, scan every
                # entry of the account once per batch instead.
                cursor.execute(raw(known_unnest, "psycopg")[0], {"addresses": json.dumps(addresses), "account": account_id})
                known.update(
                    ((list_id, address), (entry_id, expiry and expiry.replace(tzinfo=timezone.utc), reason, note))
                    for address, list_id, entry_id, expiry, reason, note in cursor.fetchall() if (list_id, address) in wanted
                )
                return known
            for start in range(0, len(addresses), LOOKUP_BATCH):
                chunk = addresses[start : start + LOOKUP_BATCH]
                sql = in_order(known_in, "sqlite", ("account", *_ADDRESS_PARAMETERS[: len(chunk)]), len(chunk))
                cursor.execute(sql, (account_id, *chunk))
                known.update(
                    ((list_id, address), (entry_id, expiry and read_sqlite_stamp(expiry), reason, note))
                    for list_id, address, entry_id, expiry, reason, note in cursor.fetchall() if (list_id, address) in wanted
                )
            return known
        finally:
            cursor.close()

    def _reserve_ids(self, count: int) -> list[int]:
        """Ids for `count` new entries, taken before they are written. PostgreSQL: from the entries'
        sequence, as an insert would. SQLite: past the largest id ever given (AUTOINCREMENT keeps it),
        which no other writer can take meanwhile: the account's hold is the database's write lock."""
        if count == 0:
            return []
        cursor = driver_connection(self.session).cursor()
        try:
            if self._sqlite:
                largest = cursor.execute(raw(_largest_id, "sqlite")[0]).fetchone()[0]
                return list(range(largest + 1, largest + 1 + count))
            if self._sequence is None:
                self._sequence = cursor.execute(raw(_id_sequence, "psycopg")[0]).fetchone()[0]
            cursor.execute(raw(_reserved_ids, "psycopg")[0], {"count": count, "sequence": self._sequence})
            return [entry_id for (entry_id,) in cursor.fetchall()]
        finally:
            cursor.close()

    def _write_entries(self, dbapi, account_id: int, gone: list[int], new: list[tuple], old: list[tuple], source: str, now: datetime) -> None:
        """Delete the lapsed entries `gone` (by id), insert the `new` rows with their reserved ids, and
        upsert the `old` ones with the ids the lookup found; each row is (id, Row, reason, note). The
        upsert updates the live entry; had it gone since the lookup (the account's hold rules that
        out), it would come back under the same id, the one its event names. The new ones are plain
        inserts: no other writer can have listed them since the lookup (the lapsed entries of their
        addresses are deleted first), and an upsert's arbitration costs PostgreSQL about a quarter
        more per row.

        Straight through the driver (imports write millions). SQLite: one insert and one upsert,
        each over one JSON text (_json_rows): sqlite3 runs a statement's step without the
        interpreter's lock, and one statement is one step, where an executemany would wait for
        that lock again after every row. PostgreSQL: COPY for the new rows, the least work per row
        for the server, and one upsert over one JSON text for the others. Touches only the driver
        connection, so it may run on the thread of a background write."""
        cursor = dbapi.cursor()
        stamp = _sqlite_stamp  # RFC 3339 in UTC; PostgreSQL reads it as the naive UTC timestamp it stores
        try:
            if gone:
                sql, names = raw(_delete_ids_statement, "sqlite" if self._sqlite else "psycopg", sqlite if self._sqlite else postgresql)
                values = {"account_id": account_id, "ids": json.dumps(gone)}
                cursor.execute(sql, tuple(values[name] for name in names) if self._sqlite else values)
            if self._sqlite:
                values = {"account_id": account_id, "source": source, "now": stamp(now)}
                for (sql, names), part, restored in ((raw(_insert_json_statement, "sqlite"), new, True), (raw(_upsert_json_statement, "sqlite", sqlite), old, False)):
                    if part:
                        values["rows"] = _rows_json(part, stamp, restored=restored)
                        cursor.execute(sql, tuple(values[name] for name in names))
                return
            if new:
                created = stamp(now)
                with cursor.copy(_COPY) as copy:
                    write = copy.write_row
                    for entry_id, row, reason, note in new:
                        write((entry_id, account_id, row.list_id, row.address, row.address_kind, reason, note, row.source or source,
                               None if row.expire_at is None else stamp(row.expire_at),
                               created if row.created_at is None else stamp(row.created_at), created if row.updated_at is None else stamp(row.updated_at),
                               row.address_display))
            if old:
                cursor.execute(raw(_upsert_json_statement, "psycopg", postgresql)[0], {
                    "account_id": account_id, "source": source, "now": naive_utc(now), "rows": _rows_json(old, stamp, restored=False),
                })
        finally:
            cursor.close()


def _rows_json(part: list[tuple], stamp: Callable[[datetime], str], *, restored: bool) -> str:
    """_json_rows' one JSON text for (id, Row, reason, note) rows. With `restored` (new entries), when a row
    carries its created_at, updated_at or source, every row goes on with those three (null: the write's)."""
    if restored and any(map(_UNRECORDED.__ne__, map(_RECORDED, map(_ROW, part)))):
        return rows_json([
            (entry_id, row.list_id, row.address, row.address_kind, reason, note, None if row.expire_at is None else stamp(row.expire_at), row.address_display,
             None if row.created_at is None else stamp(row.created_at), None if row.updated_at is None else stamp(row.updated_at), row.source)
            for entry_id, row, reason, note in part
        ])
    return rows_json([
        (entry_id, row.list_id, row.address, row.address_kind, reason, note, None if row.expire_at is None else stamp(row.expire_at), row.address_display)
        for entry_id, row, reason, note in part
    ])


# Whether a part's rows carry a restore's times or source, asked in C (a test per row in Python cost an import of a million 0.3 s).
_ROW, _RECORDED, _UNRECORDED = itemgetter(1), attrgetter("created_at", "updated_at", "source"), (None, None, None)


class _Pipeline:
    """Calls run in order on a thread of their own (a bulk write's statements, while the caller
    makes the next), at most `depth` waiting: what is made ahead stays bounded. After a failure
    the rest are dropped; `close` waits for the thread and raises that failure."""

    def __init__(self, depth: int = 1) -> None:
        self._calls: queue.Queue = queue.Queue(maxsize=depth)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stoplist-bulk-write", daemon=True)
        self._thread.start()

    def submit(self, call: Callable, *args) -> None:
        self._calls.put((call, args))

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            if self._failure is None:
                call, args = item
                try:
                    call(*args)
                except BaseException as exc:  # handed to whoever closes
                    self._failure = exc

    def close(self, *, raising: bool = True) -> None:
        self._calls.put(None)
        self._thread.join()
        if raising and self._failure is not None:
            raise self._failure


def _call(call: Callable, *args) -> None:
    call(*args)


def merged(earlier: Row, later: Row) -> Row:
    """Two instructions for one entry, in order: the later one's, keeping the earlier reason and note where it gives none."""
    return later._replace(reason=later.reason or earlier.reason, note=later.note if later.note is not None else earlier.note)


# sqlite_stamp, remembered: an import formats the same few expiries again and again.
_sqlite_stamp = functools.lru_cache(maxsize=4096)(sqlite_stamp)


def _on_conflict(statement):
    """An import's write of a live entry: it takes the new expiry, reason, note and source, and keeps its created_at."""
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={"expire_at": excluded.expire_at, "reason": excluded.reason, "note": excluded.note, "source": excluded.source, "updated_at": excluded.updated_at},
    )


def _delete_ids_statement(dialect):
    """The account's entries whose ids one JSON array lists (the lapsed entries an import lists anew)."""
    if dialect is sqlite:
        ids, value = sqlite_json_rows("ids")
        wanted = select(ids.c.value)
    else:
        wanted = select(cast(func.jsonb_array_elements_text(cast(bindparam("ids", type_=Text), JSONB)), BigInteger))
    return delete(Entry).where(Entry.account_id == bindparam("account_id"), Entry.id.in_(wanted))


_COLUMNS = ("account_id", "list_id", "address", "address_kind", "reason", "note", "source", "expire_at", "created_at", "updated_at", "address_display")
# New entries on PostgreSQL, with their reserved ids (a table and its columns: there is no query to compile).
_COPY = f"COPY {Entry.__tablename__} (id, {', '.join(_COLUMNS)}) FROM STDIN"


def _largest_id():
    """SQLite: the largest entry id ever given, which AUTOINCREMENT keeps in sqlite_sequence."""
    sequence = table("sqlite_sequence", column("name"), column("seq"))
    given = select(sequence.c.seq).where(sequence.c.name == literal_column(f"'{Entry.__tablename__}'")).scalar_subquery()
    zero = literal_column("0")
    return select(func.max(func.coalesce(given, zero), select(func.coalesce(func.max(Entry.id), zero)).scalar_subquery()))


def _id_sequence():
    """PostgreSQL: the name of the entries' id sequence."""
    return select(func.pg_get_serial_sequence(literal_column(f"'{Entry.__tablename__}'"), literal_column("'id'")))


def _reserved_ids():
    """PostgreSQL: `count` ids from the sequence named `sequence` (looked up per row, the name
    would cost six times what the ids do)."""
    sequence = cast(bindparam("sequence", type_=Text), REGCLASS)
    return select(func.nextval(sequence)).select_from(func.generate_series(literal_column("1"), bindparam("count", type_=BigInteger)))


def _json_rows(dialect):
    """The rows of a bulk insert or upsert, from one JSON array of [id, list_id, address,
    address_kind, reason, note, expire_at, address_display] rows, in the array's order (the caller's:
    key order). A row may go on with [created_at, updated_at, source] (a restore's): a missing or null
    one is `now`, or the write's `source`.

    One JSON text, not a parameter per value: psycopg writes array parameters element by element
    in Python (14% of the server's time on an import, py-spy), json.dumps in C; and sqlite3 runs
    the whole statement as one step (see EntryWriter._write_entries)."""
    if dialect is sqlite:
        rows, value = sqlite_json_rows()

        def field(index: int, _type):
            return value(index)
    else:
        # Read as jsonb, which PostgreSQL parses once per statement rather than once per field taken out.
        rows = func.jsonb_array_elements(cast(bindparam("rows", type_=Text), JSONB)).table_valued("value").render_derived(name="n")

        def field(index: int, type_):
            return cast(rows.c.value.op("->>")(literal_column(str(index))), type_)

    now = bindparam("now", type_=DateTime)
    source = select(
        field(0, BigInteger), bindparam("account_id", type_=BigInteger), field(1, BigInteger), field(2, String), field(3, String),
        field(4, String), field(5, String), func.coalesce(field(10, String), bindparam("source", type_=String)), field(6, DateTime),
        func.coalesce(field(8, DateTime), now), func.coalesce(field(9, DateTime), now), field(7, String),
    )
    # SQLite reads the ON CONFLICT of an INSERT ... SELECT as the SELECT's join clause unless the SELECT has a WHERE.
    return dialect.insert(Entry).from_select(["id", *_COLUMNS], source.where(true()) if dialect is sqlite else source)


def _insert_json_statement():
    """New entries on SQLite (PostgreSQL copies them in)."""
    return _json_rows(sqlite)


def _upsert_json_statement(dialect):
    return _on_conflict(_json_rows(dialect))
