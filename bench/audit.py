"""The audit trail: reading the change feed (`GET /blacklist/changes`) of N events, and deleting a whole list of N
entries (`DELETE /blacklist/phone_numbers`), which writes one event each."""

import json
import random
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import psycopg

import fill
from databases import SQLITE, Database
from harness import MB, BenchmarkFailed, Below, Config, Reported, Row, Section, percentile, say, step
from live_server import ENTRIES, LOAD_OPTIONS, CpuUse, LiveServer, RssSampler
from stoplist.audit import chain

NAME = "audit"
TITLE = "The audit trail: GET /blacklist/changes and DELETE /blacklist/phone_numbers"
CHANGES = "/blacklist/changes"

PAGE = 10_000  # events per feed read: the API's largest limit
READS = 50  # measured feed reads, at cursors spread over the whole trail
WARMUP = 2  # unmeasured feed reads first, at cursors of their own
P50_CAP_MS = 100  # the target for the feed's p50
FILL_BATCH = 10_000  # entries read back, and their events written, per round of the fill
EVENT_COLUMNS = "account_id, seq, at, op, address, entry_id, job_id, body, hash"
JOB_ID = "bench0000000000000000000000audit"  # the job id the filled events carry (32 characters, like an import job's)
SAMPLE_INTERVAL = 0.05
FEED_TIMEOUT = 60.0
DELETE_TIMEOUT = 3600.0  # one request deletes the whole list: at a million entries it takes a while

Answer = TypeVar("Answer")

METHOD = f"""\
A `stoplist serve` (one process, one uvicorn worker, `--no-access-log`,
`STOPLIST_SERVE_WORKER=false`) on a fresh database of its own (see Databases above), with one
real token. Its account's default list gets the run's N numbers (1,000,000 by default) exactly
as for the check benchmark's SMSAPI layout (see **The lists** there: `executemany` on SQLite;
`COPY` and `VACUUM (ANALYZE)` on PostgreSQL; untimed), and then the audit trail those N entries
would have had had an import job put them there, put in the same way (untimed):

**The trail.** The account's trail starts with the `grant` of the benchmark's token (seq 1, made by
`stoplist token create`); then one `add` event per entry, in entry id order, seq 2 to N + 1, each built with
`stoplist.audit.chain` as the server's own writer builds them: `chain.common(account, at, source="import",
token_id=<the token's id>, job_id=<a fixed 32-character job id>)` with `at` = the entries'
created_at ({fill.CREATED_AT}), `chain.body(…, seq, "add", …)` with the entry's address, kind,
list (block, every channel, every sender), id, `before` null and `after` its expiry, reason and
note as stored, and `hash` = `chain.link(previous hash, body)` from the grant's hash; the account's
`audit_heads` row is then set to seq N + 1 and the last hash. The entries are read back through the
driver {FILL_BATCH:,} at a time (keyset on id) and their events written with `sqlite3`
`executemany` in one transaction (SQLite), or with psycopg's `COPY entry_events
({EVENT_COLUMNS}) FROM STDIN` (PostgreSQL) followed by `VACUUM (ANALYZE)` of `entry_events` and
`audit_heads`. The server never sees this fill: only what it serves afterwards shows whether it
was right (below).

- **Feed read.** `GET {CHANGES}?after=<X>&limit={PAGE:,}` (the largest page the API gives) with
  `Authorization: Bearer <the token>`, one request after another over one keep-alive httpx
  connection from the benchmark's own process, each timed from sending the request to having read
  the whole answer (`time.perf_counter`; the note gives the answers' average size). The {READS} cursors X are
  spread over the whole fill: the range 1 … N + 1 − {PAGE:,} is cut into {READS} equal parts and one X
  drawn uniformly (seeded) in each, and they are sent in a seeded random order; {WARMUP} unmeasured
  reads at cursors of their own come first. Every answer is checked, after its timing: status 200,
  exactly {PAGE:,} events, seq X + 1 to X + {PAGE:,} in order, `next` = X + {PAGE:,}, every event an `add`
  of the account, and its hash chain: each event's `hash` is `chain.link` of the hash before it
  and its canonical JSON (the event without `hash`), the first one's linking to the hash the fill
  wrote for seq X, and the last one's equal to the one it wrote for seq X + {PAGE:,}. A wrong
  answer stops the benchmark. The table gives p50 and p99 (nearest rank) over the {READS} reads;
  the target: p50 under {P50_CAP_MS} ms (on both databases); p99 is reported only.
- **Delete-all.** Then, on the same server and list, one `DELETE {ENTRIES}` (no query: every
  number of the default list goes, one `remove` event each, in one transaction), with an HTTP
  timeout of {DELETE_TIMEOUT:.0f} s; timed from sending the request to its answer, which must be 204.
  Meanwhile psutil sums the RSS of the server process and its descendants every
  {SAMPLE_INTERVAL} s; the table shows the peak of that sum (MB = 10^6 bytes), the note the sum
  just before. On PostgreSQL that is Stoplist's processes only, not PostgreSQL's. Checked
  afterwards: no entry is left on the account, the account's `audit_heads` seq (read through the
  driver) grew by exactly N, `GET {CHANGES}?after=N&limit=1` answers one `remove` event, seq N + 1,
  of the entry with the smallest id, whose hash links to the head the fill wrote, the event at
  seq 2N removes the entry with the largest id and has the head's new hash, and nothing follows
  it. Both figures are reported only; the notes give the CPU used (as for the import).

Each figure is one run, not a best of several.
"""


