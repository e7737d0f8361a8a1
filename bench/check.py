"""The send-time gate: GET and POST /blacklist/check, naming a channel and a sender, under wrk and hey, against a bare FastAPI
endpoint and bare phonenumbers.parse, on a list of N entries spread over 50 lists."""

import csv
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import phonenumbers

import fill
from databases import SQLITE, Database
from harness import AtLeastTimes, BenchmarkFailed, Config, Reported, Row, Section, percentile, say, step
from live_server import LOAD_OPTIONS, CpuUse, LiveServer

NAME = "check"
TITLE = "The send-time gate: GET and POST /blacklist/check"

HERE = Path(__file__).resolve().parent
BARE_APP = HERE / "bare_app.py"
WRK_ONE = HERE / "wrk" / "check_one.lua"
WRK_BULK = HERE / "wrk" / "check_bulk.lua"
CHECK = "/blacklist/check"

SAMPLE_LISTED = 5_000  # numbers on the list that the load asks about …
SAMPLE_UNLISTED = 5_000  # … and numbers that are not, shuffled together
BATCH = 1_000  # numbers per bulk request
ROUNDS = 3  # measured rounds of each wrk figure, alternating servers; the best one counts
SECONDS = 10  # one wrk round
WARMUP_SECONDS = 2  # an unmeasured wrk run on each server first
CONNECTIONS = 64  # wrk -c for single checks
BULK_CONNECTIONS = 8  # wrk -c for bulk checks (one worker: more would only queue)
WRK_TIMEOUT = "5s"
HEY_SECONDS = 10
HEY_WORKER_RATE = 100  # requests/s per hey worker at most; the worker count follows from the rate
VERIFY_EACH = 50  # listed and unlisted numbers checked one by one before any load
CHANNEL, SENDER = "sms", "ACME"  # what the scoped checks name
WORKERS = 2  # the rows of `stoplist serve --workers N`
# The other ways to serve measured after the default (uvicorn, one process): label, `stoplist serve` arguments.
VARIANTS = (
    (f"--workers {WORKERS}", ["--workers", str(WORKERS)]),
    ("--server granian", ["--server", "granian"]),
    (f"--server granian --workers {WORKERS}", ["--server", "granian", "--workers", str(WORKERS)]),
)
SCOPED_QUERY = f"&channel={CHANNEL}&sender={SENDER}"

