"""The worker: claims queued jobs from the database and runs them, in `serve` or on its own.

A job is claimed by compare-and-set, so two workers never run the same one. A running job
renews its lease with every checkpoint; one whose worker stopped renewing for
`STOPLIST_JOB_TIMEOUT` is taken up again by any worker, or failed once it has used
`STOPLIST_JOB_MAX_ATTEMPTS`. A graceful stop puts the running job back in the queue.

The worker knows no feature: what it runs (`runners`) and what it tidies up for the features
(`Housekeeping`) are handed in where the app is composed (stoplist.composition).
"""

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from stoplist.config import Settings
from stoplist.db import utcnow
from stoplist.jobs.models import RUNNING, Job
from stoplist.jobs.repository import JobRepository

log = logging.getLogger("stoplist.worker")

MAINTENANCE_INTERVAL = 60.0
# How often the chores thread looks for a chore that is due (seconds): the slack on each chore's interval.
CHORES_TICK = 1.0
# After errors in a row, the loop waits longer each time, up to this (seconds), then tries again.
MAX_BACKOFF = 5.0
# Errors a database recovers from by itself: a dropped or refused connection, a lock timeout, a deadlock.
PASSING_ERRORS = (OperationalError, InterfaceError, DisconnectionError)


class LeaseLost(Exception):
    """Another worker took the job over (this one was too slow to renew its lease)."""


class Stopping(Exception):
    """The worker is shutting down; the job goes back to the queue."""


class JobFailed(Exception):
    """A job cannot finish; `code` and `message` are shown to the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class JobContext:
    """What a runner sees of its job, and how it commits work with the lease held."""

    job_id: str
    account_id: int
    params: dict
    progress: dict
    input_file_id: str | None
    worker_id: str
    session_factory: sessionmaker[Session]
    settings: Settings
    stop: threading.Event = field(default_factory=threading.Event)

    def commit(self, session: Session, progress: dict) -> None:
        """Commit the session's work together with the progress it represents, or roll both back."""
        if self.stop.is_set():
            session.rollback()
            raise Stopping()
        if not JobRepository(session).checkpoint(job_id=self.job_id, worker_id=self.worker_id, now=utcnow(), progress=progress):
            session.rollback()
            raise LeaseLost()
        session.commit()
        self.progress = progress


Runner = Callable[[JobContext], tuple[dict, str | None]]
# Deletes stored files (uploads of ended imports, outputs past the retention) in the caller's transaction.
FileDiscarder = Callable[[Session, list[str]], None]
# Deletes one batch of entries expired at `now` in the caller's transaction; answers how many.
EntryPurge = Callable[[Session, datetime], int]


def _keep_files(session: Session, file_ids: list[str]) -> None:
    """No files to discard: a worker composed without the files feature."""


@dataclass(frozen=True)
class PeriodicTask:
    """A chore a worker does for a feature every `interval(settings)` seconds (0: never), in
    transactions of its own; `run` answers how many things it did, for the log."""

    name: str
    interval: Callable[[Settings], float]
    run: Callable[[sessionmaker[Session], Settings, threading.Event], int]


@dataclass(frozen=True)
class Housekeeping:
    """What the worker tidies up for the features besides running jobs: the stored files of ended
    jobs, and the features' periodic chores (registered in stoplist.composition)."""

    discard_files: FileDiscarder = _keep_files
    periodic: tuple[PeriodicTask, ...] = ()


