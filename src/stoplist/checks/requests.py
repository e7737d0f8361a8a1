"""A check request read by hand, for the documented routes and the gate in front of the app alike.

Each function takes what the request carried (its headers, query string or body) and returns the
answer's JSON as bytes, or raises a StoplistError that the caller renders as the standard error body.
"""

from collections.abc import Awaitable, Callable

from starlette.datastructures import Headers

from stoplist.auth.principal import CHECK
from stoplist.checks import service
from stoplist.checks.schemas import MAX_NUMBERS
from stoplist.errors import ConflictingParameters, ErrorDetail, TooManyNumbers, UnsupportedMediaType, ValidationFailed, validation_error
from stoplist.lists.senders import other_sender_keys
from stoplist.lists.service import EVERY_IN_QUERY, channel_of, sender_of
from stoplist.web import json_bytes, load_json, query_values

SCOPE = CHECK
MAX_BODY_BYTES = 1 << 20
# What GET /blacklist/check takes: the gate answers only requests within it, and leaves the others to
# StrictRequests' refusal.
ONE_PARAMETERS = frozenset({"phone_number", "address", "channel", "sender"})
# The whole body, refused with 413 past the limit it is given.
BodyReader = Callable[[int], Awaitable[bytes]]
_BODY_KEYS = ("phone_numbers", "addresses", "channel", "sender")


async def answer_one(state, headers: Headers, query: bytes) -> bytes:
    """GET /blacklist/check: the decision on one address, as JSON."""
    principal = await state.token_cache.authenticate_headers(headers, SCOPE)
    values = query_values(query)
    number, address = values.get("phone_number"), values.get("address")
    if number is not None and address is not None:
        raise ConflictingParameters("phone_number", "address")
    if number is None and address is None:
        raise validation_error([{"loc": ("query", "phone_number"), "msg": "Field required: give phone_number (or address, for any kind of address)", "type": "missing"}])
    region = state.settings.default_region
    sender = sender_of(values.get("sender"), default_region=region, every=EVERY_IN_QUERY)
    decision = await service.check_one(
        lookup=state.lookup, account_id=principal.owner_id, raw=address if number is None else number, by_address=number is None,
        channel=channel_of(values.get("channel"), every=EVERY_IN_QUERY), sender=sender.key, other_senders=other_sender_keys(sender.display, region),
        default_region=region,
    )
    return json_bytes(service.rendered(decision), floatless=True)


async def answer_many(state, headers: Headers, read_body: BodyReader) -> bytes:
    """POST /blacklist/check: one result per address of the body, in its order, as JSON."""
    principal = await state.token_cache.authenticate_headers(headers, SCOPE)
    require_json(headers)
    document = load_json(await read_body(MAX_BODY_BYTES))
    key, inputs = _inputs(document)
    if len(inputs) > MAX_NUMBERS:
        raise TooManyNumbers(f"At most {MAX_NUMBERS} addresses per request; this one has {len(inputs)}.")
    region = state.settings.default_region
    sender = sender_of(_text(document, "sender"), default_region=region)
    answer = await service.check_many(
        lookup=state.lookup, account_id=principal.owner_id, inputs=inputs, by_address=key == "addresses",
        channel=channel_of(_text(document, "channel")), sender=sender.key, other_senders=other_sender_keys(sender.display, region), default_region=region,
    )
    return answer.encode()


def require_json(headers: Headers) -> None:
    """Refuse a bulk check that is not JSON (415)."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType("Send the numbers as application/json: {\"phone_numbers\": [...]}.")


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
