"""Edits of entries already listed: their fields, their list, their address (a move), and one address
replaced by another on every list it is on. Each is one writer call per entry, in the request's
transaction: a refusal half-way (a conflict) leaves nothing changed."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.errors import EntryExists, EntryLapsed, EntryNotFound, InvalidAddress
from stoplist.lists.repository import EntryRepository, EntryRow
from stoplist.lists.service import Scope, entry_key, require_fit
from stoplist.lists.writer import CONFLICT, KEEP, LAPSED, MISSING, Change, EntryWriter, lapsed


@dataclass(frozen=True)
class Address:
    """An address as read at the boundary: its kind, its key, and its spelling to show where it differs (else None)."""

    kind: str
    key: str
    display: str | None = None


@dataclass(frozen=True)
class Move:
    """Where an edit sends an entry: each part of its list's scope, or KEEP for the entry's own."""

    kind: Any = KEEP  # str | KEEP
    channel: Any = KEEP  # str ('' every) | KEEP
    sender: Any = KEEP  # Sender | KEEP

    @property
    def stays(self) -> bool:
        return self.kind is KEEP and self.channel is KEEP and self.sender is KEEP


STAY = Move()


def edit(
    session: Session, *, account_id: int, entry_id: str, origin: Origin, now: datetime, expire_at: Any = KEEP, reason: Any = KEEP,
    note: Any = KEEP, address: Address | None = None, move: Move = STAY, list_id: int | None = None, address_kind: str | None = None,
    address_path: str = "address",
) -> EntryRow:
    """Give one live entry of the account (of one list and kind of address, if given) the fields sent
    (KEEP: as they are), on the list `move` names and at `address`, if either differs from its own:
    then it moves (a new entry). 404 for an entry that is not live (a lapsed one's `expire` kept);
    409 when the address is live on the list it would move to."""
    key = entry_key(entry_id)
    if key is None:
        raise EntryNotFound()
    writer = EntryWriter(session, origin)
    found = writer.entry(account_id=account_id, entry_id=key, list_id=list_id, address_kind=address_kind)
    if found is None:
        raise EntryNotFound()
    target = None
    if lapsed(found.expire_at, now):
        pass  # the writer records its expiry, and it answers as not found
    elif not move.stays:
        kind, channel, sender, sender_display = writer.list_scope(found.list_id)
        scope = Scope(
            kind if move.kind is KEEP else move.kind,
            channel if move.channel is KEEP else move.channel,
            sender if move.sender is KEEP else move.sender.key,
            sender_display if move.sender is KEEP else move.sender.shown,
        )
        require_fit(found.address if address is None else address.key, found.address_kind if address is None else address.kind, scope.channel,
                    path="channel" if address is None else address_path)
        target = writer.list_id(account_id=account_id, kind=scope.kind, channel=scope.channel, sender=scope.sender, sender_display=scope.sender_display, now=now)
    elif address is not None:
        require_fit(address.key, address.kind, writer.list_scope(found.list_id).channel, path=address_path)
    change = Change(
        source=origin.source, address=KEEP if address is None else address.key, address_kind=None if address is None else address.kind,
        address_display=None if address is None else address.display, expire_at=expire_at, reason=reason, note=note,
    )
    edited = writer.edit(account_id=account_id, entry_id=key, change=change, now=now, to_list_id=target, list_id=list_id, address_kind=address_kind)
    if edited.op == MISSING:
        raise EntryNotFound()
    if edited.op == LAPSED:
        raise EntryLapsed()
    if edited.op == CONFLICT:
        where = "that list" if address is None else "its list"
        raise EntryExists(
            f"{found.address if address is None else address.key} is on {where} already (entry {edited.entry_id}): edit or delete that entry instead.",
            path="list" if address is None else address_path, entry_id=edited.entry_id,  # type: ignore[arg-type]
        )
    return EntryRepository(session).row(account_id=account_id, entry_id=edited.entry_id)  # type: ignore[arg-type, return-value]


def replace(
    session: Session, *, account_id: int, old: Address, new: Address, scope: Scope | None, origin: Origin, now: datetime, new_raw: str
) -> list[EntryRow]:
    """Move every live entry of `old` (on the list of `scope` only, if given) to `new`, each as a move:
    reason, note and expiry go with it. 404 when `old` has none; 409 when `new` is live on one of those
    lists already (nothing is changed: the caller's transaction rolls back the entries moved before)."""
    if new.key == old.key:
        # A valid address, only the wrong one: "is not a valid address" would send the user looking for a typo.
        said = f"new {new_raw!r} is the address old names (in another spelling or the same): give the address to replace it with."
        raise InvalidAddress(new_raw, "it is the address to replace (old)", path="new", message=said)
    writer = EntryWriter(session, origin)
    list_ids = None
    if scope is not None:
        list_id = EntryRepository(session).list_id(account_id=account_id, kind=scope.kind, channel=scope.channel, sender=scope.sender)
        list_ids = [] if list_id is None else [list_id]
    entries = writer.live_entries(account_id=account_id, address=old.key, now=now, list_ids=list_ids)
    if not entries:
        where = "that list" if scope is not None else "any of your lists"
        raise EntryNotFound(f"{old.key} is not on {where}: there is nothing to replace.")
    for entry in entries:
        require_fit(new.key, new.kind, writer.list_scope(entry.list_id).channel, path="new")
    moved = []
    for entry in entries:
        change = Change(source=origin.source, address=new.key, address_kind=new.kind, address_display=new.display)
        edited = writer.edit(account_id=account_id, entry_id=entry.id, change=change, now=now)
        if edited.op == CONFLICT:
            kind, channel, sender, display = writer.list_scope(entry.list_id)
            scope_text = f"{kind}, channel {channel or 'every'}, sender {display or sender or 'every'}"
            raise EntryExists(
                f"{new.key} is on the list ({scope_text}) already (entry {edited.entry_id}): delete one of the two entries first.",
                path="new", entry_id=edited.entry_id,  # type: ignore[arg-type]
            )
        moved.append(edited.entry_id)
    rows = EntryRepository(session).rows(account_id=account_id, entry_ids=moved)  # type: ignore[arg-type]
    return [rows[entry_id] for entry_id in moved]  # type: ignore[index]

