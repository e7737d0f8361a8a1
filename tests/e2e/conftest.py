"""A real `stoplist serve` process on a loopback port, with its own SQLite file."""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest

from stoplist.auth.repository import AuthRepository
from stoplist.auth.service import create_token
from stoplist.db import create_db_engine, create_session_factory, transaction
from tests.conftest import BACKENDS, Databases


@dataclass
class LiveServer:
    base_url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    # Prefixed to account names, so tests sharing one server never share an account.
    namespace: str = ""

    def stoplist(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the `stoplist` command against this server's database."""
        return subprocess.run([sys.executable, "-m", "stoplist", *args], env=self.env, capture_output=True, text=True, check=True)

    def create_token(self, account: str = "default", *scopes: str) -> str:
        """A token for `account`, written straight into the server's database (the CLI tests cover the command)."""
        engine = create_db_engine(self.env["STOPLIST_DATABASE_URL"])
        try:
            with transaction(create_session_factory(engine)) as session:
                secret, _ = create_token(repository=AuthRepository(session), account_name=self.namespace + account, scopes=list(scopes) or None)
        finally:
            engine.dispose()
        return secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_server(directory: Path, *serve_args: str, database_url: str, env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Start `stoplist serve` on `database_url` and a free loopback port, wait until it answers, stop it afterwards."""
    port = free_port()
    env = {**os.environ, **(env or {}), "STOPLIST_DATABASE_URL": database_url}
    env.pop("STOPLIST_DEFAULT_REGION", None)
    log_path = directory / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "stoplist", "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        server = LiveServer(base_url=f"http://127.0.0.1:{port}", env=env, log=log_path, process=process)
        try:
            _wait_until_answering(process, server)
            yield server
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=30)
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
def live_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with running_server(tmp_path, database_url=database_url) as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def shared_server(request: pytest.FixtureRequest, databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for a whole module (per database); pair it with per-test account namespaces."""
    databases.require(request.param)
    with running_server(tmp_path_factory.mktemp("server"), database_url=databases.migrated(request.param)) as server:
        yield server


@pytest.fixture
def isolated_server(shared_server: LiveServer) -> LiveServer:
    """The module's server, seen through accounts of this test's own."""
    return replace(shared_server, namespace=f"{uuid.uuid4().hex[:12]}:")
