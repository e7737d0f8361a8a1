"""The rules of reading the trail: cursors, pages, an address in any spelling, the proof CSV, and verification."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.orm import Session

from stoplist.audit import chain
from stoplist.audit.queries import CURSOR, FeedBounds, bounds_of, cursor_text
from stoplist.db import snapshot
from stoplist.errors import ConflictingParameters, CursorExpired, EntryNotFound, FilterRequired, InvalidFeedCursor
from stoplist.history import reconcile
from stoplist.history.repository import EventRepository, EventRow
from stoplist.spreadsheets import neutralise
from stoplist.lists.addresses import EMAIL, PHONE, address_and_display, case_folded_key
from stoplist.lists.moments import Period
from stoplist.lists.precedence import BLOCK, EVERY
from stoplist.lists.service import entry_key

DEFAULT_LIMIT = 1_000
MAX_LIMIT = 10_000
MAX_WAIT = 30  # seconds a feed read may wait for an event
CSV_HEADER = (
    "seq", "at", "op", "address", "address_kind", "list", "channel", "sender", "entry_id",
    "before_expire_at", "before_reason", "before_note", "after_expire_at", "after_reason", "after_note",
    "source", "actor_account_id", "token_id", "job_id", "request_id", "evidence", "received_at", "details", "hash",
)


@dataclass(frozen=True)
class Page:
    events: list[EventRow]
    next: str | None

    def json(self) -> str:
        """The answer, written by hand: each event is served as stored (its canonical JSON) with its hash."""
        # Each event as served: its stored canonical JSON with its hash added (a page of the feed is 10,000).
        events = ",".join([f'{body[:-1]},"hash":"{hash_}"}}' for _seq, body, hash_ in self.events])
        return f'{{"events":[{events}],"next":{json.dumps(self.next)}}}'


class Cursor(NamedTuple):
    """A cursor as given: the seq of the event it names, and the start of that event's hash (None
    for "0", and for a bare seq, which is read as a position only)."""

    seq: int
    check: str | None


START = Cursor(0, None)


def cursor_of(after: str | None) -> Cursor:
    """A cursor given out as `next` (`13-0a1b2c3d4e5f6071`, or a bare seq), or the start (absent, empty or 0)."""
    if after is None or after == "":
        return START
    found = CURSOR.fullmatch(after) if after.isascii() else None
    if found is None:
        raise InvalidFeedCursor("after", f"after {after!r} is not a cursor of this service: pass `next` from the previous answer, or 0.")
    return Cursor(int(found["seq"]), found["check"])


RESYNC = (
    "resynchronise from an export of the lists (GET /blacklist/entries with Accept: text/csv), "
    "then follow the feed from the cursor its X-Feed-Cursor header names"
)

AGAIN = "read the history again from its first page (without after), then pass each page's next (X-Next-Cursor in CSV) as it is"


def to_look_up(cursor: Cursor, bounds: FeedBounds) -> int | None:
    """The seq of the event whose stored hash `served` needs to check `cursor` against, if any (the
    bounds carry the hashes of the base and the newest event)."""
    if cursor.check is None or not bounds.base < cursor.seq < bounds.newest:
        return None
    return cursor.seq


def served(cursor: Cursor, bounds: FeedBounds, *, feed: bool, stored: str | None = None) -> int:
    """The seq `cursor` names if the account's trail serves it: never past its newest event, nor
    (when it carries a hash) an event whose hash is not the one it saw: 400 invalid_cursor, no such
    cursor was given out on this trail (e.g. after a restore from an older backup, however far the
    trail has grown since); and, for the feed, never before the oldest event retention kept: 410
    cursor_expired, the events after it are gone, so a mirror would miss them. `stored`: the hash
    of the event to_look_up names."""
    seq = cursor.seq
    # A mirror of the feed resynchronises; a reader of a history pages again from its first page.
    advice = RESYNC if feed else AGAIN
    if seq > bounds.newest:
        raise InvalidFeedCursor(
            "after", f"after={seq} is past this account's newest event ({bounds.newest}): no such cursor was given out "
            f"(a database restored from an older backup, or another account's cursor?); {advice}."
        )
    if feed and seq < bounds.base:
        raise CursorExpired(
            f"after={seq} is older than the trail kept: the events up to {bounds.base} were dropped by retention "
            f"(STOPLIST_AUDIT_RETENTION_MONTHS); {RESYNC}."
        )
    if cursor.check is not None and seq > 0:
        known = bounds.newest_hash if seq == bounds.newest else bounds.base_hash if seq == bounds.base else stored
        # None: the event was dropped by retention (history only), so there is nothing to check against.
        if known is not None and not known.startswith(cursor.check):
            raise InvalidFeedCursor(
                "after", f"after={cursor.seq}-{cursor.check} names an event this account's trail does not hold: its event {seq} "
                f"is another (a database restored from an older backup, or another server's cursor?); {advice}."
            )
    return seq


def _served(repository: EventRepository, account_id: int, after: str | None, *, feed: bool) -> tuple[int, FeedBounds]:
    """served(), reading what it needs in the session: (the seq, the bounds)."""
    cursor = cursor_of(after)
    bounds = bounds_of(repository.session, account_id)
    seq = to_look_up(cursor, bounds)
    return served(cursor, bounds, feed=feed, stored=None if seq is None else repository.hash_at(account_id, seq)), bounds


def address_or_period(given: list[str]) -> ConflictingParameters:
    """The refusal of a history asked both of an address and of a period, naming the period's parameters `given`."""
    return ConflictingParameters("address", *given, message="Give address, or a period (since, until), not both.")


