"""HTTP as clients expect it: Allow on a 405, HEAD wherever GET, bounded bodies and queries, offline docs."""

import json

import pytest

from stoplist.lists.phone import MAX_QUERY_CHARS
from stoplist.blacklist.router import MAX_WRITE_BODY
from stoplist.checks.router import MAX_BODY_BYTES
from tests.api.helpers import IMPORTS, URL, add, assert_error, listed

CHECK = "/blacklist/check"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", URL, "DELETE, GET, HEAD, POST"),
        ("PATCH", f"{URL}/1", "DELETE, GET, HEAD, PUT"),
        ("PUT", "/blacklist/entries/1", "DELETE, GET, HEAD, PATCH"),
        # Literal addresses are no entry ids either.
        ("GET", "/blacklist/entries/batch", "POST"),
        ("PATCH", "/blacklist/entries/replace", "POST"),
        ("PUT", CHECK, "GET, HEAD, POST"),
        ("DELETE", f"{IMPORTS}/abc", "GET, HEAD"),
        ("POST", "/files/abc", "GET, HEAD"),
        # A literal address is not an entry id: GET there is no route.
        ("GET", IMPORTS, "POST"),
        ("POST", "/healthz", "GET, HEAD"),
    ],
)
def test_a_405_lists_every_method_of_the_address(client, auth, method, path, allow):
    response = client.request(method, path, headers=auth)

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == allow


@pytest.mark.parametrize("path", [URL, f"{URL}/1", f"{CHECK}?phone_number=48500000001", f"{IMPORTS}/nope", "/files/nope", "/healthz", "/docs"])
def test_head_answers_like_get_without_a_body(client, auth, path):
    add(client, auth, "+48500000001")

    got = client.get(path, headers=auth)
    head = client.head(path, headers=auth)

    assert head.status_code == got.status_code
    assert head.content == b""
    assert head.headers.get("content-type") == got.headers.get("content-type")
    assert head.headers.get("content-length") == got.headers.get("content-length")


def test_head_of_a_csv_export_sends_headers_only(client, auth):
    add(client, auth, "+48500000001")

    head = client.head(URL, headers={**auth, "Accept": "text/csv"})

    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/csv")
    assert head.content == b""


@pytest.mark.parametrize("chunked", [False, True])
def test_an_add_body_over_its_limit_is_a_413_and_nothing_is_stored(client, auth, chunked):
    body = json.dumps({"phone_number": "48500000001", "expire_at": None, "pad": "x" * MAX_WRITE_BODY}).encode()

    response = client.post(URL, headers={**auth, "Content-Type": "application/json"}, content=iter([body[:1000], body[1000:]]) if chunked else body)

    assert_error(response, 413, "body_too_large")
    assert listed(client, auth) == {}


def test_a_form_add_over_its_limit_is_a_413(client, auth):
    response = client.post(URL, headers=auth, data={"phone_number": "48500000001", "note": "x" * MAX_WRITE_BODY})

    assert_error(response, 413, "body_too_large")


def test_a_chunked_bulk_check_over_its_limit_is_a_413(client, auth):
    piece = b'"48500000001",' * 1000
    pieces = [b'{"phone_numbers": ['] + [piece] * (MAX_BODY_BYTES // len(piece) + 1) + [b'"48500000001"]}']

    response = client.post(CHECK, headers={**auth, "Content-Type": "application/json"}, content=iter(pieces))

    assert_error(response, 413, "body_too_large")


@pytest.mark.parametrize("headers", [{}, {"Accept": "text/csv"}, {"Accept": "text/csv", "x-async": "true"}])
def test_a_q_longer_than_any_number_is_a_400(client, auth, headers):
    response = client.get(URL, params={"q": "5" * 50_000}, headers={**auth, **headers})

    body = assert_error(response, 400, "invalid_query")
    assert str(MAX_QUERY_CHARS) in body["message"]
    assert len(body["message"]) < 200


def test_the_longest_q_is_a_search(client, auth):
    add(client, auth, "+48500000001")

    response = client.get(URL, params={"q": " " * (MAX_QUERY_CHARS - 3) + "500"}, headers=auth)

    assert response.json()["size"] == 1


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_a_bulk_check_with_an_infinite_number_is_a_malformed_body(client, auth, number):
    response = client.post(CHECK, headers={**auth, "Content-Type": "application/json"}, content=f'{{"phone_numbers": [{number}]}}')

    assert_error(response, 400, "malformed_body")


def test_a_bulk_checks_answer_is_json_for_any_json_input(client, auth):
    inputs = [1.5, True, {"a": [1]}, [None], "\u2028", 10**30, -0.0]

    response = client.post(CHECK, json={"phone_numbers": inputs}, headers=auth)

    results = json.loads(response.content)["results"]
    assert [result["input"] for result in results] == inputs
    assert not any(result["valid"] for result in results if not isinstance(result["input"], (str, int)) or isinstance(result["input"], bool))


def test_a_multipart_field_too_large_for_the_form_parser_is_a_standard_400(client, auth):
    response = client.post(IMPORTS, headers=auth, data={"note": "x" * (1024 * 1024 + 1)}, files={"import": ("a.csv", b"48500000001\n")})

    body = assert_error(response, 400, "malformed_body")
    assert "size" in body["message"].lower()


def test_the_docs_pages_load_their_assets_from_the_server(client):
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        assert "cdn" not in html.lower()
        assets = [part.split('"')[0] for part in html.split('"/static-offline-docs/')[1:]]
        assert assets, html
        for asset in assets:
            assert client.get(f"/static-offline-docs/{asset}").status_code == 200, asset


def test_head_with_x_async_queues_no_export(client, auth):
    add(client, auth, "+48500000001")

    head = client.head(URL, headers={**auth, "Accept": "text/csv", "x-async": "true"})

    assert head.status_code == 400
    for _ in range(3):  # the account's whole quota of queued exports is still there
        assert client.get(URL, headers={**auth, "Accept": "text/csv", "x-async": "true"}).status_code == 202


@pytest.mark.parametrize("path", [URL, CHECK])
def test_a_json_key_given_twice_is_a_malformed_body(client, auth, path):
    body = '{"phone_number": "48500000001", "phone_number": "48500000002"}' if path == URL else '{"phone_numbers": ["48500000001"], "phone_numbers": []}'

    response = client.post(path, headers={**auth, "Content-Type": "application/json"}, content=body)

    problem = assert_error(response, 400, "malformed_body")
    assert "more than once" in problem["message"]
    assert listed(client, auth) == {}
