import pytest

from tests.api.helpers import URL, add, assert_error


def test_unknown_routes_answer_404_with_the_error_body(client, auth):
    assert_error(client.get("/no/such/route", headers=auth), 404, "not_found")


def test_unknown_methods_answer_405_with_the_error_body_and_allow(client, auth):
    response = client.put(URL, headers=auth)

    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", f"{URL}/", 200), ("POST", f"{URL}/", 201), ("DELETE", f"{URL}/", 204), ("GET", f"{URL}/1/", 200), ("DELETE", f"{URL}/1/", 204)],
)
def test_a_trailing_slash_answers_directly_without_a_redirect(client, auth, method, path, status):
    add(client, auth, "+48500000009")

    body = {"json": {"phone_number": "+48500000001"}} if method == "POST" else {}

    response = client.request(method, path, headers=auth, follow_redirects=False, **body)

    assert response.status_code == status


def test_an_unexpected_failure_is_a_500_with_the_error_body(app, auth):
    from fastapi.testclient import TestClient

    @app.get("/boom")
    def boom():
        raise RuntimeError("kaput")

    with TestClient(app, raise_server_exceptions=False) as client:
        body = assert_error(client.get("/boom"), 500, "internal_error")

    assert "kaput" not in body["message"]


@pytest.mark.parametrize("tail", ["//", "///", "/%2F", "/%2f/", "/%2F%2F", "/%2F/"])
def test_an_id_left_empty_or_a_slash_for_an_id_deletes_nothing(client, auth, tail):
    """One trailing slash is the delete-all SMSAPI's PHP client sends; an empty id (`phone_numbers//`, which SMSAPI's
    Python client sends for the id "/") or an encoded slash is no id at all: 404, and the list stays whole. Every
    trailing slash was stripped, from the decoded path, and each of these deleted the whole list."""
    for number in ("+48500000001", "+48500000002"):
        add(client, auth, number)

    response = client.delete(f"{URL}{tail}", headers=auth, follow_redirects=False)

    assert_error(response, 404, "not_found")
    assert client.get(URL, headers=auth).json()["size"] == 2
    assert client.delete(f"{URL}/", headers=auth).status_code == 204  # the one trailing slash: the delete-all
    assert client.get(URL, headers=auth).json()["size"] == 0