def history(
    session: Session, *, account_id: int, address: str | None, period: Period | None, default_region: str | None, after: str | None, limit: int,
    account_events: bool = True,
) -> Page:
    """The events of an address (any spelling), or of the account within a period: one of the two, oldest first, a page at a time."""
    if address is not None and period is not None:
        raise address_or_period([name for name, bound in (("since", period.after), ("until", period.before)) if bound is not None])
    if address is not None:
        return history_of_address(session, account_id=account_id, raw=address, default_region=default_region, after=after, limit=limit)
    if period is None:
        raise FilterRequired("Name an address (address=...), or a period (since=..., until=...; either or both): whose events, or when.")
    return history_in_period(session, account_id=account_id, period=period, after=after, limit=limit, account_events=account_events)


def history_in_period(session: Session, *, account_id: int, period: Period, after: str | None, limit: int, account_events: bool = True) -> Page:
    """Every event of the account recorded within `period`, in seq order, a page at a time: a period's proof.
    Without `account_events`, those of tokens and subusers are left out (the page may then hold fewer than `limit`)."""
    repository = EventRepository(session)
    start, _bounds = _served(repository, account_id, after, feed=False)
    page = _page(repository.during(account_id=account_id, period=period, after=start, limit=limit + 1), limit)
    return page if account_events else Page(entry_events(page.events), page.next)


def history_of_address(session: Session, *, account_id: int, raw: str, default_region: str | None, after: str | None, limit: int) -> Page:
    """An address's events, in any spelling, oldest first, a page at a time."""
    repository = EventRepository(session)
    start, _bounds = _served(repository, account_id, after, feed=False)
    rows = repository.of_address(account_id=account_id, addresses=spellings(raw, default_region=default_region), after=start, limit=limit + 1)
    return _page(rows, limit)


def spellings(raw: str, *, default_region: str | None) -> list[str]:
    """The forms an address's events may name it by: its key, the spelling asked for (an e-mail address's events
    from before migration 0012 name it as it was given), and its key as 0012 made it (those from before 0017)."""
    kind, key, spelling = address_and_display(raw, default_region=default_region)
    forms = [key] if spelling is None else [key, spelling]
    if kind == EMAIL and (earlier := case_folded_key(spelling or key)) not in forms:
        forms.append(earlier)
    return forms


def history_of_entry(session: Session, *, account_id: int, entry_id: str, after: str | None, limit: int, smsapi: bool = False) -> Page:
    """An entry's events, deleted or not; 404 for an id with none (or, for SMSAPI's route, one not on the default list)."""
    key = entry_key(entry_id)
    repository = EventRepository(session)
    first = None if key is None else repository.first_of_entry(account_id=account_id, entry_id=key)
    if first is None or (smsapi and not _on_default_list(first)):
        raise EntryNotFound()
    start, _bounds = _served(repository, account_id, after, feed=False)
    rows = repository.of_entry(account_id=account_id, entry_id=key, after=start, limit=limit + 1)  # type: ignore[arg-type]
    return _page(rows, limit)


def feed(session: Session, *, account_id: int, after: str | None, limit: int, account_events: bool = True) -> Page:
    """The account's events after the cursor `after`, in commit order; `next` is where to come back from,
    always. A cursor the trail no longer (or never) serves is refused: the feed never skips an event silently.
    Without `account_events`, those of tokens and subusers are left out, and `next` passes them too."""
    repository = EventRepository(session)
    start, bounds = _served(repository, account_id, after, feed=True)
    rows = repository.feed(account_id=account_id, after=start, limit=limit)
    if rows:
        return Page(rows if account_events else entry_events(rows), cursor_text(rows[-1][0], rows[-1][2]))
    # Nothing after it: `start` is the newest event (or, had events come since the bounds were read, one before them).
    return Page(rows, cursor_text(start, bounds.newest_hash if start == bounds.newest else repository.hash_at(account_id, start) or ""))


def entry_events(rows: list[EventRow]) -> list[EventRow]:
    """The events of `rows` that are of entries (and imports), not of tokens and subusers."""
    return [(seq, body, hash_) for seq, body, hash_ in rows if json.loads(body)["op"] not in chain.ACCOUNT_OPS]


