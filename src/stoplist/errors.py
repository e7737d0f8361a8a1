"""The error hierarchy, and the one place that renders an error body.

    StoplistError                      any answer that is not a success
    ├── BadRequest (400)
    │   ├── MalformedBody              a body that is not JSON, or not an object
    │   ├── ValidationFailed           request fields that do not parse
    │   ├── ConflictingParameters      two spellings of one parameter (orderBy, order_by)
    │   ├── InvalidPhoneNumber         not a number on its country's plan
    │   ├── InvalidExpiry              expire_at unreadable or already past
    │   ├── InvalidMoment              a date filter (created_after, since, ...) that names no date
    │   ├── FilterRequired             a delete by filter that names no filter
    │   ├── InvalidCursor              a cursor this service did not give out
    │   │   └── InvalidFeedCursor      an `after` of the trail: not a number, or past its newest event
    │   ├── InvalidSearch              a `q` that is not part of a number
    │   └── InvalidCsv                 an upload that is not CSV text
    ├── Unauthorized (401)             no token, or a token we do not know
    ├── Forbidden (403)                a token without the route's scope
    ├── NotFound (404)
    │   ├── EntryNotFound
    │   │   └── EntryLapsed          an entry deleted after its expiry: not found, its `expire` kept
    │   ├── ImportNotFound
    │   └── FileNotFound
    ├── MethodNotAllowed (405)
    ├── Conflict (409)                 a family (answered = False): only its subclasses are answered
    │   └── EntryExists                the address is on the list an entry would move to
    ├── CursorExpired (410)            a feed cursor older than the trail that retention kept
    ├── PayloadTooLarge (413)          a family, as Conflict
    │   ├── TooManyNumbers             a bulk check of more than 10,000
    │   ├── TooManyItems               a batch of more than 1,000 entries
    │   ├── BodyTooLarge               a body over its route's limit
    │   └── UploadTooLarge             an import over STOPLIST_MAX_UPLOAD_BYTES
    ├── UnsupportedMediaType (415)
    ├── TooManyExports (429)           too many x-async exports queued for the account
    ├── ExportFailed (500)             an x-async export whose job failed
    └── ServiceBusy (503)              every slot for that kind of work is taken, or the database cannot serve just now: retry later

Every 4xx/5xx answer has the body
`{"error": "<snake_case_code>", "message": "<sentence>", "errors": [...]}`.
"""

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect


log = logging.getLogger("stoplist.errors")


class ErrorDetail(BaseModel):
    """One problem with one part of the request."""

    path: str | None = None
    message: str
    error: str


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: str
    message: str
    errors: list[ErrorDetail] = []


class StoplistError(Exception):
    """Base of every error the API answers with."""

    status_code = 500
    code = "internal_error"
    message = "Something went wrong on our side."
    # An answer that is an error to the client while the work done before it stands: the request's
    # transaction commits it (stoplist.db.transaction), as for EntryLapsed.
    keeps_work = False
    # False on a family that only groups its subclasses' answers: nothing raises it, so its code is in
    # no answer, nor in the documented set (error_codes). Each class says it of itself, not its subclasses.
    answered = True

    def __init__(self, message: str | None = None, *, errors: list[ErrorDetail] | None = None) -> None:
        self.message = message or self.message
        self.errors = errors or []
        super().__init__(self.message)

    def body(self) -> ErrorBody:
        return ErrorBody(error=self.code, message=self.message, errors=self.errors)


class BadRequest(StoplistError):
    status_code = 400
    code = "bad_request"
    message = "The request could not be understood."


class MalformedBody(BadRequest):
    code = "malformed_body"
    message = "The request body could not be read."


class ValidationFailed(BadRequest):
    code = "validation_error"
    message = "The request has invalid fields."

    def __init__(self, message: str | None = None, *, errors: list[ErrorDetail] | None = None, path: str | None = None) -> None:
        if path is not None and errors is None:
            errors = [ErrorDetail(path=path, message=message or self.message, error=self.code)]
        super().__init__(message, errors=errors)


class ConflictingParameters(BadRequest):
    code = "conflicting_parameters"

    def __init__(self, *names: str, message: str | None = None) -> None:
        message = message or f"Give one of {' or '.join(names)}, not both: they are two spellings of one parameter."
        super().__init__(message, errors=[ErrorDetail(path=name, message=message, error=self.code) for name in names])


