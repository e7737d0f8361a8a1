import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from stoplist import migrate
from stoplist.imports.upload import SUFFIX
from tests.e2e.conftest import LiveServer, free_port, running_server

TOKEN_LINE = re.compile(r"^\s+(sl_\S+)$", re.MULTILINE)


def test_serve_migrates_a_new_database_before_serving(tmp_path: Path, empty_database_url: str):
    assert migrate.current_revision(empty_database_url) is None

    with running_server(tmp_path, database_url=empty_database_url):
        assert migrate.current_revision(empty_database_url) == migrate.head_revision(empty_database_url)


def test_a_real_server_answers_with_a_token_from_the_cli(live_server: LiveServer):
    token = live_server.create_token()

    response = httpx.get(f"{live_server.base_url}/blacklist/phone_numbers", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.json() == {"size": 0, "collection": []}


def test_the_first_run_prints_a_working_token_and_later_runs_do_not(tmp_path: Path, empty_database_url: str):
    with running_server(tmp_path, "--bootstrap-token", database_url=empty_database_url) as server:
        printed = TOKEN_LINE.findall(server.log.read_text())
        assert len(printed) == 1, server.log.read_text()
        # The "Try it" line names the port the server listens on (make run PORT=...), not a default.
        assert f"{server.base_url}/blacklist/phone_numbers" in server.log.read_text()
        response = httpx.get(f"{server.base_url}/blacklist/phone_numbers", headers={"Authorization": f"Bearer {printed[0]}"})
        assert response.status_code == 200
        # Its making is the trail's first event: a grant by the operator.
        [first] = httpx.get(f"{server.base_url}/blacklist/changes", headers={"Authorization": f"Bearer {printed[0]}"}).json()["events"]
        assert (first["seq"], first["op"], first["source"], first["actor"]["token_id"], first["after"]["token_id"]) == (1, "grant", "cli", None, 1)

    with running_server(tmp_path, "--bootstrap-token", database_url=empty_database_url) as server:
        assert TOKEN_LINE.findall(server.log.read_text()) == []


def test_a_revoked_token_is_refused_by_a_running_server(live_server: LiveServer):
    token = live_server.create_token()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{live_server.base_url}/blacklist/phone_numbers", headers=headers).status_code == 200

    live_server.stoplist("token", "revoke", "1")

    response = httpx.get(f"{live_server.base_url}/blacklist/phone_numbers", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_serve_removes_the_upload_files_of_servers_that_are_gone(tmp_path: Path, database_url: str):
    uploads = tmp_path / "tmp"
    uploads.mkdir()
    dead = _a_pid_that_is_gone()
    left = uploads / f"stoplist-upload-{dead}@{socket.gethostname()}-abc{SUFFIX}"
    left.write_text("48500000001\n")
    ours = uploads / f"stoplist-upload-{os.getpid()}@{socket.gethostname()}-abc{SUFFIX}"
    ours.write_text("48500000002\n")

    with running_server(tmp_path, database_url=database_url, env={"TMPDIR": str(uploads)}):
        assert not left.exists()
        assert ours.exists()


def _a_pid_that_is_gone() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_make_run_serves_on_the_port_and_host_it_is_given(tmp_path: Path):
    """The README's `make run PORT=…`: the newcomer's command, on another port, with a token printed."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".venv" / "bin" / "stoplist").exists():
        pytest.skip("make run needs the .venv that make test creates")
    port = free_port()
    env = {**os.environ, "STOPLIST_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}"}
    log_path = tmp_path / "make-run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(["make", "-s", "run", f"PORT={port}", "HOST=127.0.0.1"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            assert answer.json() == {"status": "ok"}
            [token] = TOKEN_LINE.findall(log_path.read_text())
            listed = httpx.get(f"http://127.0.0.1:{port}/blacklist/phone_numbers", headers={"Authorization": f"Bearer {token}"})
            assert listed.json() == {"size": 0, "collection": []}
        finally:
            os.killpg(process.pid, 15)
            process.wait(30)


def _serve_migrating_a_held_database(tmp_path: Path, *extra_env: tuple[str, str]):
    """`stoplist serve` on a SQLite file another connection holds exclusively (its migration waits on the lock),
    once its migration's process runs; with the holding connection and that process."""
    database = tmp_path / "held.db"
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN EXCLUSIVE")
    env = {**os.environ, "STOPLIST_DATABASE_URL": f"sqlite:///{database}", "STOPLIST_SERVE_WORKER": "false", **dict(extra_env)}
    serve = subprocess.Popen([sys.executable, "-m", "stoplist", "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (children := psutil.Process(serve.pid).children()):
        assert serve.poll() is None and time.monotonic() < deadline, serve.communicate()
        time.sleep(0.05)
    return serve, holder, children[0], database


def test_stopping_stoplist_serve_while_it_migrates_stops_the_migration_too(tmp_path: Path):
    serve, holder, migration, database = _serve_migrating_a_held_database(tmp_path)
    try:
        serve.send_signal(signal.SIGTERM)
        _out, err = serve.communicate(timeout=30)
        assert serve.returncode == 128 + signal.SIGTERM, err
        assert "the migration was ended by SIGTERM" in err
        migration.wait(timeout=5)  # gone with it, not left to migrate on its own
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert migrate.current_revision(f"sqlite:///{database}") is None


def test_a_migration_killed_under_stoplist_serve_stops_it_saying_so(tmp_path: Path):
    serve, holder, migration, _database = _serve_migrating_a_held_database(tmp_path)
    try:
        migration.kill()  # as the out-of-memory killer would
        _out, err = serve.communicate(timeout=30)
        assert serve.returncode == 128 + signal.SIGKILL, err
        assert "the migration was ended by SIGKILL" in err
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_stoplist_serve_with_json_logs_writes_only_json_lines(tmp_path: Path, empty_database_url: str):
    """The migration at start writes nothing of its own (`stoplist migrate`'s line is plain text)."""
    with running_server(tmp_path, database_url=empty_database_url, env={**os.environ, "STOPLIST_LOG_FORMAT": "json"}) as server:
        lines = server.log.read_text().splitlines()
    assert lines and all(line.startswith("{") for line in lines), lines[:5]
