"""Lists of N entries put straight into a server's database through the driver, not the API (not timed).

Two layouts: the `default` account's default list alone (the SMSAPI benchmarks), or N entries
spread over 50 lists of that account (the check benchmark). SQLite: one `executemany` INSERT in
one transaction with `sqlite3`. PostgreSQL: one `COPY blacklist_entries (...) FROM STDIN` with
psycopg, then `VACUUM (ANALYZE)`. Both run after the server has migrated the database and
`stoplist token create` has made the account `default`.
"""

import bisect
import csv
import itertools
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

import dataset
from databases import SQLITE, Database
from harness import BenchmarkFailed, step

CREATED_AT = "2026-11-25T00:00:00Z"  # every entry's created_at and updated_at, as SQLite stores them (RFC 3339 text)
CREATED_AT_PG = "2026-11-25 00:00:00"  # the same moment for PostgreSQL's `timestamp` columns: naive UTC
# With `dated`, entries are created over the year before CREATED_AT instead, evenly, in file (and id) order.
DATED_FROM = datetime(2025, 11, 25, tzinfo=timezone.utc)
DATED_SPAN = timedelta(days=365)
COPY_LINES = 20_000  # lines per write to COPY
ENTRY_COLUMNS = "account_id, list_id, address, address_kind, reason, note, source, expire_at, created_at, updated_at"
# A list's scope as given: its sender as shown.
LIST_COLUMNS = "id, kind, channel, COALESCE(sender_display, sender)"


@dataclass(frozen=True)
class Scope:
    """A list's scope as stored: '' is every channel, or every sender."""

    kind: str
    channel: str
    sender: str

    def applies(self, channel: str, sender: str) -> bool:
        """Whether this list answers a check for (channel, sender): written here again, not imported, so that a bug in
        Stoplist's precedence cannot hide in its own benchmark."""
        return self.channel in ("", channel) and self.sender in ("", sender)

    def label(self) -> str:
        return f"({self.kind}, {self.channel or 'every channel'}, {self.sender or 'every sender'})"

    def stored(self) -> tuple[str, str, str, str | None]:
        """(kind, channel, sender key, sender display) as a list row holds them (migration 0012): these names
        are no phone numbers, so their key is the name case-folded, and the name is shown where it differs."""
        key = self.sender.casefold()
        return self.kind, self.channel, key, None if key == self.sender else self.sender


DEFAULT = Scope("block", "", "")
KINDS = ("block", "allow")
CHANNELS = ("", "sms", "rcs", "whatsapp", "voice")
SENDERS = ("", "ACME", "NORDIC", "BANKO", "PIZZA")
# Most entries sit on a handful of lists, as in real data: the default list, SMS, and the big
# sender's lists; the other 44 lists share the rest equally. Every list the check benchmark's
# (sms, ACME) asks about holds entries of both kinds of decision.
HEAVY = {
    DEFAULT: 55.0,
    Scope("block", "sms", ""): 15.0,
    Scope("block", "sms", "ACME"): 8.0,
    Scope("block", "", "ACME"): 4.0,
    Scope("allow", "sms", "ACME"): 4.0,
    Scope("allow", "", ""): 2.0,
}
LIGHT_SHARE = 12.0
SPREAD: tuple[Scope, ...] = tuple(Scope(k, c, s) for k in KINDS for c in CHANNELS for s in SENDERS)
assert len(SPREAD) == 50 and set(HEAVY) <= set(SPREAD)
WEIGHTS = {scope: HEAVY.get(scope, LIGHT_SHARE / (len(SPREAD) - len(HEAVY))) for scope in SPREAD}

