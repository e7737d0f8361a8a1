"""`kill -9` in the middle of the work: what was acknowledged survives, and jobs end exact or not at all."""

import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select

from stoplist.auth.models import AccessToken
from stoplist.auth.service import hash_token
from stoplist.lists.models import Entry
from stoplist.testing.lists import fill
from stoplist.db import transaction, utcnow
from stoplist.audit.models import Event
from stoplist.history import service as history
from stoplist.jobs.models import DONE, RUNNING, ImportRejection
from tests.e2e.conftest import running_server
from tests.e2e.test_worker_recovery import job_state, start_worker, wait_for

URL = "/blacklist/phone_numbers"
# A lost worker's job is taken up again after a second, not the default minute.
FAST_JOBS = {"STOPLIST_JOB_TIMEOUT": "1", "STOPLIST_WORKER_POLL_INTERVAL": "0.05", "STOPLIST_PURGE_INTERVAL": "0"}


def kill_9(process) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def account_of(session_factory, token: str) -> int:
    with session_factory() as session:
        return session.scalar(select(AccessToken.account_id).where(AccessToken.token_hash == hash_token(token)))


def restarted(tmp_path: Path, name: str, database_url: str, env: dict[str, str] | None = None):
    (tmp_path / name).mkdir()
    return running_server(tmp_path / name, database_url=database_url, env=env)


def test_every_add_acknowledged_before_a_kill_9_is_listed_after_the_restart(tmp_path: Path, database_url: str, session_factory):
    clients = 4
    acknowledged: set[str] = set()
    with restarted(tmp_path, "first", database_url) as first:
        token = first.create_token()
        headers = {"Authorization": f"Bearer {token}"}

        def add_until_the_server_dies(index: int) -> None:
            with httpx.Client(base_url=first.base_url, headers=headers, timeout=10) as client:
                for i in range(100_000):
                    number = str(48500000000 + index * 100_000 + i)
                    try:
                        response = client.post(URL, json={"phone_number": f"+{number}"})
                    except httpx.TransportError:
                        return  # killed: this add may or may not have been written, and was not acknowledged
                    assert response.status_code == 201, response.text
                    acknowledged.add(number)

        threads = [threading.Thread(target=add_until_the_server_dies, args=(index,), daemon=True) for index in range(clients)]
        for thread in threads:
            thread.start()
        wait_for(lambda: len(acknowledged) >= 300, 60, "300 acknowledged adds")
        kill_9(first.process)
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads)

    with restarted(tmp_path, "second", database_url) as second:
        headers = {"Authorization": f"Bearer {token}"}
        answer = httpx.post(f"{second.base_url}/blacklist/check", json={"phone_numbers": [f"+{n}" for n in sorted(acknowledged)]}, headers=headers, timeout=30)
        assert answer.status_code == 200, answer.text
        missing = [result["input"] for result in answer.json()["results"] if not result["blacklisted"]]
        assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged adds were lost"
        assert httpx.post(f"{second.base_url}{URL}", json={"phone_number": "+48600000000"}, headers=headers).status_code == 201
    with session_factory() as session:
        stored = session.scalar(select(func.count()).select_from(Entry))
    # At most one add per client was in flight, unacknowledged, when the server died.
    assert len(acknowledged) + 1 <= stored <= len(acknowledged) + 1 + clients


IMPORT_ROWS = 120_000  # three of the import's batches (imports.service.BATCH_ROWS): the kill falls after the first


def import_file(path: Path) -> dict[str, int]:
    """120,000 rows of every kind; returns the counts the import must end with.

    0..7,999 are listed and live, as the file lists them (unchanged); 8,000..11,999 listed but
    lapsed (listed anew: added); 12,000..111,999 new (added); then 4,000 repeats of earlier rows
    (unchanged), and 4,000 unreadable rows (invalid) spread through the file.
    """
    good = iter([f"+{48500000000 + i}" for i in range(112_000)] + [f"+{48500000000 + i}" for i in range(12_000, 16_000)])
    # Every 30th row is bad: 4,000 of them, the last one closing the file.
    rows = ["not a number" if index % 30 == 29 else next(good) for index in range(IMPORT_ROWS)]
    assert next(good, None) is None
    path.write_text("phone_number\n" + "\n".join(rows) + "\n")
    return {"rows": IMPORT_ROWS, "added": 104_000, "updated": 0, "unchanged": 12_000, "invalid": 4_000}


