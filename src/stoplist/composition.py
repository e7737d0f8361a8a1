"""Where the job worker meets the features: which runner runs which kind of job, and what the
worker tidies up for them. Only the composition roots (app.py, cli.py) import this."""

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from stoplist.audit import retention
from stoplist.audit.trail import SYSTEM
from stoplist.config import Settings
from stoplist.exports.runner import run_export
from stoplist.exports.service import KIND as EXPORT
from stoplist.files.repository import FileRepository
from stoplist.imports.runner import run_import
from stoplist.imports.service import KIND as IMPORT
from stoplist.jobs import runners, worker
from stoplist.jobs.worker import Housekeeping, Runner, Worker
from stoplist.lists.writer import EntryWriter

RUNNERS: dict[str, Runner] = {IMPORT: run_import, EXPORT: run_export}


def discard_files(session: Session, file_ids: list[str]) -> None:
    FileRepository(session).delete(file_ids=file_ids)


def purge_entries(session: Session, now: datetime) -> int:
    return EntryWriter(session, SYSTEM).purge_expired(now=now)


def trim_trail(session: Session, now: datetime, months: int) -> int:
    return retention.drop_expired(session, now=now, months=months)


HOUSEKEEPING = Housekeeping(discard_files=discard_files, purge_entries=purge_entries, trim_trail=trim_trail)


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
