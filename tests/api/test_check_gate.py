"""The gate in front of the app (checks.gate) answers the check routes exactly as the routes behind it would.

Every check test in the suite goes through the gate, as every client does; these tests add that the
gate and the app's own stack (its middleware, routing, handlers) give the same answer, byte for byte,
to any request at the check's address, and that the common requests never reach that stack.
"""

import contextlib
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from stoplist.checks.gate import CheckGate
from stoplist.config import Settings
from tests.accounts.helpers import ALL, bearer, subuser

CHECK = "/blacklist/check"
LISTED = ("+48500000001", "+48500000002")
# Values a query or a body may carry: listed and unlisted numbers in several spellings, e-mail
# addresses, scopes, words the API refuses, text that is no address at all.
VALUES = st.sampled_from([
    "+48500000001", "48500000001", "%2B48500000002", "+48 500 000 003", "500000001", "jan@example.com", "JAN@Example.COM",
    "sms", "SMS ", "email", "fax", "ACME", " acme ", "+48600000000", "every", "*", "", " ", "x" * 40, "ｓｍｓ", "%ZZ", "a+b", "%00",
])
NAMES = st.sampled_from(["phone_number", "address", "channel", "sender", "phone%5Fnumber", "number", "page", "PHONE_NUMBER"])


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, serve_worker=False)


@pytest.fixture
def world(client, make_token):
    """Tokens of every kind the gate must tell apart, and the lists their checks read."""
    parent = make_token("gate", ALL)
    headers = bearer(parent)
    for number in LISTED:
        assert client.post("/blacklist/phone_numbers", json={"phone_number": number}, headers=headers).status_code == 201
    entries = [
        {"address": "jan@example.com"},
        {"address": "+48500000003", "channel": "sms", "sender": "ACME"},
        {"address": "+48500000001", "channel": "sms", "list": "allow"},
    ]
    for entry in entries:
        assert client.post("/blacklist/entries", json=entry, headers=headers).status_code == 201, entry
    child = subuser(client, headers, "gate-brand")
    return {
        "valid": f"Bearer {parent}",
        "check only": f"Bearer {make_token('gate', ['blacklist:check'])}",
        "no check": f"Bearer {make_token('gate', ['accounts'])}",
        "unknown": "Bearer sl_0000000000000000000000000000",
        "basic": "Basic dXNlcjpwYXNz",
        "subuser": str(child),
    }


async def _call(asgi, app, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]], body: bytes, chunks: int):
    """(status, headers in their order, body) of one request to an ASGI app, its body sent in `chunks` parts."""
    step = max(1, -(-len(body) // chunks)) if body else 1
    parts = [body[start : start + step] for start in range(0, len(body), step)] or [b""]
    messages = [{"type": "http.request", "body": part, "more_body": index < len(parts) - 1} for index, part in enumerate(parts)]
    sent = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": query, "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80), "state": {}, "app": app,
    }
    await asgi(scope, receive, send)
    start = next(message for message in sent if message["type"] == "http.response.start")
    answer = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], list(start["headers"]), answer


def _both(client, app, *request):
    """The answer of the gate and of the stack behind it to the same request."""
    gate = app.middleware_stack
    assert isinstance(gate, CheckGate)
    return client.portal.call(_call, gate, app, *request), client.portal.call(_call, gate.app, app, *request)


@st.composite
def requests(draw, world):
    method = draw(st.sampled_from(["GET", "GET", "HEAD", "POST", "POST", "PUT", "DELETE"]))
    path = draw(st.sampled_from([CHECK, CHECK, CHECK, CHECK + "/"]))
    pairs = draw(st.lists(st.tuples(NAMES, VALUES), max_size=4))
    query = "&".join(f"{name}={value if '%' in value else quote(value, safe='+ ').replace(' ', '+')}" for name, value in pairs)
    headers = []
    authorization = draw(st.sampled_from([None, "valid", "valid", "valid", "check only", "no check", "unknown", "basic"]))
    if authorization is not None:
        headers.append((b"authorization", world[authorization].encode()))
    for account in draw(st.lists(st.sampled_from([world["subuser"], "0", "abc", "999999"]), max_size=2)):
        headers.append((b"stoplist-account", account.encode()))
    body = b""
    if method == "POST":
        document = draw(st.one_of(
            st.fixed_dictionaries({"phone_numbers": st.lists(VALUES, max_size=5)}, optional={"channel": VALUES, "sender": VALUES}),
            st.fixed_dictionaries({"addresses": st.lists(VALUES, max_size=5)}, optional={"channel": VALUES, "sender": st.integers()}),
            st.dictionaries(NAMES, VALUES, max_size=2),
            st.lists(VALUES, max_size=2),
        ))
        well_formed = json.dumps(document).encode()
        body = draw(st.sampled_from([well_formed, well_formed, well_formed, well_formed, b"{", b'{"phone_numbers": [NaN]}', b"", b"\xff"]))
        content_type = draw(st.sampled_from([b"application/json", b"application/json", b"text/plain", b"application/problem+json", None]))
        if content_type is not None:
            headers.append((b"content-type", content_type))
    elif draw(st.booleans()):
        body = draw(st.sampled_from([b"", b"x", b'{"phone_number": "+48500000001"}']))
    if body or method == "POST" or draw(st.booleans()):
        length = draw(st.sampled_from([str(len(body)).encode(), str(len(body)).encode(), None]))
        if length is not None:
            headers.append((b"content-length", length))
    headers.append((b"host", b"testserver"))
    return method, path, query.encode(), headers, body, draw(st.integers(1, 3))


