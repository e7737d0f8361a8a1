"""The HTTP rules every route follows, applied once where the app is composed.

    TrailingSlash          `/path/` is served exactly like `/path`, without a redirect
    HeadAsGet              `HEAD` answers wherever `GET` does: the same status and headers, no body
    StrictRequests         unknown or repeated query parameters, and a body on GET/HEAD/DELETE, are refused
    install_allow(app)     a 405 elsewhere keeps its `Allow`, with HEAD wherever GET
    read_body(request, n)  a request body of at most n bytes, with or without Content-Length
    load_json(body)        JSON as every route reads it: no NaN or Infinity, no key twice
    HotRoute               a route that reads its request by hand: no dependency solving
"""

import asyncio
import email.parser
import email.policy
import json
import math
import re
from urllib.parse import unquote_plus, unquote_to_bytes

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stoplist.errors import BodyTooLarge, ErrorDetail, MalformedBody, MethodNotAllowed, ValidationFailed, error_response

_NO_BODY_METHODS = frozenset({"GET", "HEAD", "DELETE"})
_DISCONNECT: Message = {"type": "http.disconnect"}
HEAD_MARK = "stoplist.head"


class HotRoute(APIRoute):
    """A route on the hot path (the checks): its endpoint takes the Request and returns a Response.

    FastAPI still documents it from its declaration, but serves it without solving dependencies
    (which parses the query string once more) or validating the answer: on a check that is a
    fifth of the request's CPU. Errors it raises reach the app's handlers as from any route.
    """

    def get_route_handler(self):
        # FastAPI wraps what this returns (Request -> Response) in its ASGI app, for this route and
        # for every router that includes it.
        return self.endpoint


class TrailingSlash:
    """Serve `/path/` exactly like `/path`: some clients do not follow redirects (SMSAPI's PHP client deletes
    the whole list with `DELETE /blacklist/phone_numbers/`).

    One slash, as the client wrote it: every one stripped, `DELETE /blacklist/phone_numbers//` (an id left
    empty) or `.../phone_numbers/%2F` (an id that is a slash, decoded into the path) was the delete-all."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            raw: bytes = scope.get("raw_path") or path.encode()
            if len(path) > 1 and path.endswith("/") and raw.endswith(b"/"):
                scope = {**scope, "path": path[:-1], "raw_path": raw[:-1]}
        await self.app(scope, receive, send)


class HeadAsGet:
    """Answer `HEAD` as the `GET` of the same address would, without its body.

    The route runs as a GET; once its headers are out, the answer is complete, and a streamed
    body (a CSV export) is told the client has gone, so it stops reading the database.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = asyncio.Event()

        async def head_send(message: Message) -> None:
            if answered.is_set():
                return
            if message["type"] == "http.response.start":
                await send(message)
            elif message["type"] == "http.response.body":
                answered.set()
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def head_receive() -> Message:
            if answered.is_set():
                return _DISCONNECT
            incoming = asyncio.ensure_future(receive())
            done = asyncio.ensure_future(answered.wait())
            await asyncio.wait({incoming, done}, return_when=asyncio.FIRST_COMPLETED)
            if incoming.done():
                done.cancel()
                return incoming.result()
            incoming.cancel()
            return _DISCONNECT

        await self.app({**scope, "method": "GET", HEAD_MARK: True}, head_receive, head_send)


def wants_csv(accept: str | None) -> bool:
    """Whether an `Accept` header asks for CSV rather than JSON: `text/csv` (or `text/*`) weighs more than 0 and at
    least what JSON weighs (`application/json`, `application/*` or `*/*`; the most specific range named decides
    each, RFC 9110). So `text/csv` and `text/csv, */*` are CSV; `text/csv;q=0.1, application/json` is JSON."""
    if accept is None or "text/" not in accept.lower():
        return False
    weights: dict[str, float] = {}
    for part in accept.lower().split(","):
        media, *parameters = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _equals, value = parameter.partition("=")
            if name.strip() == "q":
                weight = _weight(value.strip())
        weights[media] = max(weight, weights.get(media, 0.0))

    def weighed(*ranges: str) -> float:
        return next((weights[media] for media in ranges if media in weights), 0.0)

    csv, json_ = weighed("text/csv", "text/*", "*/*"), weighed("application/json", "application/*", "*/*")
    return csv > 0 and csv >= json_


