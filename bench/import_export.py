"""CSV import and export through the API, against bare phonenumbers + sqlite3 + csv loops.

The Stoplist side runs once per database; the bare baselines are the same bars for both: they
are measured once per run (in the first database's turn) and shared."""

import csv
import itertools
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import httpx
import phonenumbers

import fill
from databases import LABELS, SQLITE, Database
from harness import MB, AtMostTimes, BenchmarkFailed, Below, Config, Row, Section, say, step
from live_server import ENTRIES, CpuUse, LiveServer, RssSampler

NAME = "import-export"
TITLE = "CSV import and export"
IMPORTS = ENTRIES + "/imports"
EXPORT_HEADER = "id,phone_number,expire_at,created_at"
ACCOUNT_ID = 1  # the account of the first token on a fresh database
BATCH_ROWS = 10_000
IMPORT_TARGET = {SQLITE: 1.3, "postgresql": 1.5}  # import seconds with every entry's event written, times the bare loop's (which writes none): issue 11
POLL_INTERVAL = 0.05
SAMPLE_INTERVAL = 0.05
HTTP_TIMEOUT = 600.0

Answer = TypeVar("Answer")

METHOD = f"""\
Input: one CSV generated per run (not timed), header `phone_number,expire_at`, one distinct
E.164 number (`+48…`) per line, drawn with a seeded random generator from the mobile ranges of
PL, GB, DE, FR, IT, ES, NL, CZ, UA, US, BR and IN in turn, each checked with
`phonenumbers.is_valid_number`; every even row has `expire_at` 2099-01-01T00:00:00Z, every odd
row an empty `expire_at` (never expires).

- **Import, baseline**: one Python thread reads that file with `csv.reader`, and for each row
  runs `phonenumbers.parse`, `is_valid_number` and `format_number(E164)`, then inserts the digits
  (expire_at passed through as text, unparsed) with `sqlite3` `executemany` into a fresh SQLite
  file, the same columns as Stoplist's entries (schema of migration 0005): table `blacklist_entries
  (id INTEGER PRIMARY KEY, account_id INTEGER, list_id INTEGER, address TEXT, address_kind TEXT,
  reason TEXT, note TEXT, source TEXT, expire_at TEXT, created_at TEXT, updated_at TEXT,
  UNIQUE(account_id, address, list_id))` (every row: list 1, `phone`, `manual`, NULL, `import`,
  created_at = updated_at = the start), with Stoplist's pragmas
  (`journal_mode=WAL`, `synchronous=NORMAL`), committing every {BATCH_ROWS:,} rows. Timed from
  opening the CSV to the last commit.
- **Import, Stoplist**: a fresh `stoplist serve` (default settings, its job worker in the same
  process; a new SQLite file, or a new database in the run's PostgreSQL cluster; one token);
  the same file is streamed from disk by httpx as a `text/csv` body to `POST {IMPORTS}`, then
  `GET {IMPORTS}/{{id}}` is polled every {POLL_INTERVAL} s. Timed from the start of the upload to
  the poll that sees `done`; the job must report rows = added = N and updated = invalid = 0.
  Stoplist may use both cores; the baseline uses one.
- **Export, baseline**: after the import, from the SQLite server's own database file, `SELECT id,
  address, expire_at, created_at FROM blacklist_entries WHERE account_id = ?` (no ORDER BY;
  values written as stored) through `csv.writer` into a file. Timed from connecting to closing the file.
  (In a run without a SQLite server, `--databases postgresql` or `--baseline-only`: from a SQLite
  file made like one, untimed: `stoplist migrate`, `stoplist token create`, and the N entries put
  in as for the check benchmark. Not from the import baseline's file: its only index on
  `account_id` is the unique one, which makes SQLite read the rows in phone-number order, about
  twice as slow.)
- **Export, Stoplist**: the same server, `GET {ENTRIES}` with `Accept: text/csv`, streamed by
  httpx (`iter_bytes`) into a file; the file must start with `{EXPORT_HEADER}` and have N + 1 lines.
  Timed from sending the request to closing the file.
- **The same bars for both databases**: the two baselines are measured once per run, in the
  first database's turn (SQLite's, by default), and PostgreSQL's rows are compared with those same
  figures: the question is what Stoplist costs over the bare loop, whichever database it runs on.
- **Memory**: psutil sums the RSS of the server process and all its descendants (a worker's
  process pool included) every {SAMPLE_INTERVAL} s during each Stoplist phase; a page shared
  between processes counts once per process. The table shows the peak of that sum, and in
  parentheses the sum just before the phase (the export runs in the server that did the
  import). MB = 10^6 bytes. On PostgreSQL this counts the Stoplist server's processes only:
  PostgreSQL's own (the postmaster and the backends serving the server's connections) are not
  the server's descendants and are not counted; the caps are the same.

Each figure is one run, not a best of several. The notes on the time rows give the CPU the
server's process tree used during the Stoplist phase (psutil), and on PostgreSQL the CPU of
PostgreSQL's own processes too (the cluster's postmaster and its children): the baseline does
its SQLite work inside its one process, while Stoplist on PostgreSQL hands part of its work to
another process, on the other core.
"""


