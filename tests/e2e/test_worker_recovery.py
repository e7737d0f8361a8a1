"""A worker killed mid-import: the job is taken up by another worker and finishes with exact counts."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from stoplist.auth.repository import AuthRepository
from stoplist.lists.models import Entry
from stoplist.db import transaction, utcnow
from stoplist.audit.trail import Origin
from stoplist.imports.service import store_upload
from stoplist.jobs.models import DONE, RUNNING, Job

ROWS = 150_000


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "stoplist", "worker"], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def job_state(session_factory, job_id: str) -> tuple[str, dict, int]:
    with session_factory() as session:
        job = session.get(Job, job_id)
        return job.status, json.loads(job.progress), job.attempts


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_import_whose_worker_was_killed_finishes_once_on_another_worker(tmp_path: Path, database_url: str, session_factory):
    url = database_url
    upload = tmp_path / "numbers.csv"
    upload.write_text("phone_number\n" + "".join(f"+48{500000000 + i}\n" for i in range(ROWS)))
    with transaction(session_factory) as session:
        account = AuthRepository(session).add_account("ops", created_at=utcnow())
        job_id = store_upload(session=session, account_id=account.id, path=upload, origin=Origin("import")).id
    env = {**os.environ, "STOPLIST_DATABASE_URL": url, "STOPLIST_JOB_TIMEOUT": "1", "STOPLIST_WORKER_POLL_INTERVAL": "0.05"}

    first = start_worker(env, tmp_path / "first.log")
    try:
        wait_for(lambda: job_state(session_factory, job_id)[1].get("rows", 0) > 0, 60, "the first batch")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    status, progress, _ = job_state(session_factory, job_id)
    assert status == RUNNING and 0 < progress["rows"] < ROWS, "the worker must die in the middle of the import"

    second = start_worker(env, tmp_path / "second.log")
    try:
        wait_for(lambda: job_state(session_factory, job_id)[0] == DONE, 120, "the import to finish")
    finally:
        second.terminate()
        second.wait(timeout=30)

    status, progress, attempts = job_state(session_factory, job_id)
    assert attempts == 2
    assert (progress["rows"], progress["added"], progress["updated"], progress["invalid"]) == (ROWS, ROWS, 0, 0)
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == ROWS
