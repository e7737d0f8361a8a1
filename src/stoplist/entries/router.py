"""`/blacklist/entries`: the native API over every list of the account, by channel, sender and kind."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from stoplist.audit.queries import CURSOR_PATTERN, FEED_CURSOR_HEADER, feed_cursor
from stoplist.audit.origin import EVIDENCE_BEYOND_SCHEMA, RECEIVED_AT_ACCEPTED, EvidenceQuery, ReceivedAtQuery, api_origin
from stoplist.auth.deps import BlacklistPrincipal, ReadPrincipal, SessionDep
from stoplist.downloads import AUTH_ERRORS, BUSY, streaming_session
from stoplist.errors import (
    ConflictingParameters, ErrorBody, FilterRequired, InvalidAddress, InvalidCursor, InvalidEvidence, InvalidExpiry, InvalidListScope, InvalidMoment,
    InvalidSearch, MalformedBody, UnsupportedMediaType, beyond_schema, validation_error,
)
from stoplist.declared import QUERY_NUMBER_ACCEPTED
from stoplist.exports.service import native_csv_chunks, native_csv_page, unless_empty
from stoplist.lists import render, service
from stoplist.entries.filters import NativeFilterDep
from stoplist.lists.addresses import NOT_AN_ADDRESS, address_and_display
from stoplist.lists.cursors import resume
from stoplist.lists.expiry import EXPIRE_AT_ACCEPTED, EXPIRE_AT_BEYOND_SCHEMA, parse_expire_at
from stoplist.lists.ranges import ALIASES_CONFLICT, MOMENT_BEYOND_SCHEMA
from stoplist.lists.schemas import (
    BOOLEAN_ACCEPTED, CURSOR_NOT_GIVEN_OUT, DEFAULT_LIMIT, ENTRY_CURSOR, FILTER_REQUIRED, MAX_CURSOR, MAX_LIMIT, NOTE_NOT_STORABLE,
    SENDER_NOT_PRINTABLE, SORT, DeletedCount, EntryOrder, NativeEntry, NativeEntryCreate, NativeEntryPage,
)
from stoplist.db import utcnow
from stoplist.web import load_json, read_body, wants_csv

router = APIRouter(prefix="/blacklist/entries", tags=["entries"])

MAX_WRITE_BODY = 64 * 1024
MAX_OFFSET = 2**63 - 1
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid input (`invalid_address`, `invalid_scope`, `invalid_expire_at`, `validation_error`, ...)."},
    **AUTH_ERRORS,
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such live entry on your lists."}}


async def read_create(request: Request) -> NativeEntryCreate:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise UnsupportedMediaType('Send the entry as application/json: {"address": "+48500000000", "channel": "sms"}.')
    fields = load_json(await read_body(request, MAX_WRITE_BODY))
    if not isinstance(fields, dict):
        raise MalformedBody('The JSON body must be an object such as {"address": "+48500000000"}.')
    try:
        return NativeEntryCreate.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from None


@router.post(
    "",
    status_code=201,
    response_model=NativeEntry,
    responses={
        **_ERRORS,
        200: {"model": NativeEntry, "description": "The address was on that list already; its entry now has what was sent."},
        415: {"model": ErrorBody, "description": "Not JSON."},
    },
    summary="Put an address on a list (or update its entry)",
    openapi_extra={
        **beyond_schema(
            {
                InvalidAddress: f"{NOT_AN_ADDRESS}; and an e-mail address goes only on lists of channel email or of every channel,"
                " a phone number on any list but email's, which is a rule across two fields",
                InvalidListScope: f"{SENDER_NOT_PRINTABLE}; {NOTE_NOT_STORABLE}",
                InvalidExpiry: EXPIRE_AT_BEYOND_SCHEMA,
                InvalidEvidence: EVIDENCE_BEYOND_SCHEMA,
            },
            accepted={"expire_at": EXPIRE_AT_ACCEPTED, "received_at": RECEIVED_AT_ACCEPTED},
        ),
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NativeEntryCreate"}}}},
    },
)
def add_entry(principal: BlacklistPrincipal, session: SessionDep, request: Request, body: Annotated[NativeEntryCreate, Depends(read_create)]) -> Any:
    now = utcnow()
    region = request.app.state.settings.default_region
    kind, address, display = address_and_display(body.address, default_region=region)
    scope = service.scope_of(service.kind_of(body.list), service.channel_of(body.channel), service.sender_of(body.sender, default_region=region))
    row, created = service.add(
        session, account_id=principal.owner_id, scope=scope, address=address, address_kind=kind, address_display=display,
        expire_at=parse_expire_at(body.expire_at, now=now), reason=service.reason_of(body.reason if "reason" in body.model_fields_set else None),
        note=service.note_of(body.note), set_note="note" in body.model_fields_set,
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now), now=now,
    )
    return JSONResponse(render.native(row), status_code=201 if created else 200)


_FILTER_BEYOND_SCHEMA = {
    InvalidAddress: NOT_AN_ADDRESS,
    InvalidListScope: SENDER_NOT_PRINTABLE,
    InvalidSearch: "a q with no letter, '@' or '_' in it is read as part of a number and must be one; whether text"
    " holds a letter (of any script) no pattern every engine reads can say; nor name an unpaired surrogate",
    InvalidMoment: MOMENT_BEYOND_SCHEMA,
}
_TWO_SPELLINGS = f"{ALIASES_CONFLICT}; likewise offset and skip, and a '-' in orderBy beside sort, which both give the direction"


@router.get(
    "",
    response_model=NativeEntryPage,
    responses={
        **_ERRORS,
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "A page of entries as JSON; or as CSV (`Accept: text/csv`): that page when `cursor`, `offset`, `skip` or `limit` is given "
            "(`X-Next-Cursor` names the next one), otherwise every matching entry.",
            "headers": {
                "X-Next-Cursor": {"description": "CSV pages: `cursor` of the next page; absent on the last.", "schema": {"type": "string"}},
                FEED_CURSOR_HEADER: {
                    "description": "The change feed's position when the entries were read: load them, then follow `GET /blacklist/changes?after=` it.",
                    "schema": {"type": "string", "pattern": CURSOR_PATTERN},
                },
            },
        },
        204: {"description": "`Accept: text/csv` and nothing to export (`X-Feed-Cursor` all the same)."},
        **BUSY,
    },
    summary="List, filter or export the entries of every list",
    openapi_extra=beyond_schema(
        {**_FILTER_BEYOND_SCHEMA, InvalidCursor: CURSOR_NOT_GIVEN_OUT, ConflictingParameters: _TWO_SPELLINGS},
        accepted={"offset": QUERY_NUMBER_ACCEPTED, "skip": QUERY_NUMBER_ACCEPTED, "limit": QUERY_NUMBER_ACCEPTED},
    ),
)
def list_entries(
    principal: ReadPrincipal,
    session: SessionDep,
    request: Request,
    filtered: NativeFilterDep,
    order_by: Annotated[EntryOrder | None, Query(alias="orderBy", description="Sort key; '-' for descending. Default `-created_at` (newest first).")] = None,
    sort: Annotated[
        str | None, Query(json_schema_extra=SORT, description="`asc` or `desc` (VoodooSMS's spelling, any case): the direction of orderBy's key (default created_at).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR, json_schema_extra=ENTRY_CURSOR, description="`next_cursor` of the previous page.")] = None,
    offset: Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="How many matching entries to skip (after the cursor, if any); default 0.")] = None,
    skip: Annotated[int | None, Query(ge=0, le=MAX_OFFSET, description="`offset` as VoodooSMS spells it.")] = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description=f"Page size: default {DEFAULT_LIMIT}, at most {MAX_LIMIT}.")] = None,
    accept: Annotated[
        str | None, Header(description="`text/csv` for CSV: every matching entry, or one page when `cursor`, `offset`, `skip` or `limit` is given.")
    ] = None,
) -> Any:
    order = service.listing_order(order_by, sort)
    if offset is not None and skip is not None:
        raise ConflictingParameters("offset", "skip")
    paged = cursor is not None or offset is not None or skip is not None or limit is not None
    offset, limit = offset or skip or 0, limit or DEFAULT_LIMIT
    now = utcnow()
    after, base = resume(cursor, now)
    where = filtered.at(base)
    if wants_csv(accept):
        if paged:
            position = {FEED_CURSOR_HEADER: feed_cursor(session, principal.owner_id)}
            page, next_cursor = native_csv_page(
                session, account_id=principal.owner_id, where=where, order=order, after=after, offset=offset, limit=limit, now=now, base=base
            )
            return _csv_page(page, next_cursor, position)
        with streaming_session(request) as reader:
            position = {FEED_CURSOR_HEADER: feed_cursor(reader.session, principal.owner_id)}
            chunks = unless_empty(native_csv_chunks(reader.session, account_id=principal.owner_id, where=where, order=order))
            if chunks is None:
                return Response(status_code=204, headers=position)
            return reader.csv(chunks, "entries.csv", position)
    position = {FEED_CURSOR_HEADER: feed_cursor(session, principal.owner_id)}
    size, rows, next_cursor = service.find(
        session, account_id=principal.owner_id, where=where, order=order, after=after, offset=offset, limit=limit, now=now, base=base
    )
    return JSONResponse({"size": size, "collection": [render.native(row) for row in rows], "next_cursor": next_cursor}, headers=position)


@router.delete(
    "",
    response_model=DeletedCount,
    responses={400: {"model": ErrorBody, "description": "`filter_required` (no filter at all), `invalid_date`, `invalid_scope`, `invalid_address`, `validation_error`, ..."}, **AUTH_ERRORS},
    summary="Delete every entry a filter selects, on every list (or, with dry_run, count them)",
    openapi_extra=beyond_schema(
        {**_FILTER_BEYOND_SCHEMA, InvalidEvidence: EVIDENCE_BEYOND_SCHEMA, ConflictingParameters: ALIASES_CONFLICT, FilterRequired: FILTER_REQUIRED},
        accepted={"received_at": RECEIVED_AT_ACCEPTED, "dry_run": BOOLEAN_ACCEPTED},
    ),
)
def delete_entries(
    principal: BlacklistPrincipal,
    session: SessionDep,
    request: Request,
    filtered: NativeFilterDep,
    dry_run: Annotated[bool, Query(description="`true`: delete nothing, and answer how many live entries would go.")] = False,
    evidence: EvidenceQuery = None,
    received_at: ReceivedAtQuery = None,
) -> Any:
    now = utcnow()
    if (q := request.query_params.get("q")) is not None and not q.strip():
        # A listing reads a blank q as no search; a delete must not: with `list=block`, a template's blank search took every block.
        raise FilterRequired("q is empty: a blank search selects every entry. Name what to delete, or leave q out.")
    origin = api_origin(request, principal, evidence=evidence, received_at=received_at, now=now)
    count = service.delete_matching(
        session, account_id=principal.owner_id, where=filtered.at(now), origin=origin, now=now, dry_run=dry_run,
        spelled=request.query_params.get("address"), default_region=request.app.state.settings.default_region,
    )
    return JSONResponse({"count": count})


def _csv_page(page: bytes | None, next_cursor: str | None, position: dict[str, str]) -> Response:
    """A page of the CSV export, as the history's CSV pages are answered; 204 when it is empty, as the whole export."""
    if page is None:
        return Response(status_code=204, headers=position)
    headers = {"Content-Disposition": 'attachment; filename="entries.csv"', **position}
    if next_cursor is not None:
        headers["X-Next-Cursor"] = next_cursor
    return Response(page, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/{entry_id}", response_model=NativeEntry, responses={**_ERRORS, **_NOT_FOUND}, summary="One entry, by id")
def get_entry(principal: ReadPrincipal, session: SessionDep, entry_id: str) -> Any:
    return JSONResponse(render.native(service.get(session, account_id=principal.owner_id, entry_id=entry_id)))


@router.delete(
    "/{entry_id}", status_code=204, responses={**_ERRORS, **_NOT_FOUND}, summary="Delete one entry, by id",
    openapi_extra=beyond_schema({InvalidEvidence: EVIDENCE_BEYOND_SCHEMA}, accepted={"received_at": RECEIVED_AT_ACCEPTED}),
)
def delete_entry(
    principal: BlacklistPrincipal, session: SessionDep, request: Request, entry_id: str, evidence: EvidenceQuery = None, received_at: ReceivedAtQuery = None
) -> Response:
    origin = api_origin(request, principal, evidence=evidence, received_at=received_at, now=utcnow())
    service.delete(session, account_id=principal.owner_id, entry_id=entry_id, origin=origin)
    return Response(status_code=204)
