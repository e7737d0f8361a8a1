"""A request pool that stays exhausted answers 503 busy with Retry-After, not a 500 after 30 s."""

import time

from stoplist.db import create_db_engine, create_session_factory
from tests.api.helpers import URL, add, assert_error


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
