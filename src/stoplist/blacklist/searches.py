"""`GET /blacklist/phone_numbers?q=` answered in front of the app (checks.gate), on PostgreSQL.

A search is what support staff and CRM screens send most after checks; through the framework's layers,
a thread of its own and SQLAlchemy's execution it cost about twice the database's own time. Here the
common search (`q` of three digits or more, and at most `limit`, `offset` and `orderBy`, each once, as
plain numbers and a known order, JSON) is one statement on asyncpg connections of its own (the lookup's),
compiled once per order from the same statement the route runs (lists.search.counted_page), with the
same token check and the same rendering; past the matches that statement keeps, counted and paged
apart as the route does, both at once. Whatever it does not take exactly so (any other parameter or
spelling, a CSV export, an error other than the token's, SQLite) goes on to the app untouched, which answers
as it does for every request: answer() is None.
"""

import asyncio
import functools

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.dialects import postgresql

from stoplist.blacklist.router import MAX_OFFSET
from stoplist.auth.principal import READ
from stoplist.db import utcnow
from stoplist.errors import ServiceBusy, StoplistError
from stoplist.lists import render
from stoplist.lists.models import Entry
from stoplist.lists.queries import ENTRY_COLUMNS, EntryFilter, holding_digits, matching, moment, order_by
from stoplist.lists.repository import SEARCH_KEPT_POSTGRESQL, smsapi_view, with_lists
from stoplist.lists.phone import search_digits
from stoplist.lists.schemas import DEFAULT_LIMIT, MAX_LIMIT, EntryOrder
from stoplist.lists.search import TRIGRAM, counted_page, kept_columns
from stoplist.web import json_bytes, query_values

PATH = "/blacklist/phone_numbers"
# The parameters of the searches answered here; any other goes to the app (StrictRequests refuses the unknown).
PARAMETERS = frozenset({b"q", b"limit", b"offset", b"orderBy"})
_ORDERS = {order.value: order for order in EntryOrder}
_SHOWN = len(ENTRY_COLUMNS)


async def answer(state, headers, query: bytes) -> bytes | None:
    """The JSON page of a common search, as the route answers it; None for the app to answer.

    The token check's refusal (401, 403, or the 400 or 404 of the subuser named) is raised as Refused, for the
    gate to answer with the app's handler: the route would refuse it alike, after asking the database once more."""
    pool = getattr(state.lookup, "searches", None)  # PostgreSQL's lookup; SQLite's searches stay with the app
    if pool is None or not pool.idle():
        # With both connections busy, a search does not queue behind others: the app's pool takes it (and its bounds).
        return None
    try:
        asked = _asked(query_values(query))
    except StoplistError:
        return None
    if asked is None:
        return None
    try:
        principal = await state.token_check.authenticate_headers(headers, READ)
    except ServiceBusy:  # the database, not the token: the app answers it (trying the token once more, as for any route)
        return None
    except StoplistError as error:
        raise Refused(error) from error
    digits, order, offset, limit = asked
    values = {"account": principal.owner_id, "now": moment(utcnow(), "asyncpg"), "digits": digits, "kept": SEARCH_KEPT_POSTGRESQL + 1,
              "offset": offset, "limit": limit}
    try:
        rows = await _fetch(pool, _counted_page, order, values)
        size = rows[0]["size"]
        page = [row for row in rows if row["place"] is not None]
        if size > SEARCH_KEPT_POSTGRESQL:
            # As the route does past the matches it keeps: counted and paged apart, here both at once.
            counted, page = await asyncio.gather(_fetch(pool, _count, order, values), _fetch(pool, _page, order, values))
            size = counted[0][0]
    except StoplistError:  # the app answers it, and every other case, exactly as it answers any request
        return None
    return json_bytes({"size": size, "collection": [render.smsapi(tuple(row)[:_SHOWN]) for row in page]}, floatless=True)


class Refused(Exception):
    """A search's token refused by the token check: `error` is what the route answers (the gate renders it)."""

    def __init__(self, error: StoplistError) -> None:
        super().__init__(error.message)
        self.error = error


def _asked(values: dict[str, str]) -> tuple[str, EntryOrder, int, int] | None:
    """(digits, order, offset, limit) of a search taken here, or None: the route's parsing, for the plainest spellings only."""
    digits = search_digits(values.get("q"))
    order = _ORDERS.get(values.get("orderBy", EntryOrder.created_at_desc.value))
    offset, limit = _number(values.get("offset", "0")), _number(values.get("limit", str(DEFAULT_LIMIT)))
    if digits is None or len(digits) < TRIGRAM or order is None or offset is None or offset > MAX_OFFSET or limit is None or not 1 <= limit <= MAX_LIMIT:
        return None
    return digits, order, offset, limit


def _number(text: str) -> int | None:
    """A plain decimal number (at most 20 digits: Python refuses to read a number of thousands), or None."""
    return int(text) if len(text) <= 20 and text.isascii() and text.isdigit() else None


async def _fetch(pool, build, order: EntryOrder, values: dict) -> list:
    sql, names, fixed = _compiled(build, order)
    return await pool.fetch(sql, *(values[name] if name in values else fixed[name] for name in names))


@functools.cache
def _compiled(build, order: EntryOrder) -> tuple[str, tuple[str, ...], dict]:
    """A statement of the route's search for asyncpg: its text, the names of its parameters in order, and the values
    of those it fixes (the default list's scope)."""
    compiled = build(order).compile(dialect=postgresql.asyncpg.dialect())
    return str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params)


def _matching() -> list:
    """The route's conditions for a search of the default list (smsapi_view), the digits bound rather than in the text."""
    conditions = matching(smsapi_view(EntryFilter()), account_id=bindparam("account"), now=bindparam("now"))
    return [*conditions, holding_digits(bindparam("digits"))]


def _counted_page(order: EntryOrder) -> Select:
    """The count and the page in one statement, keeping at most `kept` matches (the route's search_page)."""
    kept = select(*kept_columns(order)).where(*_matching()).limit(bindparam("kept"))
    return counted_page(kept, order, after=None, offset=bindparam("offset"), limit=bindparam("limit"))


def _count(_order: EntryOrder) -> Select:
    """The count alone (the route's count_found)."""
    return select(func.count()).select_from(Entry).where(*_matching())


def _page(order: EntryOrder) -> Select:
    """The page alone (the route's find)."""
    return with_lists().where(*_matching()).order_by(*order_by(order)).offset(bindparam("offset")).limit(bindparam("limit"))
