"""The rules of lists: scopes, what an entry may hold, the latest instruction wins, expired means gone."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.db import storable, utcnow
from stoplist.errors import ConflictingParameters, EntryLapsed, EntryNotFound, FilterRequired, InvalidAddress, InvalidCursor, InvalidListScope, validation_error
from stoplist.lists.addresses import address_fits
from stoplist.lists.precedence import EVERY
from stoplist.lists.precedence import CHANNELS, KINDS
from stoplist.lists.cursors import Cursor, entry_key, make_cursor
from stoplist.lists.queries import EntryFilter
from stoplist.lists.readings import refuse_a_delete_of_two_numbers
from stoplist.lists.repository import EntryRepository, EntryRow
from stoplist.lists.schemas import MAX_NOTE, MAX_SENDER, REASONS, SORTS, EntryOrder
from stoplist.lists.senders import is_scope_word, sender_key
from stoplist.lists.writer import KEEP, Change, EntryWriter


@dataclass(frozen=True)
class Scope:
    """A list's scope: kind, channel ('' every) and sender ('' every; its key, senders.sender_key),
    with the sender's spelling to show where it differs from the key (None where it does not)."""

    kind: str
    channel: str = EVERY
    sender: str = EVERY
    sender_display: str | None = None


DEFAULT_SCOPE = Scope("block")

# How each way in says "every": in a JSON body, in a query string, in a filter of the listing, in a CSV cell.
EVERY_IN_BODY = "leave {field} out, or send null,"
EVERY_IN_QUERY = "leave {field} out"
EVERY_IN_FILTER = "send {field} empty ({field}=)"
EVERY_IN_CSV = "leave the {field} cell empty"


class Sender(NamedTuple):
    """A sender as given: its key (what lists are matched on) and its display (the trimmed spelling); '' and '' for every sender."""

    key: str
    display: str

    @property
    def shown(self) -> str | None:
        """The display where it differs from the key: what a new list keeps beside its key."""
        return None if self.display == self.key else self.display


EVERY_SENDER = Sender(EVERY, EVERY)


def _refuse_scope_word(field: str, raw: str, path: str, every: str) -> None:
    """400 for `every`, `all` or `*` as a channel or sender: how to mean every is to say none."""
    if is_scope_word(raw):
        how = every.format(field=field)
        raise InvalidListScope(path, f"{field} {raw.strip()!r} is not a {field}: {how} for every {field}.")


def channel_of(raw: str | None, *, path: str = "channel", every: str = EVERY_IN_BODY) -> str:
    """A channel as stored: one of CHANNELS, or '' for every channel (None, empty or blank, as for a sender); `every`, `all`, `*` are refused."""
    if raw is None:
        return EVERY
    channel = raw.strip().lower()
    if not channel:
        return EVERY
    if channel not in CHANNELS:
        _refuse_scope_word("channel", raw, path, every)
        raise InvalidListScope(path, f"channel {raw!r} is not one of {', '.join(CHANNELS)} (leave it out for every channel).")
    return channel


def sender_of(raw: str | None, *, default_region: str | None, path: str = "sender", every: str = EVERY_IN_BODY) -> Sender:
    """A sender as given: its key and its trimmed spelling, or EVERY_SENDER (None, empty or blank);
    `every`, `all`, `*` are refused."""
    if raw is None:
        return EVERY_SENDER
    sender = raw.strip()
    if not sender:
        return EVERY_SENDER
    # White space inside is one space, whatever it is and however much: `ACME  Bank`, `ACME\u00a0Bank` (a no-break
    # space from a template) and `ACME Bank` are one sender, shown with one space.
    spaced = " ".join(sender.split())
    if len(sender) > MAX_SENDER or not spaced.isprintable():
        raise InvalidListScope(path, f"sender must be printable text of at most {MAX_SENDER} characters.")
    _refuse_scope_word("sender", spaced, path, every)
    return Sender(sender_key(spaced, default_region), spaced)


