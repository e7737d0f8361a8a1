"""The check before and after a change: single and bulk checks of this checkout's code against a reference commit's,
both servers running in the same run, their wrk rounds alternating (issue 26, point 6)."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import check
import fill
from check import BATCH, BULK_CONNECTIONS, CHANNEL, CHECK, CONNECTIONS, SCOPED_QUERY, WARMUP_SECONDS, WRK_BULK, WRK_ONE, WrkResult
from databases import Database
from harness import AtLeastTimes, BenchmarkFailed, Config, Row, Section, say, step
from live_server import LOAD_OPTIONS, LiveServer

NAME = "check-ab"
TITLE = "The check against an earlier commit: GET and POST /blacklist/check, current code and reference"

ROOT = Path(__file__).resolve().parents[1]
# The reference when neither --against nor BENCH_AGAINST names one: main's last commit before issue 26
# (accounts, subusers, scopes) is merged, as of 2026-12-06 10:05 UTC. Should main move again first, the exact
# reference is the merge's first parent: --against <the merge of issue 26>^1.
REFERENCE = "79567b79177a201a9a37ff0dd1545a1b8adfcb54"
AGAINST_ENV = "BENCH_AGAINST"
SECONDS_ENV = "BENCH_AB_SECONDS"  # a shorter wrk round while developing; the doc's figures use the default
ROUNDS = 5  # measured rounds on each server, alternating; more than check.py's 3, for a 5% target on a shared machine
TARGET = 0.95  # the current code's rates, times the reference's (issue 26: within 5%)


def round_seconds() -> int:
    """One measured wrk round: check.py's, unless BENCH_AB_SECONDS says otherwise."""
    text = os.environ.get(SECONDS_ENV, "")
    if not text:
        return check.SECONDS
    if not text.isdigit() or int(text) < 1:
        raise BenchmarkFailed(f"{SECONDS_ENV} must be a whole number of seconds, at least 1; got {text!r}")
    return int(text)


METHOD = f"""\
The same two measures as the check benchmark's scoped rows, taken on two builds of Stoplist in
the same run: the **current** code (the checkout `bench/run.py` runs from) and a **reference**
commit, `--against REV` (default: the environment variable `{AGAINST_ENV}`, else `{REFERENCE[:7]}`,
main's last commit before issue 26, the constant `REFERENCE` in `bench/check_ab.py`). The
reference is checked out with `git worktree add --detach` in the run's temporary directory
(removed after), and both servers are started as `stoplist serve` (one process, one uvicorn worker,
`--no-access-log`, `STOPLIST_SERVE_WORKER=false`) from the same virtualenv, each with
`PYTHONPATH=<its checkout>/src` first, so that `python -m stoplist` imports that checkout's code:
before starting, the benchmark asks the same interpreter with the same environment where it finds
`stoplist` and fails unless it is that checkout's `src`. Each server has a database of its own (a
SQLite file each, or a database each in the run's PostgreSQL cluster), migrated by its own code
(`stoplist migrate` with the same `PYTHONPATH`; the benchmark checks that the database stands at
that code's head revision), its token made by its own `stoplist token create`, and its lists
filled the same way (below; the entries and lists tables are the same on both sides of issue 26).
Both run throughout; only the one under load is busy.

{fill.METHOD}

**The numbers asked about**, **answers first**, and the load are the check benchmark's (above):
the same {check.SAMPLE_LISTED + check.SAMPLE_UNLISTED:,} numbers, half listed, asked about on
both servers, scoped (`channel={CHANNEL}`, `sender={check.SENDER}`), with the same single and bulk
answers verified on each server before any load.

- **Single check, requests/s.** `wrk -t1 -c{CONNECTIONS} -d{check.SECONDS}s` with
  `bench/wrk/check_one.lua`, `GET {CHECK}?phone_number=%2B48…{SCOPED_QUERY}`.
- **Bulk check, numbers/s.** `wrk -t1 -c{BULK_CONNECTIONS} -d{check.SECONDS}s` with
  `bench/wrk/check_bulk.lua`, `POST {CHECK}` of {BATCH:,} E.164 numbers naming the channel
  and the sender.

After a {WARMUP_SECONDS} s unmeasured run on each server, {ROUNDS} rounds alternate between the two,
the order swapped every round (current then reference, reference then current, …) so that
neither always runs first; the **best** round of each counts (noise from other work only ever
lowers a rate), all of them in the progress output. The notes give the work per server
CPU-second over all rounds, current vs reference, and their ratio: what a check costs, which
other work on the machine moves much less than the rate; on PostgreSQL also the CPU the server
and PostgreSQL's processes spent per request (per 1,000 numbers), for each. The table's
Stoplist column is the current code, its Baseline column the reference; the target (issue 26,
point 6): the current code's rates at least {TARGET:g}× the reference's. With `--against HEAD`
on a clean checkout both servers run the same code, and the ratios show the method's own spread
on this machine.
"""


