import json
from pathlib import Path

from stoplist.errors import error_codes
from stoplist.openapi import render

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_the_committed_schema_matches_the_app():
    assert COMMITTED.read_text() == render(), "openapi/openapi.json is stale: run `make openapi` and commit it"


def test_the_schema_documents_error_bodies_and_never_422():
    schema = json.loads(render())

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, f"{method} {path}"
            assert responses["401"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    assert set(schema["components"]["schemas"]["ErrorBody"]["properties"]) == {"error", "message", "errors"}


def test_the_schema_offers_json_and_form_bodies_for_adding():
    content = json.loads(render())["paths"]["/blacklist/phone_numbers"]["post"]["requestBody"]["content"]

    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}


def _resolved(node: dict, document: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def _a_reason(text: object) -> bool:
    """A clause that says why, not a placeholder: words, and no white space around them."""
    return isinstance(text, str) and text == text.strip() and len(text.split()) >= 6


def test_every_mark_of_a_deviation_names_a_real_error_or_field_and_says_why():
    schema = json.loads(render())
    codes = set(error_codes())
    marked = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, reason in operation.get("x-semantic-errors", {}).items():
                assert code in codes, f"{method} {path}: {code} is no error code"
                assert _a_reason(reason), f"{method} {path}: {code}: {reason!r}"
                marked += 1
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            for content in operation.get("requestBody", {}).get("content", {}).values():
                names |= set(_resolved(content["schema"], schema).get("properties", {}))
            for name, reason in operation.get("x-accepted-beyond-schema", {}).items():
                assert name in names, f"{method} {path}: {name} is no parameter or field of it"
                assert _a_reason(reason), f"{method} {path}: {name}: {reason!r}"
                marked += 1
    assert marked


def test_a_value_read_in_any_case_is_one_schema_referenced_wherever_it_is_read():
    schema = json.loads(render())
    found = {}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in ("channel", "sender", "list", "reason"):
                    found[f"{method} {path} ?{parameter['name']}"] = parameter["schema"].get("$ref")
    for model in ("NativeEntryCreate", "BulkCheckRequest"):
        for name, field in schema["components"]["schemas"][model]["properties"].items():
            if name in ("channel", "sender", "list", "reason"):
                refs = [branch.get("$ref") for branch in field.get("anyOf", [field])]
                found[f"{model}.{name}"] = refs[0] if refs[1:] in ([], [None]) else None
    assert found and all(found.values()), found
    assert {ref.rsplit("/", 1)[1] for ref in found.values()} == {"Channel", "Sender", "ListKind", "Reason"}
