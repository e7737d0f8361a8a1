"""The writer's edits of one entry, by id: its fields in place (the one rule), or a move to another
list or another address, which ends the entry and starts a new one.

An entry's address and list are its identity: every entry's events read `add`, `update`*, then
one `remove` or `expire`, and a mirror of the feed keys entries by id. So a move is the `remove`
of the entry and the `add` of a new entry (a new id) on the list or address it goes to, carrying
its reason, note and expiry (with what the edit changes), both in the caller's transaction, under
one request id; each event's `evidence` says which entry the other is, before the client's own.
"""

import dataclasses
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, insert, select, update

from stoplist.audit.trail import Fact, state
from stoplist.lists.models import Entry, List
from stoplist.lists.writer.rule import ADD, UNCHANGED, UPDATE, Stored, decide
from stoplist.lists.writer.values import KEEP, Change, lapsed

# What an edit did, or why it did nothing.
MOVE = "move"  # the entry ended and a new one (Edited.entry_id) began on another list or address
MISSING = "missing"  # no such entry (of that list and kind, when given)
LAPSED = "lapsed"  # the entry had lapsed: its `expire` is recorded, nothing else
CONFLICT = "conflict"  # the address is live on the list the entry would move to: nothing written

_FOUND = (Entry.id, Entry.list_id, Entry.address, Entry.address_kind, Entry.address_display, Entry.expire_at, Entry.reason, Entry.note)
_RETURNED = (Entry.id, Entry.address, Entry.address_kind, Entry.list_id, Entry.expire_at, Entry.reason, Entry.note)


class Found(NamedTuple):
    """An entry as an edit reads it, under the account's hold."""

    id: int
    list_id: int
    address: str
    address_kind: str
    address_display: str | None
    expire_at: datetime | None
    reason: str
    note: str | None

    @property
    def stored(self) -> Stored:
        return Stored(self.id, self.expire_at, self.reason, self.note)


class ListScope(NamedTuple):
    """A list's scope as an edit reads it: the sender as its key, and as shown (None: the key)."""

    kind: str
    channel: str
    sender: str
    sender_display: str | None


class Edited(NamedTuple):
    """What an edit did: `update`, `unchanged` or `move` (then `entry_id` is the new entry's), or why it
    did nothing: `missing`, `lapsed`, `conflict` (then `entry_id` is the live entry in the way)."""

    op: str
    entry_id: int | None = None


