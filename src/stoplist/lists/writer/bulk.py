"""The writer's bulk path (imports): many rows in one lookup and a few statements per write,
straight on the driver, the writes on a thread of their own while the next ones are made."""

import functools
import json
from datetime import datetime, timezone

from sqlalchemy.dialects import postgresql, sqlite

from stoplist.audit.trail import Fact, state
from stoplist.db import driver_connection, in_order, naive_utc, raw, read_sqlite_stamp
from stoplist.lists.queries import known_json, known_unnest
from stoplist.lists.writer.pipeline import Pipeline, call
from stoplist.lists.writer.statements import (
    COPY, delete_ids_statement, id_sequence, insert_json_statement, largest_id, reserved_ids, rows_json_of, sqlite_stamp_cached, upsert_json_statement,
)
from stoplist.lists.writer.rule import ADD, KEEP, UNCHANGED, UPDATE, Stored, decide
from stoplist.lists.writer.values import Row, Written, lapsed, merged

# Addresses per lookup on SQLite: its answer is one JSON text, held whole in memory.
LOOKUP_BATCH = 10_000


@functools.cache
def _known_json() -> str:
    """queries.known_json for sqlite3, compiled once, its parameters (account, addresses) in that order."""
    return in_order(known_json, "sqlite", ("account", "addresses"))


class BulkWrites:
    """EntryWriter's bulk path. Uses what EntryWriter holds: session, trail, origin, _sqlite,
    _scope(list_id), _pipeline and _sequence."""

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
        relisted = sum(lapsed(found.expire_at, now) for found in known.values())
        ids = iter(self._reserve_ids(len(keys) - len(known) + relisted))
        scopes = {list_id: self._scope(list_id) for list_id in {list_id for list_id, _address in keys}}
        appending = self.trail.append(account_id, self.origin, now)
        dbapi = driver_connection(self.session)
        # Known at once, so that whatever happens next, `wait` finds it (and the thread is joined).
        pipeline = self._pipeline = Pipeline() if background else None
        run = pipeline.submit if pipeline is not None else call
        counts = {ADD: 0, UPDATE: 0, UNCHANGED: 0}
        try:
            for start in range(0, len(keys), per_write):
                gone, new, old, facts = [], [], [], []
                for key in keys[start : start + per_write]:
                    row = last[key]
                    stored = known.get(key)
                    # What a row leaves unsaid (None), a live entry keeps: read just now, under the account's hold.
                    outcome = decide(stored, expire_at=row.expire_at, reason=row.reason, note=KEEP if row.note is None else row.note, now=now)
                    counts[outcome.op] += 1
                    if outcome.op == UNCHANGED:
                        continue
                    scope, (expire_at, reason, note) = scopes[row.list_id], outcome.after
                    if outcome.expires is not None:
                        # Off its list already: its `expire` first (unless the sweep recorded it), then a new entry.
                        gone.append(outcome.expires)
                        facts.append(Fact("expire", row.address, row.address_kind, scope, outcome.expires, state(*stored[1:]), None))  # type: ignore[index]
                    if outcome.op == ADD:
                        entry_id = next(ids)
                        new.append((entry_id, row, reason, note))
                        facts.append(Fact(ADD, row.address, row.address_kind, scope, entry_id, None, state(expire_at, reason, note)))
                    else:
                        old.append((stored.id, row, reason, note))  # type: ignore[union-attr]
                        facts.append(Fact(UPDATE, row.address, row.address_kind, scope, stored.id, state(*outcome.before), state(expire_at, reason, note)))  # type: ignore[union-attr, misc]
                if facts:
                    run(self._write_entries, dbapi, account_id, gone, new, old, source, now)
                    run(appending.insert, appending.link(facts))
            if counts[ADD] or counts[UPDATE]:
                run(appending.finish)
        except BaseException:
            self._pipeline = None
            if pipeline is not None:
                pipeline.close(raising=False)
            raise
        return Written(counts[ADD], counts[UPDATE], counts[UNCHANGED])

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

    def _known(self, account_id: int, keys: list[tuple[int, str]]) -> dict[tuple[int, str], Stored]:
        """The entry of each (list, address) that has one, live or not.

        Straight on the driver, SQL compiled from queries.known_json / known_unnest: an import looks
        up every address it writes, and the ORM's expanding IN cost as much as the query."""
        known: dict[tuple[int, str], Stored] = {}
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
                    ((list_id, address), Stored(entry_id, expiry and expiry.replace(tzinfo=timezone.utc), reason, note))
                    for address, list_id, entry_id, expiry, reason, note in cursor.fetchall() if (list_id, address) in wanted
                )
                return known
            for start in range(0, len(addresses), LOOKUP_BATCH):
                cursor.execute(_known_json(), (account_id, json.dumps(addresses[start : start + LOOKUP_BATCH])))
                known.update(
                    ((list_id, address), Stored(entry_id, expiry and read_sqlite_stamp(expiry), reason, note))
                    for list_id, address, entry_id, expiry, reason, note in json.loads(cursor.fetchone()[0]) if (list_id, address) in wanted
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
                largest = cursor.execute(raw(largest_id, "sqlite")[0]).fetchone()[0]
                return list(range(largest + 1, largest + 1 + count))
            if self._sequence is None:
                self._sequence = cursor.execute(raw(id_sequence, "psycopg")[0]).fetchone()[0]
            cursor.execute(raw(reserved_ids, "psycopg")[0], {"count": count, "sequence": self._sequence})
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
        stamp = sqlite_stamp_cached  # RFC 3339 in UTC; PostgreSQL reads it as the naive UTC timestamp it stores
        try:
            if gone:
                sql, names = raw(delete_ids_statement, "sqlite" if self._sqlite else "psycopg", sqlite if self._sqlite else postgresql)
                values = {"account_id": account_id, "ids": json.dumps(gone)}
                cursor.execute(sql, tuple(values[name] for name in names) if self._sqlite else values)
            if self._sqlite:
                values = {"account_id": account_id, "source": source, "now": stamp(now)}
                for (sql, names), part, restored in ((raw(insert_json_statement, "sqlite"), new, True), (raw(upsert_json_statement, "sqlite", sqlite), old, False)):
                    if part:
                        values["rows"] = rows_json_of(part, stamp, restored=restored)
                        cursor.execute(sql, tuple(values[name] for name in names))
                return
            if new:
                created = stamp(now)
                with cursor.copy(COPY) as copy:
                    write = copy.write_row
                    for entry_id, row, reason, note in new:
                        write((entry_id, account_id, row.list_id, row.address, row.address_kind, reason, note, row.source or source,
                               None if row.expire_at is None else stamp(row.expire_at),
                               created if row.created_at is None else stamp(row.created_at), created if row.updated_at is None else stamp(row.updated_at),
                               row.address_display))
            if old:
                cursor.execute(raw(upsert_json_statement, "psycopg", postgresql)[0], {
                    "account_id": account_id, "source": source, "now": naive_utc(now), "rows": rows_json_of(old, stamp, restored=False),
                })
        finally:
            cursor.close()


