"""The gate answers the common searches of SMSAPI's listing (blacklist.searches, on PostgreSQL) exactly as the
route behind it does, byte for byte, and hands every other request of that route on to the app."""

from urllib.parse import quote

import pytest
from hypothesis import strategies as st

from stoplist.blacklist import searches
from stoplist.config import Settings
from stoplist.lists import repository
from tests.accounts.helpers import ALL, bearer, subuser
from tests.api.test_check_gate import _both, assert_same_answers, reaching_the_app

PATH = "/blacklist/phone_numbers"
VALUES = st.sampled_from([
    "500", "5000", "48500", "+48 500", "0001", "000", "123", "99999", "", " ", "12", "1", "abc", "%2B48500", "５００", "%ZZ", "0" * 40,
    "10", "0", "1000", "1001", "-1", "+5", "05", "9223372036854775807", "9223372036854775808",
    "created_at", "-created_at", "id", "-id", "phone_number", "-address", "expire_at", "bogus", "-updated_at",
])
NAMES = st.sampled_from(["q", "q", "limit", "offset", "orderBy", "order_by", "page", "created_after", "Q"])


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, serve_worker=False)


@pytest.fixture
def world(client, make_token):
    """A default list of numbers that share digits (expiring or not), entries on other lists and an e-mail address
    that SMSAPI's listing never shows, and the tokens a search may carry."""
    parent = make_token("gate", ALL)
    headers = bearer(parent)
    for part in range(3):  # three batches: three moments of creation, ties within each
        items = [{"address": f"+48500{part}{n:05d}", **({"expire_at": "2099-01-01T00:00:00Z"} if n % 3 else {})} for n in range(12)]
        assert client.post("/blacklist/entries/batch", json={"items": items}, headers=headers).status_code == 200
    others = [{"address": "+48500100001", "channel": "sms"}, {"address": "+48500999999", "list": "allow"}, {"address": "jan500@example.com"}]
    assert client.post("/blacklist/entries/batch", json={"items": others}, headers=headers).status_code == 200
    child = subuser(client, headers, "gate-brand")
    return {
        "valid": f"Bearer {parent}",
        "read only": f"Bearer {make_token('gate', ['blacklist:read'])}",
        "check only": f"Bearer {make_token('gate', ['blacklist:check'])}",
        "unknown": "Bearer sl_0000000000000000000000000000",
        "subuser": str(child),
    }


@st.composite
def requests(draw, world):
    method = draw(st.sampled_from(["GET", "GET", "GET", "HEAD"]))
    pairs = draw(st.lists(st.tuples(NAMES, VALUES), max_size=4))
    if draw(st.booleans()):
        pairs.insert(0, ("q", draw(st.sampled_from(["500", "5000", "4850010", "00000", "001"]))))
    query = "&".join(f"{name}={value if '%' in value else quote(value, safe='+ ').replace(' ', '+')}" for name, value in pairs)
    headers = [(b"host", b"testserver")]
    authorization = draw(st.sampled_from([None, "valid", "valid", "valid", "read only", "check only", "unknown"]))
    if authorization is not None:
        headers.append((b"authorization", world[authorization].encode()))
    for account in draw(st.lists(st.sampled_from([world["subuser"], "abc"]), max_size=2)):
        headers.append((b"stoplist-account", account.encode()))
    # (x-async, which queues an export, is left to the test that follows: a second one in a row is refused.)
    extra = draw(st.sampled_from([None, None, (b"accept", b"text/csv"), (b"accept", b"application/json"),
                                  (b"content-length", b"0"), (b"content-type", b"application/x-www-form-urlencoded")]))
    if extra is not None:
        headers.append(extra)
    return method, PATH, query.encode(), headers, b"", 1


@st.composite
def common_searches(draw, world):
    """Searches of the form the gate takes, mostly: a q, known parameters in plain spellings, a valid token, at times
    on behalf of a subuser (whose own list is empty) or with a token that may not read."""
    pairs = [("q", draw(st.sampled_from(["500", "5000", "0001", "48500", "4850010", "000", "999", "+48 500 1", "00000"])))]
    pairs += draw(st.lists(st.tuples(st.sampled_from(["limit", "offset", "orderBy"]), st.sampled_from([
        "1", "3", "100", "1000", "0", "05", "30", "40", "-created_at", "created_at", "phone_number", "-phone_number", "-id", "expire_at",
    ])), max_size=3, unique_by=lambda pair: pair[0]))
    headers = [(b"host", b"testserver"), (b"authorization", world[draw(st.sampled_from(["valid", "valid", "read only", "check only"]))].encode())]
    if draw(st.integers(0, 3)) == 0:
        headers.append((b"stoplist-account", world["subuser"].encode()))
    method = draw(st.sampled_from(["GET", "GET", "HEAD"]))
    return method, PATH, "&".join(f"{name}={quote(value, safe='')}" for name, value in pairs).encode(), headers, b"", 1


def test_the_gate_answers_any_search_as_the_route_behind_it_does(client, app, world, monkeypatch):
    # Few matches kept, so that many searches are counted and paged apart.
    monkeypatch.setattr(searches, "SEARCH_KEPT_POSTGRESQL", 20)
    monkeypatch.setattr(repository, "SEARCH_KEPT_POSTGRESQL", 20)
    assert_same_answers(client, app, requests(world), 200)
    assert_same_answers(client, app, common_searches(world), 200)


