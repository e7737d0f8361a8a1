"""Each case the fuzzer found, replayed against a live server: the committed spec and the server must agree on it."""

import json
from datetime import datetime, timezone

import httpx
import jsonschema_rs
import pytest
import schemathesis

from tests.fuzz.conftest import SPEC, Target
from tests.fuzz.semantic import MARK

pytestmark = [pytest.mark.e2e]

DOC = json.loads(SPEC.read_text())
schema = schemathesis.openapi.from_path(SPEC)


def resolved(node):
    """`node` with every local $ref replaced by what it points at."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = DOC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolved({**target, **{k: v for k, v in node.items() if k != "$ref"}})
        return {k: resolved(v) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(v) for v in node]
    return node


def operation(path: str, method: str) -> dict:
    return DOC["paths"][path][method]


def parameter_schema(path: str, method: str, name: str) -> dict:
    return resolved(next(p["schema"] for p in operation(path, method)["parameters"] if p["name"] == name))


def body_schema(path: str, method: str, media_type: str) -> dict:
    return resolved(operation(path, method)["requestBody"]["content"][media_type]["schema"])


def allows(json_schema: dict, value) -> bool:
    """Whether the spec allows `value`, as a JSON Schema engine reads it (ECMA-262 patterns, formats asserted)."""
    return jsonschema_rs.Draft202012Validator({**json_schema, "components": DOC["components"]}, validate_formats=True).is_valid(value)


def assert_agree(response: httpx.Response, path: str, method: str, json_schema: dict, value) -> None:
    """A 400 needs the spec to reject the value, or to mark the answer's code as beyond its schema; a 2xx needs it to allow it."""
    if response.status_code == 400:
        code = response.json()["error"]
        assert not allows(json_schema, value) or code in operation(path, method).get(MARK, []), (
            f"{method.upper()} {path} answers 400 {code} to {value!r}, which the spec allows"
        )
    else:
        assert response.is_success, response.text
        assert allows(json_schema, value), f"{method.upper()} {path} accepts {value!r}, which the spec rejects"



def test_every_operation_that_needs_a_token_declares_it() -> None:
    """/blacklist/check answers 401 without a token, yet declared no security: no client generator would send one."""
    missing = [f"{m.upper()} {p}" for p, ops in DOC["paths"].items() for m, op in ops.items() if not op.get("security")]
    assert missing == []



@pytest.mark.parametrize(("method", "path"), [("get", "/blacklist/check"), ("delete", "/blacklist/phone_numbers")])
def test_an_empty_phone_number(target: Target, method: str, path: str) -> None:
    response = httpx.request(method, target.base_url + path, params={"phone_number": ""}, headers=target.headers)
    assert response.status_code == 400
    assert_agree(response, path, method, parameter_schema(path, method, "phone_number"), "")



@pytest.mark.parametrize(("method", "path"), [("get", "/blacklist/check"), ("delete", "/blacklist/phone_numbers")])
def test_a_phone_number_that_is_no_number(target: Target, method: str, path: str) -> None:
    response = httpx.request(method, target.base_url + path, params={"phone_number": ".exe"}, headers=target.headers)
    assert response.status_code == 400
    assert_agree(response, path, method, parameter_schema(path, method, "phone_number"), ".exe")



@pytest.mark.parametrize("q", ["abc", "\x95O\u00de", "+48 500", "500-00"])
def test_a_search_for_what_is_no_part_of_a_number(target: Target, q: str) -> None:
    path = "/blacklist/phone_numbers"
    response = httpx.get(target.base_url + path, params={"q": q}, headers=target.headers)
    assert_agree(response, path, "get", parameter_schema(path, "get", "q"), q)



def test_a_json_page_of_more_than_1000(target: Target) -> None:
    path = "/blacklist/phone_numbers"
    response = httpx.get(target.base_url + path, params={"limit": 1001}, headers=target.headers)
    assert response.status_code == 400
    assert_agree(response, path, "get", parameter_schema(path, "get", "limit"), 1001)


