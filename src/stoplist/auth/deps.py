"""FastAPI dependencies: the session and the authenticated principal."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from stoplist.auth.service import Principal
from stoplist.db import transaction

bearer = HTTPBearer(auto_error=False, description="An access token from `stoplist token create`.")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route succeeds."""
    with transaction(request.app.state.session_factory) as session:
        yield session


# "function" scope commits before the answer is sent, so a client never reads ahead of its own write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def require_scope(scope: str):
    """A dependency that lets the request through only with a live token carrying `scope`.

    The token is read on the lookup's own connection, as the check routes read it (with no
    caching here: a revoked token is refused at once), so authenticating holds no session of
    the request's: not while an upload arrives, nor beside a streaming export's own session.
    `bearer` stays a dependency for the OpenAPI document's security scheme.
    """

    async def dependency(request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        return await request.app.state.token_check.authenticate(request.headers.get("authorization"), scope)

    return dependency


BlacklistPrincipal = Annotated[Principal, Depends(require_scope("blacklist"))]
