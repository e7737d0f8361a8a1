"""Where the job worker meets the features: which runner runs which kind of job, and what the
worker tidies up for them. Only the composition roots (app.py, cli.py) import this."""

import threading
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from stoplist.audit import retention
from stoplist.audit.trail import SYSTEM
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.exports.runner import run_export
from stoplist.exports.service import KIND as EXPORT
from stoplist.files.repository import FileRepository
from stoplist.imports.runner import run_import
from stoplist.imports.service import KIND as IMPORT
from stoplist.jobs import runners, worker
from stoplist.jobs.worker import Housekeeping, PeriodicTask, Runner, Worker
from stoplist.lists.writer import EntryWriter

RUNNERS: dict[str, Runner] = {IMPORT: run_import, EXPORT: run_export}


def discard_files(session: Session, file_ids: list[str]) -> None:
    FileRepository(session).delete(file_ids=file_ids)


def purge_entries(session: Session, now: datetime) -> int:
    return EntryWriter(session, SYSTEM).purge_expired(now=now)


def _sweep_expired(session_factory: sessionmaker[Session], _settings: Settings, stop: threading.Event) -> int:
    return worker.purge_expired_entries(session_factory, purge_entries, stop=stop)


def _trim_trail(session_factory: sessionmaker[Session], settings: Settings, _stop: threading.Event) -> int:
    with transaction(session_factory) as session:
        return retention.drop_expired(session, now=utcnow(), months=settings.audit_retention_months)


# The expiry sweep: each lapsed entry's `expire` event, within STOPLIST_PURGE_INTERVAL of its expiry.
EXPIRY_SWEEP = PeriodicTask("expired entries recorded and deleted", lambda settings: settings.purge_interval, _sweep_expired)
TRAIL_RETENTION = PeriodicTask(
    "audit events dropped past their retention", lambda settings: worker.MAINTENANCE_INTERVAL if settings.audit_retention_months else 0, _trim_trail
)
HOUSEKEEPING = Housekeeping(discard_files=discard_files, periodic=(EXPIRY_SWEEP, TRAIL_RETENTION))


def create_worker(session_factory: sessionmaker[Session], settings: Settings) -> Worker:
    """A worker for every kind of job Stoplist has (`stoplist worker`, and the one `serve` starts)."""
    return Worker(session_factory, settings, RUNNERS, housekeeping=HOUSEKEEPING)


def start_worker_thread(session_factory: sessionmaker[Session], settings: Settings) -> runners.WorkerThread:
    """The worker `stoplist serve` runs beside the API, on a small pool of its own."""
    return runners.start_worker_thread(session_factory, lambda own: create_worker(own, settings))


def purge_expired(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Remove finished jobs and their files once the retention has passed; answers how many jobs."""
    return worker.purge_expired(session_factory, settings, discard_files=discard_files)


def purge_expired_entries(session_factory: sessionmaker[Session], *, stop=None) -> int:
    """Delete every expired entry now, batch by batch; answers how many."""
    return worker.purge_expired_entries(session_factory, purge_entries, stop=stop)
