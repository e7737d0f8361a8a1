"""`/blacklist/check`: the send-time gate.

These routes are the hot path, so they read the request and write the answer by hand:
no dependency graph, no response validation, no thread pool; the schemas below are for
the OpenAPI document only.
"""

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from stoplist.auth.deps import ACCOUNT_DESCRIPTION, ACCOUNT_SCHEMA
from stoplist.auth.principal import ACCOUNT_HEADER, CHECK
from stoplist.auth.cache import named_account
from stoplist.checks import service
from stoplist.checks.schemas import MAX_NUMBERS, BulkCheckResult, CheckResult
from stoplist.downloads import AUTH_ERRORS
from stoplist.web import HotRoute, load_json, query_values, read_body
from stoplist.errors import (
    ConflictingParameters, ErrorBody, ErrorDetail, InvalidAddress, InvalidListScope, InvalidPhoneNumber, TooManyNumbers, UnsupportedMediaType,
    ValidationFailed, beyond_schema, validation_error,
)
from stoplist.declared import component
from stoplist.lists.addresses import NOT_AN_ADDRESS
from stoplist.lists.phone import NOT_ON_PLAN, number_schema
from stoplist.lists.precedence import CHANNELS
from stoplist.lists.schemas import SENDER_NOT_PRINTABLE
from stoplist.lists.service import EVERY_IN_QUERY, channel_of, sender_of

router = APIRouter(prefix="/blacklist/check", tags=["check"], route_class=HotRoute)

MAX_BODY_BYTES = 1 << 20
SCOPE = CHECK
# The token is read by hand too: the security requirement, and the header naming a subuser, that every
# other route gets from its dependency.
BEARER = [{"HTTPBearer": [SCOPE]}]
ACCOUNT_PARAMETER = {"name": ACCOUNT_HEADER, "in": "header", "required": False, "schema": ACCOUNT_SCHEMA, "description": ACCOUNT_DESCRIPTION}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "`invalid_phone_number`, `invalid_address`, `invalid_scope`, `validation_error` or `malformed_body`."},
    **AUTH_ERRORS,
}


def _json(body: dict) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), media_type="application/json")


@router.get(
    "",
    response_model=CheckResult,
    responses=_ERRORS,
    summary="Check one address, for a channel and a sender",
    openapi_extra={
        # Read by hand below (no dependency graph on the hot path), so declared here.
        "parameters": [
            {"name": "phone_number", "in": "query", "required": False, "schema": number_schema(), "description": "A phone number, in any spelling (SMSAPI's parameter). Give this or `address`.", "example": "+48500000000"},
            {"name": "address", "in": "query", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 320}, "description": "A phone number or an e-mail address. Give this or `phone_number`.", "example": "jan@example.com"},
            # Read in any case and between white space: the schemas say so with patterns made from CHANNELS and the sender's rules.
            {"name": "channel", "in": "query", "required": False, "schema": component("Channel"), "description": f"The channel of the message ({', '.join(CHANNELS)}; any case); absent or empty: lists of every channel only."},
            {"name": "sender", "in": "query", "required": False, "schema": component("Sender"), "description": "The sender of the message (compared without regard to case and surrounding space; a phone number in any spelling); absent or empty: lists of every sender only."},
            ACCOUNT_PARAMETER,
        ],
        "security": BEARER,
        **beyond_schema({
            InvalidPhoneNumber: NOT_ON_PLAN,
            InvalidAddress: NOT_AN_ADDRESS,
            InvalidListScope: SENDER_NOT_PRINTABLE,
            # Exactly one of phone_number and address, which a list of parameters cannot say.
            ConflictingParameters: "both phone_number and address: give exactly one, which a list of parameters cannot require",
            ValidationFailed: "neither phone_number nor address: give exactly one, which a list of parameters cannot require",
        }),
    },
)
async def check_one(request: Request) -> Response:
    state = request.app.state
    headers = request.headers
    principal = await state.token_cache.authenticate(headers.get("authorization"), SCOPE, named_account(headers))
    query = query_values(request.scope.get("query_string", b""))
    number, address = query.get("phone_number"), query.get("address")
    if number is not None and address is not None:
        raise ConflictingParameters("phone_number", "address")
    if number is None and address is None:
        raise validation_error([{"loc": ("query", "phone_number"), "msg": "Field required: give phone_number (or address, for any kind of address)", "type": "missing"}])
    region = state.settings.default_region
    answer = await service.check_one(
        lookup=state.lookup, account_id=principal.owner_id, raw=address if number is None else number, by_address=number is None,
        channel=channel_of(query.get("channel"), every=EVERY_IN_QUERY), sender=sender_of(query.get("sender"), default_region=region, every=EVERY_IN_QUERY).key,
        default_region=region,
    )
    return _json(answer)


