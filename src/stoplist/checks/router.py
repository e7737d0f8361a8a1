"""`/blacklist/check`: the send-time gate.

These routes are the hot path, so they read the request and write the answer by hand:
no dependency graph, no response validation, no thread pool; the schemas below are for
the OpenAPI document only.
"""

from typing import Any

from fastapi import APIRouter, Request, Response

from stoplist.auth.deps import ACCOUNT_DESCRIPTION, ACCOUNT_SCHEMA
from stoplist.auth.principal import ACCOUNT_HEADER
from stoplist.checks import requests
from stoplist.checks.schemas import MAX_NUMBERS, BulkCheckResult, CheckResult
from stoplist.downloads import AUTH_ERRORS
from stoplist.web import HotRoute, read_body
from stoplist.errors import ConflictingParameters, ErrorBody, InvalidAddress, InvalidListScope, InvalidPhoneNumber, ValidationFailed, beyond_schema
from stoplist.declared import component
from stoplist.lists.addresses import NOT_AN_ADDRESS
from stoplist.lists.phone import NOT_ON_PLAN, number_schema
from stoplist.lists.precedence import CHANNELS
from stoplist.lists.schemas import SENDER_NOT_PRINTABLE

router = APIRouter(prefix="/blacklist/check", tags=["check"], route_class=HotRoute)

MAX_BODY_BYTES = requests.MAX_BODY_BYTES
SCOPE = requests.SCOPE
# The token is read by hand too: the security requirement, and the header naming a subuser, that every
# other route gets from its dependency.
BEARER = [{"HTTPBearer": [SCOPE]}]
ACCOUNT_PARAMETER = {"name": ACCOUNT_HEADER, "in": "header", "required": False, "schema": ACCOUNT_SCHEMA, "description": ACCOUNT_DESCRIPTION}

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "`invalid_phone_number`, `invalid_address`, `invalid_scope`, `validation_error` or `malformed_body`."},
    **AUTH_ERRORS,
}


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
    return Response(await requests.answer_one(request.app.state, request.headers, request.scope.get("query_string", b"")), media_type="application/json")


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
    return Response(await requests.answer_many(request.app.state, request.headers, lambda limit: read_body(request, limit)), media_type="application/json")
