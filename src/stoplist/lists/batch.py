"""A batch of adds: up to MAX_ITEMS addresses, each read on its own (an invalid one is answered, not
fatal), then written together by one writer call in the request's transaction."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.db import sqlite_stamp
from stoplist.errors import BadRequest, ErrorBody
from stoplist.lists.addresses import address_and_display
from stoplist.lists.expiry import parse_expire_at
from stoplist.lists.precedence import BLOCK, EVERY
from stoplist.lists.repository import EntryRepository, EntryRow
from stoplist.lists.service import EVERY_SENDER, Scope, Sender, channel_of, kind_of, note_of, reason_of, require_fit, scope_of, sender_of
from stoplist.lists.writer import ADD, KEEP, UNCHANGED, UPDATE, Change, EntryWriter, Row

MAX_ITEMS = 1000
# What each item's write did, as a batch answers it.
OUTCOMES = {ADD: "created", UPDATE: "updated", UNCHANGED: "unchanged"}
INVALID = "invalid"


@dataclass(frozen=True)
class Defaults:
    """What every item of a batch takes unless it says otherwise: a list's scope, and the fields
    (KEEP: an entry keeps its own, a new one takes its default)."""

    kind: str = BLOCK
    channel: str = EVERY
    sender: Sender = EVERY_SENDER
    reason: Any = KEEP  # str | KEEP
    note: Any = KEEP  # str | None | KEEP
    expire_at: datetime | None = None  # as for one add: none given is never


class Result(NamedTuple):
    """One item's answer: its outcome, and the entry (created, updated, unchanged) or the error (invalid)."""

    outcome: str
    entry: EntryRow | None = None
    error: ErrorBody | None = None


def add_batch(
    session: Session, *, account_id: int, items: list[Any], defaults: Defaults, origin: Origin, now: datetime, default_region: str | None
) -> list[Result]:
    """Put each item (an address, or a dict of the fields it sets) on its list, in order, as one add
    each would; answers one Result per item, in order."""
    writer = EntryWriter(session, origin)
    results: list[Result | None] = [None] * len(items)
    lists: dict[Scope, int] = {}
    planned: list[tuple[int, int, Change]] = []  # (index, list id, change)
    for index, item in enumerate(items):
        try:
            scope, change = _read(item, defaults, origin.source, default_region, now)
        except BadRequest as error:
            results[index] = Result(INVALID, error=error.body())
            continue
        list_id = lists.get(scope)
        if list_id is None:
            list_id = lists[scope] = writer.list_id(
                account_id=account_id, kind=scope.kind, channel=scope.channel, sender=scope.sender, sender_display=scope.sender_display, now=now
            )
        planned.append((index, list_id, change))
    added = writer.add_each(account_id=account_id, items=[(list_id, change) for _index, list_id, change in planned], now=now)
    # The entries it inserted as the writer made them; only those it found already are read back.
    repository, created = EntryRepository(session), added.created
    rows = repository.rows(account_id=account_id, entry_ids=[done.entry_id for done in added.applied if done.entry_id not in created])
    scopes = repository.shown_scopes({row.list_id for row in created.values()})
    stamp_now = sqlite_stamp(now)
    rows.update((entry_id, _entry_row(scopes[row.list_id], entry_id, row, origin.source, stamp_now)) for entry_id, row in created.items())
    for (index, _list_id, _change), done in zip(planned, added.applied):
        results[index] = Result(OUTCOMES[done.op], entry=rows[done.entry_id])
    return results  # type: ignore[return-value]


def _entry_row(scope: tuple[str, str, str], entry_id: int, row: Row, source: str, now: str) -> EntryRow:
    """A new entry as ENTRY_COLUMNS reads it back: as the writer inserted `row`, at `now`, from `source`
    (sqlite_stamp is the API's format, the one `queries.stamp` shows on either database)."""
    shown = row.address if row.address_display is None else row.address_display
    expire_at = None if row.expire_at is None else sqlite_stamp(row.expire_at)
    return (*scope, entry_id, shown, row.address_kind, row.reason, row.note, source, expire_at, now, now)


def _read(item: Any, defaults: Defaults, source: str, default_region: str | None, now: datetime) -> tuple[Scope, Change]:
    """An item's list and change: its own fields, the defaults for those it leaves out; BadRequest when one is invalid."""
    fields = {"address": item} if isinstance(item, str) else item
    kind, address, display = address_and_display(fields["address"], default_region=default_region)
    scope = scope_of(
        kind_of(fields["list"]) if "list" in fields else defaults.kind,
        channel_of(fields["channel"]) if "channel" in fields else defaults.channel,
        sender_of(fields["sender"], default_region=default_region) if "sender" in fields else defaults.sender,
    )
    require_fit(address, kind, scope.channel)
    change = Change(
        source=source, address=address, address_kind=kind, address_display=display,
        expire_at=parse_expire_at(fields["expire_at"], now=now) if "expire_at" in fields else defaults.expire_at,
        reason=reason_of(fields["reason"]) if "reason" in fields else defaults.reason,
        note=note_of(fields["note"]) if "note" in fields else defaults.note,
    )
    return scope, change
