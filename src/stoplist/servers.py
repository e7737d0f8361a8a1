"""The HTTP servers `stoplist serve --server` runs the app on: uvicorn (the default) or granian.

granian parses HTTP and writes answers in Rust, on threads of its own, and hands the app the same
ASGI requests: measured on the check (docs/benchmarks.md), one granian process serves 1.2-1.6x the
checks a second of one uvicorn process, for about the same CPU a check (on a second core). uvicorn stays the default: it is what every other route was tested
and tuned on (the send buffer that bounds slow downloads, `--workers` with a supervisor that
replaces a killed worker, its access log).
"""

from contextlib import nullcontext
from typing import Any

from stoplist.ops.logs import make_formatter_config
from stoplist.ops.shared import shared_metrics_directory
from stoplist.supervisor import WORKER_APP, supervising

UVICORN = "uvicorn"
GRANIAN = "granian"
SERVERS = (UVICORN, GRANIAN)


def run_granian(*, host: str, port: int, workers: int, access_log: bool, log_format: str) -> None:
    """Serve the app with granian until stopped (SIGINT, SIGTERM); each worker process builds its own app
    (supervisor.worker_app), and with several, /metrics adds them up as under uvicorn's supervisor."""
    from granian import Granian
    from granian.constants import Interfaces

    supervising()
    with shared_metrics_directory() if workers > 1 else nullcontext():
        Granian(
            WORKER_APP, address=host, port=port, interface=Interfaces.ASGI, workers=workers, factory=True,
            websockets=False, log_access=access_log, log_dictconfig=_log_config(log_format), respawn_failed_workers=True,
        ).serve()


def _log_config(log_format: str) -> dict[str, Any]:
    """granian's loggers written as Stoplist's are (text or JSON lines on standard error)."""
    config = make_formatter_config(log_format)
    config["loggers"] = {name: {"handlers": ["stoplist"], "level": "INFO", "propagate": False} for name in ("_granian", "granian.access")}
    return config
