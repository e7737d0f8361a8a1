import json
from pathlib import Path

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
