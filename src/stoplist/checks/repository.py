"""The send-time read path: point lookups straight on the driver, no ORM.

A check must cost little more than the HTTP request carrying it. On SQLite one
autocommit connection per process answers single checks on the event loop thread (an indexed
lookup takes microseconds, less than handing it to a thread would); a bulk check's probes,
milliseconds of SQLite's work, run on a thread of their own meanwhile. On PostgreSQL a few
asyncpg connections answer. On both, the single checks of one turn of the loop are looked up in
one statement (checks.together). Every query sees the latest committed write: nothing is
cached, so nothing is stale.
"""

import asyncio
import functools
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import orjson
from sqlalchemy.engine import make_url

from stoplist.db import normalize_url
from stoplist.audit.queries import NO_TRAIL, FeedBounds, event_hash, feed_bounds, head_seq
from stoplist.auth.queries import SUBUSER_ORDER, TOKEN_ORDER, live_token, subuser
from stoplist.db import in_order, raw, rows_json
from stoplist.checks.together import Asked, Together
from stoplist.lists.queries import lists_applying, live_addresses_json, live_addresses_unnest, moment, scoped_entries, scoped_entries_each, scoped_entries_unnest

# A candidate of a check: a row of queries.ENTRY_COLUMNS, (kind, channel, sender, id, address, ...).
EntryRow = tuple
# A candidate of a bulk check: (kind, channel, sender, entry id).
Scoped = tuple[str, str, str, int]


# Addresses a bulk check probes in one statement on SQLite: 1,000 cost a tenth less than twice 500.
PROBE_BATCH = 1000


class SqliteLookup:
    """Live entries and tokens read from a SQLite file."""

    async def open(self) -> None:
        pass

    def __init__(self, database_url: str) -> None:
        self.database = make_url(normalize_url(database_url)).database or ":memory:"
        self.connection = _reader(self.database)
        self.together: Together[list[EntryRow]] = Together(self._entries_of_one, self._entries_of_many)
        # One thread, with a connection of its own, for bulk checks' probes: the event loop parses and
        # answers other requests while it waits, and one more would only contend for Python's lock.
        self._prober = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stoplist-probe")
        self._probe_connection = _reader(self.database)  # used on the prober's thread only

    async def close(self) -> None:
        self._prober.shutdown(wait=True)
        self._probe_connection.close()
        self.connection.close()

    async def token(self, token_hash: str, now: datetime) -> tuple | None:
        """A live token's row (auth.principal.TokenRow)."""
        return self.connection.execute(_token_sql("sqlite"), (token_hash, moment(now, "sqlite"))).fetchone()

    async def subuser(self, account_id: int, parent_id: int) -> tuple | None:
        """A subuser of `parent_id` (auth.principal.SubuserRow)."""
        return self.connection.execute(_subuser_sql("sqlite"), (account_id, parent_id)).fetchone()

    async def head_seq(self, account_id: int) -> int:
        """The seq of the account's newest event (0 before its first): what a waiting feed read polls."""
        row = self.connection.execute(raw(head_seq, "sqlite")[0], (account_id,)).fetchone()
        return 0 if row is None else row[0]

    async def feed_bounds(self, account_id: int) -> FeedBounds:
        """Where the account's feed starts and ends (audit.queries.FeedBounds)."""
        row = self.connection.execute(raw(feed_bounds, "sqlite")[0], (account_id,)).fetchone()
        return NO_TRAIL if row is None else FeedBounds(*row)

    async def event_hash(self, account_id: int, seq: int) -> str | None:
        """The hash of the account's event `seq`, if it is stored."""
        row = self.connection.execute(in_order(event_hash, "sqlite", ("account", "seq")), (account_id, seq)).fetchone()
        return None if row is None else row[0]

    async def entries(self, account_id: int, address: str, channel: str, sender: str, now: datetime) -> list[EntryRow]:
        """The live entries of one address on the account's lists that apply to (channel, sender), looked up with the
        other checks of the same turn of the loop (checks.together).

        A probe alone cost 16 µs under load, three times what it costs in a loop of probes (most likely the
        processor's caches: between two checks, the rest of a request evicts SQLite's code and pages)."""
        return await self.together.entries((account_id, address, channel, sender), now)

    async def _entries_of_one(self, asked: Asked, now: datetime) -> list[EntryRow]:
        account_id, address, channel, sender = asked
        return self.connection.execute(_sqlite_one(), (account_id, address, moment(now, "sqlite"), channel, sender)).fetchall()

    async def _entries_of_many(self, asked: list[Asked], now: datetime) -> list[list[EntryRow]]:
        return _by_place(self.connection.execute(_sqlite_many_checks(), (rows_json(asked), moment(now, "sqlite"))), len(asked))

    async def scoped(
        self, account_id: int, addresses: list[str], channel: str, sender: str, now: datetime, other_senders: tuple[str, ...] = ()
    ) -> dict[str, list[Scoped]]:
        """For each of the addresses with live entries on the lists that apply: (kind, channel, sender, entry id) of each.
        The lists of `other_senders` apply too, each candidate naming its list's sender key: the addresses are probed once."""
        connection = self.connection
        scopes = {row[0]: row[1:] for key in (sender, *other_senders) for row in connection.execute(_sqlite_lists(), (account_id, channel, key))}
        if not scopes:
            return {}
        found: dict[str, list[Scoped]] = {}
        moment_text = moment(now, "sqlite")
        loop = asyncio.get_running_loop()
        for start in range(0, len(addresses), PROBE_BATCH):
            rows = await loop.run_in_executor(self._prober, self._probe, account_id, addresses[start : start + PROBE_BATCH], moment_text)
            _on_lists(rows, scopes, found)
        return found

    def _probe(self, account_id: int, addresses: list[str], moment_text: str) -> list[list]:
        """On the prober's thread: [address, list id, entry id] of the addresses' live entries."""
        return orjson.loads(self._probe_connection.execute(_sqlite_many(), (account_id, rows_json(addresses), moment_text)).fetchone()[0])


