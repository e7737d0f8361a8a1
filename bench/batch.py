"""A batch of adds: `POST /blacklist/entries/batch` of 1,000 new numbers, against a bulk check of the same 1,000,
on a list of N."""

import statistics
import time

import httpx

import fill
from harness import AtMostTimes, BenchmarkFailed, Config, Reported, Row, Section, say, step
from live_server import LOAD_OPTIONS, LiveServer

NAME = "batch"
TITLE = "A batch of adds: POST /blacklist/entries/batch"
BATCH = "/blacklist/entries/batch"
CHECK = "/blacklist/check"

ITEMS = 1_000  # numbers a batch (the API's largest) and a check
ROUNDS = 9  # measured rounds, each on 1,000 numbers of its own
WARMUP = 2  # unmeasured rounds first, on numbers of their own
CHECKS_PER_ROUND = 3  # bulk checks of a round's numbers before its batch: their median is the round's check
TARGET = 3.0  # a batch may take at most this many times the bulk check of the same numbers (issue 25)
TIMEOUT = 60.0

METHOD = f"""\
A `stoplist serve` (one process, one uvicorn worker, `--no-access-log`,
`STOPLIST_SERVE_WORKER=false`) on a fresh database of its own holding the run's N numbers (1,000,000
by default) on the default list of a real token's account, put there as for the search benchmark
(untimed). {WARMUP + ROUNDS} × {ITEMS:,} further valid numbers from the same generator with another seed, none of
them listed, make the rounds: each round has {ITEMS:,} numbers of its own, E.164 strings (`+48…`, `+44…`, …).

**A round.** Over one keep-alive httpx connection from the benchmark's own process, in turn:
{CHECKS_PER_ROUND} bulk checks `POST {CHECK}` `{{"phone_numbers": [the {ITEMS:,} numbers]}}` (unscoped, as SMSAPI's
clients ask), each answer checked (every number valid and not blacklisted); then one batch `POST {BATCH}`
`{{"items": [the same {ITEMS:,} numbers]}}`, which puts them on the default list, its answer checked
(one result per number, in order, each `created` with its entry). Each request is timed from sending it
to having read the whole answer (`time.perf_counter`); a round's check time is the median of its
{CHECKS_PER_ROUND} checks. The first {WARMUP} rounds are not measured.

The table gives, over the {ROUNDS} measured rounds, the median batch time against the median check time
(the baseline column), and the median of the rounds' ratios in the note. A batch writes {ITEMS:,}
entries and their {ITEMS:,} `add` events on the audit trail in one transaction; a check only reads.
The target (issue 25): a batch of {ITEMS:,} new addresses takes at most {TARGET:g}× the time of
bulk-checking the same {ITEMS:,}, on both databases.
"""


def measure(config: Config, section: Section, database: str) -> None:
    """Fill the list, then time rounds of (bulk checks, batch) on fresh numbers."""
    n = config.rows
    batch = section.add(Row("batch", f"POST {BATCH} of {ITEMS:,} new numbers, list of {n:,}: ms (median of {ROUNDS}; baseline: the bulk check of the same"
                            f" {ITEMS:,})", "ms", AtMostTimes(TARGET), decimals=1))
    again = section.add(Row("batch", f"the same batch again ({ITEMS:,} unchanged: nothing written)", "ms", Reported(), decimals=1))
    if config.baseline_only:
        say("--baseline-only: the baseline here is Stoplist's own bulk check; nothing to measure")
        return
    numbers_csv = config.numbers_csv()
    directory = config.directory(f"{NAME}-{database}")
    store = config.fresh_database(database, NAME, directory)
    try:
        with LiveServer.running(directory, database=store, **LOAD_OPTIONS) as server:
            token = server.create_token()
            with step(f"filling the default list with {n:,} numbers"):
                fill.fill_list(server.database, numbers_csv)
            fresh = fill.unlisted_numbers(server.database, config.seed + 25, (WARMUP + ROUNDS) * ITEMS)
            rounds = [fresh[start : start + ITEMS] for start in range(0, len(fresh), ITEMS)]
            with server.client(token, timeout=TIMEOUT) as client:
                checks, batches, repeats = [], [], []
                for index, numbers in enumerate(rounds):
                    check_ms = statistics.median(_check(client, numbers) for _ in range(CHECKS_PER_ROUND))
                    batch_ms = _batch(client, numbers, "created")
                    repeat_ms = _batch(client, numbers, "unchanged")
                    measured = index >= WARMUP
                    say(f"round {index + 1 - WARMUP if measured else 'warm-up'}: check {check_ms:.1f} ms, batch {batch_ms:.1f} ms"
                        f" ({batch_ms / check_ms:.2f}×), again {repeat_ms:.1f} ms")
                    if measured:
                        checks.append(check_ms)
                        batches.append(batch_ms)
                        repeats.append(repeat_ms)
            server.check_alive()
    finally:
        config.release_database(store)
    batch.stoplist, batch.baseline = statistics.median(batches), statistics.median(checks)
    again.stoplist, again.baseline = statistics.median(repeats), batch.baseline
    ratios = sorted(b / c for b, c in zip(batches, checks))
    batch.note = f"per-round ratios: median {statistics.median(ratios):.2f}×, best {ratios[0]:.2f}×, worst {ratios[-1]:.2f}×"


def _check(client: httpx.Client, numbers: list[str]) -> float:
    """One bulk check of `numbers`, in ms; fails unless every number is valid and not blacklisted."""
    started = time.perf_counter()
    response = client.post(CHECK, json={"phone_numbers": numbers})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchmarkFailed(f"POST {CHECK} answered {response.status_code}: {response.text[:300]}")
    results = response.json()["results"]
    if len(results) != len(numbers) or any(not result["valid"] or result["blacklisted"] for result in results):
        raise BenchmarkFailed(f"POST {CHECK} of {len(numbers):,} unlisted numbers answered otherwise: {str(results)[:300]}")
    return elapsed


def _batch(client: httpx.Client, numbers: list[str], outcome: str) -> float:
    """One batch of `numbers`, in ms; fails unless each result is `outcome`, in order, with its entry."""
    started = time.perf_counter()
    response = client.post(BATCH, json={"items": numbers})
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise BenchmarkFailed(f"POST {BATCH} answered {response.status_code}: {response.text[:300]}")
    results = response.json()["results"]
    wrong = [
        result for number, result in zip(numbers, results)
        if result["outcome"] != outcome or result["input"] != number or result["entry"]["address"] != number[1:]
    ]
    if len(results) != len(numbers) or wrong:
        raise BenchmarkFailed(f"POST {BATCH} of {len(numbers):,} numbers: expected every one {outcome}, got {str(wrong or results)[:300]}")
    return elapsed
