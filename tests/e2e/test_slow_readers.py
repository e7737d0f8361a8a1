"""Slow downloads never starve the rest: 30 clients reading CSV exports at a few KB/s while list,
add, check and an import go on, on a real `stoplist serve`."""

import socket
import sqlite3
import statistics
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import text

from stoplist.auth.repository import AuthRepository
from stoplist.testing.lists import fill
from stoplist.db import create_db_engine, create_session_factory, transaction, utcnow
from tests.e2e.conftest import LiveServer, running_server

URL = "/blacklist/phone_numbers"
# About 4 MB of CSV: far more than the socket buffers between a slow reader and the server hold.
ENTRIES = 100_000
READERS = 30
READ_BYTES = 512
READ_PAUSE = 0.15  # about 3 KB/s per reader
STORM_SECONDS = 6.0


@dataclass
class SlowReader:
    """A client on a raw socket that asks for the CSV export and reads it a little at a time."""

    server: LiveServer
    token: str
    path: str = URL
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    received: int = 0
    answered_in: float | None = None
    finished: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def start(self) -> "SlowReader":
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(10)

    def wait_for_answer(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline:
            time.sleep(0.01)

    def _run(self) -> None:
        address = urlsplit(self.server.base_url)
        with socket.socket() as sock:
            # A small receive buffer: the server's writes back up after a few KB, as over a slow link.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(30)
            sock.connect((address.hostname, address.port))
            started = time.monotonic()
            sock.sendall(
                f"GET {self.path} HTTP/1.1\r\nHost: {address.netloc}\r\nAccept: text/csv\r\n"
                f"Authorization: Bearer {self.token}\r\n\r\n".encode()
            )
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(READ_BYTES)
                if not data:
                    return
                head += data
            self.answered_in = time.monotonic() - started
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            self.headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
            self.status = int(lines[0].split()[1])
            if self.status != 200:
                return
            while not self.stop.is_set():
                data = sock.recv(READ_BYTES)
                if not data:
                    self.finished = True
                    return
                self.received += len(data)
                self.stop.wait(READ_PAUSE)


def seed(database_url: str, server: LiveServer, count: int) -> str:
    """A token, and `count` numbers on its account, written straight into the database."""
    token = server.create_token()
    engine = create_db_engine(database_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            account = AuthRepository(session).account_by_name("default").id
            numbers = {f"48{500000000 + i}": None for i in range(count)}
            fill(session, account, numbers, now=utcnow())
    finally:
        engine.dispose()
    return token


def download_connections(database_url: str) -> int | None:
    """PostgreSQL: how many connections the server's downloads hold open (None on SQLite)."""
    if not database_url.startswith("postgresql"):
        return None
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stoplist-download'"))
    finally:
        engine.dispose()


def checkpoint(database_url: str, mode: str) -> tuple[int, int, int] | None:
    """SQLite: run a WAL checkpoint from outside, (busy, frames in the log, frames checkpointed); None on PostgreSQL."""
    if not database_url.startswith("sqlite"):
        return None
    with closing(sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10)) as connection:
        return tuple(connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone())


def eight_served(server: LiveServer, token: str) -> bool:
    """Whether eight downloads started at once are all served (each slot free), closing them after."""
    batch = [SlowReader(server, token).start() for _ in range(8)]
    for reader in batch:
        reader.wait_for_answer()
    served = [reader.status for reader in batch] == [200] * 8
    for reader in batch:
        reader.close()
    return served


def wait_until(condition, timeout: float) -> float:
    """Seconds until `condition()` held; fails after `timeout`."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, "condition not met in time"
        time.sleep(0.05)
    return time.monotonic() - started


class Probe:
    """Ordinary requests made one after another, each timed."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.client = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.timings: dict[str, list[float]] = {"list": [], "add": [], "check": []}
        self.problems: list[str] = []
        self._number = 0

    def round(self) -> None:
        self._number += 1
        number = f"+44740{self._number:07d}"
        self._timed("list", 200, lambda: self.client.get(URL, params={"limit": 10}))
        self._timed("add", 201, lambda: self.client.post(URL, json={"phone_number": number}))
        self._timed("check", 200, lambda: self.client.get("/blacklist/check", params={"phone_number": number}))

    def _timed(self, name: str, expected: int, call) -> None:
        started = time.monotonic()
        response = call()
        self.timings[name].append(time.monotonic() - started)
        if response.status_code != expected:
            self.problems.append(f"{name}: {response.status_code} {response.text[:200]}")

    def summary(self) -> str:
        return ", ".join(
            f"{name} n={len(times)} p50={statistics.median(times) * 1000:.1f}ms max={max(times) * 1000:.1f}ms" for name, times in self.timings.items() if times
        )


def test_thirty_slow_readers_leave_list_add_check_and_imports_fast(tmp_path: Path, database_url: str, capsys):
    env = {"STOPLIST_WORKER_POLL_INTERVAL": "0.1", "STOPLIST_MAX_DOWNLOADS": "8"}
    with running_server(tmp_path, "--no-access-log", database_url=database_url, env=env) as server:
        token = seed(database_url, server, ENTRIES)
        probe = Probe(server, token)
        probe.round()  # warm up

        readers = [SlowReader(server, token).start() for _ in range(READERS)]
        for reader in readers:
            reader.wait_for_answer()
        reading = [reader for reader in readers if reader.status == 200]
        refused = [reader for reader in readers if reader.status != 200]
        # Beyond the bound a download is refused at once, with a hint when to come back.
        assert len(reading) == 8, [reader.status for reader in readers]
        assert all(reader.status == 503 and reader.headers.get("retry-after") for reader in refused)
        # Not queued for a connection: answered while the 8 accepted ones start (30 arrive at once).
        refused_in = max(reader.answered_in for reader in refused)
        assert refused_in < 2.0
        if (held := download_connections(database_url)) is not None:
            assert held == 8

        csv = "phone_number\n" + "".join(f"+48{600000000 + i}\n" for i in range(500))
        imported = probe.client.post(f"{URL}/imports", content=csv, headers={"Content-Type": "text/csv"})
        assert imported.status_code == 202, imported.text
        import_done_at = None
        deadline = time.monotonic() + STORM_SECONDS
        while time.monotonic() < deadline:
            probe.round()
            if import_done_at is None and probe.client.get(f"{URL}/imports/{imported.json()['id']}").json()["status"] == "done":
                import_done_at = time.monotonic()
            time.sleep(0.05)

        # Still a storm: the downloads are being read, slowly, and none has got near its end.
        assert all(reader.thread.is_alive() and not reader.finished and reader.received > 0 for reader in reading)
        assert import_done_at is not None, "the import queued during the storm did not finish"
        assert not probe.problems, probe.problems
        assert max(max(times) for times in probe.timings.values()) < 1.0, probe.summary()

        # SQLite: writers went on (the adds above); a checkpoint cannot pass the readers' snapshots yet.
        during = checkpoint(database_url, "PASSIVE")
        for reader in readers:
            reader.close()
        # Their connections go back as the sockets close, and every slot is free again.
        pooled = download_connections(database_url) is not None
        released = wait_until(lambda: download_connections(database_url) == 0, timeout=2) if pooled else 0.0
        # And every slot is free: eight downloads at once are served again (SQLite shows no connections).
        # A try that finds a slot still taken holds slots of its own for a moment: the next waits longer.
        started = time.monotonic()
        for attempt in range(6):
            if eight_served(server, token):
                break
            time.sleep(1.0 + attempt)
        else:
            raise AssertionError("the slots of closed downloads were not free again within 20 s")
        released += time.monotonic() - started

        probe.round()
        assert not probe.problems, probe.problems
        # Once the readers are gone, the whole log can be checkpointed and emptied.
        after = checkpoint(database_url, "TRUNCATE")
        assert after is None or after[0] == 0, after
        log = server.log.read_text()
        assert "worker loop error" not in log and "QueuePool" not in log, log[-3000:]
        with capsys.disabled():
            wal = f"; WAL checkpoint (busy, frames, done) during {during}, after {after}" if during is not None else ""
            print(f"\n[{database_url.split(':')[0]}] {probe.summary()}; downloads released in {released:.2f}s; "
                  f"{len(refused)} refused within {refused_in:.2f}s; slow readers got {min(r.received for r in reading)}-{max(r.received for r in reading)} bytes{wal}")


def test_a_client_that_closes_early_gives_its_slot_back_at_once(tmp_path: Path, database_url: str):
    with running_server(tmp_path, "--no-access-log", database_url=database_url, env={"STOPLIST_MAX_DOWNLOADS": "2"}) as server:
        token = seed(database_url, server, ENTRIES)
        first, second = SlowReader(server, token).start(), SlowReader(server, token).start()
        first.wait_for_answer()
        second.wait_for_answer()
        assert (first.status, second.status) == (200, 200)

        third = SlowReader(server, token).start()
        third.wait_for_answer()
        assert third.status == 503 and third.headers["retry-after"].isdigit()
        assert third.answered_in < 1.0
        third.close()
        # Looking an x-async file up takes no slot; only its download does.
        unknown = httpx.get(f"{server.base_url}/files/{'0' * 32}", headers={"Authorization": f"Bearer {token}"})
        assert unknown.status_code == 404

        first.close()
        started = time.monotonic()

        def slot_free() -> bool:
            probe = SlowReader(server, token).start()
            probe.wait_for_answer()
            probe.close()
            return probe.status == 200

        wait_until(slot_free, timeout=2)
        assert time.monotonic() - started < 1.5
        second.close()

