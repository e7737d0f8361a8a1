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
from stoplist.errors import BodyTooLarge, ErrorBody, ErrorDetail, MalformedBody, TooManyNumbers, UnsupportedMediaType, ValidationFailed, validation_error

router = APIRouter(prefix="/blacklist/check", tags=["check"])

MAX_BODY_BYTES = 1 << 20
SCOPE = "blacklist"

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
        "parameters": [
            {"name": "phone_number", "in": "query", "required": True, "schema": {"type": "string"}, "description": "The number, in any spelling.", "example": "+48500000000"}
        ]
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
    responses={**_ERRORS, 413: {"model": ErrorBody, "description": f"More than {MAX_NUMBERS} numbers (`too_many_numbers`)."}, 415: {"model": ErrorBody, "description": "Not JSON."}},
    summary=f"Check up to {MAX_NUMBERS:,} numbers",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkCheckRequest"}}}}},
)
async def check_many(request: Request) -> Response:
    state = request.app.state
    principal = await state.token_cache.authenticate(request.headers.get("authorization"), SCOPE)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the numbers as application/json: {\"phone_numbers\": [...]}.")
    body = await _bounded_body(request)
    try:
        document = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise MalformedBody("The body is not valid JSON.") from None
    inputs = document.get("phone_numbers") if isinstance(document, dict) else None
    if not isinstance(inputs, list):
        detail = ErrorDetail(path="phone_numbers", message="Input should be a valid list", error="list_type")
        raise ValidationFailed("The body must be {\"phone_numbers\": [...]}.", errors=[detail])
    if len(inputs) > MAX_NUMBERS:
        raise TooManyNumbers(f"At most {MAX_NUMBERS} numbers per request; this one has {len(inputs)}.")
    answer = await service.check_many(lookup=state.lookup, account_id=principal.account_id, inputs=inputs, default_region=state.settings.default_region)
    return Response(answer, media_type="application/json")


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY_BYTES:
            raise BodyTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    return bytes(chunks)
