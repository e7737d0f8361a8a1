"""What a request says that a route does not understand is refused with a 400 naming it, never ignored."""

import pytest

from tests.api.helpers import URL, add, assert_error, listed

CHECK = "/blacklist/check"


@pytest.mark.parametrize(
    "query",
    [
        "phone_numer=48500000001",  # a typo of phone_number
        "q=5000",  # a search parameter: DELETE has none
        "phone_number=48500000001&phone_number=48500000002",  # which one?
        "phone_number=48500000001&limit=1",
        "orderBy=-created_at",
    ],
)
def test_a_delete_with_a_parameter_it_does_not_take_deletes_nothing(client, auth, query):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")

    response = client.delete(f"{URL}?{query}", headers=auth)

    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["error"] in ("unknown_parameter", "repeated_parameter")
    assert set(listed(client, auth)) == {"48500000001", "48500000002"}


def test_an_unknown_parameter_is_named_in_the_error(client, auth):
    response = client.delete(f"{URL}?phone_numer=48500000001", headers=auth)

    body = assert_error(response, 400, "validation_error")
    assert body["errors"] == [
        {"path": "phone_numer", "message": "Unknown parameter 'phone_numer': this route takes evidence, phone_number, received_at.", "error": "unknown_parameter"}
    ]
    assert "phone_numer" in body["message"]


@pytest.mark.parametrize("body", [{"data": {"phone_number": "48500000001"}}, {"json": {"phone_number": "48500000001"}}, {"content": b"x"}])
def test_a_delete_with_a_body_deletes_nothing(client, auth, body):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000002")

    response = client.request("DELETE", URL, headers=auth, **body)

    problem = assert_error(response, 400, "validation_error")
    assert problem["errors"][0]["error"] == "body_not_allowed"
    assert "?phone_number=" in problem["message"]
    assert set(listed(client, auth)) == {"48500000001", "48500000002"}


def test_a_get_with_a_body_is_refused_with_the_hint_for_its_route(client, auth):
    check = assert_error(client.request("GET", "/blacklist/check", content=b"phone_number=48500000001",
                                        headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}), 400, "validation_error")
    assert "GET /blacklist/check?phone_number=" in check["message"] and "DELETE" not in check["message"]
    listing = assert_error(client.request("GET", URL, content=b"x", headers=auth), 400, "validation_error")
    assert "DELETE" not in listing["message"] and "check" not in listing["message"]


def test_a_chunked_delete_body_deletes_nothing(client, auth):
    add(client, auth, "+48500000001")

    response = client.request("DELETE", URL, headers=auth, content=iter([b"phone_number=48500000001"]))

    assert_error(response, 400, "validation_error")
    assert set(listed(client, auth)) == {"48500000001"}


@pytest.mark.parametrize("path", [URL, f"{URL}/"])
def test_the_php_clients_empty_form_body_is_no_body(client, auth, path):
    """SMSAPI's PHP client sends `Content-Type: application/x-www-form-urlencoded` and `Content-Length: 0` on every GET and DELETE."""
    add(client, auth, "+48500000001")
    php = {**auth, "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "0"}

    assert client.request("GET", path, headers=php).json()["size"] == 1
    assert client.request("DELETE", path, headers=php).status_code == 204
    assert listed(client, auth) == {}


def test_delete_all_with_no_parameters_still_empties_the_list(client, auth):
    add(client, auth, "+48500000001")

    assert client.delete(f"{URL}?", headers=auth).status_code == 204
    assert listed(client, auth) == {}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", URL), ("GET", f"{URL}/1"), ("DELETE", f"{URL}/1"), ("GET", f"{URL}/imports/abc"), ("GET", "/files/abc"), ("GET", CHECK), ("POST", CHECK), ("POST", URL)],
)
def test_every_route_refuses_unknown_query_parameters(client, auth, method, path):
    # `channel` is a check's parameter; on every other SMSAPI route it is unknown.
    params = {"phone_number": "48500000001", "chanel": "whatsapp"} if (method, path) == ("GET", CHECK) else {"channel": "whatsapp"}

    response = client.request(method, path, params=params, headers=auth)

    body = assert_error(response, 400, "validation_error")
    assert [problem["path"] for problem in body["errors"]] == list(params)[-1:]


@pytest.mark.parametrize("form", [False, True])
def test_an_unknown_field_in_an_add_is_refused_and_nothing_is_stored(client, auth, form):
    fields = {"phone_number": "48500000001", "channel": "whatsapp", "reason": "STOP"}

    response = client.post(URL, headers=auth, **({"data": fields} if form else {"json": fields}))

    body = assert_error(response, 400, "validation_error")
    assert sorted(problem["path"] for problem in body["errors"]) == ["channel", "reason"]
    assert listed(client, auth) == {}


def test_a_form_field_given_twice_is_refused(client, auth):
    response = client.post(URL, headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}, content=b"phone_number=48500000001&phone_number=48500000002")

    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["path"] == "phone_number"
    assert listed(client, auth) == {}


def test_a_file_in_an_add_form_is_refused(client, auth):
    response = client.post(URL, headers=auth, data={"phone_number": "48500000001"}, files={"phone_number_file": ("a.txt", b"48500000002")})

    assert_error(response, 400, "malformed_body")
    assert listed(client, auth) == {}


def test_a_bulk_check_with_an_unknown_field_is_refused(client, auth):
    response = client.post(CHECK, json={"phone_numbers": ["48500000001"], "chanel": "sms"}, headers=auth)

    body = assert_error(response, 400, "validation_error")
    assert body["errors"][0]["path"] == "chanel"