class Worker:
    """Runs jobs of the kinds it has runners for until told to stop."""

    def __init__(
        self, session_factory: sessionmaker[Session], settings: Settings, runners: dict[str, Runner], *,
        housekeeping: Housekeeping = Housekeeping(), worker_id: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.runners = runners
        self.housekeeping = housekeeping
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stop = threading.Event()
        self._last_maintenance = 0.0
        self._last_run: dict[str, float] = {}

    def run(self) -> None:
        """Work until `stop` is set; no error ends the loop (a database that is down is waited for, backing off).

        The chores run on a thread of their own, so that a long job (an import of millions) does
        not hold up the expiry sweep's bound."""
        log.info("worker %s started", self.worker_id)
        chores = threading.Thread(target=self._keep, args=(self._chores,), name="stoplist-chores", daemon=True)
        chores.start()
        try:
            self._keep(self._work)
        finally:
            chores.join()
        log.info("worker %s stopped", self.worker_id)

    def _work(self) -> None:
        if not self.run_once():
            self.stop.wait(self.settings.worker_poll_interval)

    def _chores(self) -> None:
        self.maintain()
        self.stop.wait(CHORES_TICK)

    def _keep(self, step: Callable[[], None]) -> None:
        """Do `step` again and again until `stop` is set; an error is logged and the step retried, backing off."""
        failures = 0
        while not self.stop.is_set():
            try:
                step()
                failures = 0
            except Exception as exc:
                failures += 1
                delay = min(MAX_BACKOFF, self.settings.worker_poll_interval * 2 ** min(failures, 16))
                # The whole traceback once; while the same trouble lasts, one line per try.
                if failures == 1:
                    log.exception("worker loop error; retrying in %.1f s", delay)
                else:
                    log.warning("worker loop error again (%s, %s in a row); retrying in %.1f s", type(exc).__name__, failures, delay)
                self.stop.wait(delay)

    def run_once(self) -> bool:
        """Claim and run one job; False when there was none."""
        job = self.claim()
        if job is None:
            return False
        self._run(job)
        return True

    def claim(self) -> Job | None:
        now = utcnow()
        stale_before = now - self.settings.job_timeout
        with self.session_factory() as session:
            repository = JobRepository(session)
            for job_id, kind, status, attempts in repository.claimable(stale_before=stale_before):
                if kind not in self.runners:
                    continue
                if status == RUNNING and attempts >= self.settings.job_max_attempts:
                    message = f"The job's worker stopped responding {attempts} times; giving up."
                    if repository.give_up(job_id=job_id, attempts=attempts, stale_before=stale_before, now=now, code="worker_lost", message=message):
                        session.commit()
                        log.warning("job %s failed: %s", job_id, message)
                    else:
                        session.rollback()
                    continue
                if repository.try_claim(job_id=job_id, attempts=attempts, stale_before=stale_before, worker_id=self.worker_id, now=now):
                    session.commit()
                    return repository.get_any(job_id)
                session.rollback()
        return None

    def _run(self, job: Job) -> None:
        context = JobContext(
            job_id=job.id, account_id=job.account_id, params=json.loads(job.params), progress=job.progress_data,
            input_file_id=job.input_file_id, worker_id=self.worker_id, session_factory=self.session_factory, settings=self.settings, stop=self.stop,
        )
        log.info("job %s (%s) started, attempt %s", job.id, job.kind, job.attempts)
        try:
            progress, output_file_id = self.runners[job.kind](context)
        except Stopping:
            self._settle(lambda repository: repository.release(job_id=job.id, worker_id=self.worker_id))
            log.info("job %s put back in the queue", job.id)
            return
        except LeaseLost:
            log.warning("job %s was taken over by another worker", job.id)
            return
        except PoolTimeout:
            # Every connection was busy: nothing is wrong with the job, so the attempt is not spent.
            log.warning("job %s found no free database connection; put back in the queue", job.id)
            self._settle(lambda repository: repository.release(job_id=job.id, worker_id=self.worker_id))
            return
        except PASSING_ERRORS as exc:
            # Deadlocks, lock timeouts, a dropped connection: worth another attempt, up to the limit.
            if job.attempts < self.settings.job_max_attempts:
                log.warning("job %s hit a database error (%s); queued again", job.id, _cause(exc))
                self._settle(lambda repository: repository.retry(job_id=job.id, worker_id=self.worker_id))
                return
            log.exception("job %s failed on a database error", job.id)
            self._fail(job, "database_error", f"The job stopped on a database error ({_cause(exc)}) {job.attempts} times.")
            return
        except JobFailed as exc:
            self._fail(job, exc.code, exc.message)
            log.info("job %s failed: %s", job.id, exc.message)
            return
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            self._fail(job, "internal_error", f"The job stopped on an unexpected error ({type(exc).__name__}).")
            return
        self._settle(lambda repository: repository.finish(job_id=job.id, worker_id=self.worker_id, now=utcnow(), progress=progress, output_file_id=output_file_id))
        self._discard_input(job)
        log.info("job %s done: %s", job.id, progress)

    def _fail(self, job: Job, code: str, message: str) -> None:
        """End the job as failed with the error its owner will see, and drop its upload."""
        self._settle(lambda repository: repository.fail(job_id=job.id, worker_id=self.worker_id, now=utcnow(), code=code, message=message))
        self._discard_input(job)

    def _settle(self, change: Callable[[JobRepository], bool], tries: int = 5) -> None:
        """Record how a job ended, retrying through passing database errors; if that never works,
        the job's lease runs out and it is taken up again like any job whose worker was lost."""
        for attempt in range(tries):
            try:
                with self.session_factory() as session:
                    if change(JobRepository(session)):
                        session.commit()
                return
            except (PoolTimeout, *PASSING_ERRORS) as exc:
                if attempt == tries - 1:
                    raise
                log.warning("recording a job's end hit %s; trying again", type(exc).__name__)
                time.sleep(min(MAX_BACKOFF, 0.1 * 2**attempt))

    def _discard_input(self, job: Job) -> None:
        """An upload is not needed once its import has ended."""
        if job.input_file_id:
            with self.session_factory() as session:
                self.housekeeping.discard_files(session, [job.input_file_id])
                session.commit()

    def maintain(self) -> None:
        """Do the chores that are due: now and then remove jobs and files older than the retention,
        and run each periodic task whose interval has passed."""
        if time.monotonic() - self._last_maintenance >= MAINTENANCE_INTERVAL:
            self._last_maintenance = time.monotonic()
            purge_expired(self.session_factory, self.settings, discard_files=self.housekeeping.discard_files)
        for task in self.housekeeping.periodic:
            interval = task.interval(self.settings)
            if interval and time.monotonic() - self._last_run.get(task.name, -interval) >= interval:
                self._last_run[task.name] = time.monotonic()
                done = task.run(self.session_factory, self.settings, self.stop)
                if done:
                    log.info("%s: %s", task.name, done)


def _cause(exc: Exception) -> str:
    """The driver's error class behind SQLAlchemy's wrapper, for messages."""
    return type(getattr(exc, "orig", None) or exc).__name__


def purge_expired(session_factory: sessionmaker[Session], settings: Settings, *, discard_files: FileDiscarder) -> int:
    """Delete finished jobs, their files and rejected rows once the retention has passed."""
    with session_factory() as session:
        jobs = JobRepository(session)
        expired = jobs.finished_before(utcnow() - settings.file_retention)
        # An export that failed half-way has its file only in its progress.
        files = {file_id for job in expired for file_id in (job.input_file_id, job.output_file_id, job.progress_data.get("file_id")) if file_id}
        discard_files(session, sorted(files))
        jobs.delete(job_ids=[job.id for job in expired])
        session.commit()
        return len(expired)


def purge_expired_entries(session_factory: sessionmaker[Session], purge: EntryPurge, *, stop: threading.Event | None = None) -> int:
    """Delete every entry whose expiry has passed, one batch a transaction so writers are not held up."""
    removed = 0
    while stop is None or not stop.is_set():
        with session_factory() as session:
            count = purge(session, utcnow())
            session.commit()
        removed += count
        if count == 0:
            break
    return removed
