"""The rules of lists: scopes, what an entry may hold, the latest instruction wins, expired means gone."""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple

from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.db import RFC3339, utcnow
from stoplist.errors import EntryLapsed, EntryNotFound, InvalidAddress, InvalidCursor, InvalidListScope
from stoplist.lists.addresses import address_fits
from stoplist.lists.precedence import EVERY
from stoplist.lists.precedence import CHANNELS, KINDS
from stoplist.lists.repository import EntryFilter, EntryRepository, EntryRow, Position
from stoplist.lists.schemas import CURSOR_PATTERN, MAX_NOTE, MAX_SENDER, REASONS
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
_CURSOR = re.compile(CURSOR_PATTERN)


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
    if len(sender) > MAX_SENDER or not sender.isprintable():
        raise InvalidListScope(path, f"sender must be printable text of at most {MAX_SENDER} characters.")
    _refuse_scope_word("sender", sender, path, every)
    return Sender(sender_key(sender, default_region), sender)


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
    if raw is not None and len(raw) > MAX_NOTE:
        raise InvalidListScope("note", f"note is {len(raw)} characters long; at most {MAX_NOTE}.")
    if raw is not None and not storable(raw):
        raise InvalidListScope("note", "note must be text without NUL characters or unpaired surrogates.")
    return raw


def storable(text: str) -> bool:
    """Text every database stores as it is: PostgreSQL refuses NUL, and no UTF-8 holds an unpaired surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


def find(
    session: Session, *, account_id: int, where: EntryFilter, cursor: str | None, offset: int, limit: int, counted: bool = True
) -> tuple[int | None, list[EntryRow], str | None]:
    """How many live entries match (None unless `counted`: the count reads every match), a page of them
    (newest first), and the cursor of the next page."""
    now = utcnow()
    after = None if cursor is None else read_cursor(cursor)
    repository = EntryRepository(session)
    size = repository.count_found(account_id=account_id, now=now, where=where) if counted else None
    rows = repository.find(account_id=account_id, now=now, where=where, after=after, offset=offset, limit=limit + 1) if size != 0 else []
    more = len(rows) > limit
    rows = rows[:limit]
    return size, rows, (make_cursor(rows[-1]) if more else None)


def make_cursor(row: EntryRow) -> str:
    """An opaque cursor after `row`: its created_at and id, which the newest-first order continues from."""
    return base64.urlsafe_b64encode(f"{row[10]}|{row[3]}".encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> Position:
    try:
        # Only the alphabet make_cursor writes in: the decoder would skip any other character.
        if not _CURSOR.fullmatch(cursor):
            raise ValueError(cursor)
        created, entry_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        # An id within a row id's range (and digits only): anything else would reach the database and fail there.
        key = entry_key(entry_id)
        if key is None:
            raise ValueError(entry_id)
        return Position(datetime.strptime(created, RFC3339).replace(tzinfo=timezone.utc), key)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("cursor", "cursor is not one this service gave out: pass next_cursor from the previous page as it is.") from None


def entry_key(entry_id: str) -> int | None:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    if entry_id.isascii() and entry_id.isdigit() and len(entry_id) <= 18:
        return int(entry_id)
    return None
