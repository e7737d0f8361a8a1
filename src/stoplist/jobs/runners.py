"""The job kinds Stoplist runs, and the worker thread that `stoplist serve` starts."""

import threading

from sqlalchemy.orm import Session, sessionmaker

from stoplist.config import Settings
from stoplist.exports.runner import run_export
from stoplist.exports.service import KIND as EXPORT
from stoplist.imports.runner import run_import
from stoplist.imports.service import KIND as IMPORT
from stoplist.jobs.worker import Runner, Worker

RUNNERS: dict[str, Runner] = {IMPORT: run_import, EXPORT: run_export}


def create_worker(session_factory: sessionmaker[Session], settings: Settings) -> Worker:
    return Worker(session_factory, settings, RUNNERS)


class WorkerThread:
    """A worker running beside the API in the same process."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.thread = threading.Thread(target=worker.run, name="stoplist-worker", daemon=True)

    def stop_and_join(self, timeout: float = 30.0) -> None:
        """Ask the worker to stop; a running job goes back to the queue at its next checkpoint."""
        self.worker.stop.set()
        self.thread.join(timeout)


def start_worker_thread(session_factory: sessionmaker[Session], settings: Settings) -> WorkerThread:
    worker_thread = WorkerThread(create_worker(session_factory, settings))
    worker_thread.thread.start()
    return worker_thread
