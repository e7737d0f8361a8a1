"""Where the server and its schema part ways, as the spec lists it, and the checks that excuse exactly that.

An operation lists, with a reason for each:
- under `x-semantic-errors`, by error code, the 400s a schema-valid request may still get (a number
  not on its country's plan, a date in the past): positive_data_acceptance_beyond_schema excuses
  a 400 with one of these codes, and no other;
- under `x-accepted-beyond-schema`, by name, the parameters and body fields of which the server
  reads more than the schema allows (any ISO 8601 spelling of a date): negative_data_rejection_as_sent
  excuses a request accepted when the invalid parts of it, as it was sent, are all among these.
"""

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema_rs
import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

MARK = "x-semantic-errors"
ACCEPTED = "x-accepted-beyond-schema"


def semantic_errors(operation: schemathesis.APIOperation) -> dict[str, str]:
    return dict(operation.definition.raw.get(MARK, {}))


def accepted_beyond_schema(operation: schemathesis.APIOperation) -> dict[str, str]:
    return dict(operation.definition.raw.get(ACCEPTED, {}))


def error_code(response: schemathesis.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


@schemathesis.check
def positive_data_acceptance_beyond_schema(ctx, response, case):
    """positive_data_acceptance, except for a 400 whose code the operation marks as beyond its schema."""
    if response.status_code == 400 and error_code(response) in semantic_errors(case.operation):
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def negative_data_rejection_as_sent(ctx, response, case):
    """negative_data_rejection, judging the request as it went on the wire, less what the operation accepts beyond its schema.

    - text/csv bodies are text: Schemathesis already excuses text/plain, where a body generated as
      an object or a number is sent as its text, a valid string. text/csv is sent the same way
      (`{}` is a one-line file), so a negative body there is no negative request.
    - A query string is text too: a value generated against the schema (an array, `false`) is sent
      as its text (`?sender=false`), which may well be a valid value; a number is valid as the text
      of a JSON number.
    - A request is excused when what is invalid in it, as sent, is all in parameters or fields the
      operation lists under x-accepted-beyond-schema (and nothing when nothing is invalid).
    """
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative and _valid_as_sent(case, response, ignoring=set(accepted_beyond_schema(case.operation))):
        return None
    return negative_data_rejection(ctx, response, case)


_NOT_QUERY_OR_BODY = (ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE, ParameterLocation.UNKNOWN)


def _valid_as_sent(case: schemathesis.Case, response: schemathesis.Response, *, ignoring: set[str]) -> bool:
    """Whether the request, as it was sent, is valid for the operation once the `ignoring` parameters and fields are taken out."""
    meta = case.meta
    if any(meta.is_negative_at(location) for location in _NOT_QUERY_OR_BODY):
        return False
    if meta.is_negative_at(ParameterLocation.QUERY) and not _query_valid_as_sent(case, response, ignoring):
        return False
    return not meta.is_negative_at(ParameterLocation.BODY) or _body_valid_as_sent(case, response, ignoring)


def _query_valid_as_sent(case: schemathesis.Case, response: schemathesis.Response, ignoring: set[str]) -> bool:
    """Whether each value of the query string that was sent, taken as text, is valid for its parameter."""
    sent = parse_qsl(urlsplit(response.request.url).query, keep_blank_values=True)
    parameters = {parameter.name: parameter.definition for parameter in case.operation.query}
    names = [name for name, _value in sent]
    if len(set(names)) != len(names) or any(name not in parameters for name in names):
        return False
    if any(definition.get("required") and name not in names for name, definition in parameters.items()):
        return False
    document = case.operation.schema.raw_schema
    return all(name in ignoring or _text_valid(_validator(parameters[name].get("schema", {}), document), value) for name, value in sent)


def _text_valid(validator: jsonschema_rs.Validator, text: str) -> bool:
    """Whether text off the wire is valid: as a string, or as the JSON number it spells."""
    if validator.is_valid(text):
        return True
    try:
        number = json.loads(text)
    except ValueError:
        return False
    return isinstance(number, (int, float)) and not isinstance(number, bool) and validator.is_valid(number)


def _body_valid_as_sent(case: schemathesis.Case, response: schemathesis.Response, ignoring: set[str]) -> bool:
    if case.media_type == "text/csv":
        return True
    body = _body_as_sent(case, response)
    if body is None:
        return False
    schema = case.operation.definition.raw["requestBody"]["content"][case.media_type]["schema"]
    document = case.operation.schema.raw_schema
    if isinstance(body, dict) and ignoring:
        body = {name: value for name, value in body.items() if name not in ignoring}
        schema = _without(_resolved(schema, document), ignoring)
    return _validator(schema, document).is_valid(body)


def _body_as_sent(case: schemathesis.Case, response: schemathesis.Response) -> Any:
    """The body as the server read it: JSON as sent, a form's fields as text; None for any other."""
    sent = response.request.body or b""
    if case.media_type == "application/x-www-form-urlencoded":
        fields = parse_qsl(sent.decode("utf-8", "replace") if isinstance(sent, bytes) else sent, keep_blank_values=True)
        names = [name for name, _value in fields]
        return dict(fields) if len(set(names)) == len(names) else None
    if case.media_type == "application/json":
        try:
            return json.loads(sent)
        except ValueError:
            return None
    return None


def _resolved(schema: Mapping[str, Any], document: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` itself where it is a reference to one of the document's components."""
    while "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = {**target, **{key: value for key, value in schema.items() if key != "$ref"}}
    return dict(schema)


def _without(schema: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """An object's schema with the properties `names` neither required nor described (nor refused, when additional ones are)."""
    properties = {name: value for name, value in schema.get("properties", {}).items() if name not in names}
    required = [name for name in schema.get("required", []) if name not in names]
    return {**schema, "properties": properties, "required": required}


def _validator(schema: Mapping[str, Any], document: Mapping[str, Any]) -> jsonschema_rs.Validator:
    """A validator of `schema` that reads its formats and finds the document's components (as a JSON Schema engine, not Python's `re`)."""
    key = (json.dumps(schema, sort_keys=True), id(document))
    if key not in _VALIDATORS:
        _VALIDATORS[key] = jsonschema_rs.Draft202012Validator({**schema, "components": document.get("components", {})}, validate_formats=True)
    return _VALIDATORS[key]


# Compiled once per schema and document: a negative case validates a few values, the run thousands of cases.
_VALIDATORS: dict[tuple[str, int], jsonschema_rs.Validator] = {}