METHOD = f"""\
On this machine's two cores, with nothing pinned: a `stoplist serve` (one process, one
uvicorn worker, `--no-access-log`, `STOPLIST_SERVE_WORKER=false`) on a fresh database (a SQLite
file, or a database in the run's PostgreSQL cluster: see Databases above), and beside it the
baseline server `bench/bare_app.py`: bare FastAPI with one `async def` route at the same path,
`GET {CHECK}`, returning the constant
`{{"phone_number": "48500000000", "blacklisted": false, "entry": null}}`. Both are started by
`uvicorn.run` from the same virtualenv with the same arguments (loop and http `auto`, that is
uvloop and httptools, both listed under Machine; one worker; proxy headers on; access log off).
Both run throughout; only the one under load is busy.

{fill.METHOD}

**The numbers asked about.** {SAMPLE_LISTED:,} numbers drawn at random (seeded) from the lists and
{SAMPLE_UNLISTED:,} valid numbers from the same generator with another seed that are on none,
shuffled together: {SAMPLE_LISTED + SAMPLE_UNLISTED:,} E.164 strings (`+48…`, `+44…`, … from the
12 countries), half listed. Each figure is measured twice on the same server and list: **scoped**,
the request naming `channel={CHANNEL}` and `sender={SENDER}` (8 of the 50 lists apply: both kinds of
(every, every), ({CHANNEL}, every), (every, {SENDER}) and ({CHANNEL}, {SENDER}); with the weights above
about 88% of the listed numbers sit on one of them, a few of those on allow lists, and the rest on
lists that do not apply), and **unscoped**, as SMSAPI's clients ask (no channel, no sender: only
the two lists of every channel and every sender apply). The targets are the issue's, for the
scoped rows; the unscoped rows are held to the same figures.

**Answers first.** Before any load, {VERIFY_EACH} listed and {VERIFY_EACH} unlisted numbers are
checked one by one, scoped and unscoped (status 200, the digits, `blacklisted`, `entry` the
blocking entry when it is on the default list, otherwise null, and `decision.list` the kind of the list that decided, or `decision`
null), against the list each number was put on and an independent rule (a list applies when its
channel and sender are every one or the asked one; the numbers are on one list each), every bulk
body below is posted once and each of its {BATCH:,} results compared the same way, and the baseline server's answer is checked. A wrong
answer stops the benchmark. Every wrk and hey run must end with no socket error, no timeout and
no answer of 400 or more (the wrk scripts' `done()` prints wrk's error counters, and their
`response()` keeps the first bad answer to show; hey's per-request CSV gives every status code),
or the benchmark fails.

- **Single check, requests/s.** `wrk -t1 -c{CONNECTIONS} -d{SECONDS}s --timeout {WRK_TIMEOUT}` with
  `bench/wrk/check_one.lua`: `GET {CHECK}?phone_number=%2B48…{SCOPED_QUERY}` (scoped; without
  the last two parameters, unscoped) with `Authorization: Bearer <a real token>`, cycling through the {SAMPLE_LISTED + SAMPLE_UNLISTED:,} numbers ('+' URL-encoded).
  The baseline server gets plain `wrk -t1 -c{CONNECTIONS} -d{SECONDS}s --timeout {WRK_TIMEOUT} http://…{CHECK}`, no
  script (wrk's Lua costs the load generator CPU that the two cores share, so the baseline runs
  as fast as it can; its answer is the same whatever is asked). After a {WARMUP_SECONDS} s unmeasured
  run on each, {ROUNDS} rounds of (baseline, Stoplist scoped, Stoplist unscoped); requests/s = wrk's requests ÷ its
  duration. The table shows the **best** round of each (noise from other work on the machine
  only ever lowers a rate), the others in the progress output.
- **Single check, latency.** At half of Stoplist's best requests/s above, for **both** servers
  at that **same** rate (baseline first, one {HEY_SECONDS} s run each): two `hey -z {HEY_SECONDS}s -c C -q Q
  -o csv` at once with the same bearer header, one asking about a listed number and one about
  an unlisted one, both scoped (the same two throughout, so their pages stay in the database's cache); each has C = ⌈rate ÷ 2 ÷ {HEY_WORKER_RATE}⌉ workers at Q = rate ÷ 2 ÷ C requests/s,
  so C × Q over both is the rate (the table's note gives C and Q). p50 and p99 are taken over
  every request of both runs (nearest rank). hey prints times to 0.1 ms, so the percentiles
  (and their ratio) are only that fine.
- **Bulk check, numbers/s.** `POST {CHECK}` with `{{"phone_numbers": [...], "channel": "{CHANNEL}", "sender": "{SENDER}"}}`
  (unscoped: without the last two keys): the
  {SAMPLE_LISTED + SAMPLE_UNLISTED:,} numbers cut into {(SAMPLE_LISTED + SAMPLE_UNLISTED) // BATCH} bodies of
  {BATCH:,} E.164 strings (about half listed each), sent in turn by `wrk -t1 -c{BULK_CONNECTIONS}
  -d{SECONDS}s` with `bench/wrk/check_bulk.lua`; numbers/s = requests × {BATCH:,} ÷ duration. The
  baseline: in this benchmark's own Python process, `phonenumbers.parse(s)` over the same
  {SAMPLE_LISTED + SAMPLE_UNLISTED:,} strings, pass after pass for {SECONDS} s (whole passes; one
  unmeasured pass first), as long as a wrk round so that both meet the same noise; numbers/s =
  parses ÷ time. After a {WARMUP_SECONDS} s unmeasured wrk run, {ROUNDS} rounds of (baseline,
  Stoplist scoped, Stoplist unscoped) alternate; the best of each counts.

Load comes from wrk and hey over loopback (127.0.0.1) on the same two cores: the client's CPU
is not the server's, but they share the machine with each other and with any other work on
it (see Machine). Progress output shows, for each wrk round, the CPU the server and wrk used
and the rate per server CPU-second, and for each parse round the CPU it got: a server or a
baseline that got much less than a whole core was slowed by something else. The table's notes
on the two rate rows give the same comparison per CPU-second: the work of all rounds divided by
the CPU time the server process (for the parse baseline: the benchmark's own process) used
meanwhile, read with psutil and `time.process_time`. It is not what the targets judge; it is
about what each number costs in CPU, which other work on the machine takes much less away from.
Stoplist may use both cores, the baseline uses one: on SQLite a bulk check's probes run on a
thread of their own beside the event loop (up to about 1.5 cores for the server), and on
PostgreSQL in its backends. On PostgreSQL the server's CPU leaves out the CPU of
PostgreSQL's own processes (its backends do the lookups), read with psutil from the cluster's
postmaster and its children: the progress output gives it for each wrk round, and the notes on
the rate rows give it per 1,000 requests (numbers) of all rounds, beside the server's own.
The targets (issue 27): single checks at least 1.5× the baseline's requests/s on SQLite and 1.0× on
PostgreSQL, one worker each; bulk checks at least 4× the parse baseline's numbers/s on both.

**Other ways to serve.** Then the server stops and each of {", ".join(f"`stoplist serve {label}`" for label, _args in VARIANTS)}
in turn starts in its place (same options, same database and list, a token of its own): its
answers are checked as above (scoped), and its scoped single and bulk rates measured the same way
({ROUNDS} rounds after a warm-up, the best counting), against the **same** baselines measured before
(the bare endpoint: one uvicorn process with its defaults; parse: one Python process). granian
with one worker has the one-worker targets; the rows of two workers have none (issue 27 asks for
them beside the others), and the server's CPU in their notes is that of the supervisor and both
workers (granian's: of its main process and workers, Rust threads included). With two cores
shared by wrk, the workers and (on PostgreSQL) its backends, two workers show what a second
process buys on this machine, not what it would on one with cores to spare.
"""