class InvalidPhoneNumber(BadRequest):
    code = "invalid_phone_number"

    def __init__(self, raw: str, reason: str, *, path: str = "phone_number", message: str | None = None) -> None:
        self.reason = reason
        message = message or f"{raw!r} is not a valid phone number: {reason}"
        super().__init__(message, errors=[ErrorDetail(path=path, message=message, error=self.code)])


class InvalidAddress(BadRequest):
    """An address that is neither a phone number nor an e-mail address, or one the list cannot hold."""

    code = "invalid_address"

    def __init__(self, raw: str, reason: str, *, path: str = "address", message: str | None = None) -> None:
        message = message or f"{raw!r} is not a valid address: {reason}"
        super().__init__(message, errors=[ErrorDetail(path=path, message=message, error=self.code)])


class FieldError(BadRequest):
    """A 400 about one named field or parameter: the message, and the one detail naming it."""

    answered = False  # a family: its subclasses are answered, each with its own code

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message, errors=[ErrorDetail(path=path, message=message, error=self.code)])


class InvalidListScope(FieldError):
    """A channel, sender, list kind or reason outside the documented values."""

    code = "invalid_scope"


class InvalidExpiry(BadRequest):
    code = "invalid_expire_at"

    def __init__(self, message: str) -> None:
        super().__init__(message, errors=[ErrorDetail(path="expire_at", message=message, error=self.code)])


class InvalidMoment(FieldError):
    """A date of a filter or a period (`created_after`, `start`, `since`, ...) that is no date we can read."""

    code = "invalid_date"


class FilterRequired(BadRequest):
    """A delete by filter without any filter: the native API never deletes everything by accident."""

    code = "filter_required"


class InvalidEvidence(FieldError):
    """`evidence` or `received_at` that cannot go on the audit trail."""

    code = "invalid_evidence"


class InvalidCursor(FieldError):
    """A cursor (a listing's `cursor`, the trail's `after`) this service did not give out."""

    code = "invalid_cursor"


class InvalidFeedCursor(InvalidCursor):
    """An `after` of the history or the change feed: not a number, or past the account's newest event."""


class InvalidSearch(BadRequest):
    code = "invalid_query"

    def __init__(self, raw: str, *, too_long: int | None = None, reason: str | None = None) -> None:
        if reason is not None:
            message = f"q {raw!r} cannot be searched for: {reason}"
        elif too_long is not None:
            message = f"q is {len(raw)} characters long; search with at most {too_long} (no number has more than 15 digits)."
        else:
            message = f"q {raw!r} is not part of a phone number: search with digits, e.g. q=500."
        super().__init__(message, errors=[ErrorDetail(path="q", message=message, error=self.code)])


class InvalidCsv(BadRequest):
    code = "invalid_csv"


class Unauthorized(StoplistError):
    status_code = 401
    code = "unauthorized"
    message = "Send a valid access token as 'Authorization: Bearer <token>'."


class Forbidden(StoplistError):
    status_code = 403
    code = "forbidden"
    message = "This access token does not have the scope this route needs."


class NotFound(StoplistError):
    status_code = 404
    code = "not_found"
    message = "There is nothing at this address."


class EntryNotFound(NotFound):
    code = "entry_not_found"
    message = "No blacklist entry with this id is on your list."


class EntryLapsed(EntryNotFound):
    """The entry asked for had lapsed, so it answers as one not on the list, and the `expire` event
    recorded for it on the way (the entry had not been swept yet) is committed all the same."""

    keeps_work = True


class ImportNotFound(NotFound):
    code = "import_not_found"
    message = "No import with this id is on your account (finished imports are kept for the retention period)."


class FileNotFound(NotFound):
    code = "file_not_found"
    message = "No file with this id is on your account (files are removed after the retention period)."


class AccountNotFound(NotFound):
    """A subuser id that is not one of the caller's (in the Stoplist-Account header or a route's path):
    404 whether it exists elsewhere or not, so that nothing tells another account's ids apart."""

    code = "account_not_found"
    message = "No subuser with this id is under your account."


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = "No access token with this id is yours or your subusers'."


