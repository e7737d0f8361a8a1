"""The worker thread that `stoplist serve` starts beside the API (the runners are handed in: jobs knows no feature)."""

import threading
from collections.abc import Callable

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from stoplist.db import create_db_engine, create_session_factory
from stoplist.jobs.worker import Worker

# The worker's own connections: a claim, then a job's reader and writer, plus one to spare.
WORKER_POOL_SIZE = 3
WORKER_POOL_OVERFLOW = 1


class WorkerThread:
    """A worker running beside the API in the same process, on connections of its own."""

    def __init__(self, worker: Worker, engine: Engine | None = None) -> None:
        self.worker = worker
        self.engine = engine
        self.thread = threading.Thread(target=worker.run, name="stoplist-worker", daemon=True)

    def stop_and_join(self, timeout: float = 30.0) -> None:
        """Ask the worker to stop; a running job goes back to the queue at its next checkpoint."""
        self.worker.stop.set()
        self.thread.join(timeout)
        if self.engine is not None and not self.thread.is_alive():
            self.engine.dispose()


def start_worker_thread(session_factory: sessionmaker[Session], create_worker: Callable[[sessionmaker[Session]], Worker]) -> WorkerThread:
    """Start the worker `create_worker` makes on the database of `session_factory`, with a small
    pool of its own, so that requests holding every connection of theirs never stop jobs (nor jobs requests)."""
    bind = session_factory.kw["bind"]
    engine = create_db_engine(
        bind.url.render_as_string(hide_password=False), pool_size=WORKER_POOL_SIZE, max_overflow=WORKER_POOL_OVERFLOW, application_name="stoplist-worker"
    )
    worker_thread = WorkerThread(create_worker(create_session_factory(engine)), engine)
    worker_thread.thread.start()
    return worker_thread
