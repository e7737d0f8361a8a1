"""A supervisor killed with SIGKILL takes its workers with it (supervisor.exit_with_parent): under uvicorn's
supervisor (`--workers`) and under granian, with one worker or several, no worker is left serving and the
port is free for the next server. `STOPLIST_SERVER` chooses the server as `--server` does."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.e2e.conftest import free_port, running_server

pytestmark = pytest.mark.e2e

GONE_WITHIN = 15.0  # seconds: a poll of the parent, then a shutdown as on SIGTERM


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--workers", "2"), {}),
        (("--server", "granian"), {}),
        (("--workers", "2"), {"STOPLIST_SERVER": " Granian "}),  # in any case, as every setting that names a choice
    ],
    ids=["uvicorn-workers-2", "granian", "granian-workers-2-from-the-environment"],
)
def test_a_supervisor_killed_with_sigkill_leaves_no_worker_serving(tmp_path: Path, args: tuple[str, ...], env: dict[str, str]):
    with running_server(tmp_path, *args, database_url=f"sqlite:///{tmp_path}/stoplist.db", env=env) as server:
        supervisor = psutil.Process(server.process.pid)
        deadline = time.monotonic() + 20
        while len(_serving(supervisor)) < int(dict(zip(args, args[1:])).get("--workers", "1")) and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _serving(supervisor)
        assert workers, [child.cmdline() for child in supervisor.children()]
        if env:
            assert "granian" in server.log.read_text(), server.log.read_text()
        descendants = supervisor.children(recursive=True)

        supervisor.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)

        alive = _left(descendants)
        assert not alive, [process.pid for process in alive]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base_url}/blacklist/phone_numbers", timeout=2)
        address = urlsplit(server.base_url)
        with socket.socket() as listener:
            listener.bind((address.hostname, address.port))  # free for the server started next
        assert "stopped" in server.log.read_text()


@pytest.mark.parametrize("args", [("--workers", "2"), ("--server", "granian", "--workers", "2")], ids=["uvicorn-workers-2", "granian-workers-2"])
def test_a_supervisor_killed_while_its_workers_start_leaves_none_behind(tmp_path: Path, args: tuple[str, ...]):
    """Killed before its workers have imported the app: they must not take init, their new parent, for their supervisor."""
    port = free_port()
    env = {**os.environ, "STOPLIST_DATABASE_URL": f"sqlite:///{tmp_path}/stoplist.db"}
    with (tmp_path / "server.log").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "stoplist", "serve", "--port", str(port), *args], env=env, stdout=log, stderr=subprocess.STDOUT)
    supervisor = psutil.Process(process.pid)
    try:
        deadline = time.monotonic() + 30
        while len(_serving(supervisor)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        descendants = supervisor.children(recursive=True)
        assert len(_serving(supervisor)) == 2, (tmp_path / "server.log").read_text()
    finally:
        supervisor.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    alive = _left(descendants)
    for process_left in alive:
        process_left.kill()
    assert not alive, [process_left.pid for process_left in alive]
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))


def _left(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those of `processes` still running after GONE_WITHIN seconds: an exited one that init has yet to reap
    (a zombie) serves nothing and holds no port."""
    deadline = time.monotonic() + GONE_WITHIN
    while True:
        alive = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                continue
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def _serving(supervisor: psutil.Process) -> list[psutil.Process]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    found = []
    for child in supervisor.children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found