@dataclass(frozen=True)
class Sample:
    """The numbers the load asks about, E.164, with the list each is on (None: on none)."""

    numbers: list[str]
    lists: dict[str, fill.Scope | None]

    def batches(self) -> list[list[str]]:
        return [self.numbers[i : i + BATCH] for i in range(0, len(self.numbers), BATCH)]

    def decision(self, number: str, channel: str, sender: str) -> str | None:
        """The kind of the list that decides a check of `number` for (channel, sender), or None: one list per number."""
        scope = self.lists[number]
        return scope.kind if scope is not None and scope.applies(channel, sender) else None

    def listed(self, number: str) -> bool:
        return self.lists[number] is not None

    def mix(self, channel: str, sender: str) -> dict[str | None, int]:
        """How many of the numbers each kind of decision (None: none) answers."""
        counts: dict[str | None, int] = {}
        for number in self.numbers:
            decision = self.decision(number, channel, sender)
            counts[decision] = counts.get(decision, 0) + 1
        return counts


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    server_cpu: float  # seconds of CPU the server used during the run
    per_request: int = 1  # numbers a request
    database_cpu: float = 0.0  # seconds of CPU PostgreSQL's processes used (0 on SQLite: it runs in the server)

    @property
    def rate(self) -> float:
        """Numbers (single check: requests) a second."""
        return self.work / self.seconds

    @property
    def work(self) -> int:
        return self.requests * self.per_request

    @property
    def cpu(self) -> float:
        return self.server_cpu


@dataclass(frozen=True)
class ParseResult:
    work: int  # parses
    seconds: float
    cpu: float  # seconds of CPU this process used meanwhile

    @property
    def rate(self) -> float:
        return self.work / self.seconds


class BareServer(LiveServer):
    """bench/bare_app.py, managed like `stoplist serve` (its log in the directory given)."""

    def command(self) -> list[str]:
        return [sys.executable, str(BARE_APP), "--host", "127.0.0.1", "--port", str(self.port)]


SINGLE_TARGET = {"sqlite": 1.5, "postgresql": 1.0}  # single check requests/s, times the bare endpoint's, one worker (issue 27)
BULK_TARGET = 4.0  # bulk numbers/s, times bare phonenumbers.parse's (issue 27)


