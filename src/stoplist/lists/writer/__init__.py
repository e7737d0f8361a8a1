"""The one writer of lists and entries: every change to them goes through here.

API adds, updates and deletes, delete-all, imports, the CLI and the sweep of expired entries
all call this package, and nothing else issues INSERT, UPDATE or DELETE on `lists` or
`blacklist_entries` (tests/code/test_one_writer.py fails otherwise). So whatever must happen on
every change happens here, once, in the caller's transaction: each change to an entry records one
event on the audit trail (audit.trail), on whose grounds (`Origin`) the writer was made with.

Every write first holds the account's head of the trail (Trail.hold): the account's writes then
run one at a time, so what a write reads of the entries before changing them (the event's
`before`) is what it changes.

By mechanism: this module writes one entry at a time (the ORM) and deletes; `edits` edits one
entry by id, and moves it to another list or address; `bulk` writes many (imports, straight on the
driver), and `batch` a batch of adds with them; `statements` builds the bulk path's SQL; `values`
holds what the writer takes and answers; `rule` is the one rule every write to an entry asks.
"""

from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from stoplist.audit.trail import Fact, Origin, Trail, state
from stoplist.lists.models import Entry, List
from stoplist.lists.precedence import BLOCK
from stoplist.lists.queries import EntryFilter, matching
from stoplist.lists.search import searched_entries
from stoplist.lists.writer.batch import Added, Applied, BatchWrites
from stoplist.lists.writer.bulk import BulkWrites
from stoplist.lists.writer.edits import CONFLICT, LAPSED, MISSING, MOVE, Edited, Edits, Found
from stoplist.lists.writer.pipeline import Pipeline
from stoplist.lists.writer.rule import ADD, UNCHANGED, UPDATE, Stored, decide
from stoplist.lists.writer.values import KEEP, Change, Deleted, Row, Written, lapsed, merged

__all__ = [
    "ADD", "CONFLICT", "KEEP", "LAPSED", "MISSING", "MOVE", "UNCHANGED", "UPDATE",
    "Added", "Applied", "Change", "Deleted", "Edited", "EntryWriter", "Found", "Row", "Written", "lapsed", "merged",
]

_POPULATE = {"populate_existing": True, "synchronize_session": False}
_DELETE_BATCH = 10_000  # entries per statement of a delete-all: memory stays bounded on any list
_RETURNED = (Entry.id, Entry.address, Entry.address_kind, Entry.list_id, Entry.expire_at, Entry.reason, Entry.note)


class EntryWriter(BulkWrites, BatchWrites, Edits):
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

        By the one rule (writer.rule): the latest instruction wins; an entry that had lapsed is
        expired (deleted, with its `expire` event) and the address listed anew as a new entry. An
        add that changes nothing still records an `update`: the opt-out was confirmed again.
        Read, then written, under the account's hold: no other write of the account comes between.
        """
        self.wait()
        self.trail.hold(account_id)
        stored = self._at(account_id, list_id, change.address)
        outcome = decide(stored, expire_at=change.expire_at, reason=change.reason, note=change.note, now=now)
        if outcome.expires is not None:
            self._expire(account_id, [outcome.expires], now)
        expire_at, reason, note = outcome.after
        values = {"expire_at": expire_at, "reason": reason, "note": note, "source": change.source, "updated_at": now}
        if outcome.op == ADD:
            values.update(
                account_id=account_id, list_id=list_id, address=change.address, address_kind=change.address_kind,
                address_display=change.address_display, created_at=now,
            )
            written = insert(Entry).values(values)
        else:
            written = update(Entry).where(Entry.id == stored.id).values(values)  # type: ignore[union-attr]
        entry = self.session.scalars(written.returning(Entry), execution_options=_POPULATE).one()
        before = None if outcome.before is None else state(*outcome.before)
        fact = Fact(ADD if outcome.op == ADD else UPDATE, entry.address, entry.address_kind, self._scope(list_id), entry.id, before, state(*outcome.after))
        self.trail.record(account_id, [fact], self.origin, now)
        return entry, outcome.op == ADD

    def _at(self, account_id: int, list_id: int, address: str) -> Stored | None:
        """The entry of `address` on the list, live or not, looked up by account and address. Given
        the list too, PostgreSQL's planner may walk the list's (account, list, created) index instead
        of the unique one until its statistics catch up with a bulk import: 30 ms an add on a list of
        100,000 just imported, instead of 0.1."""
        return self._known(account_id, [(list_id, address)]).get((list_id, address))

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
        (`expire` for those that had lapsed); answers how many were live (see delete_matching)."""
        return self.delete_matching(account_id=account_id, where=EntryFilter(list_id=list_id, address_kind=address_kind), now=now)

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

    def delete_matching(self, *, account_id: int, where: EntryFilter, now: datetime, batch: int = _DELETE_BATCH) -> int:
        """Every entry of the account that `where` selects (queries.matching), live or lapsed, one event each
        (`expire` for those that had lapsed); answers how many were live.

        In batches of `batch`, in id order (keyset: one batch's ids at a time, never the whole set), all in the
        caller's transaction: millions go at once or not at all, in bounded memory."""
        self.wait()
        self.trail.hold(account_id)
        selected, entries = matching(where, account_id=account_id, now=None), searched_entries(where)
        removed, after = 0, 0
        while True:
            ids = select(Entry.id).select_from(entries).where(*selected, Entry.id > after).order_by(Entry.id).limit(batch).scalar_subquery()
            rows = self.session.execute(delete(Entry).where(Entry.id.in_(ids)).returning(*_RETURNED)).all()
            if not rows:
                return removed
            rows.sort()
            removed += self._removed(account_id, rows, now)
            after = rows[-1][0]
