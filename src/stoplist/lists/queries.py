"""What entry queries mean, defined once: live, the filter, the sort orders, a check's scope, an entry's columns.

The ORM paths use these statements as they are. The raw paths (checks on sqlite3 and asyncpg,
exports and imports straight on the driver) run the SQL text that `stoplist.db.raw` compiles from the same
statements for their dialect, so no hand-kept copy of a query can drift from the definition.

    EntryFilter, matching()   which entries a listing, its count, its exports and a delete by filter select
    ORDERS, order_by(), beyond()   the sort orders, and the rows past a cursor's key in one of them
"""

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BigInteger, BindParameter, ColumnElement, Integer, Select, String, Text, and_, bindparam, cast, false, literal_column, or_, select, true
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement, func

from stoplist.db import RFC3339, Rfc3339Timestamp, naive_utc, sqlite_json_rows, sqlite_stamp
from stoplist.lists.models import Entry, List
from stoplist.lists.moments import EVER, Period
from stoplist.lists.precedence import EVERY
from stoplist.lists.schemas import EntryOrder


def live(now) -> ColumnElement[bool]:
    """Entries still on their list at `now` (a datetime, or a bound parameter)."""
    return or_(Entry.expire_at.is_(None), Entry.expire_at > now)


@dataclass(frozen=True)
class EntryFilter:
    """Which entries of an account a listing, its count, its exports and a delete by filter select; None means any.

    Values as stored: an address's key, a channel or sender ('' every), a kind, a reason. `digits` is part of an
    address (digits of a number, or an e-mail address's text folded as its key). `list_id` is one list (SMSAPI's
    routes add their default list). The periods bound created_at, updated_at and expire_at (see moments)."""

    address: str | None = None
    digits: str | None = None
    channel: str | None = None
    sender: str | None = None
    kind: str | None = None
    reason: str | None = None
    address_kind: str | None = None
    list_id: int | None = None
    created: Period = EVER
    updated: Period = EVER
    expires: Period = EVER

    @property
    def dated(self) -> bool:
        """Whether a period bounds the filter (then the moment its dates were read matters to a cursor)."""
        return (self.created, self.updated, self.expires) != (EVER, EVER, EVER)

    def digest(self, account_id: int) -> str:
        """A short fingerprint of the filter and the account listed, which a cursor carries so that it continues
        only the listing it came from (another account's cursor is refused, not read as a position)."""
        text = repr((account_id, *(_plain(value) for value in vars(self).values())))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value):
    if isinstance(value, Period):
        return tuple(None if moment is None else moment.strftime(RFC3339) for moment in value)
    return value


def matching(where: EntryFilter, *, account_id: int, now: datetime | None) -> list[ColumnElement[bool]]:
    """The conditions on entries (no join needed) of the account's entries that `where` selects, live at `now`;
    with `now` None, lapsed ones too (a delete takes them, recording their `expire`)."""
    conditions: list[ColumnElement[bool]] = [Entry.account_id == account_id]
    if now is not None:
        conditions.append(live(now))
    if where.list_id is not None:
        conditions.append(Entry.list_id == where.list_id)
    scope = [column == value for column, value in ((List.channel, where.channel), (List.sender, where.sender), (List.kind, where.kind)) if value is not None]
    if scope:
        # The account's lists of that scope are a handful: matched by id, entries need no join.
        conditions.append(Entry.list_id.in_(select(List.id).where(List.account_id == account_id, *scope)))
    if where.address is not None:
        conditions.append(Entry.address == where.address)
    if where.digits and where.digits.isdigit():
        conditions.append(holding_digits(where.digits))
    elif where.digits:
        # Text of an e-mail address, in any case: keys are folded ('jan@…') and so is the text (entries.router);
        # ILIKE, which the trigram index serves on PostgreSQL, keeps A-Z case-blind whatever a caller passes.
        conditions.append(Entry.address.ilike(f"%{_escape_like(where.digits)}%", escape="\\"))
    for column, value in ((Entry.reason, where.reason), (Entry.address_kind, where.address_kind)):
        if value is not None:
            conditions.append(column == value)
    conditions += _within(Entry.created_at, where.created) + _within(Entry.updated_at, where.updated)
    if where.expires.after is not None:
        # An entry that never expires expires after every date, as it sorts (ORDERS).
        conditions.append(or_(Entry.expire_at.is_(None), Entry.expire_at >= where.expires.after))
    if where.expires.before is not None:
        conditions.append(Entry.expire_at < where.expires.before)
    return conditions