@router.post(
    "",
    response_model=BulkCheckResult,
    responses={
        **_ERRORS,
        413: {"model": ErrorBody, "description": f"More than {MAX_NUMBERS:,} numbers (`too_many_numbers`), or a body over {MAX_BODY_BYTES:,} bytes (`body_too_large`)."},
        415: {"model": ErrorBody, "description": "Not JSON."},
    },
    summary=f"Check up to {MAX_NUMBERS:,} addresses, for a channel and a sender",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkCheckRequest"}}}},
        "parameters": [ACCOUNT_PARAMETER],
        "security": BEARER,
        **beyond_schema({InvalidListScope: SENDER_NOT_PRINTABLE}),
    },
)
async def check_many(request: Request) -> Response:
    state = request.app.state
    headers = request.headers
    principal = await state.token_cache.authenticate(headers.get("authorization"), SCOPE, named_account(headers))
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the numbers as application/json: {\"phone_numbers\": [...]}.")
    body = await read_body(request, MAX_BODY_BYTES)
    document = load_json(body)
    key, inputs = _inputs(document)
    if len(inputs) > MAX_NUMBERS:
        raise TooManyNumbers(f"At most {MAX_NUMBERS} addresses per request; this one has {len(inputs)}.")
    region = state.settings.default_region
    answer = await service.check_many(
        lookup=state.lookup, account_id=principal.owner_id, inputs=inputs, by_address=key == "addresses",
        channel=channel_of(_text(document, "channel")), sender=sender_of(_text(document, "sender"), default_region=region).key, default_region=region,
    )
    return Response(answer, media_type="application/json")


_BODY_KEYS = ("phone_numbers", "addresses", "channel", "sender")


def _inputs(document: object) -> tuple[str, list]:
    """Which list of inputs a bulk check has, and the list; anything else in the body is refused, so nothing sent is ignored."""
    if not isinstance(document, dict):
        detail = ErrorDetail(path="phone_numbers", message="Input should be a valid list", error="list_type")
        raise ValidationFailed("The body must be {\"phone_numbers\": [...]} or {\"addresses\": [...]}.", errors=[detail])
    unknown = [{"loc": (name,), "msg": "Extra inputs are not permitted", "type": "extra_forbidden"} for name in document if name not in _BODY_KEYS]
    if unknown:
        raise validation_error(unknown)
    if "phone_numbers" in document and "addresses" in document:
        raise ConflictingParameters("phone_numbers", "addresses")
    key = "addresses" if "addresses" in document else "phone_numbers"
    if not isinstance(document.get(key), list):
        detail = ErrorDetail(path=key, message="Input should be a valid list", error="list_type")
        raise ValidationFailed("The body must be {\"phone_numbers\": [...]} or {\"addresses\": [...]}.", errors=[detail])
    return key, document[key]


def _text(document: dict, name: str) -> str | None:
    value = document.get(name)
    if value is not None and not isinstance(value, str):
        raise validation_error([{"loc": (name,), "msg": "Input should be a valid string", "type": "string_type"}])
    return value