def _reader(database: str) -> sqlite3.Connection:
    connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None, timeout=10)
    connection.execute("PRAGMA query_only=1")
    # Lookups walk the (account_id, address) index of a list of millions: map the file
    # into memory and keep a large page cache instead of copying pages in on every query.
    connection.execute("PRAGMA mmap_size=1073741824")
    connection.execute("PRAGMA cache_size=-65536")
    return connection


@functools.cache
def _token_sql(driver: str) -> str:
    """The token query (auth.queries), compiled once per driver, its parameters in TOKEN_ORDER."""
    return in_order(live_token, driver, TOKEN_ORDER)


@functools.cache
def _subuser_sql(driver: str) -> str:
    """The subuser query (auth.queries), compiled once per driver, its parameters in SUBUSER_ORDER."""
    return in_order(subuser, driver, SUBUSER_ORDER)


# The hot path passes its parameters as tuples in these orders; the compiled statements must agree.
_ONE_ORDER = ("account", "address", "now", "channel", "sender")
_LISTS_ORDER = ("account", "channel", "sender")


@functools.cache
def _sqlite_one() -> str:
    return in_order(scoped_entries, "sqlite", _ONE_ORDER)


@functools.cache
def _sqlite_many() -> str:
    return in_order(live_addresses_json, "sqlite", ("account", "addresses", "now"))


@functools.cache
def _sqlite_many_checks() -> str:
    return in_order(scoped_entries_each, "sqlite", ("checks", "now"))


@functools.cache
def _sqlite_lists() -> str:
    return in_order(lists_applying, "sqlite", _LISTS_ORDER)


def _by_place(rows, count: int) -> list[list[EntryRow]]:
    """The candidates of each of `count` checks looked up together, from rows of (place, *ENTRY_COLUMNS), place counting from 1."""
    answers: list[list[EntryRow]] = [[] for _ in range(count)]
    for row in rows:
        answers[row[0] - 1].append(tuple(row)[1:])
    return answers


def _on_lists(rows, scopes: dict[int, tuple], found: dict[str, list[Scoped]]) -> dict[str, list[Scoped]]:
    """Add to `found` the (address, list id, entry id) rows on one of `scopes`' lists, as candidates."""
    for address, list_id, entry_id in rows:
        scope = scopes.get(list_id)
        if scope is not None:
            candidates = found.get(address)
            if candidates is None:
                found[address] = [(*scope, entry_id)]
            else:
                candidates.append((*scope, entry_id))
    return found