METHOD = f"""\
**The lists.** The run's generated numbers (the CSV that the import benchmark imports, N rows:
1,000,000 by default) are put straight into the server's database, not through the API, after
the server has migrated it and `stoplist token create` has made the account `default` (not
timed). The SMSAPI benchmarks (search, export) put all N on the account's default list (block,
every channel, every sender). The check benchmark spreads the same N over **50 lists** of the
account: kind (block, allow) × channel (every, sms, rcs, whatsapp, voice) × sender (every, ACME,
NORDIC, BANKO, PIZZA), one list per number, drawn with a seeded generator with these weights:
{", ".join(f"{scope.label()} {weight:g}%" for scope, weight in HEAVY.items())}, and the other
{len(SPREAD) - len(HEAVY)} lists {LIGHT_SHARE / (len(SPREAD) - len(HEAVY)):.3g}% each. Missing lists are inserted
into `lists` first. Every entry row sets every NOT NULL column: `{ENTRY_COLUMNS}` =
(the account, its list, the E.164 digits, `phone`, `unsubscribed` on block lists and `manual`
on allow lists, NULL, `import`, expiry, {CREATED_AT}, the same). On SQLite, with `sqlite3`, in one
transaction (one `executemany`), `expire_at` being the CSV's, as stored text
(`2099-01-01T00:00:00Z` on every even row, NULL on every odd one). On PostgreSQL, with psycopg's
`COPY blacklist_entries ({ENTRY_COLUMNS}) FROM STDIN` (text format, timestamps the naive UTC
`{CREATED_AT_PG}`, `expire_at` NULL on every row: all entries never expire), then
`VACUUM (ANALYZE)` of both tables: the ANALYZE gives the planner its statistics, and the VACUUM does
now what autovacuum would otherwise start on its own a minute later, in the middle of the
measurements (a million fresh rows pass its insert threshold), marks every page all-visible
so that checks read the unique index alone, and merges the trigram index's pending list, as on a
list that has settled. The fill's session commits with `synchronous_commit` on: with it off, as
the cluster runs, the VACUUM right after the COPY could not set the rows' commit hint bits (the
commit record not yet flushed) and so marked no page all-visible, and every check probe went on
to read the table as well as the index. Either way every number is on a list: the two
databases hold the same numbers on the same lists."""


def fill_list(database: Database, numbers_csv: Path, *, picked: set[int] | frozenset[int] = frozenset(), dated: bool = False) -> list[str]:
    """Put every number of the CSV on the `default` account's default list; the E.164 numbers at the `picked` row indexes.
    `dated`: created (and updated) over a year, evenly, rather than all at CREATED_AT (see dated_at)."""
    return [e164 for e164, _scope in fill_lists(database, numbers_csv, picked=picked, spread=False, dated=dated)]


def fill_lists(
    database: Database, numbers_csv: Path, *, picked: set[int] | frozenset[int] = frozenset(), spread: bool = True, seed: int = 0, dated: bool = False
) -> list[tuple[str, Scope]]:
    """Put every number of the CSV on one of the `default` account's lists (all on the default list unless `spread`):
    (E.164, its list) of the numbers at the `picked` row indexes, in file order."""
    rows = count_rows(numbers_csv)
    scopes = SPREAD if spread else (DEFAULT,)
    choose = _chooser(seed) if spread else (lambda: DEFAULT)
    listed: list[tuple[str, Scope]] = []
    stamps = _dated_stamps(rows) if dated else (lambda _index: (CREATED_AT, CREATED_AT_PG))
    if database.kind == SQLITE:
        stored = _fill_sqlite(database, numbers_csv, picked, listed, rows, scopes, choose, stamps)
    else:
        stored = _fill_postgresql(database, numbers_csv, picked, listed, rows, scopes, choose, stamps)
    if stored != rows:
        raise BenchmarkFailed(f"the lists hold {stored:,} entries after inserting {rows:,}")
    return listed


def dated_at(index: int, rows: int) -> datetime:
    """When the `index`th of `rows` dated entries was created: evenly over DATED_SPAN from DATED_FROM, to the second."""
    return DATED_FROM + timedelta(seconds=int(index * DATED_SPAN.total_seconds() / rows))


def _dated_stamps(rows: int) -> Callable[[int], tuple[str, str]]:
    def stamps(index: int) -> tuple[str, str]:
        moment = dated_at(index, rows)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M:%S")

    return stamps


def _chooser(seed: int):
    """A seeded draw of one list by WEIGHTS, the same sequence for the same seed."""
    rng = random.Random(seed + 2)
    cumulative = list(itertools.accumulate(WEIGHTS.values()))
    scopes, total = list(WEIGHTS), cumulative[-1]
    return lambda: scopes[bisect.bisect_right(cumulative, rng.random() * total)]


def _reason(scope: Scope) -> str:
    return "unsubscribed" if scope.kind == "block" else "manual"


