"""Rules a JSON Schema cannot state (a real phone number, a date in the future), as the spec marks them."""

from urllib.parse import parse_qsl, urlsplit

import schemathesis
from jsonschema import Draft202012Validator
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

# An operation lists, under this key, the error codes a schema-valid request may still get.
MARK = "x-semantic-errors"


def semantic_errors(operation: schemathesis.APIOperation) -> list[str]:
    return list(operation.definition.raw.get(MARK, []))


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
    """negative_data_rejection, judging the request as it went on the wire.

    - text/csv bodies are text: Schemathesis already excuses text/plain, where a body generated as
      an object or a number is sent as its text, a valid string. text/csv is sent the same way
      (`{}` is a one-line file), so a negative body there is no negative request.
    - A query string is text too: a value generated against the schema (an array, `false`) is sent
      as its text (`?sender=false`), which may well be a valid value. When every parameter of the
      query as sent is valid for its schema, the request was not negative.
    """
    meta = case.meta
    if meta is not None and meta.generation.mode.is_negative:
        body_negative = meta.is_negative_at(ParameterLocation.BODY) and case.media_type != "text/csv"
        elsewhere = any(meta.is_negative_at(location) for location in _NOT_QUERY)
        if not body_negative and not elsewhere and _query_valid_as_sent(case, response):
            return None
    return negative_data_rejection(ctx, response, case)


_NOT_QUERY = (ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE, ParameterLocation.UNKNOWN)


def _query_valid_as_sent(case: schemathesis.Case, response: schemathesis.Response) -> bool:
    """Whether the query string that was sent is valid for the operation, each value taken as text."""
    sent = parse_qsl(urlsplit(response.request.url).query, keep_blank_values=True)
    parameters = {parameter.name: parameter.definition for parameter in case.operation.query}
    names = [name for name, _value in sent]
    if len(set(names)) != len(names) or any(name not in parameters for name in names):
        return False
    if any(definition.get("required") and name not in names for name, definition in parameters.items()):
        return False
    return all(Draft202012Validator(parameters[name].get("schema", {})).is_valid(value) for name, value in sent)