class Edits:
    """EntryWriter's edits. Uses what EntryWriter holds: session, trail, origin, wait(), _scope, _at, _expire."""

    def live_entries(self, *, account_id: int, address: str, now: datetime, list_ids: list[int] | None = None) -> list[Found]:
        """The live entries of an address (on those lists, if given), in list order, read under the
        account's hold: what a replacement moves."""
        self.wait()
        self.trail.hold(account_id)
        statement = select(*_FOUND).where(Entry.account_id == account_id, Entry.address == address).order_by(Entry.list_id)
        if list_ids is not None:
            statement = statement.where(Entry.list_id.in_(list_ids))
        return [entry for entry in (Found(*row) for row in self.session.execute(statement)) if not lapsed(entry.expire_at, now)]

    def entry(self, *, account_id: int, entry_id: int, list_id: int | None = None, address_kind: str | None = None) -> Found | None:
        """One entry of the account (of one list and kind of address, if given), live or not, read under the account's hold."""
        self.wait()
        self.trail.hold(account_id)
        statement = select(*_FOUND).where(Entry.account_id == account_id, Entry.id == entry_id)
        if list_id is not None:
            statement = statement.where(Entry.list_id == list_id)
        if address_kind is not None:
            statement = statement.where(Entry.address_kind == address_kind)
        row = self.session.execute(statement).first()
        return None if row is None else Found(*row)

    def list_scope(self, list_id: int) -> ListScope:
        """A list's kind, channel, sender (its key) and the sender's display (None: the key)."""
        return ListScope(*self.session.execute(select(List.kind, List.channel, List.sender, List.sender_display).where(List.id == list_id)).one())

    def edit(
        self, *, account_id: int, entry_id: int, change: Change, now: datetime, to_list_id: int | None = None,
        list_id: int | None = None, address_kind: str | None = None,
    ) -> Edited:
        """Give one live entry of the account (of one list and kind of address, if given) what `change`
        sets, by the one rule; moved to the list `to_list_id`, or to the address `change.address`,
        when either differs from its own. An edit that changes nothing writes and records nothing."""
        found = self.entry(account_id=account_id, entry_id=entry_id, list_id=list_id, address_kind=address_kind)
        if found is None:
            return Edited(MISSING)
        if lapsed(found.expire_at, now):
            self._expire(account_id, [found.id], now)
            return Edited(LAPSED)
        target = found.list_id if to_list_id is None else to_list_id
        address = found.address if change.address is KEEP else change.address
        if (target, address) != (found.list_id, found.address):
            return self._move(account_id, found, target, change, now)
        outcome = decide(found.stored, expire_at=change.expire_at, reason=change.reason, note=change.note, now=now)
        if outcome.op == UNCHANGED:
            return Edited(UNCHANGED, found.id)
        expire_at, reason, note = outcome.after
        values = {"expire_at": expire_at, "reason": reason, "note": note, "source": change.source, "updated_at": now}
        self.session.execute(update(Entry).where(Entry.id == found.id).values(values), execution_options={"synchronize_session": False})
        fact = Fact(UPDATE, found.address, found.address_kind, self._scope(found.list_id), found.id, state(*outcome.before), state(*outcome.after))  # type: ignore[misc]
        self.trail.record(account_id, [fact], self.origin, now)
        return Edited(UPDATE, found.id)

    def _move(self, account_id: int, found: Found, target: int, change: Change, now: datetime) -> Edited:
        """End `found` and start a new entry on list `target` for `change.address` (or its own), with
        its state as `change` edits it; a lapsed entry in the way is expired first, a live one is a conflict."""
        moving_address = change.address is not KEEP and change.address != found.address
        address = change.address if moving_address else found.address
        occupant = self._at(account_id, target, address)
        if occupant is not None and not lapsed(occupant.expire_at, now):
            return Edited(CONFLICT, occupant.id)
        if occupant is not None:
            self._expire(account_id, [occupant.id], now)
        # The entry's state as the edit leaves it: the rule, as for an edit in place.
        expire_at, reason, note = decide(found.stored, expire_at=change.expire_at, reason=change.reason, note=change.note, now=now).after
        ended = self.session.execute(delete(Entry).where(Entry.id == found.id).returning(*_RETURNED)).one()
        kind = change.address_kind if moving_address else found.address_kind
        display = change.address_display if moving_address else found.address_display
        values = {
            "account_id": account_id, "list_id": target, "address": address, "address_kind": kind, "address_display": display,
            "expire_at": expire_at, "reason": reason, "note": note, "source": change.source, "created_at": now, "updated_at": now,
        }
        new_id = self.session.scalar(insert(Entry).values(values).returning(Entry.id))
        ended_state = state(ended.expire_at, ended.reason, ended.note)
        removed = Fact("remove", found.address, found.address_kind, self._scope(found.list_id), found.id, ended_state, None)
        added = Fact(ADD, address, kind, self._scope(target), new_id, None, state(expire_at, reason, note))
        if moving_address:
            told_removed, told_added = f"replaced by {address} (entry {new_id})", f"replacing {found.address} (entry {found.id})"
        else:
            told_removed, told_added = f"moved to entry {new_id}", f"moved from entry {found.id}"
        self.trail.record(account_id, [removed], self._telling(told_removed), now)
        self.trail.record(account_id, [added], self._telling(told_added), now)
        return Edited(MOVE, new_id)

    def _telling(self, what: str):
        """The writer's origin, its evidence saying `what` happened first (then the client's own, if any)."""
        evidence = what if not self.origin.evidence else f"{what}; {self.origin.evidence}"
        return dataclasses.replace(self.origin, evidence=evidence)
