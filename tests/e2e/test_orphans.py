"""A supervisor killed with SIGKILL takes its workers with it (supervisor.exit_with_parent): under uvicorn's
supervisor (`--workers`) and under granian, with one worker or several, no worker is left serving and the
port is free for the next server. `STOPLIST_SERVER` chooses the server as `--server` does."""

import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from tests.e2e.conftest import running_server

pytestmark = pytest.mark.e2e

GONE_WITHIN = 15.0  # seconds: a poll of the parent, then a shutdown as on SIGTERM


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--workers", "2"), {}),
        (("--server", "granian"), {}),
        (("--workers", "2"), {"STOPLIST_SERVER": "granian"}),
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

        _gone, alive = psutil.wait_procs(descendants, timeout=GONE_WITHIN)
        assert not alive, [process.pid for process in alive]
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{server.base_url}/blacklist/phone_numbers", timeout=2)
        address = urlsplit(server.base_url)
        with socket.socket() as listener:
            listener.bind((address.hostname, address.port))  # free for the server started next
        assert "stopped" in server.log.read_text()


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