def _page(rows: list[EventRow], limit: int) -> Page:
    """A page of history from `limit` + 1 rows: `next` only when there is more."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, cursor_text(rows[-1][0], rows[-1][2]) if more else None)


def _on_default_list(body: str) -> bool:
    fields = json.loads(body)
    scope = fields.get("list") or {}
    return fields.get("address_kind") == PHONE and scope.get("kind") == BLOCK and not scope.get("channel") and not scope.get("sender")


def csv_rows(events: Iterable[EventRow]) -> Iterator[list]:
    """Proof rows: one per event, its fields flattened (an account event's in `details`), every text cell inert for spreadsheets."""
    for _seq, body, hash_ in events:
        fields = json.loads(body)
        scope = fields.get("list") or {}
        before, after, actor = fields.get("before") or {}, fields.get("after") or {}, fields.get("actor") or {}
        row = [
            fields["seq"], fields["at"], fields["op"], fields.get("address"), fields.get("address_kind"),
            scope.get("kind"), scope.get("channel") or EVERY, scope.get("sender") or EVERY, fields.get("entry_id"),
            before.get("expire_at"), before.get("reason"), before.get("note"),
            after.get("expire_at"), after.get("reason"), after.get("note"),
            fields.get("source"), actor.get("account_id"), actor.get("token_id"), fields.get("job_id"), fields.get("request_id"),
            fields.get("evidence"), fields.get("received_at"), _details(fields), hash_,
        ]
        yield [neutralise("" if cell is None else cell) for cell in row]


_IN_COLUMNS = ("expire_at", "reason", "note")  # of an entry's before and after: the before_* and after_* columns


def _details(fields: dict) -> str | None:
    """What of an event's `before` and `after` the columns do not hold, as JSON: an account event's (a token's or a
    subuser's fields), an import's counts, a move's scopes; None when the columns hold it all."""
    account = fields["op"] in chain.ACCOUNT_OPS
    rest = {}
    for name in ("before", "after"):
        side = fields.get(name)
        if account:
            if side is not None:
                rest[name] = side
        elif isinstance(side, dict) and (beyond := {key: value for key, value in side.items() if key not in _IN_COLUMNS}):
            rest[name] = beyond
    return json.dumps(rest, sort_keys=True, ensure_ascii=False) if rest or account else None


def csv_text(events: Iterable[EventRow], *, header: bool = True) -> str:
    buffer = io.StringIO()
    # Every text cell quoted: a note's lone CR must not split its row.
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    if header:
        writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(events))
    return buffer.getvalue()


class Verified(NamedTuple):
    """What `verify` checked, and the first thing that does not hold (None when everything does)."""

    accounts: int
    events: int
    broken: chain.Broken | reconcile.Unaccounted | None
    entries: int  # listed entries found to agree with their trail


def verify(session: Session, *, account_id: int | None = None) -> Verified:
    """Check every account's chain (or one's), then its entries against it (reconcile)."""
    accounts, events, broken = _chains(session, account_id=account_id)
    if broken is not None:
        return Verified(accounts, events, broken, 0)
    entries = 0
    # One snapshot for all: an entry read after a write that its events were read before would be a false alarm.
    with snapshot(session) as reading:
        repository = EventRepository(reading)
        for account in repository.accounts(account_id):
            head = repository.head(account)
            checked, unaccounted = reconcile.reconcile(account, repository.entry_events(account), repository.listed(account), whole=head.base_seq == 0)
            entries += checked
            if unaccounted is not None:
                return Verified(accounts, events, unaccounted, entries)
        headless = repository.first_without_head(account_id)
    if headless is not None:
        return Verified(accounts, events, reconcile.Unaccounted(*headless, "it is listed, but its account has no trail at all: it was added behind the service's back"), entries)
    return Verified(accounts, events, None, entries)


def _chains(session: Session, *, account_id: int | None = None) -> tuple[int, int, chain.Broken | None]:
    """Check every account's chain (or one's): (accounts, events checked, the first broken link or None)."""
    repository = EventRepository(session)
    accounts = repository.accounts(account_id)
    checked = 0
    for account in accounts:
        head = repository.head(account)
        # Up to the head as read: writers may append meanwhile (each moving the head in the same transaction).
        events = repository.stored(account, through=head.seq)
        count, broken = chain.verify(account, events, base_seq=head.base_seq, base_hash=head.base_hash, head_seq=head.seq, head_hash=head.hash, head_at=head.at)
        checked += count
        if broken is None:
            broken = _beyond_the_head(repository, account, head.seq)
        if broken is not None:
            return len(accounts), checked, broken
    orphan = repository.headless(account_id)
    if orphan is not None:
        return len(accounts), checked, chain.Broken(orphan[0], orphan[1], "an event of an account without a head: it is on no chain (written, or moved there, behind the service's back)")
    return len(accounts), checked, None


def _beyond_the_head(repository: EventRepository, account: int, seq: int) -> chain.Broken | None:
    """An event after the head's last one that no writer put there: one appended since the head was read has moved it past itself."""
    beyond = repository.first_after(account, seq)
    if beyond is None or repository.head(account).seq >= beyond:
        return None
    return chain.Broken(account, beyond, "an event after the last one the account's head recorded: written behind the service's back")