def measure(config: Config, section: Section, database: str) -> None:
    """Fill the list, check the answers, then measure single checks, their latency and bulk checks."""
    lists = f"list of {config.rows:,} over {len(fill.SPREAD)} lists"
    rate = section.add(Row("check", f"GET {CHECK}?…{SCOPED_QUERY}, {lists}: requests/s (wrk -c{CONNECTIONS}, best of {ROUNDS})", "req/s",
                           AtLeastTimes(SINGLE_TARGET[database]), decimals=0))
    rate_unscoped = section.add(Row("check", "the same, unscoped (no channel, no sender)", "req/s",
                                    AtLeastTimes(SINGLE_TARGET[database]), decimals=0))
    p50 = section.add(Row("check", "p50 latency, scoped, at half of Stoplist's max rate", "ms", Reported(), decimals=1))
    p99 = section.add(Row("check", "p99 latency, scoped, at half of Stoplist's max rate", "ms", Reported(), decimals=1))
    bulk = section.add(Row("bulk check", f"POST {CHECK} naming channel and sender, {lists}, {BATCH:,} E.164 numbers a request:"
                           f" numbers/s (best of {ROUNDS})", "numbers/s", AtLeastTimes(BULK_TARGET), decimals=0))
    bulk_unscoped = section.add(Row("bulk check", "the same, unscoped", "numbers/s", AtLeastTimes(BULK_TARGET), decimals=0))
    variants = [
        VariantRows(
            label, args,
            single=section.add(Row("check", f"single check, scoped, `stoplist serve {label}`: requests/s (best of {ROUNDS})", "req/s",
                                   Reported() if "--workers" in args else AtLeastTimes(SINGLE_TARGET[database]), decimals=0)),
            bulk=section.add(Row("bulk check", f"bulk check, scoped, `stoplist serve {label}`: numbers/s (best of {ROUNDS})", "numbers/s",
                                 Reported() if "--workers" in args else AtLeastTimes(BULK_TARGET), decimals=0)),
        )
        for label, args in VARIANTS
    ]
    tools = {tool: shutil.which(tool) for tool in ("wrk", "hey")}
    missing = [tool for tool, path in tools.items() if path is None]
    if missing:
        raise BenchmarkFailed(f"{' and '.join(missing)} not found on PATH (Debian: apt-get install {' '.join(missing)})")

    numbers_csv = config.numbers_csv()
    directory = config.directory(f"{NAME}-{database}")
    (directory / "bare").mkdir()
    with BareServer.running(directory / "bare") as bare:
        _verify_bare(bare)
        if config.baseline_only:
            sample = _sample_without_list(numbers_csv, config.seed)
            files = _write_load_files(directory, sample)
            _wrk_plain(bare, WARMUP_SECONDS, "warm-up baseline")
            rate.baseline = rate_unscoped.baseline = max(_wrk_plain(bare, SECONDS, "baseline").rate for _ in range(ROUNDS))
            bulk.baseline = bulk_unscoped.baseline = max(_parse_rate(sample.numbers).rate for _ in range(ROUNDS))
            for variant in variants:
                variant.single.baseline, variant.bulk.baseline = rate.baseline, bulk.baseline
            say("--baseline-only: latency needs Stoplist's rate; not measured")
            return
        store = config.fresh_database(database, NAME, directory)
        try:
            with LiveServer.running(directory, database=store, **LOAD_OPTIONS) as server:
                token = server.create_token()
                sample = _fill_list(server.database, numbers_csv, config.seed)
                files = _write_load_files(directory, sample)
                for channel, sender in ((CHANNEL, SENDER), ("", "")):
                    _verify_stoplist(server, token, sample, channel, sender)
                bare_runs = _measure_single(bare, server, token, files, rate, rate_unscoped)
                _measure_latency(bare, server, token, sample, rate.stoplist / 2, p50, p99)
                parse_runs = _measure_bulk(server, token, files, sample, bulk, bulk_unscoped)
                mix = sample.mix(CHANNEL, SENDER)
                rate.note = _join(f"decisions in the sample, scoped: block {mix.get('block', 0):,}, allow {mix.get('allow', 0):,},"
                                  f" none {mix.get(None, 0):,}", rate.note)
            for index, variant in enumerate(variants):
                (directory / f"variant-{index}").mkdir()
                options = {**LOAD_OPTIONS, "serve_args": [*LOAD_OPTIONS["serve_args"], *variant.args]}
                with LiveServer.running(directory / f"variant-{index}", database=store, **options) as server:
                    token = server.create_token()
                    _verify_stoplist(server, token, sample, CHANNEL, SENDER)
                    _measure_variant(server, token, files, bare_runs, parse_runs, variant)
        finally:
            config.release_database(store)


# --- the list and the numbers -------------------------------------------------------------------


def _fill_list(database: Database, numbers_csv: Path, seed: int) -> Sample:
    """Spread every number of the CSV over the default account's 50 lists; the sample to ask about."""
    rows = fill.count_rows(numbers_csv)
    picked = set(random.Random(seed).sample(range(rows), min(SAMPLE_LISTED, rows)))
    listed = fill.fill_lists(database, numbers_csv, picked=picked, seed=seed)
    sample = _shuffled(listed, fill.unlisted_numbers(database, seed, SAMPLE_UNLISTED), seed)
    mix = sample.mix(CHANNEL, SENDER)
    if not (mix.get("block") and mix.get("allow")) or sum(1 for n in sample.numbers if sample.listed(n) and not sample.decision(n, CHANNEL, SENDER)) == 0:
        raise BenchmarkFailed(f"the sample misses a kind of scoped answer (block, allow, listed elsewhere): {mix}; use more --rows")
    return sample


def _sample_without_list(numbers_csv: Path, seed: int) -> Sample:
    """For --baseline-only: the same draw from the CSV, without a database (the unlisted ones unchecked)."""
    rows = fill.count_rows(numbers_csv)
    picked = set(random.Random(seed).sample(range(rows), min(SAMPLE_LISTED, rows)))
    return _shuffled(fill.numbers_at(numbers_csv, picked, seed=seed), fill.unlisted_numbers(None, seed, SAMPLE_UNLISTED), seed)


def _shuffled(listed: list[tuple[str, fill.Scope]], unlisted: list[str], seed: int) -> Sample:
    numbers = [e164 for e164, _ in listed] + unlisted
    random.Random(seed).shuffle(numbers)
    return Sample(numbers=numbers, lists={**{n: None for n in unlisted}, **dict(listed)})


@dataclass(frozen=True)
class LoadFiles:
    numbers: Path  # one E.164 number a line, for check_one.lua
    bodies: Path  # one JSON body a line, naming the channel and the sender, for check_bulk.lua
    bodies_unscoped: Path  # the same bodies without them


def _write_load_files(directory: Path, sample: Sample) -> LoadFiles:
    files = LoadFiles(numbers=directory / "numbers.txt", bodies=directory / "bodies.jsonl", bodies_unscoped=directory / "bodies-unscoped.jsonl")
    files.numbers.write_text("".join(f"{number}\n" for number in sample.numbers))
    files.bodies.write_text("".join(json.dumps({"phone_numbers": batch, "channel": CHANNEL, "sender": SENDER}) + "\n" for batch in sample.batches()))
    files.bodies_unscoped.write_text("".join(json.dumps({"phone_numbers": batch}) + "\n" for batch in sample.batches()))
    return files


