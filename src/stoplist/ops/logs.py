"""Logging for `stoplist serve` and `stoplist worker`: plain text or JSON lines (`STOPLIST_LOG_FORMAT`).

One handler, on the root logger, writes to standard error; the `stoplist` and uvicorn loggers
log at INFO and propagate to it, everything else at the root's level (WARNING by default).
A JSON line is one object: `time` (RFC 3339, UTC, milliseconds), `level`, `logger`, `message`,
`exc_info` (the formatted traceback) when there is one, and every `extra` field; uvicorn's
access lines also carry `client`, `method`, `path`, `http_version` and `status`.

`configure_logging` applies this in a running process; `uvicorn_log_config` is the same setup
as a dict for `uvicorn.run(..., log_config=...)`, which otherwise installs uvicorn's own.
"""

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

FORMATS = ("text", "json")
LOGGERS = ("stoplist", "uvicorn", "uvicorn.error", "uvicorn.access")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
# uvicorn adds a colourised copy of some messages: noise in a log pipeline.
_DROPPED_EXTRAS = frozenset({"color_message"})
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def rfc3339(timestamp: float) -> str:
    """`2026-11-25T10:00:00.123Z`."""
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": rfc3339(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == len(_ACCESS_FIELDS):
            entry.update(zip(_ACCESS_FIELDS, record.args))
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and key not in _DROPPED_EXTRAS and not key.startswith("_") and key not in entry:
                entry[key] = value
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-11-25T10:00:00.123Z INFO stoplist.worker: message`, in UTC like the JSON lines."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        return rfc3339(record.created)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted (not when the handler was made),
    so a handler outliving a redirected stderr (test runners, CLI runners) never writes to a closed file."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        logging.Handler.__init__(self, level)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def _check(log_format: str) -> str:
    normalized = (log_format or "text").strip().lower()
    if normalized not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r}: use 'text' or 'json' (STOPLIST_LOG_FORMAT)")
    return normalized


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if _check(log_format) == "json" else TextFormatter()


def uvicorn_log_config(log_format: str = "text") -> dict[str, Any]:
    """The logging setup as a `logging.config.dictConfig` dict, for `uvicorn.run(..., log_config=...)`."""
    config = make_formatter_config(log_format)
    config["loggers"] = {name: {"level": "INFO", "handlers": [], "propagate": True} for name in LOGGERS}
    return config


def make_formatter_config(log_format: str = "text") -> dict[str, Any]:
    """A dictConfig dict whose handler `stoplist` writes records as Stoplist does (text or JSON lines on standard error), on the root logger."""
    formatter = "stoplist.ops.logs.JsonFormatter" if _check(log_format) == "json" else "stoplist.ops.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"stoplist": {"()": formatter}},
        "handlers": {"stoplist": {"class": "stoplist.ops.logs.StderrHandler", "formatter": "stoplist"}},
        "root": {"handlers": ["stoplist"]},
    }


def configure_logging(log_format: str = "text") -> None:
    """Apply the setup to this process. Safe to call again (it replaces its own handler) and it leaves
    other handlers on the root logger alone (pytest's, an APM agent's)."""
    handler = StderrHandler()
    handler.setFormatter(make_formatter(log_format))
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing, StderrHandler):
            root.removeHandler(existing)
    root.addHandler(handler)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        access_log_off = name == "uvicorn.access" and not logger.propagate and not logger.handlers
        logger.setLevel(logging.INFO)
        logger.disabled = False
        if name.startswith("uvicorn"):
            # uvicorn's own handlers (installed by uvicorn.run before an app factory runs) would print twice.
            for existing in list(logger.handlers):
                logger.removeHandler(existing)
        # `--no-access-log` leaves uvicorn.access without handlers and not propagating: keep it off.
        logger.propagate = not access_log_off