class NameTaken(StoplistError):
    """Account names are unique on the server (the command line names accounts by them)."""

    status_code = 409
    code = "name_taken"
    message = "An account with this name exists already; choose another."


class MethodNotAllowed(StoplistError):
    status_code = 405
    code = "method_not_allowed"
    message = "This address does not answer to that method."


class Conflict(StoplistError):
    status_code = 409
    answered = False
    code = "conflict"
    message = "The request conflicts with what is stored."


class EntryExists(Conflict):
    """A move or a replacement would put an address on a list that holds it already: nothing is changed."""

    code = "entry_exists"

    def __init__(self, message: str, *, path: str, entry_id: int) -> None:
        self.entry_id = entry_id
        super().__init__(message, errors=[ErrorDetail(path=path, message=message, error=self.code)])


class CursorExpired(StoplistError):
    """A feed cursor from before the oldest event that retention kept: the events after it are gone."""

    status_code = 410
    code = "cursor_expired"

    def __init__(self, message: str) -> None:
        super().__init__(message, errors=[ErrorDetail(path="after", message=message, error=self.code)])


class UnsupportedMediaType(StoplistError):
    status_code = 415
    code = "unsupported_media_type"
    message = "Send the body as application/json or application/x-www-form-urlencoded."


class PayloadTooLarge(StoplistError):
    status_code = 413
    answered = False
    code = "payload_too_large"
    message = "The request is too large."


class TooManyNumbers(PayloadTooLarge):
    code = "too_many_numbers"


class TooManyItems(PayloadTooLarge):
    code = "too_many_items"


class BodyTooLarge(PayloadTooLarge):
    code = "body_too_large"


class UploadTooLarge(PayloadTooLarge):
    code = "upload_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The upload is larger than the limit of {limit} bytes (STOPLIST_MAX_UPLOAD_BYTES).")


class TooManyExports(StoplistError):
    status_code = 429
    code = "too_many_exports"
    message = "Too many x-async exports of this account are waiting; fetch or let them finish first."


class ExportFailed(StoplistError):
    code = "export_failed"


class ServiceBusy(StoplistError):
    """Answered with `Retry-After`: the work is refused now so that it does not slow everyone else."""

    status_code = 503
    code = "busy"
    message = "The server is busy with other work of this kind; retry in a moment."

    def __init__(self, message: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# The operation's OpenAPI extensions that list where the server and its schema part ways, each with its reason.
SEMANTIC_ERRORS = "x-semantic-errors"
ACCEPTED_BEYOND_SCHEMA = "x-accepted-beyond-schema"


def beyond_schema(errors: Mapping[type[StoplistError], str] | None = None, *, accepted: Mapping[str, str] | None = None) -> dict[str, dict[str, str]]:
    """The marks of an operation where the server and its schema part ways, each with its reason.

    `errors`: the 400s a schema-valid request may still get, by error: whether a number is on its
    country's plan, or a date lies in the future, no JSON Schema can say. `accepted`: the parameters
    or body fields, by name, of which the server reads more than the schema allows. The fuzzer
    (tests/fuzz) excuses exactly these, and nothing else.
    """
    marks: dict[str, dict[str, str]] = {}
    if errors:
        marks[SEMANTIC_ERRORS] = {error.code: reason for error, reason in errors.items()}
    if accepted:
        marks[ACCEPTED_BEYOND_SCHEMA] = dict(accepted)
    return marks


def error_codes() -> list[str]:
    """The `error` code of every error class that is answered: the whole set an answer can carry."""
    found: set[str] = set()
    pending: list[type[StoplistError]] = [StoplistError]
    while pending:
        error_class = pending.pop()
        if error_class.__dict__.get("answered", True):
            found.add(error_class.code)
        pending.extend(error_class.__subclasses__())
    return sorted(found)


def error_response(error: StoplistError, headers: dict[str, str] | None = None) -> JSONResponse:
    """Render any Stoplist error as its JSON answer."""
    if isinstance(error, Unauthorized):
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    if isinstance(error, ServiceBusy):
        headers = {"Retry-After": str(error.retry_after), **(headers or {})}
    return JSONResponse(error.body().model_dump(), status_code=error.status_code, headers=headers)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(part) for part in loc)


