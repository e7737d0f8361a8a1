"""The rules of a blacklist: one entry per number, the latest instruction wins, expired means gone."""

from dataclasses import dataclass
from datetime import datetime

from stoplist.blacklist.models import Entry
from stoplist.blacklist.repository import EntryRepository
from stoplist.blacklist.schemas import EntryOrder
from stoplist.db import utcnow
from stoplist.errors import EntryNotFound


@dataclass(frozen=True)
class AddResult:
    entry: Entry
    created: bool


def add_entry(*, repository: EntryRepository, account_id: int, phone_number: str, expire_at: datetime | None, now: datetime | None = None) -> AddResult:
    """Put a number on the list; if it is there already, give it the new expiry instead."""
    now = now or utcnow()
    added = repository.add_or_extend(account_id=account_id, phone_number=phone_number, expire_at=expire_at, now=now)
    if added is not None:
        entry, created = added
        return AddResult(entry, created=created)
    # An expired entry was off the list: putting the number back is a new listing.
    entry = repository.relist_lapsed(account_id=account_id, phone_number=phone_number, expire_at=expire_at, created_at=now)
    return AddResult(entry, created=True)


def get_entry(*, repository: EntryRepository, account_id: int, entry_id: str) -> Entry:
    """A live entry of the account, by its id."""
    key = _entry_key(entry_id)
    entry = None if key is None else repository.get_live(account_id=account_id, entry_id=key, now=utcnow())
    if entry is None:
        raise EntryNotFound()
    return entry


def list_entries(*, repository: EntryRepository, account_id: int, digits: str | None, order: EntryOrder, offset: int, limit: int) -> tuple[int, list[Entry]]:
    """How many live entries match, and the requested page of them."""
    now = utcnow()
    size = repository.count(account_id=account_id, now=now, digits=digits)
    entries = repository.search(account_id=account_id, now=now, digits=digits, order=order, offset=offset, limit=limit) if size > offset else []
    return size, entries


def delete_entry(*, repository: EntryRepository, account_id: int, entry_id: str) -> None:
    """Take one entry off the list, by its id."""
    key = _entry_key(entry_id)
    if key is None or not repository.delete_live(account_id=account_id, entry_id=key, now=utcnow()):
        raise EntryNotFound()


def delete_entries(*, repository: EntryRepository, account_id: int, phone_number: str | None) -> int:
    """Take one number, or every number, off the account's list; return how many rows went."""
    if phone_number is not None:
        return repository.delete_number(account_id=account_id, phone_number=phone_number)
    return repository.delete_all(account_id=account_id)


def _entry_key(entry_id: str) -> int | None:
    """Ids are opaque strings to clients; anything that is not one of ours is simply not found."""
    if entry_id.isascii() and entry_id.isdigit() and len(entry_id) <= 18:
        return int(entry_id)
    return None
