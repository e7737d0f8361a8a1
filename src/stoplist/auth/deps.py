"""FastAPI dependencies: the session and the authenticated principal."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from stoplist.auth.repository import AuthRepository
from stoplist.auth.service import Principal, authenticate
from stoplist.db import transaction

bearer = HTTPBearer(auto_error=False, description="An access token from `stoplist token create`.")


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route succeeds."""
    with transaction(request.app.state.session_factory) as session:
        yield session


# "function" scope commits before the answer is sent, so a client never reads ahead of its own write.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def require_scope(scope: str):
    """A dependency that lets the request through only with a live token carrying `scope`."""

    def dependency(session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
        token = credentials.credentials if credentials else None
        return authenticate(repository=AuthRepository(session), token=token, scope=scope)

    return dependency


BlacklistPrincipal = Annotated[Principal, Depends(require_scope("blacklist"))]
