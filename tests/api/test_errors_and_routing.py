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
