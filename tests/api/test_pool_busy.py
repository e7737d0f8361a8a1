"""A request pool that stays exhausted answers 503 busy with Retry-After, not a 500 after 30 s."""

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from stoplist.checks.repository import PostgresLookup, SqliteLookup
from stoplist.db import create_db_engine, create_session_factory
from tests.api.helpers import URL, add, assert_error

CHECK = "/blacklist/check"


def test_a_request_that_finds_every_connection_taken_is_a_quick_503_busy(client, app, auth, database_url):
    add(client, auth, "+48500000001")
    engine = create_db_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.3)
    app.state.session_factory = create_session_factory(engine)
    held = engine.connect()
    try:
        started = time.monotonic()
        response = client.get(URL, headers=auth)
        waited = time.monotonic() - started

        assert_error(response, 503, "busy")
        assert response.headers["retry-after"].isdigit()
        assert waited < 10  # pool_timeout 0.3 s, against the 30 s of the default: room for a loaded machine
        assert_error(client.post(URL, json={"phone_number": "+48500000002"}, headers=auth), 503, "busy")
    finally:
        held.close()

    assert client.get(URL, headers=auth).json()["size"] == 1
    engine.dispose()


def test_a_database_that_refuses_connections_is_a_503_busy_not_a_500(client, app, auth):
    add(client, auth, "+48500000001")
    # Nothing listens on port 1: every connection is refused, as by a server out of connections.
    engine = create_db_engine("postgresql://stoplist@127.0.0.1:1/stoplist")
    app.state.session_factory = create_session_factory(engine)

    response = client.get(URL, headers=auth)

    assert_error(response, 503, "busy")
    assert response.headers["retry-after"].isdigit()
    engine.dispose()


class _Closed:
    """An asyncpg connection the server dropped: the next query opens another."""

    def is_closed(self) -> bool:
        return True


def _unreachable_lookup(database_url: str, tmp_path: Path):
    """The check path's reader on a database that cannot answer just now: on SQLite a file another
    connection holds locked (past a busy timeout of 50 ms), on PostgreSQL a server that refuses the
    connection (nothing listens on port 1)."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "locked.db"
        holder = sqlite3.connect(path, isolation_level=None)
        with sqlite3.connect(make_url(database_url).database) as source:
            source.backup(holder)  # the suite's database, tables and all
        holder.execute("PRAGMA journal_mode=DELETE")  # where a writer's lock keeps readers out
        lookup = SqliteLookup(f"sqlite:///{path}")
        lookup.connection.execute("PRAGMA busy_timeout=50")
        holder.execute("BEGIN EXCLUSIVE")
        lookup.holder = holder  # held as long as the lookup
        return lookup
    lookup = PostgresLookup(str(make_url(database_url).set(port=1)))
    lookup.pool._dsn = lookup.dsn
    lookup.pool._slots = [[_Closed(), asyncio.Lock(), 0]]
    return lookup


@pytest.mark.parametrize("path", ["the gate in front of the app", "the documented route"])
def test_a_check_whose_database_cannot_answer_is_a_503_busy_not_a_500(client, app, auth, database_url, tmp_path, path):
    add(client, auth, "+48500000001")
    assert client.get(CHECK, params={"phone_number": "+48500000001"}, headers=auth).json()["blacklisted"] is True  # the token is known now
    opened = app.state.lookup
    app.state.lookup = _unreachable_lookup(database_url, tmp_path)
    # A trailing slash takes the check past the gate, through the app's middleware and route.
    url = CHECK if path == "the gate in front of the app" else f"{CHECK}/"
    try:
        answers = [
            client.get(url, params={"phone_number": "+48500000001"}, headers=auth),
            client.post(url, json={"phone_numbers": ["+48500000001", "+48500000002"]}, headers=auth),
        ]
    finally:
        app.state.lookup = opened  # the one the app closes when it stops

    for response in answers:
        assert_error(response, 503, "busy")
        assert response.headers["retry-after"].isdigit()


def test_a_check_on_sqlite_whose_statement_is_wrong_is_a_500_not_a_busy_to_retry(client, app, auth, database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's OperationalError covers a locked file and a mistaken statement alike")
    add(client, auth, "+48500000001")
    assert client.get(CHECK, params={"phone_number": "+48500000001"}, headers=auth).status_code == 200  # the token is known now
    opened = app.state.lookup
    # A file without Stoplist's tables: "no such table", which no retry mends.
    app.state.lookup = SqliteLookup(f"sqlite:///{tmp_path / 'not-stoplist.db'}")
    try:
        response = client.get(CHECK, params={"phone_number": "+48500000001"}, headers=auth)
    finally:
        app.state.lookup = opened

    assert_error(response, 500, "internal_error")
