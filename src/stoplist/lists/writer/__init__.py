"""The one writer of lists and entries: every change to them goes through here.

API adds, updates and deletes, delete-all, imports, the CLI and the sweep of expired entries
all call this package, and nothing else issues INSERT, UPDATE or DELETE on `lists` or
`blacklist_entries` (tests/code/test_one_writer.py fails otherwise). So whatever must happen on
every change happens here, once, in the caller's transaction: each change to an entry records one
event on the audit trail (audit.trail), on whose grounds (`Origin`) the writer was made with.

Every write first holds the account's head of the trail (Trail.hold): the account's writes then
run one at a time, so what a write reads of the entries before changing them (the event's
`before`) is what it changes.

By mechanism: this module writes one entry at a time (the ORM) and deletes; `bulk` writes many
(imports, straight on the driver); `statements` builds the bulk path's SQL; `values` holds what
the writer takes and answers.
"""

from datetime import datetime

from sqlalchemy import delete, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.audit.trail import Fact, Origin, Trail, state
from stoplist.lists.models import Entry, List
from stoplist.lists.precedence import BLOCK
from stoplist.lists.queries import live
from stoplist.lists.schemas import DEFAULT_REASON
from stoplist.lists.writer.bulk import BulkWrites
from stoplist.lists.writer.pipeline import Pipeline
from stoplist.lists.writer.statements import KEY
from stoplist.lists.writer.values import Change, Deleted, Row, Written, lapsed, merged

__all__ = ["Change", "Deleted", "EntryWriter", "Row", "Written", "lapsed", "merged"]

_POPULATE = {"populate_existing": True, "synchronize_session": False}
_DELETE_BATCH = 10_000  # entries per statement of a delete-all: memory stays bounded on any list
_RETURNED = (Entry.id, Entry.address, Entry.address_kind, Entry.list_id, Entry.expire_at, Entry.reason, Entry.note)


class EntryWriter(BulkWrites):
    def __init__(self, session: Session, origin: Origin) -> None:
        self.session = session
        self.origin = origin
        self.trail = Trail(session)
        self._scopes: dict[int, tuple[str, str, str]] = {}
        self._pipeline: Pipeline | None = None
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
            insert_new = sqlite.insert(Entry).values(new).on_conflict_do_nothing(index_elements=KEY)
            entry_id = self.session.scalar(insert_new.returning(Entry.id))
            if entry_id is not None:
                return self.session.get(Entry, entry_id), True
            key = (Entry.account_id == account_id, Entry.list_id == list_id, Entry.address == change.address)
            extend = update(Entry).where(*key, live(now)).values(updates)
            entry = self.session.scalars(extend.returning(Entry), execution_options=_POPULATE).one_or_none()
            return None if entry is None else (entry, False)
        statement = postgresql.insert(Entry).values(new)
        statement = statement.on_conflict_do_update(index_elements=KEY, set_=updates, where=live(now))
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
