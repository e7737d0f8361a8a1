from datetime import datetime, timedelta, timezone

import pytest

from tests.api.helpers import TIMESTAMP, URL, add, assert_error, set_expiry


def test_adding_a_number_answers_201_with_the_canonical_entry(client, auth):
    response = client.post(URL, json={"phone_number": "+48 500 000 000"}, headers=auth)

    assert response.status_code == 201
    entry = response.json()
    assert set(entry) == {"id", "phone_number", "expire_at", "created_at"}
    assert isinstance(entry["id"], str)
    assert entry["phone_number"] == "48500000000"
    assert entry["expire_at"] is None
    assert TIMESTAMP.match(entry["created_at"])
    created = datetime.strptime(entry["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(created - datetime.now(timezone.utc)) < timedelta(seconds=5)


def test_a_form_body_works_like_json_as_smsapi_clients_send_it(client, auth):
    response = client.post(URL, data={"phone_number": "48500000001", "expire_at": "2030-12-01"}, headers=auth)

    assert response.status_code == 201
    assert response.json()["phone_number"] == "48500000001"
    assert response.json()["expire_at"] == "2030-12-01T00:00:00Z"


def test_a_multipart_form_body_is_read_too(client, auth):
    response = client.post(URL, files={"phone_number": (None, "48500000002")}, headers=auth)

    assert response.status_code == 201
    assert response.json()["phone_number"] == "48500000002"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2030-12-01", "2030-12-01T00:00:00Z"),
        ("2030-12-01T10:20:30Z", "2030-12-01T10:20:30Z"),
        ("2030-12-01T12:20:30+02:00", "2030-12-01T10:20:30Z"),
        ("2030-12-01T10:20:30.987Z", "2030-12-01T10:20:31Z"),  # a fraction is the next second
        ("2030-12-01T10:00:00.5Z", "2030-12-01T10:00:01Z"),  # the README's example
        ("2030-12-01 10:20:30", "2030-12-01T10:20:30Z"),
    ],
)
def test_expire_at_is_stored_in_utc_to_the_second(client, auth, sent, stored):
    assert add(client, auth, "+48500000000", expire_at=sent)["expire_at"] == stored


def test_an_explicit_null_expiry_means_forever(client, auth):
    response = client.post(URL, json={"phone_number": "+48500000000", "expire_at": None}, headers=auth)

    assert response.status_code == 201
    assert response.json()["expire_at"] is None


def test_re_adding_a_number_replaces_its_expiry_and_answers_200(client, auth):
    first = add(client, auth, "+48500000000", expire_at="2030-01-01")

    again = add(client, auth, "0048 500-000-000", expire_at="2031-06-01T08:00:00Z", status=200)
    forever = add(client, auth, "48500000000", status=200)

    assert again["id"] == forever["id"] == first["id"]
    assert again["created_at"] == first["created_at"]
    assert again["expire_at"] == "2031-06-01T08:00:00Z"
    assert forever["expire_at"] is None
    assert client.get(URL, headers=auth).json()["size"] == 1


def test_re_adding_an_expired_number_lists_it_anew(client, app, auth):
    first = add(client, auth, "+48500000000", expire_at="2030-01-01")
    set_expiry(app, first["id"], datetime.now(timezone.utc) - timedelta(seconds=1))

    again = add(client, auth, "+48500000000", status=201)

    assert again["expire_at"] is None
    assert client.get(f"{URL}/{again['id']}", headers=auth).status_code == 200
    assert client.get(URL, headers=auth).json()["size"] == 1


@pytest.mark.parametrize("phone_number", ["", "abc", "+48 500", "+48 500 000 000 000", "+999 123 456 789", "1-800-FLOWERS", "500 000 000"])
def test_invalid_numbers_are_refused_with_a_message_quoting_them(client, auth, phone_number):
    response = client.post(URL, json={"phone_number": phone_number}, headers=auth)

    body = assert_error(response, 400, "invalid_phone_number")
    assert repr(phone_number) in body["message"]
    assert body["errors"][0]["path"] == "phone_number"
    assert client.get(URL, headers=auth).json()["size"] == 0


