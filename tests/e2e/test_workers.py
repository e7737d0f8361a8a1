"""`stoplist serve --workers 2`: a real supervisor and two workers, with the guarantees of one server.

Every request goes over a fresh connection, so either worker may answer it; which one did is read
from the metrics each worker publishes to its own files (stoplist.ops.shared), which also proves
that /metrics sums them. The tests share one server per database and run in order: the last one
stops it.
"""

import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from sqlalchemy import text
from sqlalchemy.engine import make_url

from stoplist.db import create_db_engine
from stoplist.imports.upload import PREFIX, SUFFIX
from tests.conftest import BACKENDS, Databases
from tests.e2e.conftest import LiveServer, running_server
from tests.e2e.test_check_live import CHECK, NUMBERS, bearer, token_id

pytestmark = pytest.mark.e2e

TOKEN_TTL = 1.0
SLACK = 0.5
ROUNDS = 25
REQUESTS_TOTAL = "stoplist_http_requests_total"


@pytest.fixture(scope="module", params=BACKENDS)
def two_workers(request: pytest.FixtureRequest, databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    databases.require(request.param)
    directory = tmp_path_factory.mktemp("workers")
    # TMPDIR: the metrics directory the supervisor makes, and the upload files, are then the test's to see.
    (directory / "tmp").mkdir()
    env = {"STOPLIST_TOKEN_CACHE_SECONDS": str(TOKEN_TTL), "TMPDIR": str(directory / "tmp")}
    with running_server(directory, "--workers", "2", database_url=databases.migrated(request.param), env=env) as server:
        _wait_for_workers(server, 2)
        yield server


def workers(server: LiveServer) -> list[int]:
    """The pids of the server's worker processes (not multiprocessing's resource tracker)."""
    pids = []
    for child in psutil.Process(server.process.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                pids.append(child.pid)
        except psutil.Error:
            continue  # gone, or a zombie the supervisor has yet to reap
    return sorted(pids)


def _wait_for_workers(server: LiveServer, count: int, *, besides: set[int] = frozenset()) -> list[int]:
    """Wait until `count` workers (none of `besides`) run and have published their first metrics."""
    deadline = time.monotonic() + 30
    while True:
        pids = [pid for pid in workers(server) if pid not in besides]
        if len(pids) == count and all(pid in published(server) for pid in pids):
            return pids
        assert time.monotonic() < deadline, f"workers {pids}, published {published(server)}:\n{server.log.read_text()}"
        time.sleep(0.1)


def metrics_directory(server: LiveServer) -> Path:
    [directory] = Path(server.env["TMPDIR"]).glob("stoplist-metrics-*")
    return directory


def published(server: LiveServer) -> dict[int, Counter]:
    """Per worker pid, the requests it has answered (as of its last publication), by (method, route, status)."""
    answered: dict[int, Counter] = {}
    for path in metrics_directory(server).glob("counter_*.db"):
        # <kind>_<pid>_<token>.db: a worker that reused a dead one's pid has a file of its own.
        counts = answered.setdefault(int(path.stem.split("_")[1]), Counter())
        for metric in MultiProcessCollector.merge([str(path)]):
            for sample in metric.samples:
                if sample.name == REQUESTS_TOTAL:
                    counts[sample.labels["method"], sample.labels["route"], sample.labels["status"]] += int(sample.value)
    return answered


def checks_by_worker(server: LiveServer, *, status: str, expected: int, before: dict[int, Counter]) -> dict[int, int]:
    """How many checks answered `status` each worker answered since `before`, once they add up to `expected` (published within a second)."""
    deadline = time.monotonic() + 5
    while True:
        now = published(server)
        answered = {pid: sum(n - before.get(pid, Counter())[key] for key, n in counts.items() if key[1] == CHECK and key[2] == status) for pid, counts in now.items()}
        if sum(answered.values()) >= expected or time.monotonic() > deadline:
            return answered
        time.sleep(0.1)


def until_both_workers_answered(server: LiveServer, ask, *, status: str, before: dict[int, Counter], rounds: int = 10) -> dict[int, int]:
    """Ask 20 checks at a time (each `ask()` one, over a fresh connection) until both workers have answered one.

    The kernel hands each new connection to either worker; now and then it gives 20 in a row to one.
    """
    asked = 0
    for _ in range(rounds):
        for _ in range(20):
            ask()
        asked += 20
        answered = checks_by_worker(server, status=status, expected=asked, before=before)
        if len([count for count in answered.values() if count]) == 2:
            break
    assert sum(answered.values()) == asked, answered
    return answered


def test_a_write_through_either_worker_is_seen_by_the_next_check_whichever_worker_answers_it(two_workers: LiveServer):
    headers = bearer(two_workers.create_token(f"rounds-{os.getpid()}-{time.monotonic_ns()}"))
    before = published(two_workers)

    for round_ in range(ROUNDS):
        number = f"+48511{round_:06d}"
        assert httpx.post(f"{two_workers.base_url}{NUMBERS}", json={"phone_number": number}, headers=headers).status_code == 201
        listed = httpx.get(f"{two_workers.base_url}{CHECK}", params={"phone_number": number}, headers=headers)
        assert listed.json()["blacklisted"] is True, (round_, listed.text)
        assert httpx.delete(f"{two_workers.base_url}{NUMBERS}", params={"phone_number": number}, headers=headers).status_code == 204
        gone = httpx.get(f"{two_workers.base_url}{CHECK}", params={"phone_number": number}, headers=headers)
        assert gone.json()["blacklisted"] is False, (round_, gone.text)

    answered = checks_by_worker(two_workers, status="200", expected=2 * ROUNDS, before=before)
    assert sum(answered.values()) == 2 * ROUNDS, answered
    assert len([count for count in answered.values() if count]) == 2, f"one worker answered every check: {answered}"
    # /metrics answers for the whole server: the sum of both workers' counts.
    exposition = httpx.get(f"{two_workers.base_url}/metrics").text
    [line] = [line for line in exposition.splitlines() if line.startswith(f'{REQUESTS_TOTAL}{{method="GET",route="{CHECK}",status="200"}}')]
    assert float(line.split()[-1]) == sum(counts["GET", CHECK, "200"] for counts in published(two_workers).values())
    # The database's figures are read, not summed over the workers.
    engine = create_db_engine(two_workers.env["STOPLIST_DATABASE_URL"])
    try:
        with engine.connect() as connection:
            entries = connection.execute(text("SELECT count(*) FROM blacklist_entries")).scalar()
    finally:
        engine.dispose()
    assert f"stoplist_blacklist_entries {float(entries)}" in exposition.splitlines()
    assert "checkpoint of the SQLite log failed" not in two_workers.log.read_text()


def test_the_supervisor_serves_nothing_and_holds_no_database_connection(two_workers: LiveServer):
    supervisor = psutil.Process(two_workers.process.pid)
    url = make_url(two_workers.env["STOPLIST_DATABASE_URL"])

    # PostgreSQL: no connection but the listener; SQLite: not the database file, nor its log.
    assert {connection.status for connection in supervisor.net_connections(kind="inet")} == {psutil.CONN_LISTEN}
    if url.get_backend_name() == "sqlite":
        assert not [opened.path for opened in supervisor.open_files() if opened.path.startswith(str(url.database))]


def test_a_revoked_token_is_refused_by_every_worker_within_the_token_cache_bound(two_workers: LiveServer):
    secret = two_workers.create_token(f"revoked-{os.getpid()}-{time.monotonic_ns()}")

    def ask(expected: int) -> None:
        response = httpx.get(f"{two_workers.base_url}{CHECK}", params={"phone_number": "+48500000001"}, headers=bearer(secret))
        assert response.status_code == expected, response.text

    # Over fresh connections, until both workers remember the token.
    remembered = until_both_workers_answered(two_workers, lambda: ask(200), status="200", before=published(two_workers))
    assert all(remembered.values()), f"one worker answered every check: {remembered}"

    two_workers.stoplist("token", "revoke", token_id(two_workers, secret))
    time.sleep(TOKEN_TTL + SLACK)

    refused = until_both_workers_answered(two_workers, lambda: ask(401), status="401", before=published(two_workers))
    assert all(refused.values()), f"not refused by both workers: {refused}"


def test_a_subusers_switch_to_shared_reaches_every_worker_within_the_token_cache_bound(two_workers: LiveServer):
    """Each worker remembers which account a token (or a parent naming its subuser) checks the lists of: a switch of
    mode reaches the worker that did not make it within the bound, as a revoke does (README, Several workers)."""
    unique = f"{os.getpid()}-{time.monotonic_ns()}"
    admin = bearer(two_workers.create_token(f"parent-{unique}", "blacklist", "accounts"))
    created = httpx.post(f"{two_workers.base_url}/accounts/subusers", json={"name": f"brand-{unique}"}, headers=admin)
    assert created.status_code == 201, created.text
    subuser, number = created.json()["id"], "+48500000777"
    assert httpx.post(f"{two_workers.base_url}/blacklist/phone_numbers", json={"phone_number": number}, headers=admin).status_code == 201
    naming = {**admin, "Stoplist-Account": str(subuser)}

    def ask(blacklisted: bool) -> None:
        response = httpx.get(f"{two_workers.base_url}{CHECK}", params={"phone_number": number}, headers=naming)
        assert (response.status_code, response.json()["blacklisted"]) == (200, blacklisted), response.text

    # Its own list, where the number is not: both workers remember the subuser as its own account.
    own = until_both_workers_answered(two_workers, lambda: ask(False), status="200", before=published(two_workers))
    assert all(own.values()), f"one worker answered every check: {own}"

    switched = httpx.patch(f"{two_workers.base_url}/accounts/subusers/{subuser}", json={"mode": "shared"}, headers=admin)
    assert switched.status_code == 200, switched.text
    time.sleep(TOKEN_TTL + SLACK)

    shared = until_both_workers_answered(two_workers, lambda: ask(True), status="200", before=published(two_workers))
    assert all(shared.values()), f"not the parent's list on both workers: {shared}"


def test_a_worker_killed_with_sigkill_is_replaced_and_its_upload_files_removed_but_not_the_other_workers(two_workers: LiveServer):
    victim, survivor = workers(two_workers)
    uploads = Path(two_workers.env["TMPDIR"])
    # Named as each worker names its uploads ("0": a start time that cannot be told, so the pid decides).
    host = socket.gethostname()
    left = uploads / f"{PREFIX}{victim}.0@{host}-abc{SUFFIX}"
    kept = uploads / f"{PREFIX}{survivor}.0@{host}-abc{SUFFIX}"
    for path in (left, kept):
        path.write_text("48500000001\n")

    os.kill(victim, signal.SIGKILL)
    # The survivor answers meanwhile; no request is lost (none was in flight on the victim).
    for _ in range(20):
        assert httpx.get(f"{two_workers.base_url}/healthz").status_code == 200

    killed = time.monotonic()
    [replacement] = _wait_for_workers(two_workers, 1, besides={victim, survivor})
    assert time.monotonic() - killed < 10, "replaced within seconds"
    assert sorted(workers(two_workers)) == sorted([survivor, replacement])
    deadline = time.monotonic() + 30
    while left.exists():  # the replacement's startup removes the uploads of the worker that died
        assert time.monotonic() < deadline, two_workers.log.read_text()
        time.sleep(0.1)
    assert kept.exists(), "no worker removes the uploads of another that runs"
    kept.unlink()


def test_sigterm_stops_every_worker_cleanly_and_removes_the_metrics_directory(two_workers: LiveServer):
    pids = workers(two_workers)
    directory = metrics_directory(two_workers)

    two_workers.process.send_signal(signal.SIGTERM)

    assert two_workers.process.wait(timeout=30) == 0
    log = two_workers.log.read_text()
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert f"Finished server process [{pid}]" in log, log
    assert log.count("Application shutdown complete.") >= len(pids)
    assert not directory.exists()