def scope_of(kind: str, channel: str, sender: Sender) -> Scope:
    """The scope of a list of `kind` and `channel` for `sender`."""
    return Scope(kind, channel, sender.key, sender.shown)


def kind_of(raw: str | None, *, path: str = "list") -> str:
    kind = "block" if raw is None else raw.strip().lower()
    if kind not in KINDS:
        raise InvalidListScope(path, f"list {raw!r} is not one of {', '.join(KINDS)}.")
    return kind


def reason_of(raw: str | None, *, path: str = "reason") -> str | None:
    """A reason as stored (lower case), or None when none was given."""
    if raw is None:
        return None
    reason = raw.strip().lower()
    if reason not in REASONS:
        raise InvalidListScope(path, f"reason {raw!r} is not one of {', '.join(REASONS)}.")
    return reason


def note_of(raw: str | None) -> str | None:
    """A note as stored: None for none, and for an empty or blank one (as null says), so that no entry holds a note
    nobody can see and no event records a change to one. (An import's blank cell keeps the entry's note instead.)"""
    if raw is not None and len(raw) > MAX_NOTE:
        raise InvalidListScope("note", f"note is {len(raw)} characters long; at most {MAX_NOTE}.")
    if raw is not None and not raw.strip():
        return None
    if raw is not None and not storable(raw):
        raise InvalidListScope("note", "note must be text without NUL characters or unpaired surrogates.")
    return raw


def add(
    session: Session, *, account_id: int, scope: Scope, address: str, address_kind: str, expire_at: datetime | None,
    reason: str | None, note: str | None, set_note: bool, origin: Origin, now: datetime | None = None, address_display: str | None = None,
) -> tuple[EntryRow, bool]:
    """Put a (normalised) address, by its key, on the account's list of `scope`: (the entry, True if newly listed).

    `address_display`: the spelling to show where it differs from the key; a listed address keeps the one it has."""
    require_fit(address, address_kind, scope.channel)
    now = now or utcnow()
    writer = EntryWriter(session, origin)
    list_id = writer.list_id(
        account_id=account_id, kind=scope.kind, channel=scope.channel, sender=scope.sender, sender_display=scope.sender_display, now=now
    )
    change = Change(
        source=origin.source, address=address, address_kind=address_kind, expire_at=expire_at, reason=KEEP if reason is None else reason,
        note=note if set_note else KEEP, address_display=address_display,
    )
    entry, created = writer.add(account_id=account_id, list_id=list_id, change=change, now=now)
    return EntryRepository(session).row(account_id=account_id, entry_id=entry.id), created  # type: ignore[return-value]


def require_fit(address: str, address_kind: str, channel: str, *, path: str = "address") -> None:
    """400 unless an address of that kind may go on a list of `channel` (lists.addresses.address_fits)."""
    if address_fits(address_kind, channel):
        return
    if address_kind == "email":
        raise InvalidAddress(address, "an e-mail address goes only on lists of channel email or of every channel", path=path)
    raise InvalidAddress(address, "a phone number cannot go on a list of channel email", path=path)


def get(session: Session, *, account_id: int, entry_id: str, list_id: int | None = None, address_kind: str | None = None) -> EntryRow:
    """A live entry of the account (of one list and kind of address, if given), by its id."""
    key = entry_key(entry_id)
    row = None if key is None else EntryRepository(session).row(account_id=account_id, entry_id=key, now=utcnow(), list_id=list_id, address_kind=address_kind)
    if row is None:
        raise EntryNotFound()
    return row


def delete(
    session: Session, *, account_id: int, entry_id: str, origin: Origin, list_id: int | None = None, address_kind: str | None = None
) -> None:
    """Take one live entry off its list, by its id. One that had lapsed answers as not found, its `expire` recorded."""
    key = entry_key(entry_id)
    if key is None:
        raise EntryNotFound()
    deleted = EntryWriter(session, origin).delete_live(account_id=account_id, entry_id=key, now=utcnow(), list_id=list_id, address_kind=address_kind)
    if deleted.expired:
        raise EntryLapsed()
    if not deleted.removed:
        raise EntryNotFound()


