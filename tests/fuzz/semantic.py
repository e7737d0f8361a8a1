"""Rules a JSON Schema cannot state (a real phone number, a date in the future), as the spec marks them."""

import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance

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
