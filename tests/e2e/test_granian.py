"""`stoplist serve --server granian`: what the README says differs from uvicorn."""

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_server

pytestmark = pytest.mark.e2e

NUMBERS = "/blacklist/phone_numbers"
CHECK = "/blacklist/check"


def children(pid: int) -> list[int]:
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line) for line in listed.split()]


def test_a_killed_granian_worker_is_started_again_and_serves_the_same_list(tmp_path: Path):
    with running_server(tmp_path, "--server", "granian", database_url=f"sqlite:///{tmp_path}/stoplist.db") as server:
        auth = {"Authorization": f"Bearer {server.create_token()}"}
        assert httpx.post(f"{server.base_url}{NUMBERS}", json={"phone_number": "+48500000001"}, headers=auth).status_code == 201
        [worker] = children(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        deadline, answered = time.monotonic() + 20, None
        while time.monotonic() < deadline and answered is None:
            try:
                answered = httpx.get(f"{server.base_url}{CHECK}", params={"phone_number": "+48500000001"}, headers=auth, timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered is not None, server.log.read_text()
        assert answered.json()["blacklisted"] is True
        assert children(server.process.pid) not in ([], [worker])


@pytest.mark.parametrize("access_log", [True, False])
def test_granians_access_log_is_on_by_default_and_off_with_no_access_log(tmp_path: Path, access_log: bool):
    flags = () if access_log else ("--no-access-log",)
    with running_server(tmp_path, "--server", "granian", *flags, database_url=f"sqlite:///{tmp_path}/stoplist.db") as server:
        httpx.get(f"{server.base_url}{CHECK}", params={"phone_number": "+48500000001"})
        time.sleep(0.3)
        logged = server.log.read_text()
    line = '"GET /blacklist/check HTTP/1.1" 401'
    assert (line in logged) is access_log, logged


def test_two_granian_workers_see_every_write_at_once_and_metrics_add_them_up(tmp_path: Path):
    from tests.e2e.test_workers import REQUESTS_TOTAL, published

    (tmp_path / "tmp").mkdir()
    with running_server(tmp_path, "--server", "granian", "--workers", "2", database_url=f"sqlite:///{tmp_path}/stoplist.db",
                        env={"TMPDIR": str(tmp_path / "tmp")}) as server:
        auth = {"Authorization": f"Bearer {server.create_token()}"}
        rounds = 20
        for round_ in range(rounds):
            number = f"+48511{round_:06d}"
            assert httpx.post(f"{server.base_url}{NUMBERS}", json={"phone_number": number}, headers=auth).status_code == 201
            assert httpx.get(f"{server.base_url}{CHECK}", params={"phone_number": number}, headers=auth).json()["blacklisted"] is True
            assert httpx.delete(f"{server.base_url}{NUMBERS}", params={"phone_number": number}, headers=auth).status_code == 204
            assert httpx.get(f"{server.base_url}{CHECK}", params={"phone_number": number}, headers=auth).json()["blacklisted"] is False
        deadline = time.monotonic() + 5
        while True:
            answered = {pid: counts["GET", CHECK, "200"] for pid, counts in published(server).items()}
            if sum(answered.values()) == 2 * rounds or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sum(answered.values()) == 2 * rounds, answered
        exposition = httpx.get(f"{server.base_url}/metrics").text
        [line] = [line for line in exposition.splitlines() if line.startswith(f'{REQUESTS_TOTAL}{{method="GET",route="{CHECK}",status="200"}}')]
        assert float(line.split()[-1]) == 2 * rounds
    assert not list((tmp_path / "tmp").glob("stoplist-metrics-*")), "the metrics directory outlived the server"
