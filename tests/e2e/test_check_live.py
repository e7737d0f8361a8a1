"""The send-time gate on a real `stoplist serve` process, on each server it runs on: fresh after every write, and a revoked token refused in time."""

import time
from pathlib import Path

import httpx
import pytest

from stoplist.servers import SERVERS
from tests.e2e.conftest import LiveServer, running_server

pytestmark = pytest.mark.e2e

NUMBERS = "/blacklist/phone_numbers"
CHECK = "/blacklist/check"
TOKEN_TTL = 1.0
# How long past the cache bound a revoked token may still pass (scheduling, slow machines). Set against
# the wrong behaviours, not a quiet machine's timing: a cache that keeps tokens for the default 5 s
# instead of the configured TTL answers after about 5 s, one that never forgets them not at all.
SLACK = 2.0
# The longest the revocation test polls.
POLL_FOR = 6.0


@pytest.fixture(params=SERVERS)
def http_server(request: pytest.FixtureRequest) -> str:
    """The HTTP server `stoplist serve --server` runs."""
    return request.param


@pytest.fixture
def live_server(tmp_path: Path, database_url: str, http_server: str):
    with running_server(tmp_path, "--server", http_server, database_url=database_url) as running:
        yield running


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def blacklisted(http: httpx.Client, phone_number: str) -> bool:
    """What the single check says; the bulk check must say the same."""
    single = http.get(CHECK, params={"phone_number": phone_number})
    assert single.status_code == 200, single.text
    many = http.post(CHECK, json={"phone_numbers": [phone_number]})
    assert many.status_code == 200, many.text
    [result] = many.json()["results"]
    assert result["blacklisted"] is single.json()["blacklisted"], (single.json(), result)
    return single.json()["blacklisted"]


def token_id(server: LiveServer, secret: str) -> str:
    """The id `stoplist token list` shows for the token whose first characters `secret` starts with."""
    listing = server.stoplist("token", "list").stdout
    rows = [line.split() for line in listing.splitlines()[1:]]
    [row] = [row for row in rows if row[2] == secret[:10] + "…"]
    return row[0]


def test_a_number_is_blacklisted_right_after_it_is_added_and_not_right_after_it_is_deleted(live_server: LiveServer):
    with httpx.Client(base_url=live_server.base_url, headers=bearer(live_server.create_token())) as http:
        assert blacklisted(http, "+48500000001") is False

        added = http.post(NUMBERS, json={"phone_number": "+48 500 000 001"})
        assert added.status_code == 201, added.text
        assert blacklisted(http, "+48500000001") is True
        assert http.get(CHECK, params={"phone_number": "0048500000001"}).json()["entry"] == added.json()

        assert http.delete(NUMBERS, params={"phone_number": "+48500000001"}).status_code == 204
        assert blacklisted(http, "+48500000001") is False

        again = http.post(NUMBERS, json={"phone_number": "+48500000001"})
        assert again.status_code == 201, again.text
        assert blacklisted(http, "+48500000001") is True

        assert http.delete(f"{NUMBERS}/{again.json()['id']}").status_code == 204
        assert blacklisted(http, "+48500000001") is False


def test_nothing_is_blacklisted_right_after_the_whole_list_is_deleted(live_server: LiveServer):
    numbers = [f"+4850000000{i}" for i in range(5)]
    with httpx.Client(base_url=live_server.base_url, headers=bearer(live_server.create_token())) as http:
        for number in numbers:
            assert http.post(NUMBERS, json={"phone_number": number}).status_code == 201
        assert all(result["blacklisted"] for result in http.post(CHECK, json={"phone_numbers": numbers}).json()["results"])

        assert http.delete(NUMBERS).status_code == 204

        assert not any(result["blacklisted"] for result in http.post(CHECK, json={"phone_numbers": numbers}).json()["results"])


def test_a_running_server_refuses_a_revoked_token_on_the_checks_within_the_token_cache_bound(tmp_path: Path, database_url: str, http_server: str):
    with running_server(tmp_path, "--server", http_server, database_url=database_url, env={"STOPLIST_TOKEN_CACHE_SECONDS": str(TOKEN_TTL)}) as server:
        secret = server.create_token()
        routes = {
            "GET": lambda http: http.get(CHECK, params={"phone_number": "+48500000001"}),
            "POST": lambda http: http.post(CHECK, json={"phone_numbers": ["+48500000001"]}),
        }
        with httpx.Client(base_url=server.base_url, headers=bearer(secret)) as http:
            for name, send in routes.items():
                assert send(http).status_code == 200, name  # now remembered

            server.stoplist("token", "revoke", token_id(server, secret))
            revoked = time.monotonic()

            refused_after: dict[str, float] = {}
            while len(refused_after) < len(routes) and time.monotonic() - revoked < POLL_FOR:
                for name, send in routes.items():
                    if name not in refused_after:
                        response = send(http)
                        if response.status_code == 401:
                            assert response.json()["error"] == "unauthorized"
                            refused_after[name] = time.monotonic() - revoked
                        else:
                            assert response.status_code == 200, response.text
                time.sleep(0.05)

    assert set(refused_after) == set(routes), f"still accepted {POLL_FOR} s after `stoplist token revoke`: {refused_after}"
    assert max(refused_after.values()) <= TOKEN_TTL + SLACK, refused_after


def test_a_token_created_while_the_server_runs_works_on_the_checks_at_once(tmp_path: Path, database_url: str, http_server: str):
    with running_server(tmp_path, "--server", http_server, database_url=database_url, env={"STOPLIST_TOKEN_CACHE_SECONDS": "60"}) as server:
        with httpx.Client(base_url=server.base_url) as http:
            assert http.get(CHECK, params={"phone_number": "+48500000001"}, headers=bearer("sl_not-yet")).status_code == 401

            secret = server.stoplist("token", "create", "--account", "latecomer").stdout.strip()

            assert http.get(CHECK, params={"phone_number": "+48500000001"}, headers=bearer(secret)).status_code == 200
            assert http.post(CHECK, json={"phone_numbers": ["+48500000001"]}, headers=bearer(secret)).status_code == 200
