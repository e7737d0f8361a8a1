"""Rules a JSON Schema cannot state (a real phone number, a date in the future), as the spec marks them."""

import schemathesis
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
def negative_data_rejection_csv_as_text(ctx, response, case):
    """negative_data_rejection, with text/csv bodies taken as the text they are on the wire.

    Schemathesis already excuses text/plain: a body generated as an object or a number is sent as
    its text, which is a valid string. text/csv is sent the same way (`{}` is a one-line file), so
    a negative body there is no negative request unless something else in it is negative.
    """
    meta = case.meta
    if case.media_type == "text/csv" and meta is not None and meta.generation.mode.is_negative:
        if not any(meta.is_negative_at(location) for location in _OUTSIDE_BODY):
            return None
    return negative_data_rejection(ctx, response, case)


_OUTSIDE_BODY = (ParameterLocation.QUERY, ParameterLocation.PATH, ParameterLocation.HEADER, ParameterLocation.COOKIE)