class PostgresLookup:
    """The same reads on PostgreSQL, through an asyncpg pool: its binary protocol costs a fraction
    of a general-purpose driver's CPU per query, and this is the query behind every check."""

    # A few connections, each used by one query at a time, taken in turn: cheaper per query than a
    # general pool's acquire/release, and a lookup holds its connection for well under a millisecond.
    CONNECTIONS = 4
    # SMSAPI's common searches, answered in front of the app (blacklist.searches), on connections of their own:
    # one holds its connection for milliseconds, and a burst of them must not keep checks waiting.
    SEARCH_CONNECTIONS = 2

    def __init__(self, database_url: str) -> None:
        from stoplist.checks.connections import TakenInTurn  # asyncpg (2.6 MB) only in a process on PostgreSQL

        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = TakenInTurn()
        self.searches = TakenInTurn()
        self.together: Together[list[EntryRow]] = Together(self._entries_of_one, self._entries_of_many)

    async def open(self) -> None:
        await self.pool.open(self.dsn, self.CONNECTIONS)
        try:
            await self.searches.open(self.dsn, self.SEARCH_CONNECTIONS)
        except BaseException:
            await self.pool.close()
            raise

    async def close(self) -> None:
        try:
            await self.pool.close()
        finally:
            await self.searches.close()

    async def token(self, token_hash: str, now: datetime) -> tuple | None:
        row = await self.pool.fetchrow(_token_sql("asyncpg"), token_hash, moment(now, "asyncpg"))
        return None if row is None else tuple(row)

    async def subuser(self, account_id: int, parent_id: int) -> tuple | None:
        row = await self.pool.fetchrow(_subuser_sql("asyncpg"), account_id, parent_id)
        return None if row is None else tuple(row)

    async def head_seq(self, account_id: int) -> int:
        seq = await self.pool.fetchval(raw(head_seq, "asyncpg")[0], account_id)
        return 0 if seq is None else seq

    async def feed_bounds(self, account_id: int) -> FeedBounds:
        row = await self.pool.fetchrow(raw(feed_bounds, "asyncpg")[0], account_id)
        return NO_TRAIL if row is None else FeedBounds(*row)

    async def event_hash(self, account_id: int, seq: int) -> str | None:
        return await self.pool.fetchval(in_order(event_hash, "asyncpg", ("account", "seq")), account_id, seq)

    async def entries(self, account_id: int, address: str, channel: str, sender: str, now: datetime) -> list[EntryRow]:
        """A check's candidates, looked up with the other checks of the same turn of the loop (checks.together)."""
        return await self.together.entries((account_id, address, channel, sender), now)

    async def _entries_of_one(self, asked: Asked, now: datetime) -> list[EntryRow]:
        account_id, address, channel, sender = asked
        return [tuple(row) for row in await self.pool.fetch(_asyncpg_one(), account_id, address, moment(now, "asyncpg"), channel, sender)]

    async def _entries_of_many(self, asked: list[Asked], now: datetime) -> list[list[EntryRow]]:
        return _by_place(await self.pool.fetch(_asyncpg_many_checks(), orjson.dumps(asked).decode(), moment(now, "asyncpg")), len(asked))

    async def scoped(
        self, account_id: int, addresses: list[str], channel: str, sender: str, now: datetime, other_senders: tuple[str, ...] = ()
    ) -> dict[str, list[Scoped]]:
        if not addresses:
            return {}
        # Both at once, on two connections: sent in the same turn of the event loop, PostgreSQL does not
        # wait between them for a server busy with other requests' numbers. One index probe per
        # address, whatever the planner's statistics say (see queries.live_addresses_unnest).
        rows, *lists = await asyncio.gather(
            self.pool.fetch(_asyncpg_many(), orjson.dumps(addresses).decode(), account_id, moment(now, "asyncpg")),
            *(self.pool.fetch(_asyncpg_lists(), account_id, channel, key) for key in (sender, *other_senders)),
        )
        return _on_lists(rows, {row[0]: tuple(row)[1:] for found in lists for row in found}, {})


@functools.cache
def _asyncpg_one() -> str:
    return in_order(scoped_entries, "asyncpg", _ONE_ORDER)


@functools.cache
def _asyncpg_many() -> str:
    return in_order(live_addresses_unnest, "asyncpg", ("addresses", "account", "now"))


@functools.cache
def _asyncpg_many_checks() -> str:
    return in_order(scoped_entries_unnest, "asyncpg", ("checks", "now"))


@functools.cache
def _asyncpg_lists() -> str:
    return in_order(lists_applying, "asyncpg", _LISTS_ORDER)


Lookup = SqliteLookup | PostgresLookup


def create_lookup(database_url: str) -> Lookup:
    """The read path for the configured database."""
    url = normalize_url(database_url)
    return SqliteLookup(url) if url.startswith("sqlite") else PostgresLookup(url)
