"""`/blacklist/entries` edits: PATCH an entry (its fields, or a move to another list), replace an
address by another, and add a batch of up to MAX_ITEMS addresses."""

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from stoplist.audit.origin import EVIDENCE_BEYOND_SCHEMA, RECEIVED_AT_ACCEPTED, api_origin
from stoplist.auth.deps import BlacklistPrincipal, SessionDep
from stoplist.db import utcnow
from stoplist.downloads import AUTH_ERRORS
from stoplist.entries.schemas import BatchCreate, BatchResult, EntryReplace, NativeEntryUpdate, ReplaceResult
from stoplist.errors import (
    ErrorBody, InvalidAddress, InvalidEvidence, InvalidExpiry, InvalidListScope, MalformedBody, TooManyItems, UnsupportedMediaType,
    beyond_schema, validation_error,
)
from stoplist.lists import batch, editing, render, service
from stoplist.lists.addresses import NOT_AN_ADDRESS, address_and_display
from stoplist.lists.expiry import EXPIRE_AT_ACCEPTED, EXPIRE_AT_BEYOND_SCHEMA, parse_expire_at
from stoplist.lists.schemas import NOTE_NOT_STORABLE, SENDER_NOT_PRINTABLE, NativeEntry
from stoplist.lists.writer import KEEP
from stoplist.web import json_bytes, load_json, read_body

router = APIRouter(prefix="/blacklist/entries", tags=["entries"])

MAX_EDIT_BODY = 64 * 1024
# A thousand items of an address, a note and a scope each, every character of them written as a JSON
# escape (`\u00e9`: six bytes; a note of 500 is 3,000), with room to spare: beyond it, a mistake or an attack.
MAX_BATCH_BODY = 8 * 1024 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid input (`invalid_address`, `invalid_scope`, `invalid_expire_at`, `validation_error`, ...)."},
    415: {"model": ErrorBody, "description": "Not JSON."},
    **AUTH_ERRORS,
}
_CONFLICT: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "`entry_exists`: the address is on that list already; nothing was changed."}}
_BEYOND = {
    InvalidListScope: f"{SENDER_NOT_PRINTABLE}; {NOTE_NOT_STORABLE}",
    InvalidExpiry: EXPIRE_AT_BEYOND_SCHEMA,
    InvalidEvidence: EVIDENCE_BEYOND_SCHEMA,
}
_ACCEPTED = {"expire_at": EXPIRE_AT_ACCEPTED, "received_at": RECEIVED_AT_ACCEPTED}
Body = TypeVar("Body", bound=BaseModel)


async def _json_object(request: Request, limit: int, example: str) -> dict:
    """The body as a JSON object, of at most `limit` bytes."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType(f"Send the body as application/json: {example}.")
    fields = load_json(await read_body(request, limit))
    if not isinstance(fields, dict):
        raise MalformedBody(f"The JSON body must be an object such as {example}.")
    return fields


def _validated(model: type[Body], fields: dict) -> Body:
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(_items_as_sent(exc.errors(), fields.get("items"))) from None


# The branches of a batch item (`str | BatchItem`), as pydantic names them in an error's location.
_ITEM_BRANCHES = ("str", "BatchItem")


def _items_as_sent(problems: list, items: object) -> list:
    """A batch's problems located as the client wrote the items, not by the branches of their union: an object's field
    (`items.1.note`, not `items.1.BatchItem.note` beside `items.1.str`), or an item that is neither text nor an object."""
    if not isinstance(items, list):
        return problems
    located, refused = [], set()
    for problem in problems:
        loc = tuple(problem.get("loc", ()))
        if len(loc) < 3 or loc[0] != "items" or not isinstance(loc[1], int) or loc[2] not in _ITEM_BRANCHES or loc[1] >= len(items):
            located.append(problem)
        elif isinstance(items[loc[1]], dict):
            if loc[2] == "BatchItem":
                located.append({**problem, "loc": (*loc[:2], *loc[3:])})
        elif loc[1] not in refused:
            refused.add(loc[1])
            located.append({"loc": loc[:2], "msg": "Input should be an address (text) or an object of an address and its fields", "type": "item_type"})
    return located


async def read_update(request: Request) -> NativeEntryUpdate:
    return _validated(NativeEntryUpdate, await _json_object(request, MAX_EDIT_BODY, '{"reason": "complaint"}'))


async def read_replace(request: Request) -> EntryReplace:
    return _validated(EntryReplace, await _json_object(request, MAX_EDIT_BODY, '{"old": "+48500000001", "new": "+48500000002"}'))


async def read_batch(request: Request) -> tuple[dict, BatchCreate]:
    """The batch's JSON object, as sent (its items are answered as sent), and as read; too many items is 413, not 400."""
    fields = await _json_object(request, MAX_BATCH_BODY, '{"items": ["+48500000001", "ewa@example.com"]}')
    items = fields.get("items")
    if isinstance(items, list) and len(items) > batch.MAX_ITEMS:
        raise TooManyItems(f"At most {batch.MAX_ITEMS:,} items per batch; this one has {len(items):,}.")
    if items == []:
        raise validation_error([{"loc": ("items",), "msg": f"A batch takes 1 to {batch.MAX_ITEMS:,} items; this one has none", "type": "too_short"}])
    return fields, _validated(BatchCreate, fields)


def _body_of(model: str) -> dict:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}}