def measure(config: Config, section: Section, database: str) -> None:
    """Fill the list and its trail, time feed reads across it, then time deleting the whole list."""
    n = config.rows
    p50 = section.add(Row("feed", f"GET {CHANGES}?after=<X>&limit={PAGE:,}, trail of {n:,} events, {READS} sequential requests: p50",
                          "ms", Below(P50_CAP_MS, "ms"), decimals=1))
    p99 = section.add(Row("feed", "p99 of the same requests", "ms", Reported(baseline=False), decimals=1))
    delete_time = section.add(Row("delete-all", f"DELETE {ENTRIES}, list of {n:,}: request → 204 ({n:,} remove events)", "s",
                                  Reported(baseline=False)))
    delete_memory = section.add(Row("delete-all", "server peak RSS during it", "MB", Reported(baseline=False), decimals=0))
    if config.baseline_only:
        say("--baseline-only: the audit benchmark has no baseline; not measured")
        return
    if n < PAGE:
        raise BenchmarkFailed(f"--rows {n:,} is fewer than one feed page ({PAGE:,} events): use at least {PAGE:,}")

    numbers_csv = config.numbers_csv()
    cursors = draw_cursors(n, config.seed, READS, WARMUP)
    warmup, measured = cursors[:WARMUP], cursors[WARMUP:]
    directory = config.directory(f"{NAME}-{database}")
    store = config.fresh_database(database, NAME, directory)
    try:
        with LiveServer.running(directory, database=store, **LOAD_OPTIONS) as server:
            token = server.create_token()
            fill.fill_list(server.database, numbers_csv)
            trail = fill_trail(server.database, keep={seq for x in cursors for seq in (x, x + PAGE)})
            if trail.seq != trail.base + n:
                raise BenchmarkFailed(f"the trail holds {trail.seq:,} events after filling it for {n:,} entries after {trail.base} before")
            with server.client(token, timeout=FEED_TIMEOUT) as client:
                times, sizes = _read_feed(server, client, trail, [trail.base + x for x in warmup], [trail.base + x for x in measured])
            p50.stoplist, p99.stoplist = percentile(times, 50), percentile(times, 99)
            p50.note = f"answers of {statistics.fmean(sizes) / MB:.1f} MB of JSON on average; fastest {min(times):.1f} ms, slowest {max(times):.1f} ms"
            say(f"feed: p50 {p50.stoplist:.1f} ms, p99 {p99.stoplist:.1f} ms over {len(times)} reads of {PAGE:,} events")
            with server.client(token, timeout=DELETE_TIMEOUT) as client:
                seconds, memory, cpu = _delete_all(server, client, n)
                _check_deleted(server, client, trail, n)
            delete_time.stoplist = seconds
            delete_time.note = f"{n / seconds:,.0f} entries/s; {cpu.describe()}"
            delete_memory.stoplist = memory.peak / MB
            whose = "" if database == SQLITE else "Stoplist's processes only, not PostgreSQL's; "
            delete_memory.note = f"{whose}idle before: {memory.idle / MB:.0f} MB"
    finally:
        config.release_database(store)