def measure(config: Config, section: Section, database: str) -> None:
    """Time the baseline import, the API import, the baseline export and the API export, in that order
    (the baselines only in the run's first turn: later databases reuse them)."""
    n = config.rows
    import_time = section.add(Row("import", f"{n:,} rows: upload → job done", "s", AtMostTimes(IMPORT_TARGET[database])))
    import_memory = section.add(Row("import", "server peak RSS", "MB", Below(300, "MB"), decimals=0))
    export_time = section.add(Row("export", f"{n:,} rows: request → file written", "s", AtMostTimes(1.5)))
    export_memory = section.add(Row("export", "server peak RSS", "MB", Below(150, "MB"), decimals=0))
    shared = config.shared.setdefault(NAME, {})  # "import", "export": baseline seconds; "measured in": the database's label

    numbers_csv = config.numbers_csv()
    directory = config.directory(f"{NAME}-{database}")
    if "import" not in shared:
        shared["import"] = baseline_import(numbers_csv, directory / "baseline.db", rows=n)
        shared["measured in"] = LABELS[database]
    import_time.baseline = shared["import"]
    if config.baseline_only:
        if "export" not in shared:
            shared["export"] = baseline_export(_stoplist_sqlite_file(directory, numbers_csv), directory / "baseline-export.csv", rows=n)
        export_time.baseline = shared["export"]
        return
    if shared["measured in"] != LABELS[database]:
        import_time.note = export_time.note = f"baseline: the one measured in {shared['measured in']}'s turn"

    store = config.fresh_database(database, NAME, directory)
    try:
        with LiveServer.running(directory, database=store) as server:
            token = server.create_token()
            with server.client(token, timeout=HTTP_TIMEOUT) as client:
                seconds, memory, cpu = stoplist_import(server, client, numbers_csv, rows=n, patience=60 + 20 * import_time.baseline)
                import_time.stoplist = seconds
                import_time.note = _join(import_time.note, cpu.describe())
                _record_memory(import_memory, memory, database)
                if "export" not in shared:
                    # From the server's own file on SQLite; from a file like it when the run has no SQLite server.
                    source = store.path if database == SQLITE else _stoplist_sqlite_file(directory, numbers_csv)
                    shared["export"] = baseline_export(source, directory / "baseline-export.csv", rows=n)
                export_time.baseline = shared["export"]
                seconds, memory, cpu = stoplist_export(server, client, directory / "stoplist-export.csv", rows=n)
                export_time.stoplist = seconds
                export_time.note = _join(export_time.note, cpu.describe())
                _record_memory(export_memory, memory, database)
    finally:
        config.release_database(store)


def baseline_import(numbers_csv: Path, database: Path, *, rows: int) -> float:
    """Parse, validate and format every number with phonenumbers and insert it with sqlite3; seconds taken."""
    connection = _baseline_database(database)
    created_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    say("baseline import …")
    started = time.perf_counter()
    with numbers_csv.open(newline="") as source:
        reader = csv.reader(source)
        next(reader)
        entries = _valid_entries(reader, created_at)
        while batch := list(itertools.islice(entries, BATCH_ROWS)):
            connection.executemany(
                "INSERT INTO blacklist_entries (account_id, list_id, address, address_kind, reason, note, source, expire_at, created_at,"
                " updated_at) VALUES (?, 1, ?, 'phone', 'manual', NULL, 'import', ?, ?, ?)", batch
            )
            connection.commit()
    seconds = time.perf_counter() - started
    stored = connection.execute("SELECT count(*) FROM blacklist_entries").fetchone()[0]
    connection.close()
    if stored != rows:
        raise BenchmarkFailed(f"the baseline import stored {stored:,} of {rows:,} rows: some generated numbers are invalid")
    say(f"baseline import: {seconds:.2f} s")
    return seconds


