"""`/accounts`: access tokens and subusers over HTTP (scope `accounts`)."""

from typing import Any

from fastapi import APIRouter, Request, Response

from stoplist.accounts import service
from stoplist.accounts.schemas import SubuserCreate, SubuserList, SubuserPublic, SubuserUpdate, TokenCreate, TokenCreated, TokenList
from stoplist.audit.origin import api_origin
from stoplist.auth.deps import AccountsPrincipal, SessionDep
from stoplist.db import utcnow
from stoplist.downloads import AUTH_ERRORS
from stoplist.errors import ErrorBody, ValidationFailed, beyond_schema

router = APIRouter(prefix="/accounts", tags=["accounts"])

_AUTH = {401: AUTH_ERRORS[401], 403: {"model": ErrorBody, "description": "The token lacks the `accounts` scope (`forbidden`)."}}
_NO_SUBUSER: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "`account_not_found`: no subuser of yours has this id."}}
_NO_TOKEN: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "`token_not_found`: no token of yours or your subusers' has this id."}}
_NAME_TAKEN: dict[int | str, dict[str, Any]] = {409: {"model": ErrorBody, "description": "`name_taken`: account names are unique on the server."}}
_PAST = "an expires_at that is not in the future, a day its month does not have, or past the end of the calendar in UTC"


def _origin(request: Request, principal, now):
    return api_origin(request, principal, evidence=None, received_at=None, now=now)


def _changed(request: Request, session) -> None:
    """Commit, then let this process's check routes forget the principals they remember: what a
    revoke or a switch changed holds here at once (in other processes within the cache's bound)."""
    session.commit()
    request.app.state.token_cache.forget_all()


@router.post(
    "/tokens", status_code=201, response_model=TokenCreated, summary="Create an access token (shown once)",
    responses={
        **_AUTH, **_NO_SUBUSER,
        403: {"model": ErrorBody, "description": "`forbidden`: the token lacks the `accounts` scope, or asks to grant a scope it does not hold."},
    },
    openapi_extra=beyond_schema({ValidationFailed: _PAST}),
)
def create_token(principal: AccountsPrincipal, session: SessionDep, request: Request, body: TokenCreate) -> TokenCreated:
    now = utcnow()
    return service.create_token(session, principal=principal, body=body, origin=_origin(request, principal, now), now=now)


@router.get("/tokens", response_model=TokenList, responses=_AUTH, summary="Your tokens and your subusers' (never the token itself)")
def list_tokens(principal: AccountsPrincipal, session: SessionDep) -> TokenList:
    return service.list_tokens(session, principal=principal)


@router.delete("/tokens/{token_id}", status_code=204, response_class=Response, responses={**_AUTH, **_NO_TOKEN}, summary="Revoke a token, at once")
def revoke_token(principal: AccountsPrincipal, session: SessionDep, request: Request, token_id: str) -> Response:
    now = utcnow()
    service.revoke_token(session, principal=principal, token_id=token_id, origin=_origin(request, principal, now), now=now)
    _changed(request, session)
    return Response(status_code=204)


@router.get("/subusers", response_model=SubuserList, responses=_AUTH, summary="Your subusers")
def list_subusers(principal: AccountsPrincipal, session: SessionDep) -> SubuserList:
    return service.list_subusers(session, principal=principal)


@router.post(
    "/subusers", status_code=201, response_model=SubuserPublic, summary="Create a subuser, with its own lists or sharing yours",
    responses={**_AUTH, **_NAME_TAKEN, 403: {"model": ErrorBody, "description": "`forbidden`: no `accounts` scope, or the caller is a subuser (one level)."}},
    openapi_extra=beyond_schema({ValidationFailed: "a name that is blank once trimmed"}),
)
def create_subuser(principal: AccountsPrincipal, session: SessionDep, request: Request, body: SubuserCreate) -> SubuserPublic:
    now = utcnow()
    return service.create_subuser(session, principal=principal, body=body, origin=_origin(request, principal, now), now=now)


@router.patch(
    "/subusers/{subuser_id}", response_model=SubuserPublic, responses={**_AUTH, **_NO_SUBUSER, **_NAME_TAKEN}, summary="Rename a subuser or switch its mode",
    openapi_extra=beyond_schema({ValidationFailed: "a name that is blank once trimmed"}),
)
def update_subuser(principal: AccountsPrincipal, session: SessionDep, request: Request, subuser_id: str, body: SubuserUpdate) -> SubuserPublic:
    now = utcnow()
    updated = service.update_subuser(session, principal=principal, subuser_id=subuser_id, body=body, origin=_origin(request, principal, now), now=now)
    _changed(request, session)
    return updated


@router.delete(
    "/subusers/{subuser_id}", status_code=204, response_class=Response, responses={**_AUTH, **_NO_SUBUSER},
    summary="Delete a subuser: its tokens revoked, its entries removed, its trail kept",
)
def delete_subuser(principal: AccountsPrincipal, session: SessionDep, request: Request, subuser_id: str) -> Response:
    now = utcnow()
    service.delete_subuser(session, principal=principal, subuser_id=subuser_id, origin=_origin(request, principal, now), now=now)
    _changed(request, session)
    return Response(status_code=204)
