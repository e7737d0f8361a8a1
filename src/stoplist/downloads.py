"""CSV downloads streamed from the database, and the error responses every protected route documents."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from stoplist.errors import ErrorBody

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, unknown or revoked access token."},
    403: {"model": ErrorBody, "description": "The token lacks the `blacklist` scope."},
}


class SessionHandOff:
    """A session that a streamed answer takes over: closed when the stream ends, or at once if none starts."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.handed_off = False

    def csv(self, chunks: Iterator[bytes], filename: str) -> StreamingResponse:
        """Stream `chunks` as a CSV attachment; the session closes when the last chunk is sent."""
        session = self.session

        def stream() -> Iterator[bytes]:
            try:
                yield from chunks
            finally:
                session.close()

        response = StreamingResponse(stream(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
        self.handed_off = True
        return response


@contextmanager
def streaming_session(factory) -> Iterator[SessionHandOff]:
    """A session for a route that may answer with a stream reading from it."""
    hand_off = SessionHandOff(factory())
    try:
        yield hand_off
    finally:
        if not hand_off.handed_off:
            hand_off.session.close()
