"""The send-time read path: point lookups straight on the driver, no ORM, no thread hop.

A check must cost little more than the HTTP request carrying it. On SQLite one
autocommit connection per process answers on the event loop thread (an indexed
lookup takes microseconds, less than handing it to a thread would); on PostgreSQL an
asyncio connection pool does. Every query sees the latest committed write: nothing is
cached, so nothing is stale.
"""

import sqlite3
from datetime import datetime, timezone

from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from stoplist.db import RFC3339, normalize_url

# Numbers per `IN (...)` lookup in bulk checks.
LOOKUP_BATCH = 500

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
            (account_id, phone_number, now.strftime(RFC3339)),
        ).fetchone()

    async def listed(self, account_id: int, phone_numbers: list[str], now: datetime) -> set[str]:
        """Which of the numbers are live on the account's list."""
        found: set[str] = set()
        moment = now.strftime(RFC3339)
        for start in range(0, len(phone_numbers), LOOKUP_BATCH):
            chunk = phone_numbers[start : start + LOOKUP_BATCH]
            marks = ",".join("?" * len(chunk))
            rows = self.connection.execute(
                f"SELECT phone_number FROM blacklist_entries WHERE account_id = ? AND phone_number IN ({marks})"
                " AND (expire_at IS NULL OR expire_at > ?)",
                (account_id, *chunk, moment),
            )
            found.update(row[0] for row in rows)
        return found


_PG_TIMESTAMP = """to_char({}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


class PostgresLookup:
    """The same reads on PostgreSQL, through a pool of asyncio connections in autocommit mode."""

    def __init__(self, database_url: str) -> None:
        conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.pool = AsyncConnectionPool(conninfo, min_size=2, max_size=10, open=False, kwargs={"autocommit": True})

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def token(self, token_hash: str) -> tuple[int, int, str] | None:
        async with self.pool.connection() as connection:
            cursor = await connection.execute(
                "SELECT id, account_id, scopes FROM access_tokens WHERE token_hash = %s AND revoked_at IS NULL", (token_hash,)
            )
            return await cursor.fetchone()

    async def entry(self, account_id: int, phone_number: str, now: datetime) -> EntryRow | None:
        async with self.pool.connection() as connection:
            cursor = await connection.execute(
                f"SELECT id, phone_number, {_PG_TIMESTAMP.format('expire_at')}, {_PG_TIMESTAMP.format('created_at')} FROM blacklist_entries"
                " WHERE account_id = %s AND phone_number = %s AND (expire_at IS NULL OR expire_at > %s)",
                (account_id, phone_number, _naive_utc(now)),
            )
            return await cursor.fetchone()

    async def listed(self, account_id: int, phone_numbers: list[str], now: datetime) -> set[str]:
        if not phone_numbers:
            return set()
        async with self.pool.connection() as connection:
            # One index probe per number, whatever the planner's statistics say (see EntryRepository._expiries).
            cursor = await connection.execute(
                "SELECT n.number FROM unnest(%s::varchar[]) AS n(number) CROSS JOIN LATERAL (SELECT 1 FROM blacklist_entries"
                " WHERE account_id = %s AND phone_number = n.number AND (expire_at IS NULL OR expire_at > %s) LIMIT 1) AS e",
                (phone_numbers, account_id, _naive_utc(now)),
            )
            return {row[0] for row in await cursor.fetchall()}


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


Lookup = SqliteLookup | PostgresLookup


def create_lookup(database_url: str) -> Lookup:
    """The read path for the configured database."""
    url = normalize_url(database_url)
    return SqliteLookup(url) if url.startswith("sqlite") else PostgresLookup(url)