def _weight(text: str) -> float:
    """A q-value (0 to 1, at most three decimals); anything else weighs nothing."""
    return float(text) if re.fullmatch(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?", text) else 0.0


def is_head(request: Request) -> bool:
    """Whether the client sent HEAD (the route sees a GET): for routes whose GET has an effect."""
    return bool(request.scope.get(HEAD_MARK))


class Contract:
    """What the OpenAPI document says each address takes: its methods and their query parameters."""

    def __init__(self, schema: dict) -> None:
        self.literal: dict[str, dict[str, frozenset[str]]] = {}
        self.templated: list[tuple[re.Pattern[str], dict[str, frozenset[str]]]] = []
        for path, operations in schema.get("paths", {}).items():
            methods = {
                method.upper(): frozenset(param["name"] for param in operation.get("parameters", []) if param.get("in") == "query")
                for method, operation in operations.items()
            }
            if "GET" in methods:
                methods["HEAD"] = methods["GET"]
            if "{" in path:
                pattern = re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path))
                self.templated.append((re.compile(pattern), methods))
            else:
                self.literal[path] = methods

    def operations(self, path: str) -> dict[str, frozenset[str]]:
        """The documented operations at `path`, by method. A literal address is exactly what it documents
        (`/blacklist/phone_numbers/imports` is no entry id); otherwise every template it matches."""
        if path in self.literal:
            return self.literal[path]
        found: dict[str, frozenset[str]] = {}
        for pattern, methods in self.templated:
            if pattern.fullmatch(path):
                found = {**methods, **found}
        return found

    def methods(self, path: str) -> list[str]:
        """Every method some documented operation answers to at `path`."""
        return sorted(self.operations(path))


class StrictRequests:
    """Refuse what a route would otherwise ignore: unknown or repeated query parameters, a body on GET, HEAD or DELETE.

    The OpenAPI document is the contract: a documented address takes exactly the query
    parameters it documents. Addresses it does not document (/healthz, /docs, ...) are let through.
    """

    def __init__(self, app: ASGIApp, *, api: FastAPI) -> None:
        self.app = app
        self.api = api
        self._contract: Contract | None = None

    @property
    def contract(self) -> Contract:
        if self._contract is None:
            self._contract = Contract(self.api.openapi())
        return self._contract

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                receive = await self._check(scope, receive)
            except MethodNotAllowed as error:
                await error_response(error, headers={"Allow": ", ".join(self.contract.methods(scope["path"]))})(scope, receive, send)
                return
            except ValidationFailed as error:
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope, receive: Receive) -> Receive:
        operations = self.contract.operations(scope["path"])
        if not operations:
            return receive
        known = operations.get(scope["method"])
        if known is None:
            raise MethodNotAllowed()
        query = scope.get("query_string", b"")
        if not query.isascii():
            # HTTP allows only ASCII there: uvicorn refuses such a request itself, granian passes it on,
            # and read as latin-1 a raw 'Café' would be some other sender.
            raise ValidationFailed(
                "The query string holds bytes that are not ASCII: percent-encode its text as UTF-8 (Café: Caf%C3%A9).",
                errors=[ErrorDetail(path="query", message="Percent-encode non-ASCII text as UTF-8.", error="not_percent_encoded")],
            )
        if query:
            if b"%" in query:
                # The framework reads an escape that spells no UTF-8 as U+FFFD: an evidence text would reach
                # the trail changed for good. Refused instead, on every route, as the check refuses it; first,
                # so that a name holding one is named as sent, not as the U+FFFD it would be read as.
                query_values(query)
            problems = _unknown(query_names(query), known)
            if problems:
                summary = "; ".join(problem.message for problem in problems)
                raise ValidationFailed(f"The request has invalid parameters ({summary})", errors=problems)
        if scope["method"] in _NO_BODY_METHODS:
            return await _refuse_body(scope, receive)
        return receive


def install_allow(app: FastAPI) -> None:
    """A 405 from routing (an address the OpenAPI document does not have) names HEAD beside GET."""

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        # Documented addresses are answered by StrictRequests; this is for the others (/healthz, ...).
        allow = (getattr(exc, "headers", None) or {}).get("Allow", "")
        methods = {method.strip() for method in allow.split(",") if method.strip()}
        if "GET" in methods:
            methods.add("HEAD")
        return error_response(MethodNotAllowed(), headers={"Allow": ", ".join(sorted(methods))})

    app.add_exception_handler(405, method_not_allowed)


def query_names(query: bytes) -> list[str]:
    """The names in a query string, as parse_qsl(keep_blank_values=True) reads them, without decoding
    the values: this runs before every request to a documented route, checks included."""
    names = []
    for part in query.decode("latin-1").split("&"):
        if part:
            name = part.partition("=")[0]
            names.append(unquote_plus(name) if "%" in name or "+" in name else name)
    return names


def query_values(query: bytes) -> dict[str, str]:
    """The parameters of a query string by name, as parse_qsl(keep_blank_values=True) reads them,
    for the check route (StrictRequests has refused repeated names and bytes that are not ASCII):
    decoding only what is encoded, and refusing escapes that are not UTF-8 rather than guess."""
    values = {}
    for part in query.decode("latin-1").split("&"):
        if part:
            name, _, value = part.partition("=")
            name = _decoded(name, name) if "%" in name or "+" in name else name
            values[name] = _decoded(value, name) if "%" in value or "+" in value else value
    return values


