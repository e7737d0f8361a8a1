"""The job queue: exactly-once claims, leases, give-up, graceful release."""

import threading
import time
from datetime import timedelta

from sqlalchemy import select, update

from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings
from stoplist.db import create_db_engine, create_session_factory, transaction, utcnow
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


def small_pool(database_url: str):
    """An engine with one connection and a short wait for it: exhausted as soon as something holds it."""
    return create_db_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.2)


def test_the_worker_outlives_an_exhausted_pool_and_runs_the_job_once_it_is_free(account_id, session_factory, database_url, caplog):
    job_id = enqueue(session_factory, account_id, 1)[0]
    engine = small_pool(database_url)
    worker = Worker(create_session_factory(engine), settings_for(database_url), {"test": lambda context: ({"ran": True}, None)})
    held = engine.connect()
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        time.sleep(1.0)  # several tries of the worker loop, each timing out on the pool
        assert thread.is_alive()
        assert jobs(session_factory)[0].status == QUEUED
        assert "worker loop error" in caplog.text
        held.close()
        deadline = time.monotonic() + 10
        while jobs(session_factory)[0].status != DONE and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop.set()
        thread.join()
        engine.dispose()

    [job] = jobs(session_factory)
    assert (job.id, job.status, job.attempts) == (job_id, DONE, 1)


def test_a_job_that_finds_no_free_connection_goes_back_to_the_queue_without_spending_an_attempt(account_id, session_factory, database_url):
    enqueue(session_factory, account_id, 1)
    engine = small_pool(database_url)
    calls = []

    def greedy_then_modest(context: JobContext):
        calls.append(context.job_id)
        with context.session_factory() as first:
            first.execute(select(1))
            if len(calls) == 1:
                with context.session_factory() as second:  # the pool's only connection is taken: times out
                    second.execute(select(1))
        return {"ran": True}, None

    worker = Worker(create_session_factory(engine), settings_for(database_url, job_max_attempts=1), {"test": greedy_then_modest})
    try:
        assert worker.run_once()
        assert jobs(session_factory)[0].status == QUEUED
        assert worker.run_once()
    finally:
        engine.dispose()

    [job] = jobs(session_factory)
    assert len(calls) == 2
    assert (job.status, job.attempts) == (DONE, 1)
