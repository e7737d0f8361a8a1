"""The send-time read path: point lookups straight on the driver, no ORM, no thread hop.

A check must cost little more than the HTTP request carrying it. On SQLite one
autocommit connection per process answers on the event loop thread (an indexed
lookup takes microseconds, less than handing it to a thread would), and every query
sees the latest committed write: nothing is cached, so nothing is stale.
"""

import sqlite3
from datetime import datetime

from sqlalchemy.engine import make_url

from stoplist.db import RFC3339, normalize_url

# Numbers per `IN (...)` lookup in bulk checks.
LOOKUP_BATCH = 500

EntryRow = tuple[int, str, str | None, str]


class SqliteLookup:
    """Live entries and tokens read from a SQLite file."""

    def __init__(self, database_url: str) -> None:
        database = make_url(normalize_url(database_url)).database or ":memory:"
        self.connection = sqlite3.connect(database, check_same_thread=False, isolation_level=None, timeout=10)
        self.connection.execute("PRAGMA query_only=1")

    def close(self) -> None:
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


def create_lookup(database_url: str) -> SqliteLookup:
    """The read path for the configured database."""
    return SqliteLookup(database_url)
