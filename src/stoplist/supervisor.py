"""`stoplist serve --workers N`: N server processes on one listening socket, under uvicorn's supervisor.

The parent migrates and prints the bootstrap token (cli.serve, before this), binds the socket and
makes the directory the workers share their metrics through (stoplist.ops.shared); it serves no
request. Each worker is a fresh interpreter (spawned, not forked: nothing of the parent's, no
connection, thread or lock, is inherited) that builds its own app with worker_app: its own engine
and pools, token cache, job worker thread and SQLite checkpointer, and freezes its own heap.
The supervisor replaces a worker that dies, and on SIGTERM or SIGINT stops them all, each
finishing its requests as a single server does.
"""

import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from stoplist.config import get_settings
from stoplist.ops import configure_logging
from stoplist.ops.shared import shared_metrics_directory

# More than this is a typo, not a deployment: each worker is a whole server (up to 56 database
# connections on PostgreSQL), and past the machine's cores more workers only compete for them.
MAX_WORKERS = 64
# Where each worker finds its app: uvicorn imports this in the worker and calls it (factory=True).
WORKER_APP = f"{__name__}:worker_app"


def worker_app() -> FastAPI:
    """The app of one worker process, built in that process from the settings in its environment."""
    from stoplist.app import create_app

    settings = get_settings()
    configure_logging(settings.log_format)
    return create_app(settings, freeze_heap=True)


def run_workers(workers: int, listen: Callable[[uvicorn.Config], socket.socket], **options) -> None:
    """Serve with `workers` processes until told to stop; `options` are uvicorn.Config's, `listen` binds the socket."""
    with shared_metrics_directory():
        config = uvicorn.Config(WORKER_APP, factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[listen(config)]).run()