def listing_order(order_by: EntryOrder | None, sort: str | None) -> EntryOrder:
    """The native listing's order: `orderBy` (default `-created_at`), its direction set by VoodooSMS's `sort` if given
    (`asc` or `desc`, any case; the key is then orderBy's, default created_at). A `-` and a `sort` both say the direction: refused."""
    if sort is None:
        return order_by or EntryOrder.created_at_desc
    direction = sort.strip().lower()
    if direction not in SORTS:
        raise validation_error([{"loc": ("query", "sort"), "msg": f"sort {sort!r} is not one of {', '.join(SORTS)} (any case)", "type": "enum"}])
    if order_by is not None and order_by.descending:
        raise ConflictingParameters(
            "orderBy", "sort", message=f"Give the direction once: orderBy={order_by.value} says descending, and so would sort; name the key alone in orderBy."
        )
    return (order_by or EntryOrder.created_at).directed(direction == "desc")


def find(
    session: Session, *, account_id: int, where: EntryFilter, order: EntryOrder, after: Cursor | None, offset: int, limit: int,
    now: datetime, base: datetime, counted: bool = True,
) -> tuple[int | None, list[EntryRow], str | None]:
    """How many live entries match (None unless `counted`: the count reads every match), a page of them in
    `order` (after the cursor, if any), and the cursor of the next page. `base`: when `where`'s dates were read."""
    if after is not None and (after.order is not order or (after.digest is not None and after.digest != where.digest(account_id))):
        raise InvalidCursor(
            "cursor", "cursor was given out for another order, other filters or another account: pass the same parameters as the page it came from, or start again without it."
        )
    repository = EntryRepository(session)
    key = None if after is None else after.key
    if counted:
        size, rows = repository.count_and_find(account_id=account_id, now=now, where=where, order=order, after=key, offset=offset, limit=limit + 1)
    else:
        size, rows = None, repository.find(account_id=account_id, now=now, where=where, order=order, after=key, offset=offset, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    # The moment the dates were read only where there are dates: a cursor names its page's listing, not its second.
    cursor = Cursor(order, where.digest(account_id), base if where.dated else None, rows[-1].key) if more else None
    return size, [row.entry for row in rows], None if cursor is None else make_cursor(cursor)


def delete_matching(
    session: Session, *, account_id: int, where: EntryFilter, origin: Origin, now: datetime, dry_run: bool,
    spelled: str | None, default_region: str | None,
) -> int:
    """Take every entry `where` selects off its list, one event each: how many live ones went (lapsed ones go too, each
    with its `expire`, uncounted). With `dry_run`, how many would, and nothing changes. Some filter is required.

    `spelled`: the address as the client wrote it, which `where.address` reads under `default_region`: digits that
    are also another number, listed, are refused (lists.readings), on a dry run too."""
    # An empty channel or sender (every channel, every sender) narrows another filter, but alone it takes whole lists,
    # the default list among them: what a template's blank value (`?channel=`) must never delete by accident.
    if replace(where, channel=where.channel or None, sender=where.sender or None) == EntryFilter():
        raise FilterRequired(
            "A delete by filter needs at least one filter (address, q, channel, sender, list, reason, address_kind or a date range):"
            " the native API never deletes everything at once. An empty channel or sender (every channel, every sender) narrows"
            " another filter but is not one alone: it would take whole lists; nor is a date range that takes in every date."
            " Delete entries by id, or by a filter that names them."
        )
    if where.address is not None and spelled is not None and default_region is not None:
        refuse_a_delete_of_two_numbers(
            session, account_id=account_id, raw=spelled, key=where.address, default_region=default_region, where=where, now=now, error=InvalidAddress,
        )
    if dry_run:
        return EntryRepository(session).count_found(account_id=account_id, now=now, where=where)
    return EntryWriter(session, origin).delete_matching(account_id=account_id, where=where, now=now)