def _expire_at_examples() -> list[str]:
    expire_at = resolved(DOC["components"]["schemas"]["EntryCreate"]["properties"]["expire_at"])
    found = list(expire_at.get("examples", []))
    for branch in expire_at.get("anyOf", []):
        found += branch.get("examples", []) + ([branch["example"]] if "example" in branch else [])
    return found



def test_the_spec_examples_of_expire_at_are_in_the_future(target: Target) -> None:
    """The fuzzer sends examples first: a date that has passed is an example the server must refuse."""
    examples = _expire_at_examples()
    assert examples
    for example in examples:
        response = httpx.post(target.base_url + "/blacklist/phone_numbers", headers=target.headers,
                              json={"phone_number": "+48 500 000 000", "expire_at": example})
        assert response.status_code in (200, 201), response.text
        assert datetime.fromisoformat(response.json()["expire_at"]) > datetime.now(timezone.utc)



@pytest.mark.parametrize("expire_at", ["G\t\u00c8", "2001-01-01", "tomorrow"])
def test_an_expire_at_that_is_no_future_date(target: Target, expire_at: str) -> None:
    path = "/blacklist/phone_numbers"
    body = {"phone_number": "+48 500 000 000", "expire_at": expire_at}
    response = httpx.post(target.base_url + path, data=body, headers=target.headers)
    assert response.status_code == 400
    assert_agree(response, path, "post", body_schema(path, "post", "application/x-www-form-urlencoded"), body)



@pytest.mark.parametrize("inputs", [[True, False], [2.5890419884777833e-42], [{}, []]])
def test_a_bulk_check_echoes_any_json_item_within_its_schema(target: Target, inputs: list) -> None:
    """README: `input` is echoed exactly as sent; the schemas said only strings, integers and null."""
    case = schema["/blacklist/check"]["POST"].Case(body={"phone_numbers": inputs}, media_type="application/json")
    response = case.call_and_validate(base_url=target.base_url, headers=target.headers)
    assert [item["input"] for item in response.json()["results"]] == inputs
    assert allows(body_schema("/blacklist/check", "post", "application/json"), {"phone_numbers": inputs})


def test_more_than_10000_numbers_is_a_documented_413(target: Target) -> None:
    path = "/blacklist/check"
    response = httpx.post(target.base_url + path, json={"phone_numbers": [None] * 10001}, headers=target.headers)
    assert response.status_code == 413
    assert response.json()["error"] == "too_many_numbers"
    assert "413" in operation(path, "post")["responses"]



def test_an_empty_csv_upload(target: Target) -> None:
    path = "/blacklist/phone_numbers/imports"
    response = httpx.post(target.base_url + path, content=b"", headers={**target.headers, "Content-Type": "text/csv"})
    assert response.status_code == 400
    assert_agree(response, path, "post", body_schema(path, "post", "text/csv"), "")



def test_a_binary_upload(target: Target) -> None:
    """A PNG is a `format: binary` string to the schema; only the server can tell it is no CSV text."""
    path = "/blacklist/phone_numbers/imports"
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
    response = httpx.post(target.base_url + path, files={"import": ("import.png", png)}, headers=target.headers)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_csv"
    assert "invalid_csv" in operation(path, "post").get(MARK, [])


@pytest.mark.parametrize("path", ["/blacklist/check", "/blacklist/phone_numbers", "/blacklist/phone_numbers/1"])
def test_a_method_a_path_does_not_answer_names_those_it_does(target: Target, path: str) -> None:
    template = "/blacklist/phone_numbers/{entry_id}" if path.endswith("/1") else path
    documented = {m.upper() for m in DOC["paths"][template]}
    response = httpx.request("OPTIONS", target.base_url + path, headers=target.headers)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert documented <= allowed, f"Allow: {response.headers['allow']} lacks {documented - allowed}"