def _fill_sqlite(database: Database, numbers_csv: Path, picked, listed, rows: int, scopes, choose, stamps) -> int:
    connection = sqlite3.connect(database.path, isolation_level=None, timeout=30)
    try:
        account = _default_account(connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone())
        connection.executemany(
            "INSERT OR IGNORE INTO lists (account_id, kind, channel, sender, sender_display, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(account, *s.stored(), CREATED_AT) for s in scopes],
        )
        ids = _list_ids(connection.execute(f"SELECT {LIST_COLUMNS} FROM lists WHERE account_id = ?", (account,)), scopes)
        with step(f"inserting {rows:,} entries on {len(scopes)} list(s) with sqlite3 into the server's database"):
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA cache_size=-400000")  # 400 MB: random-order inserts without rereading pages
            connection.execute("BEGIN")
            connection.executemany(
                f"INSERT INTO blacklist_entries ({ENTRY_COLUMNS}) VALUES (?, ?, ?, 'phone', ?, NULL, 'import', ?, ?, ?)",
                ((account, ids[scope], e164[1:], _reason(scope), expire_at or None, created, created)
                 for index, (e164, expire_at, scope) in enumerate(_numbers(numbers_csv, picked, listed, choose))
                 for created in (stamps(index)[0],)),
            )
            connection.execute("COMMIT")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = ?", (account,)).fetchone()[0]
    finally:
        connection.close()


def _fill_postgresql(database: Database, numbers_csv: Path, picked, listed, rows: int, scopes, choose, stamps) -> int:
    with psycopg.connect(database.url, autocommit=True) as connection:
        # Durable commits, so that the VACUUM below can mark the pages all-visible (see METHOD).
        connection.execute("SET synchronous_commit = on")
        account = _default_account(connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone())
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO lists (account_id, kind, channel, sender, sender_display, created_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                [(account, *s.stored(), CREATED_AT_PG) for s in scopes],
            )
        ids = _list_ids(connection.execute(f"SELECT {LIST_COLUMNS} FROM lists WHERE account_id = %s", (account,)), scopes)
        with step(f"copying {rows:,} entries on {len(scopes)} list(s) with psycopg COPY into the server's database"):
            with connection.cursor() as cursor, cursor.copy(f"COPY blacklist_entries ({ENTRY_COLUMNS}) FROM STDIN") as copy:
                lines = (f"{account}\t{ids[scope]}\t{e164[1:]}\tphone\t{_reason(scope)}\t\\N\timport\t\\N\t{created}\t{created}\n"
                         for index, (e164, _, scope) in enumerate(_numbers(numbers_csv, picked, listed, choose))
                         for created in (stamps(index)[1],))
                while chunk := "".join(itertools.islice(lines, COPY_LINES)):
                    copy.write(chunk)
        with step("VACUUM (ANALYZE) blacklist_entries, lists"):
            connection.execute("VACUUM (ANALYZE) blacklist_entries, lists")
            for _ in range(3):  # an autovacuum's snapshot can hold back a few pages: once more, after it
                visible, pages = connection.execute("SELECT relallvisible, relpages FROM pg_class WHERE relname = 'blacklist_entries'").fetchone()
                if visible == pages:
                    break
                time.sleep(1)
                connection.execute("VACUUM blacklist_entries")
            else:
                raise BenchmarkFailed(f"VACUUM left {pages - visible:,} of {pages:,} pages of blacklist_entries not all-visible")
        return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = %s", (account,)).fetchone()[0]


def _list_ids(rows, scopes) -> dict[Scope, int]:
    ids = {Scope(kind, channel, sender): list_id for list_id, kind, channel, sender in rows}
    missing = [scope.label() for scope in scopes if scope not in ids]
    if missing:
        raise BenchmarkFailed(f"lists missing after inserting them: {', '.join(missing)}")
    return ids


def _default_account(row: tuple | None) -> int:
    if row is None:
        raise BenchmarkFailed("`stoplist token create` made no account named 'default'")
    return row[0]


def _numbers(numbers_csv: Path, picked, listed: list, choose) -> Iterator[tuple[str, str, Scope]]:
    """(E.164, expire_at, its list) of every CSV row, appending (E.164, list) of those at the `picked` indexes to `listed`."""
    with numbers_csv.open(newline="") as source:
        reader = csv.reader(source)
        next(reader)
        for index, (e164, expire_at) in enumerate(reader):
            scope = choose()
            if index in picked:
                listed.append((e164, scope))
            yield e164, expire_at, scope


def numbers_at(numbers_csv: Path, picked: set[int] | frozenset[int], *, spread: bool = True, seed: int = 0) -> list[tuple[str, Scope]]:
    """(E.164, its list) at the `picked` row indexes of the CSV, in file order, as fill_lists would put them, without a database."""
    listed: list[tuple[str, Scope]] = []
    for _ in _numbers(numbers_csv, picked, listed, _chooser(seed) if spread else (lambda: DEFAULT)):
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
            rows = self.connection.execute(f"SELECT address FROM blacklist_entries WHERE address IN ({marks})", digits)
        else:
            rows = self.connection.execute("SELECT address FROM blacklist_entries WHERE address = ANY(%s)", (digits,))
        return {row[0] for row in rows}
