"""A real `stoplist serve` process on a loopback port, with its own SQLite file."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    log: Path

    def stoplist(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the `stoplist` command against this server's database."""
        return subprocess.run([sys.executable, "-m", "stoplist", *args], env=self.env, capture_output=True, text=True, check=True)

    def create_token(self, account: str = "default", *scopes: str) -> str:
        args = ["token", "create", "--account", account]
        for scope in scopes:
            args += ["--scope", scope]
        return self.stoplist(*args).stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(directory: Path, *serve_args: str) -> Iterator[LiveServer]:
    """Start `stoplist serve` on a free loopback port, wait until it answers, stop it afterwards."""
    port = free_port()
    env = {**os.environ, "STOPLIST_DATABASE_URL": f"sqlite:///{directory / 'stoplist.db'}"}
    env.pop("STOPLIST_DEFAULT_REGION", None)
    log_path = directory / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stoplist", "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, log=log_path)
        try:
            _wait_until_answering(process, server)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_answering(process: subprocess.Popen, server: LiveServer) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{server.log.read_text()}")
        try:
            httpx.get(f"{server.base_url}/blacklist/phone_numbers", timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer within 30 s:\n{server.log.read_text()}")
            time.sleep(0.1)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path) as server:
        yield server