def _baseline_database(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(
        "CREATE TABLE blacklist_entries (id INTEGER PRIMARY KEY, account_id INTEGER, list_id INTEGER, address TEXT,"
        " address_kind TEXT, reason TEXT, note TEXT, source TEXT, expire_at TEXT, created_at TEXT, updated_at TEXT,"
        " UNIQUE(account_id, address, list_id))"
    )
    connection.commit()
    return connection


def _valid_entries(reader: Iterator[list[str]], created_at: str) -> Iterator[tuple[int, str, str | None, str, str]]:
    """(account_id, digits, expire_at, created_at, updated_at) for each row whose number is valid; others are skipped."""
    for phone_number, expire_at in reader:
        number = phonenumbers.parse(phone_number)
        if not phonenumbers.is_valid_number(number):
            continue
        digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
        yield ACCOUNT_ID, digits, expire_at or None, created_at, created_at


def stoplist_import(server: LiveServer, client: httpx.Client, numbers_csv: Path, *, rows: int, patience: float) -> tuple[float, RssSampler, CpuUse]:
    """Upload the CSV to the import endpoint and wait for its job; seconds taken, the server's memory and CPU."""
    say("Stoplist import …")
    with RssSampler(server.pid, interval=SAMPLE_INTERVAL) as memory, CpuUse(server) as cpu:
        started = time.perf_counter()
        job_id = _start_import(server, client, numbers_csv)
        job = _wait_for_job(server, client, job_id, patience)
        seconds = time.perf_counter() - started
    _check_import_counts(job, rows)
    say(f"Stoplist import: {seconds:.2f} s, server peak RSS {memory.peak / MB:.0f} MB, {cpu.describe()}")
    return seconds, memory, cpu


def _start_import(server: LiveServer, client: httpx.Client, numbers_csv: Path) -> str:
    with numbers_csv.open("rb") as body:
        response = _call(server, f"POST {IMPORTS}", lambda: client.post(IMPORTS, content=body, headers={"Content-Type": "text/csv"}))
    job = _json_answer(server, response, f"POST {IMPORTS}", expected=202)
    if not isinstance(job, dict) or not job.get("id"):
        raise server.failure(f"POST {IMPORTS} answered 202 without a job id: {response.text[:300]}")
    return str(job["id"])


def _wait_for_job(server: LiveServer, client: httpx.Client, job_id: str, patience: float) -> dict:
    """Poll the job until it is done or failed; fail after `patience` seconds."""
    url = f"{IMPORTS}/{job_id}"
    deadline = time.monotonic() + patience
    while True:
        job = _json_answer(server, _call(server, f"GET {url}", lambda: client.get(url)), f"GET {url}", expected=200)
        status = job.get("status") if isinstance(job, dict) else None
        if status == "done":
            return job
        if status == "failed":
            raise server.failure(f"import job {job_id} failed: {job}")
        if time.monotonic() > deadline:
            raise server.failure(f"import job {job_id} had not finished after {patience:.0f} s (status {status!r})")
        server.check_alive()
        time.sleep(POLL_INTERVAL)


def _check_import_counts(job: dict, rows: int) -> None:
    expected = {"rows": rows, "added": rows, "updated": 0, "invalid": 0}
    wrong = {key: job.get(key) for key, value in expected.items() if job.get(key) != value}
    if wrong:
        got = ", ".join(f"{key}={value}" for key, value in wrong.items())
        want = ", ".join(f"{key}={value}" for key, value in expected.items())
        raise BenchmarkFailed(f"import job {job.get('id')} reported {got}; expected {want}")


def _stoplist_sqlite_file(directory: Path, numbers_csv: Path) -> Path:
    """A SQLite file like a SQLite server's after the import, for the export baseline of a run without one:
    Stoplist's schema and indexes (`stoplist migrate`), the account of `stoplist token create`, and the N entries."""
    database = Database.sqlite_file(directory / "export-baseline.db")
    env = {**os.environ, "STOPLIST_DATABASE_URL": database.url}
    with step("making a SQLite file with Stoplist's schema and the N entries, to export from"):
        for command in (["migrate"], ["token", "create"]):
            done = subprocess.run([sys.executable, "-m", "stoplist", *command], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise BenchmarkFailed(f"`stoplist {' '.join(command)}` on {database.path} exited with {done.returncode}: {done.stderr.strip()[-300:]}")
        fill.fill_list(database, numbers_csv)
    assert database.path is not None
    return database.path


def baseline_export(database: Path, destination: Path, *, rows: int) -> float:
    """Dump the account's entries with sqlite3 and csv.writer; seconds taken."""
    say("baseline export …")
    started = time.perf_counter()
    connection = sqlite3.connect(database)
    with destination.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(EXPORT_HEADER.split(","))
        writer.writerows(
            connection.execute(
                "SELECT id, address, expire_at, created_at FROM blacklist_entries WHERE account_id = ?", (ACCOUNT_ID,)
            )
        )
    connection.close()
    seconds = time.perf_counter() - started
    _check_export_file(destination, rows, "the baseline export")
    say(f"baseline export: {seconds:.2f} s")
    return seconds


def stoplist_export(server: LiveServer, client: httpx.Client, destination: Path, *, rows: int) -> tuple[float, RssSampler, CpuUse]:
    """Stream the whole list as CSV from the API into a file; seconds taken, the server's memory and CPU."""
    say("Stoplist export …")
    what = f"GET {ENTRIES} (Accept: text/csv)"
    with RssSampler(server.pid, interval=SAMPLE_INTERVAL) as memory, CpuUse(server) as cpu:
        started = time.perf_counter()
        _call(server, what, lambda: _download(server, client, destination, what))
        seconds = time.perf_counter() - started
    _check_export_file(destination, rows, "Stoplist's export")
    say(f"Stoplist export: {seconds:.2f} s, server peak RSS {memory.peak / MB:.0f} MB, {cpu.describe()}")
    return seconds, memory, cpu


def _download(server: LiveServer, client: httpx.Client, destination: Path, what: str) -> None:
    with client.stream("GET", ENTRIES, headers={"Accept": "text/csv"}) as response, destination.open("wb") as out:
        if response.status_code != 200:
            response.read()
            raise server.failure(f"{what} answered {response.status_code} (expected 200): {response.text[:300]}")
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type != "text/csv":
            raise server.failure(f"{what} answered {media_type or 'no content type'}, not text/csv")
        for chunk in response.iter_bytes():
            out.write(chunk)


def _check_export_file(path: Path, rows: int, what: str) -> None:
    """Fail unless the file starts with the export header and has rows + 1 lines."""
    with path.open("rb") as exported:
        header = exported.readline().decode(errors="replace").rstrip("\r\n")
    if header != EXPORT_HEADER:
        raise BenchmarkFailed(f"{what} starts with {header[:100]!r}, not {EXPORT_HEADER!r}")
    lines = _count_lines(path)
    if lines != rows + 1:
        raise BenchmarkFailed(f"{what} has {lines:,} lines; expected {rows + 1:,} (header + {rows:,} entries)")


def _count_lines(path: Path) -> int:
    count, last = 0, b"\n"
    with path.open("rb") as content:
        while chunk := content.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _call(server: LiveServer, what: str, request: Callable[[], Answer]) -> Answer:
    """Run one HTTP exchange, turning transport errors into a clear failure."""
    try:
        return request()
    except httpx.HTTPError as exc:
        raise server.failure(f"{what} failed: {type(exc).__name__}: {exc or 'no detail'}") from None


def _json_answer(server: LiveServer, response: httpx.Response, what: str, *, expected: int) -> object:
    """The JSON body of a `expected`-status answer, or a clear failure."""
    if response.status_code != expected:
        raise server.failure(f"{what} answered {response.status_code} (expected {expected}): {response.text[:300]}")
    try:
        return response.json()
    except ValueError:
        raise server.failure(f"{what} answered {expected} with a body that is not JSON: {response.text[:300]}") from None


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def _record_memory(row: Row, memory: RssSampler, database: str) -> None:
    row.stoplist = memory.peak / MB
    whose = "" if database == SQLITE else "Stoplist's processes only, not PostgreSQL's; "
    row.note = f"{whose}idle before: {memory.idle / MB:.0f} MB"