def test_an_import_killed_with_its_server_ends_on_the_restarted_one_with_exact_counts(tmp_path: Path, database_url: str, session_factory):
    upload = tmp_path / "numbers.csv"
    expected = import_file(upload)
    with restarted(tmp_path, "first", database_url, env=FAST_JOBS) as first:
        token = first.create_token()
        headers = {"Authorization": f"Bearer {token}"}
        now = utcnow()
        with transaction(session_factory) as session:
            fill(session, account_of(session_factory, token), {str(48500000000 + i): None for i in range(8_000)}, now=now)
            lapsed = {str(48500000000 + i): now - timedelta(days=1) for i in range(8_000, 12_000)}
            fill(session, account_of(session_factory, token), lapsed, now=now - timedelta(days=2))
        queued = httpx.post(f"{first.base_url}{URL}/imports", content=upload.read_bytes(), headers={**headers, "Content-Type": "text/csv"}, timeout=60)
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]
        wait_for(lambda: job_state(session_factory, job_id)[1].get("rows", 0) > 0, 60, "the first committed batch")
        kill_9(first.process)
    status, progress, _ = job_state(session_factory, job_id)
    assert status == RUNNING and 0 < progress["rows"] < IMPORT_ROWS, "the server must die in the middle of the import"

    with restarted(tmp_path, "second", database_url, env=FAST_JOBS) as second:
        def finished() -> dict | None:
            body = httpx.get(f"{second.base_url}{URL}/imports/{job_id}", headers=headers, timeout=10).json()
            return body if body["status"] in ("done", "failed") else None

        body = wait_for(finished, 120, "the import to end")

    assert body["status"] == "done", body["error"]
    assert {key: body[key] for key in expected} == expected
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 112_000
        assert session.scalar(select(func.count()).select_from(Entry).where(Entry.expire_at.is_(None))) == 112_000
        assert session.scalar(select(func.count()).select_from(ImportRejection).where(ImportRejection.job_id == job_id)) == expected["invalid"]
        # Exactly once on the trail, across the kill: an expire and an add per lapsed number, an add per new one, one summary.
        ops = dict(session.execute(select(Event.op, func.count()).where(Event.job_id == job_id).group_by(Event.op)).all())
        assert ops == {"expire": 4_000, "add": 104_000, "import": 1}
        assert history.verify(session)[2] is None


EXPORT_ROWS = 200_000


def test_an_export_whose_worker_is_killed_is_never_served_cut_short(tmp_path: Path, database_url: str, session_factory):
    """The API server runs no worker here, so it keeps answering `GET /files/{id}` while the worker is dead."""
    with restarted(tmp_path, "api", database_url, env={**FAST_JOBS, "STOPLIST_SERVE_WORKER": "false"}) as server:
        token = server.create_token()
        headers = {"Authorization": f"Bearer {token}"}
        with transaction(session_factory) as session:
            entries = {str(48500000000 + i): None for i in range(EXPORT_ROWS)}
            fill(session, account_of(session_factory, token), entries, now=utcnow())
        whole = httpx.get(f"{server.base_url}{URL}", headers={**headers, "Accept": "text/csv"}, timeout=60).content
        file_id = httpx.get(f"{server.base_url}{URL}", headers={**headers, "x-async": "true"}, timeout=10).json()["file_id"]
        served: list[httpx.Response] = []

        def poll() -> httpx.Response:
            response = httpx.get(f"{server.base_url}/files/{file_id}", headers=headers, timeout=60)
            served.append(response)
            return response

        worker_env = {**server.env, **FAST_JOBS}
        first = start_worker(worker_env, tmp_path / "first-worker.log")
        try:
            wait_for(lambda: job_state(session_factory, file_id)[1].get("bytes", 0) > 0, 60, "the first piece of the export")
        finally:
            kill_9(first)
        status, progress, _ = job_state(session_factory, file_id)
        assert status == RUNNING and 0 < progress["bytes"] < len(whole), "the worker must die in the middle of the export"
        # Dead worker, half a file stored, lease running out: still only "not ready".
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert poll().status_code == 202

        second = start_worker(worker_env, tmp_path / "second-worker.log")
        try:
            wait_for(lambda: poll().status_code != 202, 120, "the export to end")
        finally:
            second.terminate()
            second.wait(timeout=30)

    assert job_state(session_factory, file_id)[0] == DONE
    assert {response.status_code for response in served} == {200, 202}
    for response in served:
        if response.status_code == 200:
            assert response.content == whole, f"served {len(response.content)} of {len(whole)} bytes"