def _scope_params(channel: str, sender: str) -> dict[str, str]:
    return {"channel": channel, "sender": sender} if channel or sender else {}


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


# --- answers before any load --------------------------------------------------------------------


def _verify_bare(bare: LiveServer) -> None:
    response = httpx.get(f"{bare.base_url}{CHECK}", params={"phone_number": "+48500000000"}, timeout=10)
    if response.status_code != 200 or response.json() != {"phone_number": "48500000000", "blacklisted": False, "entry": None}:
        raise bare.failure(f"the baseline server answered {response.status_code}: {response.text[:200]}")


def _verify_stoplist(server: LiveServer, token: str, sample: Sample, channel: str, sender: str) -> None:
    """Fail unless single and bulk checks for (channel, sender) answer right for listed and unlisted numbers."""
    listed = [n for n in sample.numbers if sample.listed(n)][:VERIFY_EACH]
    unlisted = [n for n in sample.numbers if not sample.listed(n)][:VERIFY_EACH]
    scope = _scope_params(channel, sender)
    label = f"channel {channel!r}, sender {sender!r}"
    with step(f"checking {len(listed) + len(unlisted)} single and {len(sample.numbers):,} bulk answers ({label})"), \
            server.client(token, timeout=30) as client:
        for number in listed + unlisted:
            response = client.get(CHECK, params={"phone_number": number, **scope})
            if response.status_code != 200:
                raise server.failure(f"GET {CHECK}?phone_number={number} ({label}) answered {response.status_code}: {response.text[:200]}")
            answer = response.json()
            kind = sample.decision(number, channel, sender)
            blocked = kind == "block"
            # SMSAPI's `entry` is the blocking entry when it is on the default list (one SMSAPI's routes show).
            on_default = blocked and sample.lists[number] == fill.Scope("block", "", "")
            entry, decision = answer.get("entry"), answer.get("decision")
            right = (answer.get("phone_number") == number[1:] and answer.get("blacklisted") is blocked
                     and (isinstance(entry, dict) and entry.get("phone_number") == number[1:] if on_default else entry is None)
                     and (decision is None if kind is None else isinstance(decision, dict) and decision.get("list") == kind))
            if not right:
                raise server.failure(f"wrong answer for {number} ({label}; on {_on(sample, number)}, expected decision {kind}): {response.text[:300]}")
        for batch in sample.batches():
            response = client.post(CHECK, json={"phone_numbers": batch, **scope})
            if response.status_code != 200:
                raise server.failure(f"POST {CHECK} ({label}) answered {response.status_code}: {response.text[:200]}")
            results = response.json().get("results")
            if not isinstance(results, list) or len(results) != len(batch):
                raise server.failure(f"POST {CHECK} of {len(batch)} numbers answered {response.text[:200]}")
            for number, result in zip(batch, results):
                kind = sample.decision(number, channel, sender)
                wanted = {"input": number, "phone_number": number[1:], "valid": True, "blacklisted": kind == "block"}
                decision = result.get("decision") if isinstance(result, dict) else None
                if ({key: result.get(key) for key in wanted} != wanted
                        or (decision is not None if kind is None else not isinstance(decision, dict) or decision.get("list") != kind)):
                    raise server.failure(f"POST {CHECK} ({label}): wrong result {result} for {number} (on {_on(sample, number)}; expected {wanted},"
                                         f" decision {kind})")


def _on(sample: Sample, number: str) -> str:
    scope = sample.lists[number]
    return "no list" if scope is None else f"list {scope.label()}"


# --- single checks ------------------------------------------------------------------------------


def _measure_single(bare: LiveServer, server: LiveServer, token: str, files: LoadFiles, row: Row, unscoped: Row) -> list[WrkResult]:
    """Best requests/s of the baseline and of Stoplist, scoped and unscoped, into the rows; the baseline's runs."""
    _wrk_plain(bare, WARMUP_SECONDS, "warm-up baseline")
    _warm_up(server, token, files, "Stoplist scoped", SCOPED_QUERY)
    _warm_up(server, token, files, "Stoplist unscoped")
    bare_runs: list[WrkResult] = []
    runs: dict[str, list[WrkResult]] = {SCOPED_QUERY: [], "": []}
    for round_ in range(1, ROUNDS + 1):
        bare_runs.append(_wrk_plain(bare, SECONDS, f"round {round_}/{ROUNDS} baseline"))
        for query, what in ((SCOPED_QUERY, "scoped"), ("", "unscoped")):
            runs[query].append(_wrk_one(server, token, files, f"round {round_}/{ROUNDS} Stoplist {what}", query))
    for target, query, what in ((row, SCOPED_QUERY, "scoped"), (unscoped, "", "unscoped")):
        stoplist_runs = runs[query]
        target.baseline, target.stoplist = max(run.rate for run in bare_runs), max(run.rate for run in stoplist_runs)
        target.note = _per_cpu_note(_per_cpu(stoplist_runs), _per_cpu(bare_runs), "server ") + _database_note(server, stoplist_runs, 1, "request")
        say(f"single check req/s ({what}), baseline {_rates(run.rate for run in bare_runs)}; Stoplist {_rates(run.rate for run in stoplist_runs)};"
            f" best ratio {target.stoplist / target.baseline:.2f}; {target.note}")
    return bare_runs


