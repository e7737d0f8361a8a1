"""A list of N entries put straight into a server's database through the driver, not the API (not timed).

SQLite: one `executemany` INSERT in one transaction with `sqlite3`. PostgreSQL: one
`COPY blacklist_entries (account_id, phone_number, expire_at, created_at) FROM STDIN` with
psycopg, then `VACUUM (ANALYZE) blacklist_entries`. Both run after the server has migrated
the database and `stoplist token create` has made the account `default`.
"""

import csv
import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg

import dataset
from databases import SQLITE, Database
from harness import BenchmarkFailed, step

CREATED_AT = "2026-11-25T00:00:00Z"  # every entry's created_at, as SQLite stores it (RFC 3339 text)
CREATED_AT_PG = "2026-11-25 00:00:00"  # the same moment for PostgreSQL's `timestamp` column: naive UTC
COPY_LINES = 20_000  # lines per write to COPY

METHOD = f"""\
**The list.** The run's generated numbers (the CSV that the import benchmark imports, N rows:
1,000,000 by default) are put straight into the server's database, not through the API, after
the server has migrated it and `stoplist token create` has made the account `default` (not
timed): `blacklist_entries (account_id, phone_number, expire_at, created_at)` gets the E.164
digits and `created_at` {CREATED_AT} for every row. On SQLite, with `sqlite3`, in one
transaction (one `executemany`), `expire_at` being the CSV's, as stored text
(`2099-01-01T00:00:00Z` on every even row, NULL on every odd one). On PostgreSQL, with psycopg's
`COPY blacklist_entries (account_id, phone_number, expire_at, created_at) FROM STDIN` (text
format, `created_at` the naive UTC timestamp `{CREATED_AT_PG}`, `expire_at` NULL on every row:
all entries never expire), then `VACUUM (ANALYZE) blacklist_entries`: the ANALYZE gives the
planner its statistics, and the VACUUM does now what autovacuum would otherwise start on its own
a minute later, in the middle of the measurements (a million fresh rows pass its insert
threshold), and merges the trigram index's pending list, as on a list that has settled.
Either way every entry is on the list: the two databases' lists hold the same numbers."""


def fill_list(database: Database, numbers_csv: Path, *, picked: set[int] | frozenset[int] = frozenset()) -> list[str]:
    """Put every number of the CSV on the `default` account's list; the E.164 numbers at the `picked` row indexes."""
    rows = count_rows(numbers_csv)
    listed: list[str] = []
    if database.kind == SQLITE:
        stored = _fill_sqlite(database, numbers_csv, picked, listed, rows)
    else:
        stored = _fill_postgresql(database, numbers_csv, picked, listed, rows)
    if stored != rows:
        raise BenchmarkFailed(f"the list holds {stored:,} entries after inserting {rows:,}")
    return listed


def _fill_sqlite(database: Database, numbers_csv: Path, picked: set[int] | frozenset[int], listed: list[str], rows: int) -> int:
    connection = sqlite3.connect(database.path, isolation_level=None, timeout=30)
    try:
        account = _default_account(connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone())
        with step(f"inserting {rows:,} entries with sqlite3 into the server's database"):
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA cache_size=-400000")  # 400 MB: random-order inserts without rereading pages
            connection.execute("BEGIN")
            connection.executemany(
                "INSERT INTO blacklist_entries (account_id, phone_number, expire_at, created_at) VALUES (?, ?, ?, ?)",
                ((account, e164[1:], expire_at or None, CREATED_AT) for e164, expire_at in _numbers(numbers_csv, picked, listed)),
            )
            connection.execute("COMMIT")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = ?", (account,)).fetchone()[0]
    finally:
        connection.close()


def _fill_postgresql(database: Database, numbers_csv: Path, picked: set[int] | frozenset[int], listed: list[str], rows: int) -> int:
    with psycopg.connect(database.url, autocommit=True) as connection:
        account = _default_account(connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone())
        with step(f"copying {rows:,} entries with psycopg COPY into the server's database"):
            with connection.cursor() as cursor, cursor.copy(
                "COPY blacklist_entries (account_id, phone_number, expire_at, created_at) FROM STDIN"
            ) as copy:
                lines = (f"{account}\t{e164[1:]}\t\\N\t{CREATED_AT_PG}\n" for e164, _ in _numbers(numbers_csv, picked, listed))
                while chunk := "".join(itertools.islice(lines, COPY_LINES)):
                    copy.write(chunk)
        with step("VACUUM (ANALYZE) blacklist_entries"):
            connection.execute("VACUUM (ANALYZE) blacklist_entries")
        return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = %s", (account,)).fetchone()[0]


def _default_account(row: tuple | None) -> int:
    if row is None:
        raise BenchmarkFailed("`stoplist token create` made no account named 'default'")
    return row[0]


def _numbers(numbers_csv: Path, picked: set[int] | frozenset[int], listed: list[str]) -> Iterator[tuple[str, str]]:
    """(E.164, expire_at) of every CSV row, appending those at the `picked` indexes to `listed`."""
    with numbers_csv.open(newline="") as source:
        reader = csv.reader(source)
        next(reader)
        for index, (e164, expire_at) in enumerate(reader):
            if index in picked:
                listed.append(e164)
            yield e164, expire_at


def numbers_at(numbers_csv: Path, picked: set[int] | frozenset[int]) -> list[str]:
    """The E.164 numbers at the `picked` row indexes of the CSV, in file order, without a database."""
    listed: list[str] = []
    for _ in _numbers(numbers_csv, picked, listed):
        pass
    return listed


def count_rows(numbers_csv: Path) -> int:
    with numbers_csv.open("rb") as source:
        return sum(1 for _ in source) - 1


def unlisted_numbers(database: Database | None, seed: int, count: int) -> list[str]:
    """`count` valid numbers from the same generator with another seed, none of them on the list
    (not checked against any list when `database` is None)."""
    found: list[str] = []
    candidates = dataset.generate_numbers(10**9, seed + 1)
    with _Lookup(database) as on_list:
        while len(found) < count:
            chunk = list(itertools.islice(candidates, 500))
            listed = on_list([e164[1:] for e164 in chunk])
            found += [e164 for e164 in chunk if e164[1:] not in listed]
    return found[:count]


class _Lookup:
    """Which of some digit strings are on the list, whatever the database."""

    def __init__(self, database: Database | None) -> None:
        self.database = database
        self.connection: sqlite3.Connection | psycopg.Connection | None = None

    def __enter__(self) -> "_Lookup":
        if self.database is not None:
            if self.database.kind == SQLITE:
                self.connection = sqlite3.connect(self.database.path, timeout=30)
            else:
                self.connection = psycopg.connect(self.database.url, autocommit=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.connection is not None:
            self.connection.close()

    def __call__(self, digits: list[str]) -> set[str]:
        if self.connection is None:
            return set()
        if isinstance(self.connection, sqlite3.Connection):
            marks = ",".join("?" * len(digits))
            rows = self.connection.execute(f"SELECT phone_number FROM blacklist_entries WHERE phone_number IN ({marks})", digits)
        else:
            rows = self.connection.execute("SELECT phone_number FROM blacklist_entries WHERE phone_number = ANY(%s)", (digits,))
        return {row[0] for row in rows}
