"""FastAPI dependencies: the session and the authenticated principal, one dependency per scope."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from stoplist.auth.principal import ACCOUNT_HEADER, ACCOUNTS, BLACKLIST, CHECK, READ, Principal
from stoplist.auth.cache import authorization_of
from stoplist.db import transaction
from stoplist.declared import replaced_by
from stoplist.errors import ValidationFailed

bearer = HTTPBearer(auto_error=False, description="An access token from `stoplist token create` or `POST /accounts/tokens`.")

ACCOUNT_DESCRIPTION = (
    "The id of one of your subusers, to act on its lists (a shared subuser's are yours); absent: your own. "
    "A subuser naming any account, or a parent naming an account not its subuser, gets 404 `account_not_found`."
)
ACCOUNT_SCHEMA = {"type": "string", "pattern": "^[0-9]{1,18}$"}


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route succeeds."""
    with transaction(request.app.state.session_factory) as session:
        yield session


# "function" scope commits before the answer is sent, so a client never reads ahead of its own write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
AccountHeader = Annotated[str | None, Header(alias=ACCOUNT_HEADER, description=ACCOUNT_DESCRIPTION, json_schema_extra=replaced_by(ACCOUNT_SCHEMA))]


def require_scope(scope: str):
    """A dependency that lets the request through only with a live token carrying `scope`, acting on
    the subuser its Stoplist-Account header names, if any.

    The token is read on the lookup's own connection, as the check routes read it (with no
    caching here: a revoked token is refused at once), so authenticating holds no session of
    the request's: not while an upload arrives, nor beside a streaming export's own session.
    `bearer` stays a dependency for the OpenAPI document's security scheme, with `scope` as its
    requirement's scope (tests/accounts/test_isolation.py compares it with what is enforced).
    """

    async def dependency(
        request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer, scopes=[scope])], _account: AccountHeader = None
    ) -> Principal:
        # `_account` declares the header in the document; it is read here, where a second copy is seen too.
        return await request.app.state.token_check.authenticate_headers(request.headers, scope)

    return dependency


def require_accounts_scope():
    """The `accounts` scope, on the token's own account: a subuser is named in a body or a path here, never by the header."""

    async def dependency(request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer, scopes=[ACCOUNTS])]) -> Principal:
        if ACCOUNT_HEADER.lower() in request.headers:
            raise ValidationFailed(f"{ACCOUNT_HEADER} applies to /blacklist routes only: name a subuser in the body or the path here.", path=ACCOUNT_HEADER)
        return await request.app.state.token_check.authenticate(authorization_of(request.headers), ACCOUNTS)

    return dependency


BlacklistPrincipal = Annotated[Principal, Depends(require_scope(BLACKLIST))]
ReadPrincipal = Annotated[Principal, Depends(require_scope(READ))]
CheckPrincipal = Annotated[Principal, Depends(require_scope(CHECK))]
AccountsPrincipal = Annotated[Principal, Depends(require_accounts_scope())]
