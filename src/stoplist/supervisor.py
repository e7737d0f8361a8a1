"""`stoplist serve --workers N`: N server processes on one listening socket, under uvicorn's supervisor.

The parent migrates and prints the bootstrap token (cli.serve, before this), binds the socket and
makes the directory the workers share their metrics through (stoplist.ops.shared); it serves no
request. Each worker is a fresh interpreter (spawned, not forked: nothing of the parent's, no
connection, thread or lock, is inherited) that builds its own app with worker_app: its own engine
and pools, token cache, job worker thread and SQLite checkpointer, and freezes its own heap.
The supervisor replaces a worker that dies, and on SIGTERM or SIGINT stops them all, each
finishing its requests as a single server does. A supervisor that cannot (killed with SIGKILL, or by
the kernel's out-of-memory killer) takes its workers with it: each stops itself as on SIGTERM once
its parent is gone (exit_with_parent), instead of serving on as orphans that hold the port.
granian's workers (servers.py) are built by worker_app too, and do the same.
"""

import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from stoplist.config import get_settings
from stoplist.ops import configure_logging
from stoplist.ops.shared import shared_metrics_directory

# More than this is a typo, not a deployment: each worker is a whole server (up to 58 database
# connections on PostgreSQL), and past the machine's cores more workers only compete for them.
MAX_WORKERS = 64
# Where each worker finds its app: uvicorn imports this in the worker and calls it (factory=True).
WORKER_APP = f"{__name__}:worker_app"
# The supervisor's pid, in the environment its workers inherit: a worker spawned just before its supervisor
# was killed would otherwise take its new parent (init) for it, and serve on.
SUPERVISOR_PID = "STOPLIST_SUPERVISOR_PID"
PARENT_POLL_SECONDS = 0.5  # how often a worker looks whether its supervisor is still there
ORPHAN_GRACE_SECONDS = 30.0  # how long an orphaned worker may take to finish its requests before it is killed
SIGTERM_AGAIN_SECONDS = 10.0  # an orphan's SIGTERM, sent again this often until it has stopped


def worker_app() -> FastAPI:
    """The app of one worker process, built in that process from the settings in its environment."""
    from stoplist.app import create_app

    settings = get_settings()
    configure_logging(settings.log_format)
    supervisor = int(os.environ.get(SUPERVISOR_PID, os.getppid()))
    if os.getppid() != supervisor:
        os._exit(0)  # its supervisor died while it started: it has served nothing, and must not start to
    exit_with_parent(supervisor)
    return create_app(settings, freeze_heap=True)


def supervising() -> None:
    """Name this process as the supervisor of the workers it starts from now on (they inherit its environment):
    a worker that finds another parent when it starts, its supervisor gone meanwhile, stops at once."""
    os.environ[SUPERVISOR_PID] = str(os.getpid())


def exit_with_parent(parent: int, *, poll: float = PARENT_POLL_SECONDS, grace: float = ORPHAN_GRACE_SECONDS) -> threading.Thread:
    """Watch, on a daemon thread, that this process's parent is still `parent`; once it is not (the process was
    handed to init or a subreaper), stop as on SIGTERM (finishing the requests under way), and if that has not
    ended the process after `grace` seconds, end it. (A second SIGTERM makes uvicorn stop without waiting for
    its requests: sent only SIGTERM_AGAIN_SECONDS after the first.)"""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        ends = time.monotonic() + grace
        while time.monotonic() < ends:
            # Again now and then: a server still starting may not have its handler of SIGTERM yet.
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(min(SIGTERM_AGAIN_SECONDS, max(0.0, ends - time.monotonic())))
        os._exit(1)

    watcher = threading.Thread(target=watch, name="stoplist-parent-watch", daemon=True)
    watcher.start()
    return watcher


def run_workers(workers: int, listen: Callable[[uvicorn.Config], socket.socket], **options) -> None:
    """Serve with `workers` processes until told to stop; `options` are uvicorn.Config's, `listen` binds the socket."""
    supervising()
    with shared_metrics_directory():
        config = uvicorn.Config(WORKER_APP, factory=True, workers=workers, **options)
        Multiprocess(config, sockets=[listen(config)]).run()
