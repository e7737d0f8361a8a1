"""The send-time read path: point lookups straight on the driver, no ORM, no thread hop.

A check must cost little more than the HTTP request carrying it. On SQLite one
autocommit connection per process answers on the event loop thread (an indexed
lookup takes microseconds, less than handing it to a thread would); on PostgreSQL a few
asyncpg connections do. Every query sees the latest committed write: nothing is
cached, so nothing is stale.
"""

import asyncio
import sqlite3
from datetime import datetime

import asyncpg
from sqlalchemy.engine import make_url

from stoplist.blacklist.repository import LOOKUP_BATCH
from stoplist.db import naive_utc, normalize_url, pg_rfc3339, sqlite_stamp


EntryRow = tuple[int, str, str | None, str]


class SqliteLookup:
    """Live entries and tokens read from a SQLite file."""

    async def open(self) -> None:
        pass

    def __init__(self, database_url: str) -> None:
        database = make_url(normalize_url(database_url)).database or ":memory:"
        self.connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None, timeout=10)
        self.connection.execute("PRAGMA query_only=1")
        # Lookups walk the (account_id, phone_number) index of a list of millions: map the file
        # into memory and keep a large page cache instead of copying pages in on every query.
        self.connection.execute("PRAGMA mmap_size=1073741824")
        self.connection.execute("PRAGMA cache_size=-65536")

    async def close(self) -> None:
        self.connection.close()

    async def token(self, token_hash: str) -> tuple[int, int, str] | None:
        """(token id, account id, scopes) of a live token."""
        return self.connection.execute(
            "SELECT id, account_id, scopes FROM access_tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,)
        ).fetchone()

    async def entry(self, account_id: int, phone_number: str, now: datetime) -> EntryRow | None:
        """The account's live entry for one number, timestamps as the API shows them."""
        return self.connection.execute(
            "SELECT id, phone_number, expire_at, created_at FROM blacklist_entries"
            " WHERE account_id = ? AND phone_number = ? AND (expire_at IS NULL OR expire_at > ?)",
            (account_id, phone_number, sqlite_stamp(now)),
        ).fetchone()

    async def listed(self, account_id: int, phone_numbers: list[str], now: datetime) -> set[str]:
        """Which of the numbers are live on the account's list."""
        found: set[str] = set()
        moment = sqlite_stamp(now)
        for start in range(0, len(phone_numbers), LOOKUP_BATCH):
            chunk = phone_numbers[start : start + LOOKUP_BATCH]
            rows = self.connection.execute(listed_sql(len(chunk)), (account_id, *chunk, moment))
            found.update(row[0] for row in rows)
        return found


def listed_sql(count: int) -> str:
    """SQLite's query for `count` numbers: answered from the covering index of migration 0004 alone."""
    marks = ",".join("?" * count)
    return (
        f"SELECT phone_number FROM blacklist_entries WHERE account_id = ? AND phone_number IN ({marks})"
        " AND (expire_at IS NULL OR expire_at > ?)"
    )


class PostgresLookup:
    """The same reads on PostgreSQL, through an asyncpg pool: its binary protocol costs a fraction
    of a general-purpose driver's CPU per query, and this is the query behind every check."""

    # A few connections, each used by one query at a time, taken in turn: cheaper per query than a
    # general pool's acquire/release, and a lookup holds its connection for well under a millisecond.
    CONNECTIONS = 4

    def __init__(self, database_url: str) -> None:
        self.dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = _TakenInTurn()

    async def open(self) -> None:
        await self.pool.open(self.dsn, self.CONNECTIONS)

    async def close(self) -> None:
        await self.pool.close()

    async def token(self, token_hash: str) -> tuple[int, int, str] | None:
        row = await self.pool.fetchrow("SELECT id, account_id, scopes FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL", token_hash)
        return None if row is None else tuple(row)

    async def entry(self, account_id: int, phone_number: str, now: datetime) -> EntryRow | None:
        row = await self.pool.fetchrow(
            f"SELECT id, phone_number, {pg_rfc3339('expire_at')}, {pg_rfc3339('created_at')} FROM blacklist_entries"
            " WHERE account_id = $1 AND phone_number = $2 AND (expire_at IS NULL OR expire_at > $3)",
            account_id, phone_number, naive_utc(now),
        )
        return None if row is None else tuple(row)

    async def listed(self, account_id: int, phone_numbers: list[str], now: datetime) -> set[str]:
        if not phone_numbers:
            return set()
        # One index probe per number, whatever the planner's statistics say (see EntryRepository._expiries).
        rows = await self.pool.fetch(
            "SELECT n.number FROM unnest($1::varchar[]) AS n(number) CROSS JOIN LATERAL (SELECT 1 FROM blacklist_entries"
            " WHERE account_id = $2 AND phone_number = n.number AND (expire_at IS NULL OR expire_at > $3) LIMIT 1) AS e",
            phone_numbers, account_id, naive_utc(now),
        )
        return {row[0] for row in rows}


class _TakenInTurn:
    """asyncpg connections behind one lock each, handed out round-robin; a broken one is reopened."""

    def __init__(self) -> None:
        self._slots: list[list] = []
        self._turn = 0
        self._dsn = ""

    async def open(self, dsn: str, size: int) -> None:
        self._dsn = dsn
        self._slots = [[await asyncpg.connect(dsn), asyncio.Lock()] for _ in range(size)]

    async def close(self) -> None:
        for connection, _lock in self._slots:
            await connection.close()
        self._slots = []

    async def fetchrow(self, query: str, *args):
        return await self._run("fetchrow", query, args)

    async def fetch(self, query: str, *args):
        return await self._run("fetch", query, args)

    async def _run(self, method: str, query: str, args: tuple):
        self._turn = (self._turn + 1) % len(self._slots)
        slot = self._slots[self._turn]
        async with slot[1]:
            if slot[0].is_closed():
                slot[0] = await asyncpg.connect(self._dsn)
            try:
                return await getattr(slot[0], method)(query, *args)
            except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, OSError):
                # The server restarted or dropped us: one fresh connection, one more try.
                slot[0] = await asyncpg.connect(self._dsn)
                return await getattr(slot[0], method)(query, *args)


Lookup = SqliteLookup | PostgresLookup


def create_lookup(database_url: str) -> Lookup:
    """The read path for the configured database."""
    url = normalize_url(database_url)
    return SqliteLookup(url) if url.startswith("sqlite") else PostgresLookup(url)
