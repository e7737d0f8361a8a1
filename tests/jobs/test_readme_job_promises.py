"""README promises about jobs that had no test: a failed x-async export answers `500 export_failed`
with its reason, a subuser's jobs and files follow its mode, polling a file takes no download slot,
and `stoplist worker` migrates the database before it waits for jobs."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from stoplist import migrate, revisions
from stoplist.composition import RUNNERS, create_worker
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.downloads import downloads_of
from stoplist.jobs.models import FAILED, RUNNING, Job
from stoplist.jobs.worker import JobFailed, Worker
from tests.accounts.helpers import ALL, bearer, mint, subuser
from tests.api.helpers import IMPORTS, URL, add, assert_error

ASYNC = {"Accept": "text/csv", "x-async": "true"}
CSV = {"Accept": "text/csv"}


@pytest.fixture
def settings(database_url):
    """No worker beside the API: each test runs the jobs itself, when it means to."""
    return Settings(database_url=database_url, serve_worker=False, worker_poll_interval=0.02)


def queue_async_export(client, headers: dict) -> str:
    response = client.get(URL, headers={**headers, **ASYNC})
    assert response.status_code == 202, response.text
    return response.json()["file_id"]


def job(app, job_id: str) -> Job:
    with app.state.session_factory() as session:
        return session.get(Job, job_id)


# --- 1. a failed export answers 500 export_failed, with the reason ----------------------------------


def test_an_export_whose_worker_was_lost_too_often_answers_500_export_failed_with_the_reason(client, app, settings, auth):
    """The job fails the way the README names: each of STOPLIST_JOB_MAX_ATTEMPTS (3) workers claims
    it (the real claim) and then dies: it never runs the job nor renews its lease. Time passing is
    the one thing simulated: the lease's heartbeat is moved back past STOPLIST_JOB_TIMEOUT (the
    database clock has one-second steps, too coarse for a lease of milliseconds). The next worker
    then gives the job up instead of running it a fourth time."""
    add(client, auth, "48500000001")
    file_id = queue_async_export(client, auth)
    assert settings.job_max_attempts == 3
    for lost in ("lost-1", "lost-2", "lost-3"):
        claimed = Worker(app.state.session_factory, settings, RUNNERS, worker_id=lost).claim()
        assert claimed is not None and claimed.id == file_id
        with transaction(app.state.session_factory) as session:  # the dead worker's lease runs out
            session.execute(update(Job).where(Job.id == file_id).values(heartbeat_at=utcnow() - settings.job_timeout - timedelta(seconds=1)))
    assert client.get(f"/files/{file_id}", headers=auth).json() == {"status": "running"}

    assert create_worker(app.state.session_factory, settings).run_once() is False  # gives it up instead of running it
    failed = job(app, file_id)
    assert (failed.status, failed.attempts) == (FAILED, 3)

    body = assert_error(client.get(f"/files/{file_id}", headers=auth), 500, "export_failed")
    assert failed.error_message in body["message"]
    assert "stopped responding 3 times" in body["message"]


def test_an_export_whose_job_stops_on_an_error_answers_500_export_failed_with_that_error(client, app, settings, auth):
    """An error in the job: the export's runner raises the worker's JobFailed with a message of its
    own (the real runner has no input that makes it fail; the runner is swapped for one that does)."""
    add(client, auth, "48500000001")
    file_id = queue_async_export(client, auth)

    def out_of_space(context):
        raise JobFailed("storage_full", "The file store is full (47 GB of 47 GB).")

    assert Worker(app.state.session_factory, settings, {"export": out_of_space}).run_once() is True
    assert job(app, file_id).status == FAILED

    body = assert_error(client.get(f"/files/{file_id}", headers=auth), 500, "export_failed")
    assert "The file store is full (47 GB of 47 GB)." in body["message"]


# --- 2. a subuser's import jobs and export files follow its mode -------------------------------------


def test_a_subusers_import_job_and_export_file_are_out_of_reach_while_it_shares_and_back_when_it_owns_again(client, app, settings, make_token):
    parent = bearer(make_token("parent", ALL))
    sub_id = subuser(client, parent, "brand-b", "own")
    sub = bearer(mint(client, parent, ALL, sub_id)["token"])
    naming = {**parent, "Stoplist-Account": str(sub_id)}

    queued = client.post(IMPORTS, content=b"48500000222\n", headers={**sub, "Content-Type": "text/csv"})
    assert queued.status_code == 202, queued.text
    import_id = queued.json()["id"]
    worker = create_worker(app.state.session_factory, settings)
    assert worker.run_once()  # the import: the subuser's list now holds the number
    file_id = queue_async_export(client, sub)
    assert worker.run_once()  # the export

    def answers(headers: dict) -> tuple[int | str, int | str]:
        """The status of the import job and of the export file for these headers (a 404's error code)."""
        found = client.get(f"{IMPORTS}/{import_id}", headers=headers), client.get(f"/files/{file_id}", headers=headers)
        return tuple(response.json()["error"] if response.status_code == 404 else response.status_code for response in found)

    assert answers(sub) == (200, 200)
    assert answers(naming) == (200, 200)
    assert "48500000222" in client.get(f"/files/{file_id}", headers=sub).text

    switched = client.patch(f"/accounts/subusers/{sub_id}", json={"mode": "shared"}, headers=parent)
    assert switched.status_code == 200 and switched.json()["mode"] == "shared", switched.text
    assert answers(sub) == ("import_not_found", "file_not_found")
    assert answers(naming) == ("import_not_found", "file_not_found")  # the header still opens the subuser: on its parent's jobs

    back = client.patch(f"/accounts/subusers/{sub_id}", json={"mode": "own"}, headers=parent)
    assert back.status_code == 200 and back.json()["mode"] == "own", back.text
    assert answers(sub) == (200, 200)
    assert answers(naming) == (200, 200)
    assert "48500000222" in client.get(f"/files/{file_id}", headers=sub).text


# --- 3. polling a file takes no download slot; fetching it does ---------------------------------------


class TestWithEveryDownloadSlotTaken:
    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, serve_worker=False, max_downloads=1)

    @pytest.fixture
    def slot_taken(self, app, client):
        """The one download slot held, as a streamed download holds it until its client has read it
        (the test client reads a stream whole before it answers, so the slot is taken directly)."""
        downloads = downloads_of(app)
        session = downloads.open()
        yield
        downloads.release(session)

    def test_polling_a_queued_export_still_answers_202_queued(self, client, auth, slot_taken):
        add(client, auth, "48500000001")
        file_id = queue_async_export(client, auth)
        assert_error(client.get(URL, headers={**auth, **CSV}), 503, "busy")  # the slot is really taken

        response = client.get(f"/files/{file_id}", headers=auth)

        assert response.status_code == 202, response.text
        assert response.json() == {"status": "queued"}

    def test_polling_a_running_export_still_answers_202_running(self, client, app, auth, slot_taken):
        add(client, auth, "48500000001")
        file_id = queue_async_export(client, auth)
        with transaction(app.state.session_factory) as session:
            session.execute(update(Job).where(Job.id == file_id).values(status=RUNNING))
        assert_error(client.get(URL, headers={**auth, **CSV}), 503, "busy")  # the slot is really taken

        response = client.get(f"/files/{file_id}", headers=auth)

        assert response.status_code == 202, response.text
        assert response.json() == {"status": "running"}

    def test_fetching_a_finished_export_takes_a_slot_and_is_refused_503_busy(self, client, app, settings, auth):
        add(client, auth, "48500000001")
        file_id = queue_async_export(client, auth)
        assert create_worker(app.state.session_factory, settings).run_once()
        downloads = downloads_of(app)
        held = downloads.open()
        try:
            refused = client.get(f"/files/{file_id}", headers=auth)
        finally:
            downloads.release(held)

        assert_error(refused, 503, "busy")
        assert client.get(f"/files/{file_id}", headers=auth).status_code == 200  # once the slot is free


# --- 4. `stoplist worker` migrates the database when it starts -----------------------------------------


def test_stoplist_worker_migrates_an_empty_sqlite_file_to_head_then_keeps_running(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'stoplist.db'}"
    env = {**os.environ, "STOPLIST_DATABASE_URL": url, "STOPLIST_WORKER_POLL_INTERVAL": "0.05"}
    log = tmp_path / "worker.log"
    assert not (tmp_path / "stoplist.db").exists()
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "stoplist", "worker"], env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while "waiting for jobs" not in log.read_text():
            assert process.poll() is None, f"the worker exited with {process.returncode}: {log.read_text()}"
            assert time.monotonic() < deadline, f"the worker did not start within 20 s: {log.read_text()}"
            time.sleep(0.05)

        assert migrate.current_revision(url) == revisions.head()
        time.sleep(1.0)
        assert process.poll() is None, f"the worker stopped by itself ({process.returncode}): {log.read_text()}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()
