"""`/blacklist/phone_numbers`: SMSAPI's Blacklist API, plus `GET /{id}`."""

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from stoplist.audit.origin import EVIDENCE_BEYOND_SCHEMA, RECEIVED_AT_ACCEPTED, EvidenceQuery, ReceivedAtQuery, api_origin
from stoplist.auth.deps import BlacklistPrincipal, ReadPrincipal, SessionDep
from stoplist.blacklist import service
from stoplist.blacklist.schemas import EntryCreate, EntryPage, EntryPublic, EntryUpdate
from stoplist.config import Settings
from stoplist.db import utcnow
from stoplist.downloads import AUTH_ERRORS, BUSY, streaming_session
from stoplist.declared import QUERY_NUMBER_ACCEPTED, component, replaced_by
from stoplist.errors import (
    ConflictingParameters, ErrorBody, InvalidEvidence, InvalidExpiry, InvalidMoment, InvalidPhoneNumber, MalformedBody, UnsupportedMediaType, beyond_schema,
    validation_error,
)
from stoplist.lists import render
from stoplist.lists.writer import KEEP
from stoplist.lists.expiry import EXPIRE_AT_ACCEPTED, EXPIRE_AT_BEYOND_SCHEMA, parse_expire_at
from stoplist.lists.phone import NOT_ON_PLAN, normalize_phone_number, number_schema, search_digits
from stoplist.lists.queries import EntryFilter
from stoplist.lists.ranges import ALIASES_CONFLICT, MOMENT_BEYOND_SCHEMA, DateRangesDep
from stoplist.lists.schemas import DEFAULT_LIMIT, MAX_LIMIT, EntryOrder
from stoplist.web import is_head, json_bytes, load_json, read_body, replay_body, require_utf8_form, wants_csv
from stoplist.exports import service as export_service
from stoplist.exports.service import ExportQuery
from stoplist.files.schemas import FileQueued

router = APIRouter(prefix="/blacklist/phone_numbers", tags=["blacklist"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid input (`validation_error`, `invalid_phone_number`, ...)."},
    **AUTH_ERRORS,
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such entry on your list."}}
# Databases count rows in signed 64-bit integers.
MAX_OFFSET = 2**63 - 1
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_ENTRY_CREATE_SCHEMA = {"$ref": "#/components/schemas/EntryCreate"}
_ENTRY_UPDATE_SCHEMA = {"$ref": "#/components/schemas/EntryUpdate"}
EntryBody = TypeVar("EntryBody", EntryCreate, EntryUpdate)
# An entry is a few hundred bytes at most: a body far beyond that is a mistake or an attack.
MAX_WRITE_BODY = 64 * 1024


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def read_entry_create(request: Request) -> EntryCreate:
    """The POST body, from JSON or from a form (SMSAPI's own clients send forms), of at most MAX_WRITE_BODY bytes."""
    return await _read_entry_body(request, EntryCreate)


async def read_entry_update(request: Request) -> EntryUpdate:
    """The PUT body, read as the POST body is: a new number, a new expiry, or both."""
    body = await _read_entry_body(request, EntryUpdate)
    if not {"phone_number", "expire_at"} & body.model_fields_set:
        raise validation_error([{"loc": ("body", "phone_number"), "msg": "Field required: give phone_number, expire_at or both", "type": "missing"}])
    return body


async def _read_entry_body(request: Request, model: type[EntryBody]) -> EntryBody:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, MAX_WRITE_BODY)
    if content_type == "application/json" or content_type.endswith("+json"):
        fields = load_json(body)
        if not isinstance(fields, dict):
            raise MalformedBody("The JSON body must be an object such as {\"phone_number\": \"+48500000000\"}.")
    elif content_type in _FORM_TYPES:
        require_utf8_form(body, request.headers.get("content-type", ""))
        form = await replay_body(request, body).form(max_files=0)
        fields = _single_values(form.multi_items())
    elif not content_type and not body:
        fields = {}
    else:
        raise UnsupportedMediaType()
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise validation_error(exc.errors()) from None


def _single_values(items: list[tuple[str, Any]]) -> dict[str, Any]:
    """Form fields by name; a field given twice is ambiguous, and refused."""
    fields: dict[str, Any] = {}
    for name, value in items:
        if name in fields:
            raise validation_error([{"loc": ("body", name), "msg": "given more than once; give it once", "type": "repeated_field"}])
        fields[name] = value
    return fields


_LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A page of entries as JSON, or the export as CSV (`Accept: text/csv`)."},
    202: {"model": FileQueued, "description": "`x-async: true`: the CSV is being generated; poll `GET /files/{file_id}`."},
    204: {"description": "`Accept: text/csv` and nothing to export."},
    429: {"model": ErrorBody, "description": "`x-async`: too many exports of the account queued or running (`too_many_exports`)."},
    **BUSY,
}
# Where a number's write (POST, and PUT of an entry) and its schema part ways.
_NUMBER_WRITE_BEYOND_SCHEMA = beyond_schema(
    {InvalidPhoneNumber: NOT_ON_PLAN, InvalidExpiry: EXPIRE_AT_BEYOND_SCHEMA, InvalidEvidence: EVIDENCE_BEYOND_SCHEMA},
    accepted={"expire_at": EXPIRE_AT_ACCEPTED, "received_at": RECEIVED_AT_ACCEPTED},
)