def test_national_numbers_are_read_with_the_default_region(app, client, auth):
    app.state.settings.default_region = "PL"

    assert add(client, auth, "500 000 000")["phone_number"] == "48500000000"


@pytest.mark.parametrize("expire_at", ["tomorrow", "2030-13-01", "01/12/2030", "2000-01-01", 1893456000])
def test_unreadable_or_past_expiries_are_refused(client, auth, expire_at):
    response = client.post(URL, json={"phone_number": "+48500000000", "expire_at": expire_at}, headers=auth)

    body = assert_error(response, 400, "invalid_expire_at")
    assert body["errors"][0]["path"] == "expire_at"
    assert client.get(URL, headers=auth).json()["size"] == 0


def test_a_missing_phone_number_is_a_400_validation_error(client, auth):
    body = assert_error(client.post(URL, json={"expire_at": "2030-01-01"}, headers=auth), 400, "validation_error")

    assert body["errors"] == [{"path": "phone_number", "message": "Field required", "error": "missing"}]


def test_a_number_sent_as_a_json_number_is_accepted(client, auth):
    assert add(client, auth, 48500000000)["phone_number"] == "48500000000"


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"48500000000"'])
def test_a_body_that_is_not_a_json_object_is_a_400(client, auth, body):
    response = client.post(URL, content=body, headers={**auth, "Content-Type": "application/json"})

    assert_error(response, 400, "malformed_body")


def test_a_body_of_another_media_type_is_a_415(client, auth):
    response = client.post(URL, content=b"phone_number,48500000000", headers={**auth, "Content-Type": "text/csv"})

    assert_error(response, 415, "unsupported_media_type")


def test_a_json_number_without_a_fraction_is_the_integer_json_schema_takes_it_for(client, auth):
    response = client.post(URL, headers={**auth, "Content-Type": "application/json"}, content=b'{"phone_number": 48500000001.0}')

    assert response.status_code == 201, response.text
    assert response.json()["phone_number"] == "48500000001"


@pytest.mark.parametrize("number", ["4850000000.5", "1e400", "true"])
def test_a_json_number_with_a_fraction_is_no_phone_number(client, auth, number):
    response = client.post(URL, headers={**auth, "Content-Type": "application/json"}, content=f'{{"phone_number": {number}}}'.encode())

    assert response.status_code == 400, response.text


def test_an_offsets_plus_sent_raw_in_a_form_is_refused_with_the_hint(client, auth):
    # curl -d expire_at=2030-12-01T12:00:00+02:00 sends the + as it is; a form body reads it as a space.
    response = client.post(URL, content=b"phone_number=48500000001&expire_at=2030-12-01T12:00:00+02:00", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    body = assert_error(response, 400, "invalid_expire_at")
    assert "'2030-12-01T12:00:00 02:00'" in body["message"] and "write an offset's + as %2B" in body["message"]
    assert client.get(URL, headers=auth).json()["size"] == 0

    encoded = client.post(URL, content=b"phone_number=48500000001&expire_at=2030-12-01T12:00:00%2B02:00", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert encoded.status_code == 201 and encoded.json()["expire_at"] == "2030-12-01T10:00:00Z"


def test_received_at_with_its_plus_read_as_a_space_is_refused_with_the_hint(client, auth):
    entry = add(client, auth, "+48500000001")
    response = client.delete(f"{URL}/{entry['id']}", params={"received_at": "2026-12-01T12:00:00 02:00"}, headers=auth)
    body = assert_error(response, 400, "invalid_evidence")
    assert "write an offset's + as %2B" in body["message"]
    assert client.get(URL, headers=auth).json()["size"] == 1
    # an unreadable value of another kind gets no such hint
    other = assert_error(client.delete(f"{URL}/{entry['id']}", params={"received_at": "yesterday"}, headers=auth), 400, "invalid_evidence")
    assert "%2B" not in other["message"]