def test_the_official_clients_parameters_are_all_known(client, auth):
    add(client, auth, "+48500000001", expire_at="2099-01-01")

    response = client.get(URL, params={"q": "500", "offset": 0, "limit": 10, "orderBy": "phone_number"}, headers=auth)

    assert response.status_code == 200
    assert response.json()["size"] == 1


def test_order_by_as_the_php_client_spells_it_sorts_too(client, auth):
    """SMSAPI's PHP client snake-cases its parameter names: a bag's orderBy is sent as order_by."""
    add(client, auth, "+48500000002")
    add(client, auth, "+48500000001")

    numbers = [entry["phone_number"] for entry in client.get(URL, params={"order_by": "phone_number"}, headers=auth).json()["collection"]]

    assert numbers == ["48500000001", "48500000002"]
    assert_error(client.get(URL, params={"order_by": "phone_number", "orderBy": "-phone_number"}, headers=auth), 400, "conflicting_parameters")


# Escapes that spell no UTF-8: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate, latin-1's 'é'.
_NOT_UTF8 = ["%FF", "%C3", "%C0%AF", "%ED%A0%80", "Caf%E9"]


@pytest.mark.parametrize("escape", _NOT_UTF8)
def test_a_query_value_that_is_not_utf8_is_refused_on_every_route_and_nothing_is_recorded(client, auth, escape):
    """Read as U+FFFD by the framework, an evidence text would reach the trail changed for good: it is refused instead."""
    entry = add(client, auth, "+48500000001")

    response = client.delete(f"{URL}/{entry['id']}?evidence=ticket%20{escape}", headers=auth)

    body = assert_error(response, 400, "validation_error")
    assert body["errors"] == [{"path": "evidence", "message": "Percent-escapes must spell UTF-8 text.", "error": "not_utf8"}]
    assert listed(client, auth) == {"48500000001": None}
    events = client.get("/blacklist/history", params={"address": "48500000001"}, headers=auth).json()["events"]
    assert [event["op"] for event in events] == ["add"]
    for path in (f"{URL}?q={escape}", f"/blacklist/entries?reason={escape}", f"/blacklist/changes?{escape}=1"):
        assert_error(client.get(path, headers=auth), 400, "validation_error")["errors"][0]["error"] in ("not_utf8", "unknown_parameter")
    assert_error(client.get(f"/blacklist/entries?note{escape}=1", headers=auth), 400, "validation_error")


def test_a_query_in_utf8_is_read_as_sent(client, auth):
    entry = add(client, auth, "+48500000001")

    assert client.delete(f"{URL}/{entry['id']}?evidence=Caf%C3%A9%20%E2%9C%93", headers=auth).status_code == 204

    events = client.get("/blacklist/history", params={"address": "48500000001"}, headers=auth).json()["events"]
    assert events[-1]["evidence"] == "Café ✓"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"phone_number=48500000001&expire_at=%FF", "expire_at"),
        (b"phone_number=4850000000%C3", "phone_number"),
        (b"phone_number=48500000001&expire_at=2030-01-01\xff", "expire_at"),
        (b"phone_number=48500000001;evidence=ticket%20%FF", "evidence"),  # ';' parts fields as '&' does
        (b"phone_number=48500000001&evid%FFence=x", "evid%FFence"),  # named as sent
    ],
)
def test_a_form_field_that_is_not_utf8_is_refused(client, auth, body, field):
    response = client.post(URL, headers={**auth, "Content-Type": "application/x-www-form-urlencoded"}, content=body)

    assert assert_error(response, 400, "validation_error")["errors"] == [{"path": field, "message": "Send form fields as UTF-8 text.", "error": "not_utf8"}]
    assert listed(client, auth) == {}


@pytest.mark.parametrize("evidence", [b"\xff\xfe", b"Caf\xe9"])
def test_a_multipart_form_field_that_is_not_utf8_is_refused_not_read_as_latin1(client, auth, evidence):
    response = client.post(URL, headers=auth, files={"phone_number": (None, b"48500000001"), "evidence": (None, evidence)})

    assert assert_error(response, 400, "validation_error")["errors"][0] == {"path": "evidence", "message": "Send form fields as UTF-8 text.", "error": "not_utf8"}
    assert listed(client, auth) == {}


def test_a_multipart_form_in_utf8_is_read_as_sent(client, auth):
    assert client.post(URL, headers=auth, files={"phone_number": (None, b"48500000001"), "evidence": (None, "Café ✓".encode())}).status_code == 201

    events = client.get("/blacklist/history", params={"address": "48500000001"}, headers=auth).json()["events"]
    assert events[-1]["evidence"] == "Café ✓"


def test_a_query_name_that_is_not_utf8_is_named_as_sent(client, auth):
    entry = add(client, auth, "+48500000001")

    response = client.delete(f"{URL}/{entry['id']}?evid%FFence=x", headers=auth)

    assert assert_error(response, 400, "validation_error")["errors"] == [{"path": "evid%FFence", "message": "Percent-escapes must spell UTF-8 text.", "error": "not_utf8"}]
    assert listed(client, auth) == {"48500000001": None}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/blacklist/entries", {"address": "+48500000001", "reason": None}, "reason"),
        ("POST", "/blacklist/entries", {"address": None}, "address"),
        ("POST", "/blacklist/entries/batch", {"items": ["+48500000001"], "list": None}, "list"),
    ],
)
def test_a_null_where_text_is_needed_is_named_as_null(client, auth, method, path, body, field):
    # "Input should be a valid string" alone read as if the value were of another type, or missing.
    response = client.request(method, path, json=body, headers=auth)
    error = assert_error(response, 400, "validation_error")
    assert error["errors"] == [{"path": field, "message": "Input should be a valid string, not null", "error": "string_type"}]
    assert client.get("/blacklist/entries", headers=auth).json()["collection"] == []