def assert_same_answers(client, app, drawn: st.SearchStrategy, examples: int) -> None:
    """The gate and the stack behind it answer each of `examples` drawn requests alike, byte for byte."""

    @hypothesis_settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(st.data())
    def compare(data):
        request = data.draw(drawn)
        through_gate, behind = _both(client, app, *request)
        assert through_gate == behind, request

    compare()


def test_the_gate_answers_any_request_at_the_checks_address_as_the_app_behind_it_does(client, app, world):
    assert_same_answers(client, app, requests(world), 300)


@contextlib.contextmanager
def reaching_the_app(app):
    """(method, path, query) of each request the gate hands on to the app's stack, while in the block."""
    gate = app.middleware_stack
    inner, reached = gate.app, []

    async def counting(scope, receive, send):
        reached.append((scope["method"], scope["path"], scope["query_string"]))
        await inner(scope, receive, send)

    gate.app = counting
    try:
        yield reached
    finally:
        gate.app = inner


def test_the_common_checks_never_reach_the_apps_middleware_and_the_rest_always_do(client, app, world):
    auth = {"Authorization": world["valid"]}
    with reaching_the_app(app) as reached:
        assert client.get(CHECK, params={"phone_number": "+48500000001", "channel": "sms", "sender": "ACME"}, headers=auth).json()["blacklisted"] is False
        assert client.head(CHECK, params={"address": "jan@example.com"}, headers=auth).status_code == 200
        # SMSAPI's PHP client: an empty form body announced on every GET.
        php = {**auth, "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "0"}
        assert client.get(CHECK, params={"phone_number": "48500000002"}, headers=php).json()["blacklisted"] is True
        assert client.post(CHECK, json={"phone_numbers": list(LISTED)}, headers=auth).status_code == 200
        assert client.get(CHECK, params={"phone_number": "+48500000009"}, headers={"Authorization": "Bearer nope"}).status_code == 401
        assert reached == []
        # What the routes' own middleware decides: an unknown parameter, a trailing slash, another method.
        assert client.get(CHECK, params={"phone_number": "+48500000001", "page": "1"}, headers=auth).status_code == 400
        assert client.get(CHECK + "/", params={"phone_number": "+48500000001"}, headers=auth).status_code == 200
        assert client.delete(CHECK, headers=auth).status_code == 405
        assert [path for _method, path, _query in reached] == [CHECK, CHECK + "/", CHECK]


def test_the_gates_answers_are_counted_in_the_metrics_as_the_routes_are(client, world):
    auth = {"Authorization": world["valid"]}
    for _ in range(3):
        client.get(CHECK, params={"phone_number": "+48500000001"}, headers=auth)
    client.head(CHECK, params={"phone_number": "+48500000001"}, headers=auth)
    client.post(CHECK, json={"phone_numbers": ["+48500000001"]}, headers=auth)
    client.get(CHECK, params={"phone_number": "nope"}, headers=auth)
    scraped = client.get("/metrics").text
    assert 'stoplist_http_requests_total{method="GET",route="/blacklist/check",status="200"} 4.0' in scraped
    assert 'stoplist_http_requests_total{method="POST",route="/blacklist/check",status="200"} 1.0' in scraped
    assert 'stoplist_http_requests_total{method="GET",route="/blacklist/check",status="400"} 1.0' in scraped
    assert 'stoplist_http_request_duration_seconds_count{method="GET",route="/blacklist/check"} 5.0' in scraped


def test_a_query_with_raw_non_ascii_bytes_is_refused_and_percent_encoded_text_is_read_as_utf8(client, app, world):
    # A sender with an accent: HTTP servers that pass raw bytes on (granian) must not make it another sender.
    headers = {"Authorization": world["valid"]}
    entry = {"address": "+48500000077", "channel": "sms", "sender": "Café"}
    assert client.post("/blacklist/entries", json=entry, headers=headers).status_code == 201
    assert client.get(CHECK, params={"phone_number": "+48500000077", "channel": "sms", "sender": "Café"}, headers=headers).json()["blacklisted"] is True

    raw = "phone_number=%2B48500000077&channel=sms&sender=Café".encode()
    asgi_headers = [(b"authorization", world["valid"].encode()), (b"host", b"testserver")]
    through_gate, behind = _both(client, app, "GET", CHECK, raw, asgi_headers, b"", 1)
    assert through_gate == behind
    status, _headers, body = through_gate
    assert status == 400 and json.loads(body)["errors"][0]["error"] == "not_percent_encoded", body

    # Escapes that spell no UTF-8 text (a lone surrogate's bytes) are refused, not read as U+FFFD.
    for query in (b"address=%ED%A0%80@example.com", b"phone_number=%2B48500000077&sender=%FF"):
        through_gate, behind = _both(client, app, "GET", CHECK, query, asgi_headers, b"", 1)
        assert through_gate == behind
        status, _headers, body = through_gate
        assert status == 400 and json.loads(body)["errors"][0]["error"] == "not_utf8", body


def test_every_documented_route_refuses_a_query_with_raw_non_ascii_bytes(client, app, world):
    asgi_headers = [(b"authorization", world["valid"].encode()), (b"host", b"testserver")]
    for path, query in (("/blacklist/phone_numbers", "q=Café".encode()), ("/blacklist/entries", "sender=Ącme".encode())):
        status, _headers, body = client.portal.call(_call, app, app, "GET", path, query, asgi_headers, b"", 1)
        assert status == 400 and json.loads(body)["errors"][0]["error"] == "not_percent_encoded", (path, body)