def holding_digits(digits: str | BindParameter) -> ColumnElement[bool]:
    """Entries whose address holds `digits`, digits of a number: LIKE '%digits%', which needs no escaping and which
    the trigram index serves on PostgreSQL. A bound parameter too, for a statement compiled once (blacklist.searches)."""
    return Entry.address.contains(digits)


def _within(column, period: Period) -> list[ColumnElement[bool]]:
    bounds = [] if period.after is None else [column >= period.after]
    return bounds if period.before is None else [*bounds, column < period.before]


def _escape_like(text: str) -> str:
    """Text that LIKE matches literally: its wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SortKey(NamedTuple):
    """One column of a sort order: its direction, and whether NULL sorts as the latest value (an entry that never expires)."""

    column: ColumnElement
    descending: bool = False
    null_last: bool = False


def _ascending(*keys: SortKey) -> dict[bool, tuple[SortKey, ...]]:
    """An order and its reverse, by `descending`."""
    return {False: keys, True: tuple(key._replace(descending=True) for key in keys)}


# Each order is total, so that a cursor continues it exactly: a tie-breaker ends every one. An address is unique
# on its list, and (account, address, list) is the unique index, which serves the address order as it stands.
_KEYS = {
    "created_at": _ascending(SortKey(Entry.created_at), SortKey(Entry.id)),
    "updated_at": _ascending(SortKey(Entry.updated_at), SortKey(Entry.id)),
    "id": _ascending(SortKey(Entry.id)),
    "address": _ascending(SortKey(Entry.address), SortKey(Entry.list_id)),
    "phone_number": _ascending(SortKey(Entry.address), SortKey(Entry.list_id)),
    "expire_at": _ascending(SortKey(Entry.expire_at, null_last=True), SortKey(Entry.id)),
}
ORDERS: dict[EntryOrder, tuple[SortKey, ...]] = {order: _KEYS[order.value.lstrip("-")][order.descending] for order in EntryOrder}


def order_by(order: EntryOrder, on: Mapping[str, ColumnElement] | None = None) -> list:
    """The ORDER BY of an order; `on`: of these columns, by name, instead of the entries' own (a subquery's)."""
    terms = []
    for key in ORDERS[order]:
        column = key.column if on is None else on[key.column.key]
        if key.null_last:
            terms.append(column.is_(None).desc() if key.descending else column.is_(None).asc())
        terms.append(column.desc() if key.descending else column.asc())
    return terms


def beyond(order: EntryOrder, values: tuple, on: Mapping[str, ColumnElement] | None = None) -> ColumnElement[bool]:
    """The entries that come after the one whose key in `order` is `values` (a cursor's): keyset paging. `on` as for order_by."""
    past, equal = [], []
    for key, value in zip(ORDERS[order], values, strict=True):
        column = key.column if on is None else on[key.column.key]
        past.append(and_(*equal, _past(key, value, column)))
        equal.append(column.is_(None) if value is None else column == value)
    return or_(*past)


def _past(key: SortKey, value, column) -> ColumnElement[bool]:
    if key.null_last and value is None:
        # NULL is the latest value: nothing comes after it ascending, every other value does descending.
        return column.is_not(None) if key.descending else false()
    if key.null_last and not key.descending:
        return or_(column > value, column.is_(None))
    return column < value if key.descending else column > value


def key_kind(key: SortKey) -> str:
    """How a key's value travels in a cursor: `moment`, `id` or `text`."""
    if isinstance(key.column.type, Rfc3339Timestamp):
        return "moment"
    return "id" if isinstance(key.column.type, Integer) else "text"


class stamp(FunctionElement):
    """An entry timestamp as the API shows it ('2026-11-25T10:00:00Z'), formatted by the database."""

    type = String()
    inherit_cache = True


@compiles(stamp)
def _stamp_postgresql(element, compiler, **kw) -> str:
    return f"""to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


@compiles(stamp, "sqlite")
def _stamp_sqlite(element, compiler, **kw) -> str:
    # Stored as the API shows it (stoplist.db.Rfc3339Timestamp).
    return compiler.process(element.clauses, **kw)


class unplanned(FunctionElement):
    """An account id that PostgreSQL's planner does not see, `(SELECT CAST(:account AS BIGINT))` (the parameter itself on
    SQLite): it plans the probe of an address for any account. Seeing the id, with statistics from before an account's
    first import (which think it holds one entry), it probed the account's entries in created_at order for each address,
    filtering on it: 3 ms an address at 40,000 entries, an import's second batch of 40,000 taking minutes, against 1 µs
    through the unique index (account, address, list) that the probe is for."""

    type = BigInteger()
    inherit_cache = True


@compiles(unplanned)
def _unplanned_postgresql(element, compiler, **kw) -> str:
    return f"(SELECT CAST({compiler.process(element.clauses, **kw)} AS BIGINT))"


@compiles(unplanned, "sqlite")
def _unplanned_sqlite(element, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


def applies_to(channel, sender) -> ColumnElement[bool]:
    """Lists that answer a check for (channel, sender): their channel and sender are the asked ones or every."""
    every = literal_column(f"'{EVERY}'")
    return List.channel.in_([every, channel]) & List.sender.in_([every, sender])


# What an entry and its list's sender show: the spelling first given where it differs from the key, else the key.
SHOWN_ADDRESS = func.coalesce(Entry.address_display, Entry.address)
SHOWN_SENDER = func.coalesce(List.sender_display, List.sender)

# An entry with its list's scope, in the order a check's candidates take: (kind, channel, sender, ...), as shown.
ENTRY_COLUMNS = (
    List.kind, List.channel, SHOWN_SENDER.label("sender"),
    Entry.id, SHOWN_ADDRESS.label("address"), Entry.address_kind, Entry.reason, Entry.note, Entry.source,
    stamp(Entry.expire_at), stamp(Entry.created_at), stamp(Entry.updated_at),
)


def scoped_entries() -> Select:
    """The live entries of one address on the lists that apply to a check: its candidates."""
    return _candidates(bindparam("account"), bindparam("address"), bindparam("now"), bindparam("channel"), bindparam("sender"))


def scoped_entries_unnest() -> Select:
    """scoped_entries of several checks in one statement (PostgreSQL; checks.together), each check's rows
    after its place: (place, *ENTRY_COLUMNS), counting from 1. The checks come as one JSON array of
    [account, address, channel, sender] (see live_addresses_unnest); each is one index probe of its own
    (_probed), and `now` is one for all."""
    asked = func.json_array_elements(cast(bindparam("checks", type_=Text), JSON)).table_valued("value", with_ordinality="place")
    asked = asked.render_derived(name="c")
    field = functools.partial(_json_field, asked.c.value)
    found = _probed(_candidates(cast(field(0), BigInteger), field(1), bindparam("now"), field(2), field(3)))
    return select(asked.c.place, *found.c).select_from(asked).join(found, true())


def scoped_entries_each() -> Select:
    """scoped_entries_unnest on SQLite: the checks as one JSON array read with json_each, (place, *ENTRY_COLUMNS)
    with place counting from 1. SQLite walks the array and probes the index once for each check, as it would
    for the check alone (EXPLAIN QUERY PLAN: SCAN n, then SEARCH blacklist_entries USING INDEX)."""
    asked, field = sqlite_json_rows("checks")
    return _candidates(field(0), field(1), bindparam("now"), field(2), field(3)).with_only_columns((asked.c.key + literal_column("1")).label("place"), *ENTRY_COLUMNS)


def _candidates(account, address, now, channel, sender) -> Select:
    """The live entries of `address` on `account`'s lists that apply to (channel, sender): values or column expressions."""
    return (
        select(*ENTRY_COLUMNS)
        .select_from(Entry)
        .join(List, List.id == Entry.list_id)
        .where(Entry.account_id == account, Entry.address == address, live(now), applies_to(channel, sender))
    )