def _warm_up(server: LiveServer, token: str, files: LoadFiles, label: str, query: str = "") -> None:
    _wrk(server, token, WRK_ONE, [files.numbers, query], CONNECTIONS, WARMUP_SECONDS, f"warm-up {label}")


def _wrk_one(server: LiveServer, token: str, files: LoadFiles, label: str, query: str = "") -> WrkResult:
    return _wrk(server, token, WRK_ONE, [files.numbers, query], CONNECTIONS, SECONDS, label)


def _wrk(server: LiveServer, token: str, script: Path, data: Sequence[Path | str], connections: int, seconds: int, label: str,
         per_request: int = 1) -> WrkResult:
    """Run wrk against `server` with the script's arguments `data`; fail on any error it counts. Requests, seconds and CPU used."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT, "-s", str(script),
               "-H", f"Authorization: Bearer {token}", server.base_url, "--", *(str(arg) for arg in data if str(arg))]
    server.check_alive()
    children_before = _children_cpu()
    with CpuUse(server) as cpu:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    client_cpu = _children_cpu() - children_before
    server_cpu, database_cpu = cpu.server, cpu.database
    server.check_alive()
    report = _wrk_report(done, label)
    errors = {name: count for name, count in report["errors"].items() if count}
    if errors or report["requests"] == 0:
        counts = ", ".join(f"{name} {count:,}" for name, count in errors.items()) or "no requests at all"
        first = f"; the first bad answer: {report['first_error']}" if report.get("first_error") else ""
        raise server.failure(f"wrk ({label}) saw errors: {counts} of {report['requests']:,} requests"
                             f" (status: answers of 400 or more; read/write/connect: socket errors){first}")
    result = WrkResult(requests=report["requests"], seconds=report["duration_us"] / 1e6, server_cpu=server_cpu,
                       per_request=per_request, database_cpu=database_cpu)
    unit = "numbers" if per_request > 1 else "requests"
    postgres = f", PostgreSQL {database_cpu / result.seconds:.0%}" if server.database.kind != SQLITE else ""
    say(f"{label}: {result.rate:,.0f} {unit}/s ({result.requests:,} requests in {result.seconds:.1f} s;"
        f" CPU: server {server_cpu / result.seconds:.0%}{postgres}, wrk {client_cpu / result.seconds:.0%} of a core;"
        f" {result.work / max(server_cpu, 1e-9):,.0f} {unit} per server CPU-second)")
    return result


def _wrk_plain(server: LiveServer, seconds: int, label: str) -> WrkResult:
    """Plain wrk, no script, on the check's address: the baseline's requests, seconds and CPU; fail on any error it counts."""
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", WRK_TIMEOUT, f"{server.base_url}{CHECK}"]
    server.check_alive()
    children_before = _children_cpu()
    with CpuUse(server) as cpu:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    client_cpu = _children_cpu() - children_before
    server.check_alive()
    requests, duration = _PLAIN_REQUESTS.search(done.stdout), _PLAIN_RATE.search(done.stdout)
    if done.returncode != 0 or requests is None or duration is None:
        raise BenchmarkFailed(f"wrk ({label}) exited with {done.returncode} and no figures: {(done.stderr.strip() or done.stdout.strip())[-500:]}")
    errors = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(("Socket errors", "Non-2xx"))]
    if errors:
        raise server.failure(f"wrk ({label}) saw errors: {'; '.join(errors)}")
    count = int(requests.group(1))
    result = WrkResult(requests=count, seconds=count / float(duration.group(1)), server_cpu=cpu.server)
    say(f"{label}: {result.rate:,.0f} requests/s ({count:,} requests in {result.seconds:.1f} s; CPU: server {cpu.server / result.seconds:.0%},"
        f" wrk {client_cpu / result.seconds:.0%} of a core; {result.work / max(cpu.server, 1e-9):,.0f} requests per server CPU-second)")
    return result


_PLAIN_REQUESTS = re.compile(r"^\s*(\d+) requests in ", re.MULTILINE)
_PLAIN_RATE = re.compile(r"^Requests/sec:\s*([\d.]+)", re.MULTILINE)


def _wrk_report(done: subprocess.CompletedProcess, label: str) -> dict:
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH-JSON ")]
    if done.returncode != 0 or not lines:
        output = (done.stderr.strip() or done.stdout.strip())[-500:] or "no output"
        raise BenchmarkFailed(f"wrk ({label}) exited with {done.returncode} and no report: {output}")
    return json.loads(lines[-1].removeprefix("BENCH-JSON "))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _rates(rates: Iterable[float]) -> str:
    return " / ".join(f"{rate:,.0f}" for rate in rates)


def _per_cpu(runs: Sequence["WrkResult | ParseResult"]) -> float:
    """Work done per CPU-second over all the rounds: a rate that other work on the machine barely moves."""
    return sum(run.work for run in runs) / sum(run.cpu for run in runs)


def _per_cpu_note(stoplist: float, baseline: float, whose: str) -> str:
    return f"per {whose}CPU-second, all rounds: {stoplist:,.0f} vs {baseline:,.0f} = {stoplist / baseline:.2f}×"


def _database_note(server: LiveServer, runs: Sequence[WrkResult], per: int, what: str) -> str:
    """On PostgreSQL: the CPU the server and PostgreSQL's processes spent per `per` units of work, over all rounds."""
    if server.database.kind == SQLITE:
        return ""
    work = sum(run.work for run in runs) / per
    server_ms = sum(run.server_cpu for run in runs) * 1000 / work
    database_ms = sum(run.database_cpu for run in runs) * 1000 / work
    return f"; CPU per {what}: server {server_ms:.3g} ms + PostgreSQL {database_ms:.3g} ms"


