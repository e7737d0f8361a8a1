"""`stoplist serve` keeps what startup loaded out of the garbage collector's full passes
(a full pass over it stopped the event loop for ~40 ms under load); apps made in tests do not. And a
serving process holds no module it does not serve with: Alembic runs in a process of its own."""

import gc
import json
import subprocess
import sys

import pytest
import typer

from stoplist import cli, migrate, revisions
from stoplist.app import create_app
from stoplist.config import Settings
from stoplist.revisions import ROOT
from tests.conftest import TestClient


FROZEN = ["collect", "freeze", "threshold (20000, 10, 10)"]


@pytest.fixture
def freezes(monkeypatch) -> list[str]:
    """The collector calls startup makes, recorded instead of done (a test process must not freeze its heap)."""
    calls: list[str] = []
    monkeypatch.setattr(gc, "collect", lambda *args: calls.append("collect") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *thresholds: calls.append(f"threshold {thresholds}"))
    return calls


def test_an_app_that_freezes_its_heap_does_so_once_at_startup_after_a_collection(settings, freezes):
    with TestClient(create_app(settings, freeze_heap=True)) as client:
        assert freezes == FROZEN
        assert client.get("/healthz").status_code == 200
    assert freezes == FROZEN


def test_an_app_made_by_default_leaves_the_collector_alone(settings, freezes):
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
    assert freezes == []


def test_stoplist_serve_serves_an_app_that_freezes_its_heap(database_url, monkeypatch, freezes):
    served = []
    monkeypatch.setattr(cli, "valid_settings", lambda: Settings(database_url=database_url, serve_worker=False))
    monkeypatch.setattr(cli, "configure_logging", lambda log_format: None)
    monkeypatch.setattr(cli.uvicorn.Server, "run", lambda server, sockets=None: served.append(server.config.app) or [s.close() for s in sockets or ()])

    cli.serve(host="127.0.0.1", port=0, access_log=False, bootstrap_token=False)

    [app] = served
    with TestClient(app):
        assert freezes == FROZEN


_LOADED = """
import asyncio, json, sys
from stoplist import cli  # what `stoplist serve` imports before the app
from stoplist.app import create_app
from stoplist.config import Settings

async def status(app, path, query=b""):  # straight through ASGI: a test client would load modules of its own
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": query, "root_path": "", "headers": [(b"host", b"test")],
             "client": ("127.0.0.1", 1), "server": ("test", 80)}
    sent = []
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    return sent[0]["status"]

async def serve():
    app = create_app(Settings(database_url=sys.argv[1], serve_worker=False))
    async with app.router.lifespan_context(app):
        assert await status(app, "/readyz") == 200
        assert await status(app, "/blacklist/check", b"phone_number=48500000000") == 401

asyncio.run(serve())
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def test_a_serving_process_loads_no_migration_tooling_and_no_driver_it_does_not_use(database_url):
    """Alembic with Mako and Pygments (11 MB) run in a process of their own (`stoplist serve` migrates in a
    child); rich (the CLI's progress bars) is loaded by the commands that show one; asyncpg (2.6 MB) only
    for PostgreSQL's checks."""
    done = subprocess.run([sys.executable, "-c", _LOADED, database_url], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert not loaded & {"alembic", "mako", "pygments", "rich"}, loaded & {"alembic", "mako", "pygments", "rich"}
    assert ("asyncpg" in loaded) == database_url.startswith("postgresql"), database_url


def test_stoplist_serve_migrates_the_settings_database_in_a_process_of_its_own(tmp_path, monkeypatch, freezes):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    served = []
    monkeypatch.setattr(cli, "valid_settings", lambda: Settings(database_url=url, serve_worker=False))
    monkeypatch.setattr(cli, "configure_logging", lambda log_format: None)
    monkeypatch.setattr(migrate, "upgrade", lambda *args: pytest.fail("migrated in the serving process"))
    monkeypatch.setattr(cli.uvicorn.Server, "run", lambda server, sockets=None: served.append(server) or [s.close() for s in sockets or ()])

    cli.serve(host="127.0.0.1", port=0, access_log=False, bootstrap_token=False)

    assert len(served) == 1
    assert migrate.current_revision(url) == revisions.head()


def test_stoplist_serve_stops_with_the_migrations_status_where_it_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(cli, "valid_settings", lambda: Settings(database_url=f"sqlite:///{tmp_path}", serve_worker=False))  # a directory
    monkeypatch.setattr(cli.uvicorn.Server, "run", lambda *args, **kwargs: pytest.fail("served a database that could not be migrated"))
    with pytest.raises(typer.Exit) as stopped:
        cli.serve(host="127.0.0.1", port=0, access_log=False, bootstrap_token=False)
    assert stopped.value.exit_code == 1