@router.get(
    "",
    response_model=EntryPage,
    responses=_LIST_RESPONSES,
    summary="List, search or export the blacklist",
    openapi_extra=beyond_schema(
        {
            ConflictingParameters: f"both orderBy and order_by, two spellings of one parameter: a list of parameters cannot forbid giving both; likewise {ALIASES_CONFLICT}",
            InvalidMoment: MOMENT_BEYOND_SCHEMA,
        },
        accepted={
            "limit": f"any size of page for a CSV export (Accept: text/csv or x-async), which one schema cannot say beside the JSON page's cap; {QUERY_NUMBER_ACCEPTED}",
            "offset": QUERY_NUMBER_ACCEPTED,
        },
    ),
)
def list_entries(
    principal: ReadPrincipal,
    session: SessionDep,
    request: Request,
    q: Annotated[
        str | None, Query(description="Part of a number: entries whose digits contain it.", json_schema_extra=replaced_by(component("NumberSearch")))
    ] = None,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many matching entries to skip.")] = 0,
    limit: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_OFFSET,
            description=f"Page size: default {DEFAULT_LIMIT}, at most {MAX_LIMIT}. For CSV (`Accept: text/csv`): no default (the whole list) and no maximum.",
            # The JSON listing's cap; a CSV export takes any size of chunk, which one schema cannot say.
            json_schema_extra={"maximum": MAX_LIMIT},
        ),
    ] = None,
    order_by: Annotated[EntryOrder | None, Query(alias="orderBy", description="Sort key; '-' for descending. Default `-created_at`.")] = None,
    order_by_snake: Annotated[EntryOrder | None, Query(alias="order_by", description="`orderBy` as SMSAPI's PHP client spells it.")] = None,
    accept: Annotated[str | None, Header(description="`text/csv` for a CSV export.")] = None,
    x_async: Annotated[str | None, Header(description="`true`: generate the CSV export in the background.")] = None,
    *,
    ranges: DateRangesDep,
) -> Any:
    order_by = _one_order(order_by, order_by_snake)
    where = ranges.applied(EntryFilter(digits=search_digits(q)), utcnow())
    if wants_csv(accept) or _is_true(x_async):
        query = ExportQuery(account_id=principal.owner_id, where=where, order=order_by, offset=offset, limit=limit)
        if _is_true(x_async):
            if is_head(request):
                # HEAD has no effects, and the file_id would be lost with the body it is not sent.
                raise validation_error([{"loc": ("header", "x-async"), "msg": "HEAD does not start an export; send GET", "type": "head_with_x_async"}])
            job = export_service.queue_export(session=session, query=query, max_queued=request.app.state.settings.max_queued_exports)
            return JSONResponse(FileQueued(file_id=job.id).model_dump(), status_code=202)
        with streaming_session(request) as reader:
            chunks = export_service.unless_empty(export_service.csv_chunks(reader.session, query))
            if chunks is None:
                return Response(status_code=204)
            return reader.csv(chunks, "blacklist.csv")
    size, rows = service.list_entries(session, account_id=principal.owner_id, where=where, order=order_by, offset=offset, limit=_page_size(limit))
    # The page as EntryPage describes it, written at once: no model of each entry to build and validate again.
    return Response(json_bytes({"size": size, "collection": [render.smsapi(row) for row in rows]}, floatless=True), media_type="application/json")


def _one_order(camel: EntryOrder | None, snake: EntryOrder | None) -> EntryOrder:
    if camel is not None and snake is not None:
        raise ConflictingParameters("orderBy", "order_by")
    return camel or snake or EntryOrder.created_at_desc


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("1", "true", "yes", "on")


