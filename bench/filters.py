"""Filtering by date: `GET /blacklist/entries?created_after=` (and SMSAPI's listing) on a list of N entries created
over a year, against the same SQL run bare; then `DELETE /blacklist/entries?created_after=` of a tenth of them."""

import random
import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import httpx
import psycopg

import fill
from databases import SQLITE, Database
from harness import MB, BenchmarkFailed, Below, Config, Reported, Row, Section, percentile, say
from live_server import ENTRIES, LOAD_OPTIONS, CpuUse, LiveServer, RssSampler

NAME = "filters"
NATIVE = "/blacklist/entries"
TITLE = f"Filtering by date: GET {NATIVE}?created_after= and DELETE {NATIVE}?created_after="

REQUESTS = 60  # measured requests per listing
WARMUP = 5  # unmeasured requests first, at moments of their own
PAGE = 100  # the API's default page size
TARGETS_MS = {"postgresql": 50, "sqlite": 100}  # p50 targets of the native listing
DELETED_SHARE = 10  # per cent of the list a delete by filter takes: the newest tenth
DELETE_TIMEOUT = 3600.0
STAMP = "%Y-%m-%dT%H:%M:%SZ"

METHOD = f"""\
A `stoplist serve` (one process, one uvicorn worker, `--no-access-log`,
`STOPLIST_SERVE_WORKER=false`) on a fresh database of its own, with one real token. Its account's
default list gets the run's N numbers (1,000,000 by default) as for the search benchmark (see
**The lists** there; untimed), except that each entry's `created_at` and `updated_at` are spread
evenly over the year before {fill.CREATED_AT}, in file (and id) order: the i-th of N was created
{fill.DATED_FROM:%Y-%m-%d} + i × 365 days / N.

- **Listing.** `GET {NATIVE}?created_after=<X>` (the native listing: JSON, the default page of
  {PAGE} entries, newest first, with `size`, which counts every match), and `GET
  {ENTRIES}?created_after=<X>` (SMSAPI's, the same), one request after another over one
  keep-alive httpx connection, each timed from sending the request to having read the whole
  answer. X is an RFC 3339 moment drawn uniformly (seeded) over the whole year, so a request
  matches anything from none to all of the list (half of it on average): the same {REQUESTS} moments
  for both routes and both databases, after {WARMUP} unmeasured ones. Every answer is checked: status
  200, `size` equal to the bare count, the page's ids those of the bare page, in order.
- **Baseline** (for reading, not judged): the two statements of the native listing written by
  hand and run bare through the driver on the same database, timed together: `SELECT count(*)`
  and `SELECT id, address, … ORDER BY created_at DESC, id DESC LIMIT {PAGE}`, both `WHERE
  account_id = ? AND (expire_at IS NULL OR expire_at > now) AND created_at >= X`.
- **Delete by filter.** Then `DELETE {NATIVE}?created_after=<the moment the newest
  {DELETED_SHARE}% of the list were created from>` on the same server: one request, one transaction,
  one `remove` event per entry, timed to its answer, which must be `{{"count": N/{100 // DELETED_SHARE}}}`; a
  dry run (`dry_run=true`) of the same filter first must answer the same count. Meanwhile psutil
  sums the RSS of the server's process tree every 0.05 s: the table shows its peak (MB = 10^6
  bytes), the note the sum just before. Checked afterwards: the listing's `size` is N − N/{100 // DELETED_SHARE}.

The table gives p50 and p99 (nearest rank). Targets: the native listing's p50 under
{TARGETS_MS['postgresql']} ms on PostgreSQL and {TARGETS_MS['sqlite']} ms on SQLite; the rest is reported.
"""