def _plainly(item: Mapping[str, Any]) -> str:
    """pydantic's message, saying so when the value refused is a JSON null ("should be a valid string" reads as
    if the field were missing or of another type)."""
    message = str(item.get("msg", "invalid"))
    if "input" in item and item["input"] is None and str(item.get("type", "")).endswith("_type"):
        return f"{message}, not null"
    return message


def validation_error(problems: Sequence[Mapping[str, Any]]) -> ValidationFailed:
    """Turn pydantic's or the framework's validation problems into our 400."""
    details = [
        ErrorDetail(path=_location(tuple(item.get("loc", ()))), message=_plainly(item), error=item.get("type", "invalid"))
        for item in problems
    ]
    summary = "; ".join(f"{detail.path}: {detail.message}" for detail in details) or "invalid request"
    return ValidationFailed(f"The request has invalid fields ({summary}).", errors=details)


# The read path (checks.repository) uses sqlite3 directly, without SQLAlchemy. Its OperationalError
# is also what a mistaken statement raises; these messages are the file's state (locked past the busy
# timeout, unreadable), which another try may find changed. (asyncpg's errors, PostgreSQL's, become
# ServiceBusy in checks.connections, where asyncpg is used: it is then never loaded on SQLite.)
SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database file", "disk I/O error")


def database_busy(cause: BaseException | None, raised: BaseException) -> ServiceBusy:
    """503 busy for a database that could not serve the request just now (`cause`, the driver's error,
    `raised` what carried it), logged with the driver's error class: for SQLAlchemy's and sqlite3's errors
    here, asyncpg's in checks.connections."""
    log.warning("database unavailable: %s", type(cause).__name__, exc_info=raised)
    return ServiceBusy("The database could not serve this request just now; retry in a moment.")


# What the framework raises itself (routing, form parsing), as our errors.
_HTTP_ERRORS: dict[int, type[StoplistError]] = {400: MalformedBody, 404: NotFound, 405: MethodNotAllowed, 413: BodyTooLarge, 415: UnsupportedMediaType}


# A client that went away before sending its whole body (an upload cut off, a CRM that timed out): no one is
# left to answer, and nothing failed on this side. Logged at info and counted in the metrics as 499, nginx's
# "client closed request", never as a 500 with a traceback.
CLIENT_CLOSED_REQUEST = 499


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, ours or the framework's, answer with the standard body."""

    @app.exception_handler(StoplistError)
    async def _stoplist_error(_request: Request, exc: StoplistError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        error_class = _HTTP_ERRORS.get(exc.status_code)
        if error_class is not None:
            # Starlette's own sentence (e.g. a form part over its size) says more than ours.
            detail = str(exc.detail) if exc.status_code in (400, 413) and exc.detail else None
            error = error_class(detail)
        else:
            error = BadRequest(str(exc.detail)) if exc.status_code < 500 else StoplistError()
            error.status_code = exc.status_code
        return error_response(error, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, _exc: ClientDisconnect) -> Response:
        log.info("%s %s: the client went away before sending its whole body", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED_REQUEST)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(_request: Request, _exc: PoolTimeout) -> JSONResponse:
        # Outside db.transaction() too: a route that found every connection in use is busy, not broken.
        return error_response(ServiceBusy("Every database connection is in use; retry in a moment."))

    @app.exception_handler(OperationalError)
    async def _database_unavailable(_request: Request, exc: OperationalError) -> JSONResponse:
        # A lock held past its timeout, a server out of connections ("too many clients"), a dropped
        # connection: the request may well succeed in a moment, so it is busy, not a bug.
        return error_response(database_busy(exc.orig, exc))

    async def _driver_unavailable(_request: Request, exc: sqlite3.OperationalError) -> JSONResponse:
        # The same, raised by sqlite3 on the read path, which uses it without SQLAlchemy.
        if not str(exc).startswith(SQLITE_UNAVAILABLE):
            log.error("Exception in ASGI application", exc_info=exc)
            return error_response(StoplistError())
        return error_response(database_busy(exc, exc))

    app.add_exception_handler(sqlite3.OperationalError, _driver_unavailable)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return error_response(StoplistError())
