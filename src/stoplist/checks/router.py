"""`/blacklist/check`: the send-time gate.

These routes are the hot path, so they read the request and write the answer by hand:
no dependency graph, no response validation, no thread pool; the schemas below are for
the OpenAPI document only.
"""

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from stoplist.checks import service
from stoplist.checks.schemas import MAX_NUMBERS, BulkCheckResult, CheckResult
from stoplist.downloads import AUTH_ERRORS
from stoplist.web import load_json, read_body
from stoplist.lists.phone import number_schema
from stoplist.errors import ErrorBody, InvalidPhoneNumber, beyond_schema, ErrorDetail, TooManyNumbers, UnsupportedMediaType, ValidationFailed, validation_error

router = APIRouter(prefix="/blacklist/check", tags=["check"])

MAX_BODY_BYTES = 1 << 20
SCOPE = "blacklist"
# The token is read by hand too: the security requirement every other route gets from its dependency.
BEARER = [{"HTTPBearer": []}]

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "`invalid_phone_number`, `validation_error` or `malformed_body`."},
    **AUTH_ERRORS,
}


def _json(body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), media_type="application/json")


@router.get(
    "",
    response_model=CheckResult,
    responses=_ERRORS,
    summary="Check one number",
    openapi_extra={
        # Read by hand below (no dependency graph on the hot path), so declared here.
        "parameters": [
            {"name": "phone_number", "in": "query", "required": True, "schema": number_schema(), "description": "The number, in any spelling.", "example": "+48500000000"}
        ],
        "security": BEARER,
        **beyond_schema(InvalidPhoneNumber),
    },
)
async def check_one(request: Request) -> Response:
    state = request.app.state
    principal = await state.token_cache.authenticate(request.headers.get("authorization"), SCOPE)
    raw = request.query_params.get("phone_number")
    if raw is None:
        raise validation_error([{"loc": ("query", "phone_number"), "msg": "Field required", "type": "missing"}])
    return _json(await service.check_one(lookup=state.lookup, account_id=principal.account_id, raw=raw, default_region=state.settings.default_region))


@router.post(
    "",
    response_model=BulkCheckResult,
    responses={
        **_ERRORS,
        413: {"model": ErrorBody, "description": f"More than {MAX_NUMBERS:,} numbers (`too_many_numbers`), or a body over {MAX_BODY_BYTES:,} bytes (`body_too_large`)."},
        415: {"model": ErrorBody, "description": "Not JSON."},
    },
    summary=f"Check up to {MAX_NUMBERS:,} numbers",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkCheckRequest"}}}},
        "security": BEARER,
    },
)
async def check_many(request: Request) -> Response:
    state = request.app.state
    principal = await state.token_cache.authenticate(request.headers.get("authorization"), SCOPE)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the numbers as application/json: {\"phone_numbers\": [...]}.")
    body = await read_body(request, MAX_BODY_BYTES)
    inputs = _inputs(load_json(body))
    if len(inputs) > MAX_NUMBERS:
        raise TooManyNumbers(f"At most {MAX_NUMBERS} numbers per request; this one has {len(inputs)}.")
    answer = await service.check_many(lookup=state.lookup, account_id=principal.account_id, inputs=inputs, default_region=state.settings.default_region)
    return Response(answer, media_type="application/json")


def _inputs(document: object) -> list:
    """The list of inputs of a bulk check; anything else in the body is refused, so nothing sent is ignored."""
    if not isinstance(document, dict) or not isinstance(document.get("phone_numbers"), list):
        detail = ErrorDetail(path="phone_numbers", message="Input should be a valid list", error="list_type")
        raise ValidationFailed("The body must be {\"phone_numbers\": [...]}.", errors=[detail])
    unknown = [{"loc": (name,), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} for name in document if name != "phone_numbers"]
    if unknown:
        raise validation_error(unknown)
    return document["phone_numbers"]
