"""The audit trail over HTTP: an address's or an entry's history (deleted or not), the change feed, and signed checkpoints."""

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from stoplist.audit.queries import CURSOR_PATTERN
from stoplist.auth.deps import ReadPrincipal, SessionDep
from stoplist.auth.principal import Principal
from stoplist.db import transaction, utcnow
from stoplist.downloads import AUTH_ERRORS
from stoplist.declared import QUERY_NUMBER_ACCEPTED, replaced_by
from stoplist.errors import ConflictingParameters, ErrorBody, FilterRequired, InvalidAddress, InvalidFeedCursor, InvalidMoment, beyond_schema
from stoplist.history import service
from stoplist.history.schemas import Checkpoint, EventPage, PublicKey
from stoplist.lists.addresses import NOT_AN_ADDRESS
from stoplist.lists.moments import period
from stoplist.lists.ranges import MOMENT_BEYOND_SCHEMA, moment_query
from stoplist.web import wants_csv

router = APIRouter(prefix="/blacklist", tags=["history"])

# A waiting feed read looks for new events this often (on the check path's connection: no pool, no thread).
POLL_SECONDS = 0.1

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "`invalid_address`, `invalid_date`, `invalid_cursor` (not a `next` this service gave out, or past the newest event), `filter_required`, `conflicting_parameters` or `validation_error`.",
    },
    **AUTH_ERRORS,
}
_GONE: dict[int | str, dict[str, Any]] = {
    410: {"model": ErrorBody, "description": "`cursor_expired`: older than the trail that retention kept; resynchronise from an export, then follow from its `X-Feed-Cursor`."},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No entry with this id ever existed on the account's lists."}}
_CSV = {200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "A page of events as JSON, or as CSV (`Accept: text/csv`)."}}