# --- latency at half load -----------------------------------------------------------------------


def _measure_latency(bare: LiveServer, server: LiveServer, token: str, sample: Sample, rate: float, p50: Row, p99: Row) -> None:
    """p50 and p99 of single checks with both servers at `rate` requests/s, from hey."""
    listed = next(n for n in sample.numbers if sample.decision(n, CHANNEL, SENDER) == "block")
    unlisted = next(n for n in sample.numbers if not sample.listed(n))
    workers = max(1, -(-int(rate / 2) // HEY_WORKER_RATE))  # per hey process
    per_worker = rate / 2 / workers
    p50.note = p99.note = (f"both servers at {rate:,.0f} req/s: 2 hey × {workers} workers × {per_worker:.1f} req/s,"
                           " one on a blocked number, one on an unlisted, both scoped")
    bare_times = _hey(bare, token, (listed, unlisted), workers, per_worker, "baseline")
    stoplist_times = _hey(server, token, (listed, unlisted), workers, per_worker, "Stoplist")
    p50.baseline, p99.baseline = percentile(bare_times, 50), percentile(bare_times, 99)
    p50.stoplist, p99.stoplist = percentile(stoplist_times, 50), percentile(stoplist_times, 99)


def _hey(server: LiveServer, token: str, numbers: Sequence[str], workers: int, per_worker: float, label: str) -> list[float]:
    """Response times in ms of two hey runs at once, one per number; fail unless every answer is 200."""
    server.check_alive()
    commands = [["hey", "-z", f"{HEY_SECONDS}s", "-c", str(workers), "-q", f"{per_worker:.3f}", "-o", "csv",
                 "-H", f"Authorization: Bearer {token}", f"{server.base_url}{CHECK}?phone_number={number.replace('+', '%2B')}{SCOPED_QUERY}"]
                for number in numbers]
    say(f"hey {label}: {len(commands)} × {workers} workers × {per_worker:.1f} req/s for {HEY_SECONDS} s …")
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for command in commands]
    try:
        outputs = [process.communicate(timeout=HEY_SECONDS + 60) for process in processes]
    finally:
        for process in processes:  # only if the wait above failed: never leave a load generator behind
            if process.poll() is None:
                process.kill()
                process.wait()
    server.check_alive()
    times: list[float] = []
    statuses: dict[str, int] = {}
    for process, (stdout, stderr) in zip(processes, outputs):
        if process.returncode != 0:
            raise BenchmarkFailed(f"hey ({label}) exited with {process.returncode}: {(stderr.strip() or stdout.strip())[-300:]}")
        reader = csv.reader(stdout.splitlines())
        header = next(reader, None)
        if not header or header[0] != "response-time" or "status-code" not in header:
            raise BenchmarkFailed(f"hey ({label}) printed no per-request CSV: {(stdout.strip() or stderr.strip())[:300]}")
        status_column = header.index("status-code")
        for record in reader:
            times.append(float(record[0]) * 1000)
            statuses[record[status_column]] = statuses.get(record[status_column], 0) + 1
    wrong = {status: count for status, count in statuses.items() if status != "200"}
    expected = len(numbers) * workers * per_worker * HEY_SECONDS
    if wrong or not times:
        raise server.failure(f"hey ({label}): answers other than 200: {wrong or 'no answers at all'}")
    if len(times) < 0.9 * expected:
        say(f"warning: hey ({label}) made {len(times):,} requests, fewer than the {expected:,.0f} asked for: the server fell behind")
    say(f"hey {label}: {len(times):,} requests ({len(times) / HEY_SECONDS:,.0f}/s), p50 {percentile(times, 50):.1f} ms,"
        f" p99 {percentile(times, 99):.1f} ms, max {max(times):.1f} ms")
    return times


# --- bulk checks --------------------------------------------------------------------------------


def _measure_bulk(server: LiveServer, token: str, files: LoadFiles, sample: Sample, row: Row, unscoped: Row) -> list[ParseResult]:
    """Best numbers/s of bare parsing and of Stoplist's bulk check, scoped and unscoped, into the rows; the parse runs."""
    bodies = {"scoped": files.bodies, "unscoped": files.bodies_unscoped}
    for what, path in bodies.items():
        _wrk(server, token, WRK_BULK, [path], BULK_CONNECTIONS, WARMUP_SECONDS, f"warm-up bulk {what}", per_request=BATCH)
    parse_runs: list[ParseResult] = []
    runs: dict[str, list[WrkResult]] = {what: [] for what in bodies}
    for round_ in range(1, ROUNDS + 1):
        parse_runs.append(_parse_rate(sample.numbers, f"round {round_}/{ROUNDS} phonenumbers.parse"))
        for what, path in bodies.items():
            runs[what].append(_wrk(server, token, WRK_BULK, [path], BULK_CONNECTIONS, SECONDS, f"round {round_}/{ROUNDS} Stoplist bulk {what}",
                                   per_request=BATCH))
    for target, what in ((row, "scoped"), (unscoped, "unscoped")):
        stoplist_runs = runs[what]
        target.baseline, target.stoplist = max(run.rate for run in parse_runs), max(run.rate for run in stoplist_runs)
        target.note = ("baseline: phonenumbers.parse in one process; " + _per_cpu_note(_per_cpu(stoplist_runs), _per_cpu(parse_runs), "")
                       + _database_note(server, stoplist_runs, 1000, "1,000 numbers"))
        say(f"bulk numbers/s ({what}), phonenumbers.parse {_rates(run.rate for run in parse_runs)}; Stoplist {_rates(run.rate for run in stoplist_runs)};"
            f" best ratio {target.stoplist / target.baseline:.2f}; {target.note}")
    return parse_runs


# --- several workers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantRows:
    """The rows of one other way to serve (VARIANTS), each against the default server's baseline."""

    label: str
    args: list[str]
    single: Row
    bulk: Row


def _measure_variant(server: LiveServer, token: str, files: LoadFiles, bare_runs: list[WrkResult], parse_runs: list[ParseResult],
                     rows: VariantRows) -> None:
    """Scoped single and bulk rates of the server started as `rows` says, against the baselines' runs measured before."""
    _warm_up(server, token, files, f"Stoplist {rows.label}", SCOPED_QUERY)
    _wrk(server, token, WRK_BULK, [files.bodies], BULK_CONNECTIONS, WARMUP_SECONDS, f"warm-up bulk {rows.label}", per_request=BATCH)
    single: list[WrkResult] = []
    bulk: list[WrkResult] = []
    for round_ in range(1, ROUNDS + 1):
        single.append(_wrk_one(server, token, files, f"round {round_}/{ROUNDS} Stoplist {rows.label}", SCOPED_QUERY))
        bulk.append(_wrk(server, token, WRK_BULK, [files.bodies], BULK_CONNECTIONS, SECONDS, f"round {round_}/{ROUNDS} Stoplist {rows.label} bulk",
                         per_request=BATCH))
    for target, runs, baseline, whose, per, unit in (
        (rows.single, single, bare_runs, "server ", 1, "request"),
        (rows.bulk, bulk, parse_runs, "", 1000, "1,000 numbers"),
    ):
        target.baseline, target.stoplist = max(run.rate for run in baseline), max(run.rate for run in runs)
        target.note = _per_cpu_note(_per_cpu(runs), _per_cpu(baseline), whose) + _database_note(server, runs, per, unit)
        say(f"{rows.label}: {target.measure}: {_rates(run.rate for run in runs)}; best ratio {target.stoplist / target.baseline:.2f}; {target.note}")


def _parse_rate(numbers: list[str], label: str = "phonenumbers.parse") -> ParseResult:
    """Bare `phonenumbers.parse(s)` over `numbers`, pass after pass for SECONDS, in this process."""
    parse = phonenumbers.parse
    for number in numbers:  # warm phonenumbers' metadata and regex caches
        parse(number)
    parses = 0
    cpu_started, started = time.process_time(), time.perf_counter()
    while (seconds := time.perf_counter() - started) < SECONDS:  # whole passes, as long as a wrk round
        for number in numbers:
            parse(number)
        parses += len(numbers)
    result = ParseResult(work=parses, seconds=seconds, cpu=time.process_time() - cpu_started)
    say(f"{label}: {result.rate:,.0f} numbers/s ({parses:,} parses in {seconds:.1f} s; CPU {result.cpu / seconds:.0%} of a core,"
        f" {parses / result.cpu:,.0f} numbers per CPU-second)")
    return result