def measure(config: Config, section: Section, database: str) -> None:
    """Fill a list created over a year, time date-filtered listings through both routes and bare, then a delete by filter."""
    n = config.rows
    what = f"list of {n:,}, {REQUESTS} sequential requests"
    native = section.add(Row("created_after", f"GET {NATIVE}?created_after=<X>, {what}: p50", "ms",
                             Below(TARGETS_MS[database], "ms", baseline=True), decimals=1))
    native99 = section.add(Row("created_after", "p99 of the same requests", "ms", Reported(baseline=False), decimals=1))
    smsapi = section.add(Row("created_after", f"GET {ENTRIES}?created_after=<X>, the same: p50", "ms", Reported(baseline=False), decimals=1))
    delete_time = section.add(Row("delete-by-filter", f"DELETE {NATIVE}?created_after=<X>: {n * DELETED_SHARE // 100:,} of {n:,} entries",
                                  "s", Reported(baseline=False)))
    delete_memory = section.add(Row("delete-by-filter", "server peak RSS during it", "MB", Reported(baseline=False), decimals=0))
    if config.baseline_only:
        say("--baseline-only: the bare statements need a server's database; not measured")
        return
    moments = _draw_moments(config.seed, REQUESTS + WARMUP)
    warmup, measured = moments[REQUESTS:], moments[:REQUESTS]
    directory = config.directory(f"{NAME}-{database}")
    store = config.fresh_database(database, NAME, directory)
    try:
        with LiveServer.running(directory, database=store, **LOAD_OPTIONS) as server:
            token = server.create_token()
            fill.fill_list(server.database, config.numbers_csv(), dated=True)
            with server.client(token, timeout=60) as client, _Bare(server.database) as bare:
                for moment in warmup:
                    _listing(server, client, NATIVE, moment)
                    _listing(server, client, ENTRIES, moment)
                    bare(moment)
                times, bare_times = _measure(server, client, bare, measured, NATIVE)
                native.stoplist, native.baseline, native99.stoplist = percentile(times, 50), percentile(bare_times, 50), percentile(times, 99)
                times, _ = _measure(server, client, bare, measured, ENTRIES)
                smsapi.stoplist = percentile(times, 50)
                smsapi.note = f"p99 {percentile(times, 99):.1f} ms"
                say(f"created_after: native p50 {native.stoplist:.1f} ms (bare {native.baseline:.1f} ms), p99 {native99.stoplist:.1f} ms;"
                    f" SMSAPI's p50 {smsapi.stoplist:.1f} ms")
            with server.client(token, timeout=DELETE_TIMEOUT) as client:
                seconds, memory, cpu = _delete(server, client, n)
            delete_time.stoplist = seconds
            delete_time.note = f"{n * DELETED_SHARE // 100 / seconds:,.0f} entries/s; {cpu.describe()}"
            delete_memory.stoplist = memory.peak / MB
            whose = "" if database == SQLITE else "Stoplist's processes only, not PostgreSQL's; "
            delete_memory.note = f"{whose}idle before: {memory.idle / MB:.0f} MB"
    finally:
        config.release_database(store)


def _draw_moments(seed: int, count: int) -> list[str]:
    """`count` moments drawn uniformly over the year the entries were created in."""
    rng = random.Random(seed + 9)
    span = int(fill.DATED_SPAN.total_seconds())
    return [(fill.DATED_FROM + timedelta(seconds=rng.randrange(span))).strftime(STAMP) for _ in range(count)]


