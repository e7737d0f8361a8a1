"""The job queue: exactly-once claims, leases, give-up, graceful release."""

import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.jobs.models import DONE, FAILED, QUEUED, RUNNING, Job
from stoplist.jobs.repository import JobRepository
from stoplist.jobs.worker import JobContext, Worker


def enqueue(session_factory, account_id: int, count: int, kind: str = "test") -> list[str]:
    with transaction(session_factory) as session:
        return [JobRepository(session).enqueue(account_id=account_id, kind=kind, params={"n": n}).id for n in range(count)]


def jobs(session_factory) -> list[Job]:
    with session_factory() as session:
        return list(session.scalars(select(Job).order_by(Job.created_at, Job.id)))


def settings_for(database_url: str, **overrides) -> Settings:
    return Settings(database_url=database_url, worker_poll_interval=0.01, **overrides)


def test_racing_workers_run_each_job_exactly_once(session_factory, account_id, database_url):
    ids = enqueue(session_factory, account_id, 40)
    runs: list[tuple[str, str]] = []
    lock = threading.Lock()

    def record(context: JobContext):
        time.sleep(0.005)
        with lock:
            runs.append((context.job_id, context.worker_id))
        return {"ran": True}, None

    workers = [Worker(session_factory, settings_for(database_url), {"test": record}, worker_id=f"w{i}") for i in range(4)]
    threads = [threading.Thread(target=worker.run) for worker in workers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(runs) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    for worker in workers:
        worker.stop.set()
    for thread in threads:
        thread.join()

    assert sorted(job_id for job_id, _ in runs) == sorted(ids)
    assert len({worker_id for _, worker_id in runs}) > 1, "the race needs more than one worker taking part"
    assert all(job.status == DONE and job.attempts == 1 for job in jobs(session_factory))


def test_a_job_whose_worker_stopped_beating_is_taken_up_again(session_factory, account_id, database_url):
    [job_id] = enqueue(session_factory, account_id, 1)
    with transaction(session_factory) as session:
        session.execute(update(Job).values(status=RUNNING, worker_id="dead", attempts=1, heartbeat_at=utcnow() - timedelta(minutes=5)))
    seen: list[dict] = []

    def resume(context: JobContext):
        seen.append(context.progress)
        return {"resumed": True}, None

    worker = Worker(session_factory, settings_for(database_url, job_timeout=timedelta(seconds=60)), {"test": resume}, worker_id="alive")

    assert worker.run_once() is True
    [job] = jobs(session_factory)
    assert (job.id, job.status, job.attempts, job.worker_id) == (job_id, DONE, 2, "alive")


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(session_factory, account_id, database_url):
    enqueue(session_factory, account_id, 1)
    with transaction(session_factory) as session:
        session.execute(update(Job).values(status=RUNNING, worker_id="busy", attempts=1, heartbeat_at=utcnow()))
    worker = Worker(session_factory, settings_for(database_url), {"test": lambda context: ({}, None)})

    assert worker.run_once() is False
    assert jobs(session_factory)[0].worker_id == "busy"


def test_a_job_that_lost_its_worker_too_often_is_failed_not_left_running(session_factory, account_id, database_url):
    enqueue(session_factory, account_id, 1)
    with transaction(session_factory) as session:
        session.execute(update(Job).values(status=RUNNING, worker_id="dead", attempts=3, heartbeat_at=utcnow() - timedelta(minutes=5)))
    worker = Worker(session_factory, settings_for(database_url, job_max_attempts=3), {"test": lambda context: ({}, None)})

    assert worker.run_once() is False
    [job] = jobs(session_factory)
    assert job.status == FAILED
    assert job.error_code == "worker_lost"
    assert job.finished_at is not None


def test_a_graceful_stop_puts_the_running_job_back_in_the_queue(session_factory, account_id, database_url):
    enqueue(session_factory, account_id, 1)
    worker = Worker(session_factory, settings_for(database_url), {}, worker_id="stopping")

    def interrupted(context: JobContext):
        worker.stop.set()
        with context.session_factory() as session:
            context.commit(session, {"half": True})
        return {}, None

    worker.runners["test"] = interrupted
    worker.run_once()

    [job] = jobs(session_factory)
    assert (job.status, job.attempts, job.worker_id) == (QUEUED, 0, None)


def test_work_committed_after_another_worker_took_the_job_over_is_rolled_back(session_factory, account_id, database_url):
    enqueue(session_factory, account_id, 1)

    def overtaken(context: JobContext):
        with transaction(session_factory) as session:
            session.execute(update(Job).values(worker_id="thief"))
        with context.session_factory() as session:
            AuthRepository(session).add_account("written-by-the-loser", created_at=utcnow())
            context.commit(session, {"progress": 1})
        return {}, None

    worker = Worker(session_factory, settings_for(database_url), {"test": overtaken})
    worker.run_once()

    with session_factory() as session:
        assert AuthRepository(session).account_by_name("written-by-the-loser") is None
    [job] = jobs(session_factory)
    assert (job.status, job.worker_id) == (RUNNING, "thief")


def test_a_crashing_job_fails_with_a_message_and_the_worker_goes_on(session_factory, account_id, database_url):
    enqueue(session_factory, account_id, 2)
    calls = []

    def crash_first(context: JobContext):
        calls.append(context.job_id)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return {"ok": True}, None

    worker = Worker(session_factory, settings_for(database_url), {"test": crash_first})
    worker.run_once()
    worker.run_once()

    first, second = jobs(session_factory)
    assert (first.status, first.error_code) == (FAILED, "internal_error")
    assert "boom" not in (first.error_message or "")
    assert second.status == DONE