@pytest.mark.parametrize("order", ["-created_at", "phone_number", "-id", "expire_at", "-updated_at"])
def test_the_gate_counts_and_pages_as_the_route_does_on_either_side_of_the_matches_kept(client, app, world, monkeypatch, order):
    monkeypatch.setattr(searches, "SEARCH_KEPT_POSTGRESQL", 20)
    monkeypatch.setattr(repository, "SEARCH_KEPT_POSTGRESQL", 20)
    headers = [(b"host", b"testserver"), (b"authorization", world["valid"].encode())]
    for q, offset, limit in (("500", 0, 100), ("500", 30, 4), ("500", 40, 4), ("0001", 1, 3), ("485001", 0, 5), ("777", 0, 5)):
        query = f"q={q}&offset={offset}&limit={limit}&orderBy={order}".encode()
        through_gate, behind = _both(client, app, "GET", PATH, query, headers, b"", 1)
        assert through_gate == behind, query
        assert through_gate[0] == 200


def test_the_common_searches_never_reach_the_app_on_postgresql(client, app, world, backend, monkeypatch):
    monkeypatch.setattr(searches, "SEARCH_KEPT_POSTGRESQL", 20)  # q=500's 36 matches: counted and paged apart
    auth = {"Authorization": world["valid"]}
    with reaching_the_app(app) as reached:
        listed = sorted(f"48500{part}{n:05d}" for part in range(3) for n in range(12))
        page = client.get(PATH, params={"q": "0001", "limit": "5", "offset": "2", "orderBy": "phone_number"}, headers=auth).json()
        matches = [number for number in listed if "0001" in number]
        assert page["size"] == len(matches) > 7 and [entry["phone_number"] for entry in page["collection"]] == matches[2:7]
        assert client.get(PATH, params={"q": "+48 500 1"}, headers=auth).json()["size"] == 12  # not the sms list's 48500100001
        # SMSAPI's PHP client: an empty form body announced on every GET.
        php = {**auth, "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "0"}
        assert client.get(PATH, params={"q": "500"}, headers=php).json()["size"] == 36
        assert client.head(PATH, params={"q": "500"}, headers=auth).status_code == 200
        # The token check's refusals too: the route would refuse them alike, after asking the database once more.
        refused = client.get(PATH, params={"q": "500"}, headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401 and refused.json()["error"] == "unauthorized" and refused.headers["www-authenticate"] == "Bearer"
        assert client.get(PATH, params={"q": "500"}, headers={"Authorization": world["check only"]}).status_code == 403
        assert client.get(PATH, params={"q": "500"}, headers={**auth, "Stoplist-Account": "999999"}).json()["error"] == "account_not_found"
        answered = 0 if backend == "sqlite" else 7
        assert len(reached) == 7 - answered
        # What the route alone does: no q, a CSV export, an unknown parameter, a bad number, a bad number and a bad token.
        assert client.get(PATH, headers=auth).json()["size"] == 36
        assert client.get(PATH, params={"q": "500"}, headers={**auth, "Accept": "text/csv"}).text.startswith("id,phone_number")
        assert client.get(PATH, params={"q": "500", "page": "2"}, headers=auth).status_code == 400
        assert client.get(PATH, params={"q": "500", "limit": "1001"}, headers=auth).status_code == 400
        assert client.get(PATH, params={"q": "500", "limit": "1001"}, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert client.get(PATH, params={"q": "500"}, headers={**auth, "x-async": "true"}).status_code == 202
        assert len(reached) == 13 - answered


def test_the_gates_searches_are_counted_in_the_metrics_as_the_routes_are(client, world):
    auth = {"Authorization": world["valid"]}
    for _ in range(2):
        client.get(PATH, params={"q": "500"}, headers=auth)
    client.head(PATH, params={"q": "500"}, headers=auth)
    client.get(PATH, params={"q": "500", "limit": "0"}, headers=auth)
    client.get(PATH, params={"q": "500"}, headers={"Authorization": "Bearer nope"})
    scraped = client.get("/metrics").text
    assert f'stoplist_http_requests_total{{method="GET",route="{PATH}",status="200"}} 3.0' in scraped
    assert f'stoplist_http_requests_total{{method="GET",route="{PATH}",status="400"}} 1.0' in scraped
    assert f'stoplist_http_requests_total{{method="GET",route="{PATH}",status="401"}} 1.0' in scraped


def test_a_fault_of_the_gates_search_is_logged_and_the_app_answers(client, world, monkeypatch, caplog, backend):
    async def broken(*_args):
        raise RuntimeError("a fault")

    monkeypatch.setattr(searches, "answer", broken)
    response = client.get(PATH, params={"q": "500"}, headers={"Authorization": world["valid"]})
    assert response.status_code == 200 and response.json()["size"] == 36
    assert "The search in front of the app failed" in caplog.text


def test_a_search_goes_to_the_app_when_the_gates_connections_are_busy_or_a_number_is_too_long(client, app, world, backend, caplog):
    """A search never queues behind others on the gate's two connections, and a numeral of thousands of digits
    (which Python refuses to read) is the app's to answer, with nothing logged."""
    auth = {"Authorization": world["valid"]}
    with reaching_the_app(app) as reached:
        long_limit = "0" * 4400 + "5"
        assert len(client.get(PATH, params={"q": "500", "limit": long_limit}, headers=auth).json()["collection"]) == 5
        if backend == "postgresql":
            slots = app.state.lookup.searches._slots
            for slot in slots:
                slot[2] += 1  # held by another search
            try:
                assert client.get(PATH, params={"q": "500"}, headers=auth).json()["size"] == 36
            finally:
                for slot in slots:
                    slot[2] -= 1
            assert client.get(PATH, params={"q": "500"}, headers=auth).json()["size"] == 36
        assert len(reached) == (2 if backend == "postgresql" else 1)  # PostgreSQL: the long numeral and the busy one
    assert "failed" not in caplog.text
