"""Logs: JSON lines with STOPLIST_LOG_FORMAT=json, plain text otherwise, for our loggers and uvicorn's."""

import io
import json
import logging
import re
from datetime import datetime

import pytest
import uvicorn

from stoplist.ops import configure_logging, uvicorn_log_config
from stoplist.ops.logs import LOGGERS, JsonFormatter, StderrHandler

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(autouse=True)
def restore_logging():
    """Put the root and the configured loggers back as they were (pytest's own handlers included)."""
    names = ["", *LOGGERS]
    saved = {name: (list(logging.getLogger(name).handlers), logging.getLogger(name).level, logging.getLogger(name).propagate,
                    logging.getLogger(name).disabled) for name in names}
    yield
    for name, (handlers, level, propagate, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        logger.disabled = disabled


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(logger_name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_a_json_line_has_time_level_logger_message_and_the_extra_fields():
    logger, stream = capture("stoplist.ops-test")

    logger.info("imported %d rows", 3, extra={"job_id": "abc", "rows": 3})

    [line] = json_lines(stream.getvalue())
    assert line == {"time": line["time"], "level": "INFO", "logger": "stoplist.ops-test", "message": "imported 3 rows", "job_id": "abc", "rows": 3}
    assert RFC3339_UTC.match(line["time"])
    assert abs((datetime.fromisoformat(line["time"].replace("Z", "+00:00")) - datetime.now().astimezone()).total_seconds()) < 60


def test_a_json_line_carries_the_traceback_as_exc_info():
    logger, stream = capture("stoplist.ops-test")

    try:
        raise ValueError("bad row")
    except ValueError:
        logger.exception("import failed")

    [line] = json_lines(stream.getvalue())
    assert line["level"] == "ERROR" and line["message"] == "import failed"
    assert line["exc_info"].startswith("Traceback") and "ValueError: bad row" in line["exc_info"]


def test_a_json_line_stays_one_line_and_writes_unencodable_values_as_text():
    logger, stream = capture("stoplist.ops-test")

    logger.warning("two\nlines", extra={"at": datetime(2026, 11, 25, 10, 0)})

    assert len(stream.getvalue().splitlines()) == 1
    [line] = json_lines(stream.getvalue())
    assert line["message"] == "two\nlines" and line["at"] == "2026-11-25 10:00:00"


def test_the_json_format_writes_stoplist_and_uvicorn_records_to_stderr_as_json_lines(capsys):
    configure_logging("json")

    logging.getLogger("stoplist.worker").info("worker %s waiting", "w1")
    logging.getLogger("uvicorn.error").info("Application startup complete.", extra={"color_message": "\x1b[32mcomplete\x1b[0m"})
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/healthz", "1.1", 200)
    logging.getLogger("some.library").info("not shown: only WARNING and above from other loggers")

    worker, started, access = json_lines(capsys.readouterr().err)
    assert (worker["logger"], worker["level"], worker["message"]) == ("stoplist.worker", "INFO", "worker w1 waiting")
    assert started["logger"] == "uvicorn.error" and "color_message" not in started
    assert access["message"] == '127.0.0.1:5000 - "GET /healthz HTTP/1.1" 200'
    assert {key: access[key] for key in ("client", "method", "path", "http_version", "status")} == {
        "client": "127.0.0.1:5000", "method": "GET", "path": "/healthz", "http_version": "1.1", "status": 200,
    }


def test_the_text_format_writes_plain_lines_with_utc_times(capsys):
    configure_logging("text")

    logging.getLogger("stoplist.worker").info("worker waiting")

    err = capsys.readouterr().err
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO stoplist\.worker: worker waiting\n", err)


def test_configuring_again_replaces_its_own_handler_and_keeps_the_others(capsys):
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)

    configure_logging("text")
    configure_logging("json")

    root_handlers = logging.getLogger().handlers
    assert sum(isinstance(handler, StderrHandler) for handler in root_handlers) == 1
    assert other in root_handlers
    logging.getLogger("stoplist").info("once")
    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["once"]


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="'xml'"):
        configure_logging("xml")
    with pytest.raises(ValueError, match="'xml'"):
        uvicorn_log_config("xml")


def test_uvicorn_given_the_log_config_writes_the_same_json_lines(capsys):
    uvicorn.Config(app="stoplist.app:create_app", log_config=uvicorn_log_config("json"))

    logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
    logging.getLogger("stoplist.worker").info("claimed job")

    lines = json_lines(capsys.readouterr().err)
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("uvicorn.error", "Started server process [42]"), ("stoplist.worker", "claimed job"),
    ]


def test_no_access_log_stays_off_when_the_app_configures_logging_after_uvicorn(capsys):
    uvicorn.Config(app="stoplist.app:create_app", log_config=uvicorn_log_config("json"), access_log=False)
    configure_logging("json")  # what create_app does, after uvicorn configured its loggers

    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/", "1.1", 200)
    logging.getLogger("uvicorn.error").info("still logging")

    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["still logging"]