# --- the cursors --------------------------------------------------------------------------------


def draw_cursors(rows: int, seed: int, count: int, warmup: int) -> list[int]:
    """`warmup` cursors drawn anywhere, then `count` spread over 0 … rows − PAGE (one per equal part, in a random order)."""
    rng = random.Random(seed + 6)
    last = rows - PAGE
    first = [rng.randint(0, last) for _ in range(warmup)]
    spread = [rng.randint(part * (last + 1) // count, max(part * (last + 1) // count, (part + 1) * (last + 1) // count - 1))
              for part in range(count)]
    rng.shuffle(spread)
    return first + spread


# --- the trail, straight through the driver -----------------------------------------------------


@dataclass
class Trail:
    """What the fill wrote: the account, the last seq and hash, the hashes at the seqs asked to `keep`, and the
    ids of the first and last entries."""

    account: int
    keep: set[int]
    seq: int = 0
    hash: str = chain.GENESIS
    base: int = 0  # the events before the fill (the token's grant): a cursor of the fill's is base + its place in it
    hashes: dict[int, str] = field(default_factory=dict)
    first_entry: int | None = None
    last_entry: int | None = None

    def __post_init__(self) -> None:
        if self.seq in self.keep:
            self.hashes[self.seq] = self.hash

    def events(self, shared: dict, entries: Sequence[tuple]) -> Iterator[tuple[int, str, str, int, str, str]]:
        """(seq, body, hash, entry id, address, kind) of one `add` event per entry read back, chained on from the last one.

        `entries`: (id, address, address_kind, list kind, channel, sender, expire_at as events show it, reason, note)."""
        for entry_id, address, address_kind, kind, channel, sender, expire_at, reason, note in entries:
            self.seq += 1
            body = chain.body(shared, self.seq, "add", address=address, address_kind=address_kind, scope=(kind, channel, sender),
                              entry_id=entry_id, before=None, after={"expire_at": expire_at, "reason": reason, "note": note})
            self.hash = chain.link(self.hash, body)
            if self.seq in self.keep:
                self.hashes[self.seq] = self.hash
            if self.first_entry is None:
                self.first_entry = entry_id
            self.last_entry = entry_id
            yield self.seq, body, self.hash, entry_id, address, address_kind


_ENTRIES = (
    "SELECT e.id, e.address, e.address_kind, l.kind, l.channel, l.sender, e.expire_at, e.reason, e.note"
    " FROM blacklist_entries e JOIN lists l ON l.id = e.list_id WHERE e.account_id = {mark} AND e.id > {mark} ORDER BY e.id LIMIT {mark}"
)
_HEAD = (
    "INSERT INTO audit_heads (account_id, seq, hash, at, base_seq, base_hash) VALUES ({marks})"
    " ON CONFLICT (account_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, at = excluded.at,"
    " base_seq = excluded.base_seq, base_hash = excluded.base_hash"
)


def fill_trail(database: Database, *, keep: set[int]) -> Trail:
    """One `add` event per entry of the `default` account, in id order, chained on from the account's events
    before (the token's grant), and the account's head. `keep`: places in the fill (0: before its first event)."""
    if database.kind == SQLITE:
        return _fill_trail_sqlite(database, keep)
    return _fill_trail_postgresql(database, keep)


def _fill_trail_sqlite(database: Database, keep: set[int]) -> Trail:
    connection = sqlite3.connect(database.path, isolation_level=None, timeout=30)
    try:
        trail, shared = _start(connection, "?", keep)
        with step(f"inserting the trail's events with sqlite3 into the server's database ({FILL_BATCH:,} entries a round)"):
            connection.execute("PRAGMA synchronous=OFF")
            connection.execute("PRAGMA cache_size=-400000")
            connection.execute("BEGIN")
            for entries in _batches(lambda after: connection.execute(_ENTRIES.format(mark="?"), (trail.account, after, FILL_BATCH)).fetchall()):
                # SQLite holds timestamps as the text events show: expire_at goes in as stored.
                connection.executemany(
                    f"INSERT INTO entry_events ({EVENT_COLUMNS}) VALUES (?, ?, ?, 'add', ?, ?, ?, ?, ?)",
                    [(trail.account, seq, fill.CREATED_AT, address, entry_id, JOB_ID, body, hash_)
                     for seq, body, hash_, entry_id, address, _kind in trail.events(shared, entries)],
                )
            connection.execute(_HEAD.format(marks=", ".join("?" * 6)), (trail.account, trail.seq, trail.hash, fill.CREATED_AT, 0, chain.GENESIS))
            connection.execute("COMMIT")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        _check_stored(connection, "?", trail)
        return trail
    finally:
        connection.close()


def _fill_trail_postgresql(database: Database, keep: set[int]) -> Trail:
    with psycopg.connect(database.url, autocommit=True) as reader, psycopg.connect(database.url, autocommit=True) as writer:
        trail, shared = _start(reader, "%s", keep)

        def read(after: int) -> list[tuple]:
            rows = reader.execute(_ENTRIES.format(mark="%s"), (trail.account, after, FILL_BATCH)).fetchall()
            return [(*row[:6], chain.stamp(row[6]), *row[7:]) for row in rows]  # expire_at: a naive UTC timestamp

        with step("copying the trail's events with psycopg COPY into the server's database"):
            with writer.cursor() as cursor, cursor.copy(f"COPY entry_events ({EVENT_COLUMNS}) FROM STDIN") as copy:
                for entries in _batches(read):
                    copy.write("".join(
                        f"{trail.account}\t{seq}\t{fill.CREATED_AT_PG}\tadd\t{_copy_text(address)}\t{entry_id}\t{JOB_ID}\t{_copy_text(body)}\t{hash_}\n"
                        for seq, body, hash_, entry_id, address, _kind in trail.events(shared, entries)
                    ))
            writer.execute(_HEAD.format(marks=", ".join(["%s"] * 6)), (trail.account, trail.seq, trail.hash, fill.CREATED_AT_PG, 0, chain.GENESIS))
        with step("VACUUM (ANALYZE) entry_events, audit_heads"):
            writer.execute("VACUUM (ANALYZE) entry_events, audit_heads")
        _check_stored(writer, "%s", trail)
        return trail


def _start(connection: sqlite3.Connection | psycopg.Connection, mark: str, keep: set[int]) -> tuple[Trail, dict]:
    """The `default` account's trail, empty, and the fields its events share (an import job's, under the account's token)."""
    row = connection.execute("SELECT id FROM accounts WHERE name = 'default'").fetchone()
    if row is None:
        raise BenchmarkFailed("`stoplist token create` made no account named 'default'")
    account = row[0]
    token = connection.execute(f"SELECT min(id) FROM access_tokens WHERE account_id = {mark}", (account,)).fetchone()[0]
    # A fresh database's trail holds the `grant` of the token `stoplist token create` made: the fill chains on from it.
    ops = [op for (op,) in connection.execute(f"SELECT op FROM entry_events WHERE account_id = {mark} ORDER BY seq", (account,)).fetchall()]
    if ops != ["grant"]:
        raise BenchmarkFailed(f"the account's trail holds {ops[:5]} before the fill; expected the token's grant alone on a fresh database")
    seq, hash_ = _head(connection, mark, account)  # type: ignore[misc]
    trail = Trail(account=account, keep={seq + place for place in keep}, seq=seq, hash=hash_, base=seq)
    shared = chain.common(account, fill.CREATED_AT, source="import", token_id=token, job_id=JOB_ID)
    return trail, shared


def _batches(read: Callable[[int], list[tuple]]) -> Iterator[list[tuple]]:
    """The entries, FILL_BATCH at a time, each batch after the last id of the one before."""
    after = 0
    while entries := read(after):
        yield entries
        after = entries[-1][0]


def _copy_text(value: str | None) -> str:
    """A value in COPY's text format (the bodies are ASCII JSON: only a backslash needs escaping)."""
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _check_stored(connection: sqlite3.Connection | psycopg.Connection, mark: str, trail: Trail) -> None:
    """Fail unless the events and the head stored are the ones written."""
    count, first, last = connection.execute(
        f"SELECT count(*), min(seq), max(seq) FROM entry_events WHERE account_id = {mark}", (trail.account,)
    ).fetchone()
    head = _head(connection, mark, trail.account)
    if (count, first, last) != (trail.seq, 1, trail.seq) or head != (trail.seq, trail.hash):
        raise BenchmarkFailed(f"after the fill: {count:,} events, seq {first} to {last}, head {head}; expected {trail.seq:,}, 1 to {trail.seq},"
                              f" ({trail.seq}, {trail.hash})")


def _head(connection: sqlite3.Connection | psycopg.Connection, mark: str, account: int) -> tuple[int, str] | None:
    row = connection.execute(f"SELECT seq, hash FROM audit_heads WHERE account_id = {mark}", (account,)).fetchone()
    return None if row is None else (row[0], row[1])


def read_head(database: Database, account: int) -> tuple[int, str] | None:
    """(seq, hash) of the account's audit_heads row, through the driver."""
    if database.kind == SQLITE:
        connection = sqlite3.connect(database.path, timeout=30)
        try:
            return _head(connection, "?", account)
        finally:
            connection.close()
    with psycopg.connect(database.url, autocommit=True) as connection:
        return _head(connection, "%s", account)


def count_entries(database: Database, account: int) -> int:
    """How many entries the account has, on any list, through the driver."""
    if database.kind == SQLITE:
        connection = sqlite3.connect(database.path, timeout=30)
        try:
            return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = ?", (account,)).fetchone()[0]
        finally:
            connection.close()
    with psycopg.connect(database.url, autocommit=True) as connection:
        return connection.execute("SELECT count(*) FROM blacklist_entries WHERE account_id = %s", (account,)).fetchone()[0]


# --- feed reads ---------------------------------------------------------------------------------


def _read_feed(server: LiveServer, client: httpx.Client, trail: Trail, warmup: Sequence[int], measured: Sequence[int]) -> tuple[list[float], list[int]]:
    """Milliseconds and bytes of each measured read, after the unmeasured ones; every answer checked."""
    with step(f"{len(warmup)} unmeasured feed reads"):
        for after in warmup:
            _check_page(server, trail, after, _changes(server, client, after, PAGE))
    say(f"{len(measured)} feed reads of {PAGE:,} events …")
    milliseconds: list[float] = []
    sizes: list[int] = []
    for after in measured:
        started = time.perf_counter()
        response = _changes(server, client, after, PAGE)
        milliseconds.append((time.perf_counter() - started) * 1000)
        sizes.append(len(response.content))
        _check_page(server, trail, after, response)
    server.check_alive()
    return milliseconds, sizes


def _changes(server: LiveServer, client: httpx.Client, after: int, limit: int) -> httpx.Response:
    what = f"GET {CHANGES}?after={after}&limit={limit}"
    response = _call(server, what, lambda: client.get(CHANGES, params={"after": str(after), "limit": str(limit)}))
    if response.status_code != 200:
        raise server.failure(f"{what} answered {response.status_code}: {response.text[:300]}")
    return response


def _events(server: LiveServer, response: httpx.Response, what: str) -> tuple[list[dict], object]:
    """The events of a feed answer, and its `next`."""
    try:
        page = response.json()
        events, next_ = page["events"], page["next"]
    except (ValueError, KeyError, TypeError):
        raise server.failure(f"{what} answered a body that is not a page of events: {response.text[:300]}") from None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise server.failure(f"{what}: `events` is not a list of events: {response.text[:300]}")
    return events, next_


def _check_page(server: LiveServer, trail: Trail, after: int, response: httpx.Response) -> None:
    """Fail unless the answer is the PAGE `add` events after `after`, chained to the hashes the fill wrote."""
    what = f"GET {CHANGES}?after={after}&limit={PAGE}"
    events, next_ = _events(server, response, what)
    seqs = [event.get("seq") for event in events]
    if len(events) != PAGE or seqs != list(range(after + 1, after + PAGE + 1)) or next_ != f"{after + PAGE}-{events[-1]['hash'][:16]}":
        raise server.failure(f"{what}: {len(events):,} events, seq {seqs[:1]} … {seqs[-1:]}, next {next_!r};"
                             f" expected {PAGE:,}, seq {after + 1} … {after + PAGE}, next '{after + PAGE}-<its hash's first 16>'")
    wrong = next((event for event in events if event.get("op") != "add" or event.get("account_id") != trail.account), None)
    if wrong is not None:
        raise server.failure(f"{what}: an event that is not an `add` of account {trail.account}: {json.dumps(wrong)[:300]}")
    previous = trail.hashes[after]
    for event in events:
        if _link(event, previous) != event.get("hash"):
            raise server.failure(f"{what}: the hash of event {event.get('seq')} does not chain on from the one before it")
        previous = event["hash"]
    if previous != trail.hashes[after + PAGE]:
        raise server.failure(f"{what}: the hash of event {after + PAGE} is not the one the fill wrote")


def _link(event: dict, previous: str) -> str:
    """The hash an event served should have: its canonical JSON, without `hash`, chained on from `previous`."""
    return chain.link(previous, chain.canonical({key: value for key, value in event.items() if key != "hash"}))


# --- delete-all ---------------------------------------------------------------------------------


def _delete_all(server: LiveServer, client: httpx.Client, rows: int) -> tuple[float, RssSampler, CpuUse]:
    """One DELETE of the whole default list; seconds taken, the server's memory and CPU."""
    say(f"DELETE {ENTRIES} of {rows:,} entries …")
    with RssSampler(server.pid, interval=SAMPLE_INTERVAL) as memory, CpuUse(server) as cpu:
        started = time.perf_counter()
        response = _call(server, f"DELETE {ENTRIES}", lambda: client.delete(ENTRIES))
        seconds = time.perf_counter() - started
    if response.status_code != 204:
        raise server.failure(f"DELETE {ENTRIES} answered {response.status_code} (expected 204): {response.text[:300]}")
    say(f"DELETE {ENTRIES}: {seconds:.2f} s, server peak RSS {memory.peak / MB:.0f} MB (idle {memory.idle / MB:.0f} MB), {cpu.describe()}")
    return seconds, memory, cpu


def _check_deleted(server: LiveServer, client: httpx.Client, trail: Trail, rows: int) -> None:
    """Fail unless every entry went, the head moved on by `rows`, and the feed shows the removals chained on from the fill."""
    left = count_entries(server.database, trail.account)
    if left:
        raise server.failure(f"DELETE {ENTRIES} answered 204 but {left:,} entries are left on the account")
    head = read_head(server.database, trail.account)
    if head is None or head[0] != trail.seq + rows:
        raise server.failure(f"after DELETE {ENTRIES} of {rows:,} entries the head's seq is {head and head[0]}; expected {trail.seq} + {rows:,}"
                             f" = {trail.seq + rows}")
    first = _one_event(server, client, trail.seq)
    if (first.get("seq"), first.get("op"), first.get("entry_id")) != (trail.seq + 1, "remove", str(trail.first_entry)) \
            or _link(first, trail.hash) != first.get("hash"):
        raise server.failure(f"GET {CHANGES}?after={trail.seq}&limit=1: expected the removal of entry {trail.first_entry}, seq {trail.seq + 1},"
                             f" chained on from the fill's last hash; got {json.dumps(first)[:300]}")
    last = _one_event(server, client, head[0] - 1)
    if (last.get("seq"), last.get("op"), last.get("entry_id"), last.get("hash")) != (head[0], "remove", str(trail.last_entry), head[1]):
        raise server.failure(f"GET {CHANGES}?after={head[0] - 1}&limit=1: expected the removal of entry {trail.last_entry}, seq {head[0]},"
                             f" with the head's hash; got {json.dumps(last)[:300]}")
    what = f"GET {CHANGES}?after={head[0]}&limit=1"
    events, next_ = _events(server, _changes(server, client, head[0], 1), what)
    if events or next_ != f"{head[0]}-{head[1][:16]}":
        raise server.failure(f"{what}: expected no event and next '{head[0]}-<the head's hash's first 16>'; got {len(events)} event(s), next {next_!r}")
    say(f"delete-all checked: head {trail.seq:,} → {head[0]:,}, removals of entries {trail.first_entry} … {trail.last_entry} on the feed")


def _one_event(server: LiveServer, client: httpx.Client, after: int) -> dict:
    what = f"GET {CHANGES}?after={after}&limit=1"
    events, _next = _events(server, _changes(server, client, after, 1), what)
    if len(events) != 1:
        raise server.failure(f"{what}: {len(events)} events; expected 1")
    return events[0]


def _call(server: LiveServer, what: str, request: Callable[[], Answer]) -> Answer:
    """Run one HTTP exchange, turning transport errors into a clear failure."""
    try:
        return request()
    except httpx.HTTPError as exc:
        raise server.failure(f"{what} failed: {type(exc).__name__}: {exc or 'no detail'}") from None