def _json_field(value, index: int) -> ColumnElement:
    """Element `index` of a JSON array, as text."""
    return value.op("->>", return_type=Text)(literal_column(str(index)))


def lists_applying() -> Select:
    """(id, kind, channel, sender) of the account's lists that answer a check for (channel, sender): a handful,
    read once per bulk check so that probing its addresses needs no join (see live_addresses_json)."""
    return select(List.id, List.kind, List.channel, List.sender).where(
        List.account_id == bindparam("account"), applies_to(bindparam("channel"), bindparam("sender"))
    )


def live_addresses_json() -> Select:
    """(address, list id, entry id) of the live entries of the addresses of a JSON array, on any of the account's
    lists, as one JSON array of those rows (SQLite).

    A bulk check keeps the rows on lists_applying's lists: one probe of the covering index per address and
    nothing else: joining each row to its list made the probes of a 1,000,000-entry list about a tenth
    slower on SQLite and a third slower on PostgreSQL. The whole probe is one step of the statement,
    which sqlite3 runs without Python's lock: a thread can probe while the event loop serves other
    requests. Row by row, the thread would wait for that lock after every row; and a parameter per
    address (sqlite3 binds them holding the lock) kept the event loop waiting 0.1 ms a request."""
    addresses = select(func.json_each(bindparam("addresses", type_=Text)).table_valued("value").c.value).scalar_subquery()
    return select(func.json_group_array(func.json_array(Entry.address, Entry.list_id, Entry.id))).where(
        Entry.account_id == bindparam("account"), Entry.address.in_(addresses), live(bindparam("now"))
    )


