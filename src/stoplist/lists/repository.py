"""The reads of lists and entries (every write is in stoplist.lists.writer)."""

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import BigInteger, Select, any_, bindparam, case, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from stoplist.db import driver_connection
from stoplist.lists.addresses import PHONE
from stoplist.lists.models import Entry, List
from stoplist.lists.precedence import EVERY
from stoplist.lists.precedence import BLOCK
from stoplist.lists.queries import ENTRY_COLUMNS, ORDERS, SHOWN_ADDRESS, SHOWN_SENDER, EntryFilter, beyond, live, matching, moment, order_by, stamp
from stoplist.lists.schemas import EntryOrder
from stoplist.lists.search import counted_page, index_matches, indexed, kept_columns, one_trigram, searched_entries
from stoplist.spreadsheets import GUARDED_STARTS

EXPORT_BATCH = 5000
_IDS_PER_QUERY = 1000  # ids per `IN (...)` of rows(): a batch's entries in one query, well under any limit on parameters
# A search (`q`) counts its matches and takes its page in one statement, from one read of the matches (search_page).
# PostgreSQL, beyond this many matches, counts and pages in two statements instead: its count of a hundred thousand
# matches reads no more than its index, where keeping them to sort would cost three times as much (see search_page).
SEARCH_KEPT_POSTGRESQL = 1000
# SQLite, when its search index holds more rows than this for a text of one trigram (of every account: a count of one
# list of rowids, a twentieth of a microsecond each), counts the matches and takes the page along the order's index
# (walk_page): keeping and sorting a hundred thousand matches to take the first hundred cost 40 ms more than counting
# them, where the walk finds the page within a few thousand entries. Below it, walking would cost more than it saves;
# a longer text's count would intersect a list per trigram, each as long, for every search.
WALK_FROM = 20_000
# A walk reads at first this many entries for each one of the page (and of the offset); then, if they do not hold it but
# their matches say that WALK_PER_MATCH entries for each match counted would, that many, once more from the start. It
# walks only pages that end within WALK_MOST matches (offset + limit), which it reads whole. A walk that gives up (the
# matches far along the order) has read at most sixteen entries per one wanted, and one per match, before the search
# index's page is read.
WALK_FIRST = 16
WALK_PER_MATCH = 1
WALK_MOST = 1000
# The orders with an index of (account_id, their two keys), which a walk reads in order; the others never walk.
WALKS = frozenset({EntryOrder.created_at, EntryOrder.created_at_desc, EntryOrder.address, EntryOrder.address_desc, EntryOrder.phone_number, EntryOrder.phone_number_desc})

# A row of ENTRY_COLUMNS: (kind, channel, sender, id, address, address_kind, reason, note, source, expire_at, created_at, updated_at),
# the sender and the address as shown (the spelling first given).
EntryRow = tuple
_SHOWN = len(ENTRY_COLUMNS)


class Listed(NamedTuple):
    """An entry of a page (a row of ENTRY_COLUMNS) and its key in the page's order, which a cursor after it carries."""

    entry: EntryRow
    key: tuple


def smsapi_view(where: EntryFilter, list_id: int | None = None) -> EntryFilter:
    """SMSAPI's view of the default list: its phone numbers (an e-mail address put on it natively is none of its
    business). The list by its id; or, with none given, by its scope (block, every channel, every sender), named
    in the query itself: a search, driven by the search index, needs no round trip to look the id up first."""
    if list_id is None:
        return replace(where, kind=BLOCK, channel=EVERY, sender=EVERY, address_kind=PHONE)
    return replace(where, list_id=list_id, address_kind=PHONE)


class EntryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @property
    def _sqlite(self) -> bool:
        return self.session.get_bind().dialect.name == "sqlite"

    def list_id(self, *, account_id: int, kind: str = BLOCK, channel: str = EVERY, sender: str = EVERY) -> int | None:
        """The id of the account's list of that scope, if it has one."""
        return self.session.scalar(
            select(List.id).where(List.account_id == account_id, List.kind == kind, List.channel == channel, List.sender == sender)
        )

    def row(
        self, *, account_id: int, entry_id: int, now: datetime | None = None, list_id: int | None = None, address_kind: str | None = None
    ) -> EntryRow | None:
        """One entry of the account (of one list and kind of address, if given) as ENTRY_COLUMNS, live at `now` (or whatever its expiry, without `now`)."""
        statement = with_lists().where(Entry.account_id == account_id, Entry.id == entry_id)
        if now is not None:
            statement = statement.where(live(now))
        if list_id is not None:
            statement = statement.where(Entry.list_id == list_id)
        if address_kind is not None:
            statement = statement.where(Entry.address_kind == address_kind)
        return self.session.execute(statement).first()

    def rows(self, *, account_id: int, entry_ids: list[int]) -> dict[int, EntryRow]:
        """Entries of the account as ENTRY_COLUMNS, by id, whatever their expiry (those a batch just wrote)."""
        found: dict[int, EntryRow] = {}
        wanted = sorted(set(entry_ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            # The account through the list (an entry's list is its account's: the foreign key is on both): with
            # entries.account_id in the WHERE, SQLite without statistics walks all the account's entries instead
            # of probing the ids (60 ms against 1 ms on a list of 1,000,000).
            chunk = wanted[start : start + _IDS_PER_QUERY]
            # PostgreSQL: one array parameter, not a thousand (psycopg spent 15 ms splitting such a query's text).
            wanted_ids = Entry.id.in_(chunk) if self._sqlite else Entry.id == any_(bindparam("ids", chunk, type_=ARRAY(BigInteger)))
            statement = with_lists().where(List.account_id == account_id, wanted_ids)
            found.update((row.id, row) for row in self.session.execute(statement))
        return found

    def shown_scopes(self, list_ids: set[int]) -> dict[int, tuple[str, str, str]]:
        """(kind, channel, sender as shown) of lists, by id: the first three of ENTRY_COLUMNS for their entries."""
        if not list_ids:
            return {}
        rows = self.session.execute(select(List.id, List.kind, List.channel, SHOWN_SENDER).where(List.id.in_(sorted(list_ids))))
        return {list_id: (kind, channel, sender) for list_id, kind, channel, sender in rows}

    # The listings: SMSAPI's (smsapi_view of the default list) and the native one (every list), by one filter.

    def find(
        self, *, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, after: tuple | None = None, offset: int = 0, limit: int
    ) -> list[Listed]:
        """A page of the live entries `where` selects in `order`, past the key `after` (a cursor's) if given, each with its key."""
        keys = [key.column for key in ORDERS[order]]
        entries = searched_entries(where)
        selected = matching(where, account_id=account_id, now=now) + ([] if after is None else [beyond(order, after)])
        if self._sqlite and entries is not Entry.__table__:
            # From the search index, whose matches may be many (a tenth of a million for digits every number
            # of a range shares): the page's ids are sorted alone, and only its rows are read whole and
            # joined to their lists. Sorting every match's columns, each joined first, took half as long again.
            page = select(Entry.id).select_from(entries).where(*selected).order_by(*order_by(order)).offset(offset).limit(limit).subquery()
            statement = with_lists(*keys).join(page, page.c.id == Entry.id).order_by(*order_by(order))
        else:
            statement = with_lists(*keys, entries=entries).where(*selected).order_by(*order_by(order)).offset(offset).limit(limit)
        rows = self.session.execute(statement)
        return [Listed(tuple(row[:_SHOWN]), tuple(row[_SHOWN:])) for row in rows]

    def count_and_find(
        self, *, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, after: tuple | None = None, offset: int = 0, limit: int
    ) -> tuple[int, list[Listed]]:
        """How many live entries `where` selects, and the page find() would answer (none past the last)."""
        # SQLite, for a text of one trigram that its index holds often: counted apart, then walked (see WALK_FROM).
        walks = self._sqlite and after is None and order in WALKS and offset + limit <= WALK_MOST and one_trigram(where)
        walks = walks and self.session.scalar(index_matches(where)) > WALK_FROM
        if where.digits is not None and (indexed(where) or not self._sqlite) and not walks:
            # A search from an index (on SQLite, of TRIGRAM characters or more): one that scans would keep
            # every entry it passes, where the page alone, in the order's index, stops after `limit`.
            found = self.search_page(account_id=account_id, now=now, where=where, order=order, after=after, offset=offset, limit=limit)
            if found is not None:
                return found
        size = self.count_found(account_id=account_id, now=now, where=where)
        if size == 0 or (after is None and size <= offset):
            return size, []
        if walks:
            walked = self.walk_page(account_id=account_id, now=now, where=where, order=order, offset=offset, limit=limit, most=WALK_PER_MATCH * size)
            if walked is not None:
                return size, walked
        return size, self.find(account_id=account_id, now=now, where=where, order=order, after=after, offset=offset, limit=limit)

    def walk_page(self, *, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, offset: int, limit: int, most: int) -> list[Listed] | None:
        """find()'s page read along the order's index (an order of WALKS), from the account's first entry in that order,
        testing each as it goes, without the search index: the page of a text that many entries hold comes within a few
        thousand of them. Reads the first WALK_FIRST pages' worth of entries, then, if they do not hold the page but their
        matches say `most` would, `most`: None when they do not hold it (then the index's page costs less)."""
        wanted = offset + limit
        examine = min(WALK_FIRST * wanted, most)
        if examine < 1:
            return None
        page, found = self._walk(account_id=account_id, now=now, where=where, order=order, offset=offset, limit=limit, examine=examine)
        # Once more, up to `most`, unless what the first entries held says that `most` will not hold the page either.
        if page is None and examine < most and found and examine * wanted <= most * found:
            page, _found = self._walk(account_id=account_id, now=now, where=where, order=order, offset=offset, limit=limit, examine=most)
        return page

    def _walk(
        self, *, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, offset: int, limit: int, examine: int
    ) -> tuple[list[Listed] | None, int]:
        """walk_page within the account's first `examine` entries in `order`, which end at the boundary B: the entries
        before B's first key, then those that share it up to B, each part a range of the index (a condition on both
        keys at once is no range to SQLite, which would read on past B to the end). The page, or None when they do not
        hold it; and how many matches they held (up to offset + limit)."""
        first, second = (key.column for key in ORDERS[order])
        wanted = offset + limit
        boundary = self.session.execute(
            select(first, second).where(Entry.account_id == account_id).order_by(*order_by(order)).offset(examine - 1).limit(1)
        ).first()
        if boundary is None:  # fewer entries than that: the walk reads them all
            parts = [true()]
        else:
            near = first > boundary[0] if order.descending else first < boundary[0]
            parts = [near, (first == boundary[0]) & (second >= boundary[1] if order.descending else second <= boundary[1])]
        found: list[Listed] = []
        for part in parts:
            statement = with_lists(first, second).where(*matching(where, account_id=account_id, now=now), part).order_by(*order_by(order))
            found += [Listed(tuple(row[:_SHOWN]), tuple(row[_SHOWN:])) for row in self.session.execute(statement.limit(wanted - len(found)))]
            if len(found) == wanted:
                return found[offset:], len(found)
        return (found[offset:] if boundary is None else None), len(found)

    def search_page(
        self, *, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, after: tuple | None = None, offset: int = 0, limit: int
    ) -> tuple[int, list[Listed]] | None:
        """count_and_find of a search, in one statement: the matches are read once, with their sort keys, kept
        (MATERIALIZED), then counted and sorted for the page, and only the page's entries are read whole.

        Counting and paging apart read every match twice: on SQLite, from the trigram index and each match's row,
        the order's key included (a q every number of a range shares: 90,600 matches, 109-122 ms against 88-91 on
        a million). PostgreSQL counts a large match set from its index alone, faster than keeping it; so it keeps
        at most SEARCH_KEPT_POSTGRESQL matches, and answers None (count and page apart) when there are more
        (on a million: 0.6-2.7 ms against 1.0-4.9 apart for up to 100 matches; 1.6 ms more for 164,853)."""
        kept = select(*kept_columns(order)).select_from(searched_entries(where)).where(*matching(where, account_id=account_id, now=now))
        cap = None if self._sqlite else SEARCH_KEPT_POSTGRESQL
        if cap is not None:
            kept = kept.limit(cap + 1)
        statement = counted_page(kept, order, after=after, offset=offset, limit=limit)
        rows = self.session.execute(statement).all()
        count = rows[0].size
        if cap is not None and count > cap:
            return None
        # ENTRY_COLUMNS, then the key, as find() reads them; `place` is none on the one row of an empty page.
        return count, [Listed(tuple(row[:_SHOWN]), tuple(row[_SHOWN:-2])) for row in rows if row.place is not None]

    def count_found(self, *, account_id: int, now: datetime, where: EntryFilter) -> int:
        """How many live entries `where` selects."""
        statement = select(func.count()).select_from(searched_entries(where)).where(*matching(where, account_id=account_id, now=now))
        return self.session.scalar(statement) or 0

    # Exports: straight on the driver's cursor.

    def export_batches(self, statement: Select) -> Iterator[list[tuple]]:
        """Batches of the rows of `statement` (timestamps already text, by `stamp`).

        Exports read millions of rows, so this goes straight to the driver's cursor: no result
        objects per row. A named cursor is server-side on PostgreSQL: rows arrive batch by batch.
        """
        connection = driver_connection(self.session)
        dialect = "sqlite" if self._sqlite else "psycopg"
        compiled = statement.compile(dialect=self.session.get_bind().dialect)
        params = {name: _raw_value(value, dialect) for name, value in compiled.params.items()}
        sql = str(compiled)
        cursor = connection.cursor() if self._sqlite else connection.cursor(name=f"export_{uuid.uuid4().hex}")
        try:
            if self._sqlite:
                cursor.execute(sql, tuple(params[name] for name in compiled.positiontup or ()))
            else:
                cursor.execute(sql, params)
            while batch := cursor.fetchmany(EXPORT_BATCH):
                yield batch
        finally:
            cursor.close()

    @staticmethod
    def smsapi_export(*, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder, offset: int, limit: int | None) -> Select:
        """SMSAPI's CSV export (where: an smsapi_view): id, phone_number, expire_at, created_at."""
        statement = (
            select(Entry.id, Entry.address, stamp(Entry.expire_at), stamp(Entry.created_at))
            .select_from(searched_entries(where))
            .where(*matching(where, account_id=account_id, now=now))
        )
        return _window(statement.order_by(*order_by(order)), offset, limit)

    @staticmethod
    def native_export(*, account_id: int, now: datetime, where: EntryFilter, order: EntryOrder = EntryOrder.created_at_desc) -> Select:
        """The native CSV export: id, address, channel, sender, list, reason, note, source, expire_at, created_at,
        updated_at (imports.csv_format.NATIVE_HEADER), addresses and senders as shown, its free text guarded; in `order`."""
        statement = (
            select(
                Entry.id, _guarded(SHOWN_ADDRESS), List.channel, _guarded(SHOWN_SENDER), List.kind, Entry.reason, _guarded(Entry.note), Entry.source,
                stamp(Entry.expire_at), stamp(Entry.created_at), stamp(Entry.updated_at),
            )
            .select_from(searched_entries(where))
            .join(List, List.id == Entry.list_id)
            .where(*matching(where, account_id=account_id, now=now))
        )
        return statement.order_by(*order_by(order))


def _guarded(column):
    """The column as stoplist.spreadsheets.guard writes it, computed by the database: the rows that need a `'` are few,
    and a Python pass over every row of a million-row export would cost more than the rest of its CSV."""
    starts = [literal(start) for start in GUARDED_STARTS]
    return case((func.substr(column, 1, 1).in_(starts), literal("'") + column), else_=column)


def with_lists(*extra, entries=Entry.__table__) -> Select:
    """ENTRY_COLUMNS (and `extra`) of `entries` (searched_entries') with their lists."""
    return select(*ENTRY_COLUMNS, *extra).select_from(entries).join(List, List.id == Entry.list_id)


def _window(statement: Select, offset: int, limit: int | None) -> Select:
    if limit is not None:
        statement = statement.limit(limit)
    return statement.offset(offset) if offset else statement


def _raw_value(value, dialect: str):
    return moment(value, dialect) if isinstance(value, datetime) else value
