"""A real `stoplist serve` process for a benchmark, and the memory of its whole process tree."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psutil

from databases import Database
from harness import BenchmarkFailed
from processes import tree_cpu, tree_rss

STARTUP_TIMEOUT = 60.0
LOG_TAIL_LINES = 12
ENTRIES = "/blacklist/phone_numbers"
# How the load benchmarks start Stoplist: no access log, no background worker beside the API.
LOAD_OPTIONS = {"serve_args": ["--no-access-log"], "env": {"STOPLIST_SERVE_WORKER": "false"}}


class LiveServer:
    """`stoplist serve` on a free loopback port, with its log in `directory`, on `database`
    (default: a new SQLite file in `directory`)."""

    def __init__(self, directory: Path, *, database: Database | None = None, serve_args: Sequence[str] = (),
                 env: Mapping[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.database = database or Database.sqlite_file(directory / "stoplist.db")
        self.log = directory / "server.log"
        self.serve_args = list(serve_args)
        self.env = {
            **os.environ,
            "STOPLIST_DATABASE_URL": self.database.url,
            "STOPLIST_MAX_UPLOAD_BYTES": str(1 << 30),
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    @classmethod
    @contextmanager
    def running(cls, directory: Path, **options: Any) -> Iterator["LiveServer"]:
        """Start the server, wait until it answers HTTP, and stop it (and its children) afterwards.

        `options` go to the constructor: the `database`, extra `serve_args` for `stoplist serve`, extra `env`.
        """
        server = cls(directory, **options)
        with server.log.open("w") as log:
            server.process = subprocess.Popen(server.command(), env=server.env, cwd=directory, stdout=log, stderr=subprocess.STDOUT)
            try:
                server._wait_until_answering()
                yield server
            finally:
                server._stop()

    def command(self) -> list[str]:
        """The command line that starts the server (a subclass may start another server)."""
        return [sys.executable, "-m", "stoplist", "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.serve_args]

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def create_token(self) -> str:
        """A new access token for the default account, from `stoplist token create`."""
        done = subprocess.run(
            [sys.executable, "-m", "stoplist", "token", "create"], env=self.env, capture_output=True, text=True
        )
        token = done.stdout.strip()
        if done.returncode != 0 or not token:
            raise BenchmarkFailed(f"`stoplist token create` exited with {done.returncode}: {_last_line(done.stderr)}")
        return token

    def client(self, token: str, timeout: float) -> httpx.Client:
        """An HTTP client for this server that sends `token`."""
        return httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def check_alive(self) -> None:
        """Fail if the server process has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise self.failure("the server stopped early")

    def failure(self, message: str) -> BenchmarkFailed:
        """A BenchmarkFailed saying `message`, whether the server still runs, and its last log lines."""
        running = self.process is not None and self.process.poll() is None
        state = "is still running" if running else f"exited with status {self.process.returncode}"
        tail = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:] if self.log.exists() else []
        lines = [f"{message} (the server {state})"]
        if tail:
            lines += ["  last lines of the server log:", *(f"  | {line}" for line in tail)]
        return BenchmarkFailed("\n".join(lines))

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            self.check_alive()
            try:
                httpx.get(self.base_url + ENTRIES, timeout=1)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise self.failure(f"the server did not answer within {STARTUP_TIMEOUT:.0f} s") from None
                time.sleep(0.1)

    def _stop(self) -> None:
        """Terminate the server, then kill any of its children still alive, by their ids."""
        assert self.process is not None
        children = _descendants(self.process.pid)
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


class RssSampler:
    """Samples the summed RSS of a process and all its descendants every `interval` s, in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.idle = 0
        self.peak = 0

    def __enter__(self) -> "RssSampler":
        self.idle = self.peak = tree_rss(self._process)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def _sample(self) -> None:
        self.peak = max(self.peak, tree_rss(self._process))


class CpuUse:
    """CPU seconds the server's process tree, and the database's own processes (PostgreSQL's), used inside a `with` block."""

    def __init__(self, server: "LiveServer") -> None:
        self._server = server
        self._process = psutil.Process(server.pid)
        self.server = 0.0
        self.database = 0.0

    def __enter__(self) -> "CpuUse":
        self._server_before, self._database_before = tree_cpu(self._process), self._server.database.cpu()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server = tree_cpu(self._process) - self._server_before
        self.database = self._server.database.cpu() - self._database_before

    def describe(self) -> str:
        """`CPU: server 12.3 s`, and `+ PostgreSQL 4.5 s` on PostgreSQL."""
        database = f" + PostgreSQL {self.database:.1f} s" if self._server.database.cluster is not None else ""
        return f"CPU: server {self.server:.1f} s{database}"


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"
