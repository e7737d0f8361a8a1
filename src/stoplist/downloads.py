"""CSV downloads streamed from the database, and the error responses every protected route documents.

A download lasts as long as its client takes to read it, minutes for a slow one, and holds a
database connection all along (on PostgreSQL, a server-side cursor in an open transaction). So
downloads never take connections from the request pool: each opens a connection of its own,
at most STOPLIST_MAX_DOWNLOADS at once per process, and one more is refused at once with 503
busy rather than queued. The connection is closed as soon as the stream ends, fails or its
client goes away.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from stoplist.db import create_db_engine, create_session_factory
from stoplist.errors import ErrorBody, ServiceBusy

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, unknown, expired or revoked access token."},
    403: {"model": ErrorBody, "description": "The token lacks the scope this route needs (`forbidden`; the route's security requirement names it)."},
    404: {"model": ErrorBody, "description": "`account_not_found`: the Stoplist-Account header names no subuser of yours."},
}
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Every download slot is taken (`busy`, STOPLIST_MAX_DOWNLOADS): retry after `Retry-After` seconds."},
}
APPLICATION_NAME = "stoplist-download"
# Downloads take a while; asking again sooner than this mostly finds the slots still taken.
RETRY_AFTER = 5

_attach_lock = threading.Lock()


class Downloads:
    """One process's downloads: a connection each, from an engine that keeps none open, at most `limit` at once."""

    def __init__(self, database_url: str, limit: int) -> None:
        self.limit = limit
        self.session_factory: sessionmaker[Session] = create_session_factory(
            create_db_engine(database_url, pooled=False, application_name=APPLICATION_NAME)
        )
        self._slots = threading.BoundedSemaphore(limit)

    def open(self) -> Session:
        """A session on a new connection, holding a slot until release(); ServiceBusy when none is free."""
        if not self._slots.acquire(blocking=False):
            raise ServiceBusy(f"All {self.limit} download slots are in use (STOPLIST_MAX_DOWNLOADS); retry in a moment.", retry_after=RETRY_AFTER)
        try:
            return self.session_factory()
        except BaseException:
            self._slots.release()
            raise

    def release(self, session: Session) -> None:
        try:
            session.close()
        finally:
            self._slots.release()


def downloads_of(app) -> Downloads:
    """The app's downloads, made on first use from its settings (the engine keeps no connection to dispose of)."""
    downloads = getattr(app.state, "downloads", None)
    if downloads is None:
        with _attach_lock:
            downloads = getattr(app.state, "downloads", None)
            if downloads is None:
                settings = app.state.settings
                downloads = app.state.downloads = Downloads(settings.database_url, settings.max_downloads)
    return downloads


# How many downloads make their next chunk at once, in each process. Making a chunk is Python's
# work (formatting thousands of rows) and holds the GIL; eight downloads starting together made
# every other request of the process wait behind eight busy threads at each database call. The
# rest wait on this, off the GIL; a download spends its time waiting for its client anyway.
_PRODUCING = threading.BoundedSemaphore(2)


class DownloadResponse(StreamingResponse):
    """A CSV attachment streamed from `chunks`; `finish` runs once, when the stream ends, fails or its client disconnects."""

    def __init__(self, chunks: Iterator[bytes], filename: str, finish: Callable[[], None], headers: dict[str, str] | None = None) -> None:
        self._chunks = chunks
        self._finish = finish
        self._finished = False
        headers = {"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})}
        super().__init__(self._stream(), media_type="text/csv; charset=utf-8", headers=headers)

    def _stream(self) -> Iterator[bytes]:
        try:
            chunks = iter(self._chunks)
            while True:
                with _PRODUCING:
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                yield chunk
        finally:
            self.finish()

    def finish(self) -> None:
        if not self._finished:
            self._finished = True
            try:
                close = getattr(self._chunks, "close", None)
                if close is not None:
                    close()
            finally:
                self._finish()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # A disconnect cancels the stream between two chunks, leaving its generator suspended:
            # without this its connection would wait for the garbage collector (a minute or more).
            # The chunk thread has returned by then (anyio waits for it), so closing here is safe.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.finish)


class SessionHandOff:
    """A download's session that its streamed answer takes over: released when the stream ends, or at once if none starts."""

    def __init__(self, downloads: Downloads) -> None:
        self._downloads = downloads
        self.session = downloads.open()
        self.handed_off = False

    def csv(self, chunks: Iterator[bytes], filename: str, headers: dict[str, str] | None = None) -> StreamingResponse:
        """Stream `chunks` as a CSV attachment; the session and its slot are released when the stream is over."""
        session = self.session
        response = DownloadResponse(chunks, filename, lambda: self._downloads.release(session), headers)
        self.handed_off = True
        return response

    def release(self) -> None:
        self._downloads.release(self.session)


@contextmanager
def streaming_session(request: Request) -> Iterator[SessionHandOff]:
    """A download slot and a connection of its own, for a route that may answer with a stream reading from it.

    Raises ServiceBusy (503, Retry-After) at once when every slot is taken.
    """
    hand_off = SessionHandOff(downloads_of(request.app))
    try:
        yield hand_off
    finally:
        if not hand_off.handed_off:
            hand_off.release()
