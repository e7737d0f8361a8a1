"""The check routes answered in front of the app: what most requests are, without the framework's layers.

`GET`, `HEAD` and `POST /blacklist/check` are answered here, before the app's middleware and routing,
by the same functions the documented routes call (checks.requests), with the app's token cache,
error handlers and request metrics; and so are the common searches of SMSAPI's listing on PostgreSQL
(blacklist.searches). Anything this path does not take exactly as the common case (a trailing slash,
an unknown or repeated parameter, a body on a GET, another method, a search of another shape) goes
on to the app, whose middleware answers it as for any route; so every behaviour of the routes is theirs.
"""

import logging
from time import perf_counter

from fastapi import FastAPI, Request
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from stoplist.blacklist import searches
from stoplist.checks import requests
from stoplist.errors import CLIENT_CLOSED_REQUEST, StoplistError, error_response
from stoplist.ops.metrics import HttpMetrics
from stoplist.web import read_body, wants_csv

log = logging.getLogger("stoplist")

PATH = "/blacklist/check"
_JSON = b"application/json"


class CheckGate:
    """An ASGI app: the check routes answered at once, every other request handed to `app` (the full stack)."""

    def __init__(self, app: ASGIApp, api: FastAPI) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH:
            method = scope["method"]
            if method == "GET" or method == "HEAD":
                query = scope["query_string"]
                if _plain_get(scope["headers"]) and _known_once(query, _ONE_NAMES):
                    await self._answer(scope, receive, send, method == "HEAD", query)
                    return
            elif method == "POST" and not scope["query_string"]:
                await self._answer(scope, receive, send, False, None)
                return
        elif scope["type"] == "http" and scope["path"] == searches.PATH and (scope["method"] == "GET" or scope["method"] == "HEAD"):
            query = scope["query_string"]
            if _plain_get(scope["headers"]) and _known_once(query, searches.PARAMETERS) and await self._search(scope, receive, send, query):
                return
        await self.app(scope, receive, send)

    async def _search(self, scope: Scope, receive: Receive, send: Send, query: bytes) -> bool:
        """Answer a search if blacklist.searches takes it (JSON, not a CSV export), or its token's refusal: whether it did."""
        started = perf_counter()
        headers = Headers(scope=scope)
        if "x-async" in headers or wants_csv(headers.get("accept")):
            return False
        try:
            body = await searches.answer(self.api.state, headers, query)
            status, extra = 200, None
        except searches.Refused as refused:  # the token's, answered as the route's own refusal is
            status, extra, body = await self._error(scope, receive, refused.error)
        except Exception:  # noqa: BLE001 - a fault of this path: said, and the app answers as it would anyway
            log.exception("The search in front of the app failed; the app answers it")
            return False
        if body is None:
            return False
        await _respond(send, status, body, head=scope["method"] == "HEAD", extra=extra)
        self._metrics.count("GET", searches.PATH, status, perf_counter() - started)
        return True

    async def _answer(self, scope: Scope, receive: Receive, send: Send, head: bool, query: bytes | None) -> None:
        started = perf_counter()
        state = self.api.state
        headers = Headers(scope=scope)
        try:
            if query is not None:
                body = await requests.answer_one(state, headers, query)
            else:
                body = await requests.answer_many(state, headers, lambda limit: read_body(Request(scope, receive), limit))
            status, extra = 200, None
        except ClientDisconnect:  # nobody to answer; counted as the app counts it (errors.CLIENT_CLOSED_REQUEST)
            self._metrics.count("POST", PATH, CLIENT_CLOSED_REQUEST, perf_counter() - started)
            return
        except Exception as error:  # noqa: BLE001 - rendered by the app's own handlers, as the route's errors are
            status, extra, body = await self._error(scope, receive, error)
        await _respond(send, status, body, head=head, extra=extra)
        # Counted as the app's metrics count the route: a HEAD as the GET it answers like.
        self._metrics.count("POST" if query is None else "GET", PATH, status, perf_counter() - started)

    async def _error(self, scope: Scope, receive: Receive, error: Exception) -> tuple[int, list, bytes]:
        """The status, extra headers and body the app's exception handler gives `error`."""
        handler = _handler(self.api, error)
        if handler is None or handler is self.api.exception_handlers.get(Exception):
            # What the server logs of an error no handler knows, for any route.
            log.error("Exception in ASGI application", exc_info=error)
        response = await (handler or _unexpected)(Request(scope, receive), error)
        extra = [(name, value) for name, value in response.raw_headers if name not in (b"content-length", b"content-type")]
        return response.status_code, extra, response.body

    @property
    def _metrics(self) -> HttpMetrics:
        return self.api.state.ops.http


async def _respond(send: Send, status: int, body: bytes, *, head: bool, extra: list | None = None) -> None:
    """A JSON answer (its headers only, for HEAD, with the length of the GET's body); its headers in the app's
    order: an error's own (WWW-Authenticate, Retry-After) first, as Starlette writes a response's."""
    start = [*(extra or ()), (b"content-length", str(len(body)).encode()), (b"content-type", _JSON)]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _handler(api: FastAPI, error: Exception):
    """The app's handler for `error`, as Starlette finds it: the nearest class in its MRO (Exception's at the latest)."""
    handlers = api.exception_handlers
    return next((handlers[kind] for kind in type(error).__mro__ if kind in handlers), None)


async def _unexpected(_request: Request, _error: Exception):
    return error_response(StoplistError())


def _plain_get(raw_headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether a GET or HEAD carries no body: no Content-Length but 0 (as PHP clients send), no Transfer-Encoding."""
    for name, value in raw_headers:
        if name == b"content-length":
            if value.strip() != b"0":
                return False
        elif name == b"transfer-encoding":
            return False
    return True


def _known_once(query: bytes, names: frozenset[bytes]) -> bool:
    """Whether every parameter of the query string is one of `names`, each given once (names spelled plainly), all ASCII."""
    if not query.isascii():
        return False
    seen = set()
    for part in query.split(b"&"):
        if part:
            name = part.partition(b"=")[0]
            if name not in names or name in seen:
                return False
            seen.add(name)
    return True


_ONE_NAMES = frozenset(name.encode() for name in requests.ONE_PARAMETERS)