def live_addresses_unnest() -> Select:
    """The same over a JSON array of addresses (PostgreSQL): one index probe per address, whatever the
    planner's statistics say, which lag far behind the table during a bulk import (see `_probed`).
    JSON text, as known_unnest takes: asyncpg writes an array parameter element by element, with a
    type check on each: 0.22 ms of the server's CPU for 1,000 addresses, against 0.05 ms for one text
    written with orjson. Read as json, not jsonb: PostgreSQL splits it without building a document."""
    addresses = cast(bindparam("addresses", type_=Text), JSON)
    wanted = func.json_array_elements_text(addresses).table_valued("address").render_derived(name="n")
    found = select(Entry.list_id, Entry.id).where(
        Entry.account_id == unplanned(bindparam("account")), Entry.address == wanted.c.address, live(bindparam("now"))
    )
    found = _probed(found)
    return select(wanted.c.address, found.c.list_id, found.c.id).select_from(wanted).join(found, true())


def _probed(per_address: Select):
    """`per_address` as a LATERAL subquery that PostgreSQL runs once per address, as an index probe.

    OFFSET 0 keeps the planner from flattening it into a join: otherwise, with statistics from
    before a bulk import (a table it believes holds 44 rows), it hashes every entry of the account
    for each batch (47 ms for 500 addresses on 100,000 entries, against 1.9 ms probing)."""
    return per_address.offset(literal_column("0")).lateral("e")


def known_json() -> Select:
    """(list_id, address, id, expire_at, reason, note) of every entry, live or not, of the addresses of a JSON
    array (SQLite; an import's lookup, and a batch's, straight on the driver), as one JSON array of those rows.
    One parameter and one step of the statement, as live_addresses_json: binding a parameter per address and
    reading a row at a time (the lock taken again after each) cost three times as long for a batch of 1,000."""
    addresses = select(func.json_each(bindparam("addresses", type_=Text)).table_valued("value").c.value).scalar_subquery()
    row = func.json_array(Entry.list_id, Entry.address, Entry.id, Entry.expire_at, Entry.reason, Entry.note)
    return select(func.json_group_array(row)).where(Entry.account_id == bindparam("account"), Entry.address.in_(addresses))


def known_unnest() -> Select:
    """(address, list_id, id, expire_at, reason, note) of every entry, live or not, of a JSON array of addresses
    (PostgreSQL; an import's lookup): one index probe per address, like live_addresses_unnest. JSON
    text, not an array parameter, which psycopg would write element by element in Python."""
    addresses = cast(bindparam("addresses", type_=Text), JSONB)
    wanted = func.jsonb_array_elements_text(addresses).table_valued("address").render_derived(name="n")
    found = (
        select(Entry.list_id, Entry.id, Entry.expire_at, Entry.reason, Entry.note)
        .where(Entry.account_id == unplanned(bindparam("account")), Entry.address == wanted.c.address)
    )
    found = _probed(found)
    return select(wanted.c.address, found.c.list_id, found.c.id, found.c.expire_at, found.c.reason, found.c.note).select_from(wanted).join(found, true())


@functools.lru_cache(maxsize=16)
def moment(now: datetime, dialect: str):
    """A moment as the raw drivers compare it with an entry timestamp (remembered: every check of
    the same second asks for the same one)."""
    return sqlite_stamp(now) if dialect == "sqlite" else naive_utc(now)
