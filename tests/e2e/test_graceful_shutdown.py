"""Stopping `stoplist serve` with SIGTERM: in-flight requests finish, the running job goes back to the queue."""

import json
import signal
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from stoplist.auth.models import AccessToken
from stoplist.auth.service import hash_token
from stoplist.testing.lists import fill
from stoplist.db import utcnow
from stoplist.jobs.models import DONE, QUEUED, Job
from tests.e2e.conftest import running_server

ROWS = 500_000


def job(session_factory, job_id: str) -> Job:
    with session_factory() as session:
        return session.get(Job, job_id)


def test_sigterm_lets_an_upload_finish_and_puts_the_running_import_back_in_the_queue(tmp_path: Path, database_url: str, session_factory):
    body = ("phone_number\n" + "".join(f"+48{500000000 + i}\n" for i in range(ROWS))).encode()
    with running_server(tmp_path, database_url=database_url, env={"STOPLIST_WORKER_POLL_INTERVAL": "0.05"}) as server:
        headers = {"Authorization": f"Bearer {server.create_token()}", "Content-Type": "text/csv"}
        running = httpx.post(f"{server.base_url}/blacklist/phone_numbers/imports", content=body, headers=headers, timeout=60).json()["id"]
        deadline = time.monotonic() + 60
        while json.loads(job(session_factory, running).progress).get("rows", 0) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)

        sent_first_part = threading.Event()
        answer: dict[str, object] = {}

        def slow_body():
            yield b"phone_number\n+447400123456\n"
            sent_first_part.set()
            time.sleep(0.5)  # the server is told to stop while this upload is still arriving
            yield b"+447400123457\n"

        def upload() -> None:
            response = httpx.post(f"{server.base_url}/blacklist/phone_numbers/imports", content=slow_body(), headers=headers, timeout=60)
            answer["status"] = response.status_code
            answer["id"] = response.json().get("id")

        uploader = threading.Thread(target=upload)
        uploader.start()
        assert sent_first_part.wait(30)
        time.sleep(0.05)
        server.process.send_signal(signal.SIGTERM)
        uploader.join(timeout=60)
        # uvicorn drains, shuts down, then re-raises the signal: -SIGTERM is its normal graceful exit.
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)

    assert answer["status"] == 202, "the upload in flight when the server was told to stop must be answered"
    accepted = job(session_factory, answer["id"])
    assert accepted.status in (QUEUED, DONE), "an accepted upload is kept for a worker (this one may have run it before stopping)"
    stopped = job(session_factory, running)
    assert stopped.status == QUEUED, "a stopped worker must put its job back, not leave it running"
    assert stopped.worker_id is None
    assert 0 < json.loads(stopped.progress)["rows"] < ROWS


EXPORT_ROWS = 200_000


def test_sigterm_lets_a_slowly_read_csv_export_finish_whole(tmp_path: Path, database_url: str, session_factory):
    with running_server(tmp_path, database_url=database_url) as server:
        token = server.create_token()
        with session_factory() as session:
            account = session.scalar(select(AccessToken.account_id).where(AccessToken.token_hash == hash_token(token)))
            fill(session, account, {str(48500000000 + i): None for i in range(EXPORT_ROWS)}, now=utcnow())
            session.commit()
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
        received = bytearray()
        with httpx.stream("GET", f"{server.base_url}/blacklist/phone_numbers", headers=headers, timeout=60) as response:
            assert response.status_code == 200
            chunks = response.iter_bytes(16_384)
            received += next(chunks)
            server.process.send_signal(signal.SIGTERM)  # told to stop with megabytes still to send
            for chunk in chunks:
                received += chunk
                time.sleep(0.001)  # a slow reader: the rest sits in the server's buffers meanwhile
        assert server.process.wait(timeout=60) in (0, -signal.SIGTERM)

    lines = received.decode().splitlines()
    assert lines[0].startswith("id,phone_number")
    assert len(lines) == EXPORT_ROWS + 1, "the export in flight when the server was told to stop must arrive whole"
    assert {line.split(",")[1] for line in lines[1:]} == {str(48500000000 + i) for i in range(EXPORT_ROWS)}
