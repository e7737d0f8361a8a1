"""/healthz and /readyz: no token, cheap, and /readyz tells why it is not ready."""

import logging
import threading
import time

from sqlalchemy import text

from stoplist import migrate
from stoplist.app import create_app
from stoplist.config import Settings
from stoplist.ops import install_ops
from stoplist.ops.database import SingleFlight
from stoplist.ops.metrics import MetricsMiddleware
from tests.conftest import TestClient
from tests.ops.helpers import Scrape, broken_engine


def assert_not_ready(response) -> str:
    assert response.status_code == 503, response.text
    body = response.json()
    assert set(body) == {"error", "message", "errors"}
    assert body["error"] == "not_ready"
    assert body["errors"] == []
    return body["message"]


def test_healthz_answers_ok_without_a_token(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_ok_even_when_the_database_is_unreachable(client, app, database_url, tmp_path):
    original, app.state.engine = app.state.engine, broken_engine(database_url, tmp_path)
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 503
    finally:
        app.state.engine = original


def test_readyz_answers_ready_with_the_revision_on_a_migrated_database(client, database_url):
    response = client.get("/readyz")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "revision": migrate.head_revision(database_url)}
    assert response.json()["revision"] == migrate.current_revision(database_url)


def test_the_readmes_readyz_answer_names_the_revision_this_code_ships(client):
    from pathlib import Path

    from stoplist import revisions

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = readme.split("**`GET /readyz`**", 1)[1].split("- **`GET /metrics`**", 1)[0]
    head = revisions.head()
    assert f'`200 {{"status": "ready", "revision": "{head}"}}`' in " ".join(shown.split())
    assert client.get("/readyz").json() == {"status": "ready", "revision": head}
    # the example of a database one migration behind
    assert f"head is {head}:" in " ".join(shown.split())


def test_readyz_answers_503_on_an_empty_sqlite_file_never_migrated(tmp_path):
    path = tmp_path / "empty.db"
    path.touch()
    app = create_app(Settings(database_url=f"sqlite:///{path}", serve_worker=False))

    with TestClient(app) as client:
        message = assert_not_ready(client.get("/readyz"))

    head = migrate.head_revision(f"sqlite:///{path}")
    assert "not migrated" in message and "no alembic_version table" in message and f"head is {head}" in message


def test_readyz_answers_503_on_a_database_at_an_older_revision_and_200_once_upgraded(client, database_url):
    migrate.downgrade(database_url, "0001")

    message = assert_not_ready(client.get("/readyz"))
    assert f"not migrated (at 0001, head is {migrate.head_revision(database_url)})" in message

    migrate.upgrade(database_url)
    assert client.get("/readyz").status_code == 200


def test_readyz_answers_503_on_a_database_migrated_down_to_nothing_then_without_alembic_version(client, app, database_url):
    migrate.downgrade(database_url, "base")

    assert "not migrated (at no revision" in assert_not_ready(client.get("/readyz"))

    with app.state.engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    assert "not migrated (it has no alembic_version table" in assert_not_ready(client.get("/readyz"))


def test_readyz_answers_503_when_the_database_is_unreachable_without_showing_the_driver_message(client, app, database_url, tmp_path):
    original, app.state.engine = app.state.engine, broken_engine(database_url, tmp_path)
    try:
        message = assert_not_ready(client.get("/readyz"))
    finally:
        app.state.engine = original

    assert "the database is unreachable (OperationalError)" in message
    # The driver's text can name hosts and users: it goes to the log only.
    assert "unable to open" not in message and "127.0.0.1" not in message


def test_readyz_answers_503_when_the_database_does_not_answer_in_time(client, app):
    ops = app.state.ops
    release = threading.Event()
    ops.ready_timeout = 0.1
    ops.revisions = SingleFlight(lambda: release.wait(30) and [ops.head], "test")
    try:
        started = time.monotonic()
        message = assert_not_ready(client.get("/readyz"))
        # The database would answer after 30 s; the probe gives up long before, even on a loaded machine.
        assert time.monotonic() - started < 15
    finally:
        release.set()

    assert "did not answer within 0.1 s" in message


def test_readyz_logs_a_change_of_readiness_once_not_on_every_probe(client, app, database_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="stoplist.ops")
    original, app.state.engine = app.state.engine, broken_engine(database_url, tmp_path)
    try:
        for _ in range(3):
            assert client.get("/readyz").status_code == 503
    finally:
        app.state.engine = original
    assert client.get("/readyz").status_code == 200
    assert client.get("/readyz").status_code == 200

    records = [record for record in caplog.records if record.name == "stoplist.ops"]
    assert [record.levelname for record in records] == ["WARNING", "INFO"]
    assert records[0].exc_info is not None  # the driver's error, with its message, is in the log


def test_probes_arriving_together_share_one_database_read():
    calls = []
    release = threading.Event()
    flight = SingleFlight(lambda: calls.append(1) or release.wait(5), "test")

    first, second = flight.submit(), flight.submit()
    release.set()

    assert first is second
    assert first.result(5) is True and calls == [1]
    assert flight.submit() is not first  # once done, the next probe reads afresh


def test_the_ops_routes_are_left_out_of_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)


def test_installing_ops_twice_adds_the_middleware_once_and_counts_each_request_once(app):
    install_ops(app)
    install_ops(app)

    assert sum(middleware.cls is MetricsMiddleware for middleware in app.user_middleware) == 1
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        scraped = Scrape(client.get("/metrics").text)
    assert scraped.value("stoplist_http_requests_total", method="GET", route="/healthz", status="200") == 1