def require_utf8_form(body: bytes, content_type: str) -> None:
    """Refuse a form body whose fields are not UTF-8 text, which the framework's form parsers would read otherwise
    (U+FFFD for an escape in application/x-www-form-urlencoded, latin-1 for a multipart/form-data field):
    400 not_utf8, naming the field as sent."""
    if content_type.split(";")[0].strip().lower() == "multipart/form-data":
        fields = _multipart_fields(body, content_type)
    else:
        # python-multipart, which reads these forms, takes ';' between fields as it takes '&'.
        fields = [(name, (unquote_to_bytes(name.replace(b"+", b" ")), unquote_to_bytes(value.replace(b"+", b" "))))
                  for name, _, value in (part.partition(b"=") for part in re.split(rb"[&;]", body))]
    for shown, texts in fields:
        try:
            for text in texts:
                text.decode("utf-8")
        except UnicodeDecodeError:
            field = shown.decode("latin-1")
            raise ValidationFailed(
                f"The form field {field!r} holds bytes that are not UTF-8 text.",
                errors=[ErrorDetail(path=field, message="Send form fields as UTF-8 text.", error="not_utf8")],
            ) from None


def _multipart_fields(body: bytes, content_type: str) -> list[tuple[bytes, tuple[bytes, ...]]]:
    """(name as sent, (name, value)) of each part of a multipart/form-data body, read by the standard library's parser."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields = []
    for part in message.iter_parts() if message.is_multipart() else []:
        name = str(part.get_param("name", "", header="content-disposition")).encode("utf-8", errors="surrogateescape")
        fields.append((name, (name, part.get_payload(decode=True) or b"")))
    return fields


def _decoded(text: str, name: str) -> str:
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"The parameter {name!r} holds percent-escapes that are not UTF-8 text.",
            errors=[ErrorDetail(path=name, message="Percent-escapes must spell UTF-8 text.", error="not_utf8")],
        ) from None


def _unknown(names: list[str], known: frozenset[str]) -> list[ErrorDetail]:
    seen: set[str] = set()
    problems = []
    for name in names:
        if name not in known:
            expected = f"this route takes {', '.join(sorted(known))}" if known else "this route takes no query parameters"
            problems.append(ErrorDetail(path=name, message=f"Unknown parameter {name!r}: {expected}.", error="unknown_parameter"))
        elif name in seen:
            problems.append(ErrorDetail(path=name, message=f"The parameter {name!r} is given more than once; give it once.", error="repeated_parameter"))
        seen.add(name)
    return problems


async def _refuse_body(scope: Scope, receive: Receive) -> Receive:
    """Refuse a GET, HEAD or DELETE that carries a body (an empty one, as PHP clients send, is no body)."""
    headers = dict(scope.get("headers", []))
    length = headers.get(b"content-length", b"").strip()
    if length.isdigit() and int(length) == 0:
        return receive
    if not length and b"transfer-encoding" not in headers:
        return receive
    first = await receive()
    if first.get("body") or first.get("more_body"):
        # The hint for the delete a body most often means; a GET's query says what to read (a check: ?phone_number=...).
        hint = (
            " (to delete one number: DELETE /blacklist/phone_numbers?phone_number=...)" if scope["method"] == "DELETE"
            else " (a check: GET /blacklist/check?phone_number=...; many at once: POST /blacklist/check)" if scope.get("path", "").startswith("/blacklist/check")
            else ""
        )
        raise ValidationFailed(
            f"A {scope['method']} takes no body: name what you mean in the address or its query{hint}.",
            errors=[ErrorDetail(path="body", message="This method takes no body.", error="body_not_allowed")],
        )
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return first
        return await receive()

    return replay


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it is larger than `limit` bytes, declared or not."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"The body is larger than the limit of {limit} bytes for this route.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"The body is larger than the limit of {limit} bytes for this route.")
    return bytes(body)


def replay_body(request: Request, body: bytes) -> Request:
    """A request whose body is `body`, already read: for parsers that read the stream themselves."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await request.receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)



class _NotStrictJson(ValueError):
    pass


def _no_constant(name: str) -> None:
    raise _NotStrictJson(f"{name} is not JSON")


def _finite(text: str) -> float:
    # 1e400 reads as infinity, which no answer could echo as JSON.
    value = float(text)
    if math.isinf(value):
        raise _NotStrictJson(f"the number {text} is out of range")
    return value


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for key, value in pairs:
        if key in document:
            raise _NotStrictJson(f"the key {key!r} is given more than once, so which value counts is ambiguous")
        document[key] = value
    return document


def json_bytes(body: object, *, floatless: bool = False) -> bytes:
    """An answer's JSON in UTF-8, compact; with ASCII escapes where it echoes text no UTF-8 holds (an unpaired surrogate sent as a JSON escape).

    `floatless` (the caller knows the body holds no float): written by orjson, byte for byte what json
    writes but ten times faster (a batch's answer of 1,000 entries: ~4 ms -> ~0.4 ms). Not floats, which
    it writes otherwise (1e-07 as 1e-7, Infinity as null); it refuses an unpaired surrogate and an
    integer beyond 64 bits, which json then writes as before."""
    if floatless:
        try:
            return orjson.dumps(body)
        except orjson.JSONEncodeError:
            pass
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(body, separators=(",", ":")).encode()


def load_json(body: bytes) -> object:
    """The JSON document in `body`, refused (400 malformed_body) where it is not strict JSON."""
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique_keys)
    except _NotStrictJson as problem:
        raise MalformedBody(f"The body is not valid JSON: {problem}.") from None
    except (ValueError, RecursionError):
        raise MalformedBody("The body is not valid JSON.") from None