class _Bare:
    """The native listing's count and page for one created_after, straight through the driver: (count, [id, …])."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.connection: sqlite3.Connection | psycopg.Connection | None = None

    def __enter__(self) -> "_Bare":
        if self.database.kind == SQLITE:
            self.connection = sqlite3.connect(self.database.path, timeout=30)
        else:
            self.connection = psycopg.connect(self.database.url, autocommit=True)
        self.account = self.connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone()[0]
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.connection is not None:
            self.connection.close()

    def __call__(self, moment: str) -> tuple[int, list[int]]:
        if self.connection is None:
            raise BenchmarkFailed("the bare connection is not open")
        now = datetime.now(timezone.utc).replace(microsecond=0)
        after = datetime.strptime(moment, STAMP).replace(tzinfo=timezone.utc)
        if isinstance(self.connection, sqlite3.Connection):
            where = "account_id = ? AND (expire_at IS NULL OR expire_at > ?) AND created_at >= ?"
            params: tuple = (self.account, now.strftime(STAMP), moment)
        else:
            where = "account_id = %s AND (expire_at IS NULL OR expire_at > %s) AND created_at >= %s"
            params = (self.account, now.replace(tzinfo=None), after.replace(tzinfo=None))
        size = self.connection.execute(f"SELECT count(*) FROM blacklist_entries WHERE {where}", params).fetchone()[0]
        rows = self.connection.execute(
            f"SELECT id, address, expire_at, created_at FROM blacklist_entries WHERE {where} ORDER BY created_at DESC, id DESC LIMIT {PAGE}", params
        ).fetchall()
        return size, [row[0] for row in rows]


def _listing(server: LiveServer, client: httpx.Client, path: str, moment: str) -> httpx.Response:
    try:
        response = client.get(path, params={"created_after": moment})
    except httpx.HTTPError as exc:
        raise server.failure(f"GET {path}?created_after={moment} failed: {type(exc).__name__}: {exc or 'no detail'}") from None
    if response.status_code != 200:
        raise server.failure(f"GET {path}?created_after={moment} answered {response.status_code}: {response.text[:300]}")
    return response


def _check(server: LiveServer, path: str, moment: str, response: httpx.Response, bare: tuple[int, list[int]]) -> None:
    page = response.json()
    size, ids = page["size"], [int(entry["id"]) for entry in page["collection"]]
    if (size, ids) != bare:
        raise server.failure(f"GET {path}?created_after={moment}: size {size} and ids {ids[:3]}…, but bare {bare[0]} and {bare[1][:3]}…")


def _measure(server: LiveServer, client: httpx.Client, bare, moments: Sequence[str], path: str) -> tuple[list[float], list[float]]:
    """Each moment through the route and bare, back to back in alternating order; every answer checked after its timing."""
    stoplist: list[float] = []
    baseline: list[float] = []
    for index, moment in enumerate(moments):
        for side in ("stoplist", "bare") if index % 2 == 0 else ("bare", "stoplist"):
            started = time.perf_counter()
            if side == "stoplist":
                response = _listing(server, client, path, moment)
                stoplist.append((time.perf_counter() - started) * 1000)
            else:
                answer = bare(moment)
                baseline.append((time.perf_counter() - started) * 1000)
        _check(server, path, moment, response, answer)
    server.check_alive()
    return stoplist, baseline


def _delete(server: LiveServer, client: httpx.Client, n: int) -> tuple[float, RssSampler, CpuUse]:
    """Delete the newest tenth by created_after, after a dry run of the same filter; check what is left."""
    expected = n * DELETED_SHARE // 100
    moment = fill.dated_at(n - expected, n).strftime(STAMP)
    dry = client.delete(NATIVE, params={"created_after": moment, "dry_run": "true"})
    if dry.status_code != 200 or dry.json() != {"count": expected}:
        raise server.failure(f"the dry run of DELETE {NATIVE}?created_after={moment} answered {dry.status_code}: {dry.text[:300]}")
    with RssSampler(server.pid) as memory, CpuUse(server) as cpu:
        started = time.perf_counter()
        response = client.delete(NATIVE, params={"created_after": moment})
        seconds = time.perf_counter() - started
    if response.status_code != 200 or response.json() != {"count": expected}:
        raise server.failure(f"DELETE {NATIVE}?created_after={moment} answered {response.status_code}: {response.text[:300]}")
    left = client.get(NATIVE, params={"limit": 1}).json()["size"]
    if left != n - expected:
        raise server.failure(f"{left:,} entries are left after deleting {expected:,} of {n:,}")
    say(f"delete by filter: {expected:,} entries in {seconds:.1f} s, peak RSS {memory.peak / MB:.0f} MB (idle {memory.idle / MB:.0f} MB)")
    return seconds, memory, cpu
