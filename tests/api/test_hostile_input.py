"""Odd and hostile input answers a clear 4xx with the standard error body, never a 500."""

import json

import pytest

from tests.api.helpers import URL, add, assert_error


@pytest.mark.parametrize("expire_at", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_an_expiry_off_the_end_of_the_calendar_is_a_400(client, auth, expire_at):
    response = client.post(URL, json={"phone_number": "+48500000001", "expire_at": expire_at}, headers=auth)

    assert_error(response, 400, "invalid_expire_at")


@pytest.mark.parametrize("parameter", ["offset", "limit"])
def test_offsets_and_limits_beyond_64_bits_are_a_400_for_json_and_csv(client, auth, parameter):
    add(client, auth, "+48500000001")
    for accept in ("application/json", "text/csv"):
        response = client.get(URL, params={parameter: 2**63}, headers={**auth, "Accept": accept})
        assert_error(response, 400, "validation_error")


def test_the_largest_offset_answers_an_empty_page(client, auth):
    add(client, auth, "+48500000001")

    assert client.get(URL, params={"offset": 2**63 - 1}, headers=auth).json()["collection"] == []
    assert client.get(URL, params={"offset": 2**63 - 1}, headers={**auth, "Accept": "text/csv"}).status_code == 204


@pytest.mark.parametrize("path", ["/blacklist/check", URL])
def test_deeply_nested_json_is_a_malformed_body_not_a_crash(client, auth, path):
    body = '{"phone_numbers": ' + "[" * 5000 + "]" * 5000 + "}" if path.endswith("check") else "[" * 5000 + "]" * 5000

    response = client.post(path, content=body, headers={**auth, "Content-Type": "application/json"})

    assert_error(response, 400, "malformed_body")


@pytest.mark.parametrize("path", ["/files/%00", "/files/abc%00def", "/blacklist/phone_numbers/imports/%00", "/blacklist/phone_numbers/imports/%00/errors"])
def test_ids_that_cannot_be_ours_are_simply_not_found(client, auth, path):
    response = client.get(path, headers=auth)

    assert response.status_code == 404
    assert set(response.json()) == {"error", "message", "errors"}


def test_a_bulk_check_echoes_unpaired_surrogates_as_valid_json(client, auth):
    response = client.post("/blacklist/check", content='{"phone_numbers": ["\\ud800", "+48500000001"]}', headers={**auth, "Content-Type": "application/json"})

    assert response.status_code == 200
    results = json.loads(response.text)["results"]
    assert results[0] == {"input": "\ud800", "address": None, "phone_number": None, "valid": False, "blacklisted": False, "decision": None}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_bulk_check_refuses_numbers_json_does_not_have(client, auth, constant):
    response = client.post("/blacklist/check", content=f'{{"phone_numbers": [{constant}]}}', headers={**auth, "Content-Type": "application/json"})

    assert_error(response, 400, "malformed_body")