def _page_size(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit > MAX_LIMIT:
        raise validation_error([{"loc": ("query", "limit"), "msg": f"Input should be less than or equal to {MAX_LIMIT}", "type": "less_than_equal"}])
    return limit


@router.post(
    "",
    status_code=201,
    response_model=EntryPublic,
    responses={**_ERRORS, 200: {"model": EntryPublic, "description": "The number was listed already; its expire_at is now the one sent."}, 415: {"model": ErrorBody, "description": "A body that is neither JSON nor a form."}},
    summary="Add a number (or change its expiry)",
    openapi_extra={
        **_NUMBER_WRITE_BEYOND_SCHEMA,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ENTRY_CREATE_SCHEMA}, "application/x-www-form-urlencoded": {"schema": _ENTRY_CREATE_SCHEMA}},
        }
    },
)
def add_entry(
    principal: BlacklistPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    body: Annotated[EntryCreate, Depends(read_entry_create)],
    request: Request,
    response: Response,
) -> EntryPublic:
    now = utcnow()
    row, created = service.add_entry(
        session,
        account_id=principal.owner_id,
        phone_number=normalize_phone_number(body.phone_number, default_region=settings.default_region),
        expire_at=parse_expire_at(body.expire_at, now=now),
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now),
        now=now,
    )
    response.status_code = 201 if created else 200
    return EntryPublic(**render.smsapi(row))


@router.delete(
    "", status_code=204, responses=_ERRORS, summary="Delete the whole list, or one number",
    openapi_extra=beyond_schema({InvalidPhoneNumber: NOT_ON_PLAN, InvalidEvidence: EVIDENCE_BEYOND_SCHEMA}, accepted={"received_at": RECEIVED_AT_ACCEPTED}),
)
def delete_entries(
    principal: BlacklistPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
    phone_number: Annotated[
        str | None, Query(description="Only this number (any spelling); without it, every entry goes.", json_schema_extra=replaced_by(number_schema()))
    ] = None,
    evidence: EvidenceQuery = None,
    received_at: ReceivedAtQuery = None,
) -> Response:
    now = utcnow()
    number = None if phone_number is None else normalize_phone_number(phone_number, default_region=settings.default_region)
    origin = api_origin(request, principal, evidence=evidence, received_at=received_at, now=now)
    service.delete_entries(
        session, account_id=principal.owner_id, phone_number=number, origin=origin, now=now, spelled=phone_number, default_region=settings.default_region,
    )
    return Response(status_code=204)


@router.get("/{entry_id}", response_model=EntryPublic, responses={**_ERRORS, **_NOT_FOUND}, summary="One entry, by id")
def get_entry(principal: ReadPrincipal, session: SessionDep, entry_id: str) -> EntryPublic:
    return EntryPublic(**render.smsapi(service.get_entry(session, account_id=principal.owner_id, entry_id=entry_id)))


@router.put(
    "/{entry_id}",
    response_model=EntryPublic,
    responses={
        **_ERRORS, **_NOT_FOUND,
        409: {"model": ErrorBody, "description": "`entry_exists`: the new number is on the list already; nothing was changed."},
        415: {"model": ErrorBody, "description": "A body that is neither JSON nor a form."},
    },
    summary="Change an entry's number or expiry (an addition to SMSAPI's API)",
    openapi_extra={
        **_NUMBER_WRITE_BEYOND_SCHEMA,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _ENTRY_UPDATE_SCHEMA}, "application/x-www-form-urlencoded": {"schema": _ENTRY_UPDATE_SCHEMA}},
        },
    },
)
def update_entry(
    principal: BlacklistPrincipal, session: SessionDep, settings: SettingsDep, request: Request, entry_id: str,
    body: Annotated[EntryUpdate, Depends(read_entry_update)],
) -> EntryPublic:
    now = utcnow()
    given = body.model_fields_set
    row = service.update_entry(
        session, account_id=principal.owner_id, entry_id=entry_id, now=now,
        phone_number=normalize_phone_number(body.phone_number, default_region=settings.default_region) if "phone_number" in given else None,
        expire_at=parse_expire_at(body.expire_at, now=now) if "expire_at" in given else KEEP,
        origin=api_origin(request, principal, evidence=body.evidence, received_at=body.received_at, now=now),
    )
    return EntryPublic(**render.smsapi(row))


@router.delete(
    "/{entry_id}", status_code=204, responses={**_ERRORS, **_NOT_FOUND}, summary="Delete one entry, by id",
    openapi_extra=beyond_schema({InvalidEvidence: EVIDENCE_BEYOND_SCHEMA}, accepted={"received_at": RECEIVED_AT_ACCEPTED}),
)
def delete_entry(
    principal: BlacklistPrincipal, session: SessionDep, request: Request, entry_id: str, evidence: EvidenceQuery = None, received_at: ReceivedAtQuery = None
) -> Response:
    origin = api_origin(request, principal, evidence=evidence, received_at=received_at, now=utcnow())
    service.delete_entry(session, account_id=principal.owner_id, entry_id=entry_id, origin=origin)
    return Response(status_code=204)