@dataclass(frozen=True)
class Code:
    """One build of Stoplist: a checkout whose `src` goes first on PYTHONPATH."""

    label: str  # "current" or "reference"
    commit: str  # what the table names: a short hash, "+ changes" when the checkout differs from it
    root: Path

    @property
    def env(self) -> dict[str, str]:
        paths = [str(self.root / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        return {**LOAD_OPTIONS["env"], "PYTHONPATH": os.pathsep.join(paths)}


def resolve(revision: str) -> str:
    """The full hash of the commit `revision` names in this repository; BenchmarkFailed if none."""
    done = _git("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if done.returncode != 0:
        raise BenchmarkFailed(f"--against {revision!r} names no commit of this repository")
    return done.stdout.strip()


def measure(config: Config, section: Section, database: str) -> None:
    """Run the current code and the reference side by side, verify both, then alternate single and bulk rounds."""
    seconds = round_seconds()
    reference = resolve(config.against or REFERENCE)
    current = Code("current", _describe_checkout(), ROOT)
    lists = f"list of {config.rows:,} over {len(fill.SPREAD)} lists"
    versus = f"current {current.commit} vs reference {reference[:7]}" + (" (the same code)" if _same_code(reference) else "")
    single = section.add(Row("check-ab", f"GET {CHECK}?…{SCOPED_QUERY}, {lists}: requests/s, {versus} (wrk -c{CONNECTIONS},"
                             f" best of {ROUNDS} alternating)", "req/s", AtLeastTimes(TARGET, "reference"), decimals=0))
    bulk = section.add(Row("check-ab", f"POST {CHECK} naming channel and sender, {BATCH:,} numbers a request: numbers/s, {versus}"
                           f" (best of {ROUNDS} alternating)", "numbers/s", AtLeastTimes(TARGET, "reference"), decimals=0))
    if config.baseline_only:
        say("--baseline-only: the reference is a Stoplist server too; nothing measured")
        return
    if shutil.which("wrk") is None:
        raise BenchmarkFailed("wrk not found on PATH (Debian: apt-get install wrk)")
    numbers_csv = config.numbers_csv()
    directory = config.directory(f"{NAME}-{database}")
    with checked_out(reference, directory / "reference-code") as reference_root, ExitStack() as stack:
        codes = (current, Code("reference", reference[:7], reference_root))
        servers = {code.label: stack.enter_context(_serve(config, code, database, directory / code.label)) for code in codes}
        tokens = {label: server.create_token() for label, server in servers.items()}
        samples = {label: check._fill_list(server.database, numbers_csv, config.seed) for label, server in servers.items()}
        if samples["current"] != samples["reference"]:
            raise BenchmarkFailed("the two databases were filled with different lists or samples")
        sample = samples["current"]
        files = check._write_load_files(directory, sample)
        for label, server in servers.items():
            say(f"{label} code: answers")
            check._verify_stoplist(server, tokens[label], sample, CHANNEL, check.SENDER)
        _alternate(servers, tokens, single, "single", seconds, lambda server, token, length, label:
                   check._wrk(server, token, WRK_ONE, [files.numbers, SCOPED_QUERY], CONNECTIONS, length, label))
        _alternate(servers, tokens, bulk, "bulk", seconds, lambda server, token, length, label:
                   check._wrk(server, token, WRK_BULK, [files.bodies], BULK_CONNECTIONS, length, label, per_request=BATCH))


def _alternate(servers: dict[str, LiveServer], tokens: dict[str, str], row: Row, what: str, seconds: int, run) -> None:
    """Warm both servers up, then ROUNDS rounds of `run` on each, the order swapped every round; the best of each into `row`."""
    for label, server in servers.items():
        run(server, tokens[label], WARMUP_SECONDS, f"warm-up {what} {label}")
    runs: dict[str, list[WrkResult]] = {label: [] for label in servers}
    order = list(servers)
    for round_ in range(1, ROUNDS + 1):
        for label in order:
            runs[label].append(run(servers[label], tokens[label], seconds, f"round {round_}/{ROUNDS} {what} {label}"))
        order.reverse()
    row.stoplist, row.baseline = max(r.rate for r in runs["current"]), max(r.rate for r in runs["reference"])
    row.note = check._per_cpu_note(check._per_cpu(runs["current"]), check._per_cpu(runs["reference"]), "server ")
    if servers["current"].database.cluster is not None:
        per = (1, "request") if what == "single" else (1000, "1,000 numbers")
        row.note += "; " + "; ".join(label + check._database_note(servers[label], runs[label], *per).removeprefix(";")
                                     for label in servers)
    say(f"{what} check, current {check._rates(r.rate for r in runs['current'])}; reference {check._rates(r.rate for r in runs['reference'])};"
        f" best ratio {row.stoplist / row.baseline:.2f}; {row.note}")


@contextmanager
def checked_out(commit: str, directory: Path) -> Iterator[Path]:
    """`commit` checked out in `directory` (a detached worktree of this repository), removed afterwards."""
    with step(f"git worktree add --detach {directory.name} {commit[:7]}"):
        done = _git("worktree", "add", "--detach", str(directory), commit)
        if done.returncode != 0:
            raise BenchmarkFailed(f"git worktree add {commit[:7]} failed: {done.stderr.strip()[-300:]}")
    try:
        yield directory
    finally:
        removed = _git("worktree", "remove", "--force", str(directory))
        if removed.returncode != 0:
            say(f"could not remove the reference checkout {directory}: {removed.stderr.strip()} (git worktree prune removes its record)")


@contextmanager
def _serve(config: Config, code: Code, kind: str, directory: Path) -> Iterator[LiveServer]:
    """`code`'s server on a fresh database of `kind` that `code` migrated itself; the database released afterwards."""
    directory.mkdir()
    store = config.fresh_database(kind, f"{NAME}-{code.label}", directory)
    try:
        _migrate(code, store)
        with LiveServer.running(directory, database=store, serve_args=LOAD_OPTIONS["serve_args"], env=code.env) as server:
            yield server
    finally:
        config.release_database(store)


# Asked of the interpreter the servers run on, with the server's environment: which stoplist it imports,
# the head revision of that code's migrations, and the revision the database stands at.
PROBE = """\
import os, stoplist, stoplist.migrate as m
url = os.environ["STOPLIST_DATABASE_URL"]
print(os.path.dirname(os.path.dirname(os.path.abspath(stoplist.__file__))), m.head_revision(url), m.current_revision(url))
"""


def _migrate(code: Code, store: Database) -> None:
    """`stoplist migrate` with `code` first on the path; fail unless that code was imported and brought the database to its head."""
    env = {**os.environ, **code.env, "STOPLIST_DATABASE_URL": store.url}
    with step(f"{code.label} code ({code.commit}): stoplist migrate"):
        done = subprocess.run([sys.executable, "-m", "stoplist", "migrate"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchmarkFailed(f"`stoplist migrate` of the {code.label} code exited with {done.returncode}: {done.stderr.strip()[-300:]}")
    probe = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    words = probe.stdout.split()
    if probe.returncode != 0 or len(words) != 3:
        raise BenchmarkFailed(f"could not ask the {code.label} code where it runs from: {probe.stderr.strip()[-300:]}")
    imported, head, at = words
    if Path(imported).resolve() != (code.root / "src").resolve():
        raise BenchmarkFailed(f"the {code.label} server would import stoplist from {imported}, not {code.root / 'src'}")
    if at != head:
        raise BenchmarkFailed(f"the {code.label} code migrated its database to {at}, not its head {head}")
    say(f"{code.label} code: stoplist from {imported}, database at revision {at}")


def _describe_checkout() -> str:
    """This checkout's commit, short, with "+ changes" when its code or migrations differ from it."""
    commit = _git("rev-parse", "--short=7", "HEAD").stdout.strip() or "unknown"
    changed = _git("status", "--porcelain", "--", "src", "migrations").stdout.strip()
    return f"{commit} + changes" if changed else commit


def _same_code(reference: str) -> bool:
    """Whether this checkout's code and migrations are the reference's, changes included: the run measures the method's spread."""
    return _git("diff", "--quiet", reference, "--", "src", "migrations").returncode == 0


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
