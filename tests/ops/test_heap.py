"""`stoplist serve` keeps what startup loaded out of the garbage collector's full passes
(a full pass over it stopped the event loop for ~40 ms under load); apps made in tests do not."""

import gc

import pytest

from stoplist import cli
from stoplist.app import create_app
from stoplist.config import Settings
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
    monkeypatch.setattr(cli, "get_settings", lambda: Settings(database_url=database_url, serve_worker=False))
    monkeypatch.setattr(cli, "configure_logging", lambda log_format: None)
    monkeypatch.setattr(cli.uvicorn.Server, "run", lambda server, sockets=None: served.append(server.config.app) or [s.close() for s in sockets or ()])

    cli.serve(host="127.0.0.1", port=0, access_log=False, bootstrap_token=False)

    [app] = served
    with TestClient(app):
        assert freezes == FROZEN