# What service.cursor_of reads (audit.queries.CURSOR): a seq of up to 18 ASCII digits, bare or with the
# first 16 hex characters of its event's hash, or nothing.
After = Annotated[
    str | None,
    Query(
        max_length=40, json_schema_extra=replaced_by({"type": "string", "pattern": f"^(?:{CURSOR_PATTERN[1:-1]})?$"}),
        description="`next` of the previous answer (e.g. `13-0a1b2c3d4e5f6071`: the seq of the event it names and the start of its hash); absent, empty or 0: from the first event.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=service.MAX_LIMIT, description=f"Events per answer: default {service.DEFAULT_LIMIT:,}, at most {service.MAX_LIMIT:,}.")]
# Where these routes and their schemas part ways.
_PAST_NEWEST = "an `after` past the account's newest event, which only the trail knows"
_BEYOND_SCHEMA = beyond_schema({InvalidFeedCursor: _PAST_NEWEST}, accepted={"limit": QUERY_NUMBER_ACCEPTED})
Accept = Annotated[str | None, Header(description="`text/csv` for the same page as a proof export.")]


def _answer(page: service.Page, accept: str | None, filename: str) -> Response:
    if wants_csv(accept):
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if page.next is not None:
            headers["X-Next-Cursor"] = page.next
        return Response(service.csv_text(page.events), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(page.json(), media_type="application/json")


@router.get(
    "/history", response_model=EventPage, responses={**_ERRORS, **_CSV}, summary="Every event of an address, or of a period, oldest first",
    openapi_extra=beyond_schema(
        {
            InvalidAddress: NOT_AN_ADDRESS, InvalidFeedCursor: _PAST_NEWEST, InvalidMoment: MOMENT_BEYOND_SCHEMA,
            FilterRequired: "neither address nor since nor until: one of them is needed, which a list of optional parameters cannot say",
            ConflictingParameters: "address with since or until: an address's history or a period's, which a list of parameters cannot say",
        },
        accepted={"limit": QUERY_NUMBER_ACCEPTED},
    ),
)
def address_history(
    principal: ReadPrincipal,
    session: SessionDep,
    request: Request,
    address: Annotated[str | None, Query(min_length=1, max_length=320, description="A phone number or e-mail address, in any spelling: its events.")] = None,
    since: Annotated[str | None, moment_query("Instead of address: the account's events recorded at or after this moment (a day, month or year from its start).")] = None,
    until: Annotated[str | None, moment_query("Instead of address: the account's events recorded before this moment (a day, month or year up to its end, included).")] = None,
    after: After = None,
    limit: Limit = service.DEFAULT_LIMIT,
    accept: Accept = None,
) -> Response:
    given = [name for name, value in (("since", since), ("until", until)) if value is not None]
    if address is not None and given:  # named as sent: `until=9999` reads as no bound, but it was sent
        raise service.address_or_period(given)
    during = None if not given else period(since, until, names=("since", "until"), now=utcnow())
    page = service.history(
        session, account_id=principal.owner_id, address=address, period=during, default_region=request.app.state.settings.default_region,
        after=after, limit=limit, account_events=principal.sees_account_events(),
    )
    return _answer(page, accept, "history.csv")


@router.get(
    "/entries/{entry_id}/history", response_model=EventPage, responses={**_ERRORS, **_NOT_FOUND, **_CSV}, summary="Every event of an entry, deleted or not",
    openapi_extra=_BEYOND_SCHEMA,
)
def entry_history(principal: ReadPrincipal, session: SessionDep, entry_id: str, after: After = None, limit: Limit = service.DEFAULT_LIMIT, accept: Accept = None) -> Response:
    page = service.history_of_entry(session, account_id=principal.owner_id, entry_id=entry_id, after=after, limit=limit)
    return _answer(page, accept, f"entry-{entry_id}-history.csv")


@router.get(
    "/phone_numbers/{entry_id}/history", response_model=EventPage, responses={**_ERRORS, **_NOT_FOUND, **_CSV},
    summary="Every event of an entry of SMSAPI's list, deleted or not", openapi_extra=_BEYOND_SCHEMA,
)
def phone_number_history(
    principal: ReadPrincipal, session: SessionDep, entry_id: str, after: After = None, limit: Limit = service.DEFAULT_LIMIT, accept: Accept = None
) -> Response:
    page = service.history_of_entry(session, account_id=principal.owner_id, entry_id=entry_id, after=after, limit=limit, smsapi=True)
    return _answer(page, accept, f"entry-{entry_id}-history.csv")


@router.get(
    "/changes", response_model=EventPage, responses={**_ERRORS, **_GONE}, summary="The change feed: every event after a cursor, in commit order",
    openapi_extra=beyond_schema({InvalidFeedCursor: _PAST_NEWEST}, accepted={"limit": QUERY_NUMBER_ACCEPTED, "wait": QUERY_NUMBER_ACCEPTED}),
)
async def changes(
    principal: ReadPrincipal,
    request: Request,
    after: After = None,
    limit: Limit = service.DEFAULT_LIMIT,
    wait: Annotated[float, Query(ge=0, le=service.MAX_WAIT, allow_inf_nan=False, description=f"Seconds to wait for an event when there is none yet (at most {service.MAX_WAIT}); 0: answer at once.")] = 0,
) -> Response:
    state = request.app.state
    cursor, bounds = service.cursor_of(after), await state.lookup.feed_bounds(principal.owner_id)
    looked_up = service.to_look_up(cursor, bounds)
    stored = None if looked_up is None else await state.lookup.event_hash(principal.owner_id, looked_up)
    start = service.served(cursor, bounds, feed=True, stored=stored)
    deadline = time.monotonic() + wait
    # Wait without a session or a thread: only the account's head is read, on the check path's connection.
    while await state.lookup.head_seq(principal.owner_id) <= start and time.monotonic() < deadline:
        await asyncio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    # Checked again in the page's own transaction: retention may have run while the request waited.
    page = await run_in_threadpool(_feed, state.session_factory, principal, after, limit)
    return Response(page.json(), media_type="application/json")


def _feed(session_factory, principal: Principal, after: str | None, limit: int) -> service.Page:
    with transaction(session_factory) as session:
        return service.feed(session, account_id=principal.owner_id, after=after, limit=limit, account_events=principal.sees_account_events())


@router.get(
    "/audit/checkpoint", response_model=Checkpoint, responses=AUTH_ERRORS, summary="A signed checkpoint of the account's trail: keep it elsewhere",
)
def checkpoint(principal: ReadPrincipal, session: SessionDep) -> Response:
    from stoplist.history import checkpoints  # cryptography's 6 MB only in processes that sign

    made = checkpoints.issue(session, account_id=principal.owner_id, now=utcnow())
    return Response(made.line(), media_type="application/json")


@router.get("/audit/public-key", response_model=PublicKey, responses=AUTH_ERRORS, summary="The public key that checkpoints are signed with")
def public_key(principal: ReadPrincipal, session: SessionDep) -> PublicKey:
    from stoplist.history import checkpoints

    return PublicKey(**vars(checkpoints.public_key(session, now=utcnow())))