@router.patch(
    "/{entry_id}",
    response_model=NativeEntry,
    responses={**_ERRORS, 404: {"model": ErrorBody, "description": "No such live entry on your lists."}, **_CONFLICT},
    summary="Edit an entry, or move it to another list",
    openapi_extra={
        **beyond_schema(
            {**_BEYOND, InvalidAddress: "an e-mail address goes only on lists of channel email or of every channel, a phone number on any list"
             " but email's: a move's channel against the entry's address, which the request does not carry"},
            accepted=_ACCEPTED,
        ),
        **_body_of("NativeEntryUpdate"),
    },
)
def edit_entry(principal: BlacklistPrincipal, session: SessionDep, request: Request, entry_id: str, body: Annotated[NativeEntryUpdate, Depends(read_update)]) -> Any:
    now = utcnow()
    given = body.model_fields_set
    region = request.app.state.settings.default_region
    move = editing.Move(
        kind=service.kind_of(body.list) if "list" in given else KEEP,
        channel=service.channel_of(body.channel) if "channel" in given else KEEP,
        sender=service.sender_of(body.sender, default_region=region) if "sender" in given else KEEP,
    )
    row = editing.edit(
        session, account_id=principal.owner_id, entry_id=entry_id, now=now, move=move,
        expire_at=parse_expire_at(body.expire_at, now=now) if "expire_at" in given else KEEP,
        reason=service.reason_of(body.reason) if "reason" in given else KEEP,
        note=service.note_of(body.note) if "note" in given else KEEP,
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now),
    )
    return JSONResponse(render.native(row))


@router.post(
    "/replace",
    response_model=ReplaceResult,
    responses={**_ERRORS, 404: {"model": ErrorBody, "description": "`old` is on none of the lists concerned."}, **_CONFLICT},
    summary="Replace an address by another on every list it is on (or on one)",
    openapi_extra={
        **beyond_schema(
            {
                InvalidAddress: f"{NOT_AN_ADDRESS}; `new` the same address as `old`, or one a list of `old` cannot hold"
                " (an e-mail address on a list of a phone channel), which no schema of one field can say",
                InvalidListScope: SENDER_NOT_PRINTABLE,
                InvalidEvidence: EVIDENCE_BEYOND_SCHEMA,
            },
            accepted={"received_at": RECEIVED_AT_ACCEPTED},
        ),
        **_body_of("EntryReplace"),
    },
)
def replace_address(principal: BlacklistPrincipal, session: SessionDep, request: Request, body: Annotated[EntryReplace, Depends(read_replace)]) -> Any:
    now = utcnow()
    region = request.app.state.settings.default_region
    old, new = (editing.Address(*address_and_display(raw, default_region=region, path=path)) for raw, path in ((body.old, "old"), (body.new, "new")))
    named = {"list", "channel", "sender"} & body.model_fields_set
    scope = None if not named else service.scope_of(
        service.kind_of(body.list if "list" in named else None), service.channel_of(body.channel), service.sender_of(body.sender, default_region=region)
    )
    rows = editing.replace(
        session, account_id=principal.owner_id, old=old, new=new, new_raw=body.new, scope=scope, now=now,
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now),
    )
    return JSONResponse({"old": old.key, "new": new.key, "entries": [render.native(row) for row in rows]})


@router.post(
    "/batch",
    response_model=BatchResult,
    responses={
        **_ERRORS,
        413: {"model": ErrorBody, "description": f"More than {batch.MAX_ITEMS:,} items (`too_many_items`), or a body over {MAX_BATCH_BODY:,} bytes (`body_too_large`)."},
    },
    summary=f"Put up to {batch.MAX_ITEMS:,} addresses on lists at once",
    openapi_extra={**beyond_schema(_BEYOND, accepted=_ACCEPTED), **_body_of("BatchCreate")},
)
def add_batch(principal: BlacklistPrincipal, session: SessionDep, request: Request, read: Annotated[tuple[dict, BatchCreate], Depends(read_batch)]) -> Any:
    fields, body = read
    now = utcnow()
    given = body.model_fields_set
    region = request.app.state.settings.default_region
    defaults = batch.Defaults(
        kind=service.kind_of(body.list), channel=service.channel_of(body.channel), sender=service.sender_of(body.sender, default_region=region),
        reason=service.reason_of(body.reason) if "reason" in given else KEEP, note=service.note_of(body.note) if "note" in given else KEEP,
        expire_at=parse_expire_at(body.expire_at, now=now),
    )
    # Each item as sent: an object's own fields (pydantic's model would also hold those it left out).
    items = fields["items"]
    results = batch.add_batch(
        session, account_id=principal.owner_id, items=items, defaults=defaults, now=now, default_region=region,
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now),
    )
    return _json({"results": [
        {"input": item, "outcome": result.outcome, "entry": None if result.entry is None else render.native(result.entry),
         "error": None if result.error is None else result.error.model_dump()}
        for item, result in zip(items, results)
    ]}, floatless=all(map(_floatless, items)))


def _json(body: dict, *, floatless: bool = False) -> Response:
    """The answer as web.json_bytes writes it."""
    return Response(json_bytes(body, floatless=floatless), media_type="application/json")


def _floatless(item: Any) -> bool:
    """Whether an item as sent holds no float (so that orjson answers it as json would): an address, or an object of texts and nulls."""
    return type(item) is str or (type(item) is dict and all(value is None or type(value) is str for value in item.values()))
