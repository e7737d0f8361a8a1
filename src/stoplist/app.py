"""create_app(): the ASGI application."""

import gc
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline
from starlette.middleware import Middleware

from stoplist import __version__, wal
from stoplist.accounts.router import router as accounts_router
from stoplist.auth.cache import TokenCache
from stoplist.blacklist.router import router as blacklist_router
from stoplist.checks.gate import CheckGate
from stoplist.checks.repository import create_lookup
from stoplist.checks.router import router as checks_router
from stoplist.checks.schemas import BulkCheckRequest
from stoplist.files.router import router as files_router
from stoplist.imports.router import router as imports_router
from stoplist.imports.upload import remove_stale_uploads
from stoplist.composition import start_worker_thread
from stoplist.entries.router import router as entries_router
from stoplist.entries.edits import router as entry_edits_router
from stoplist.history.router import router as history_router
from stoplist.lists.schemas import NativeEntryCreate, declared_schemas
from stoplist.blacklist.schemas import EntryCreate, EntryUpdate
from stoplist.entries.schemas import BatchCreate, EntryReplace, NativeEntryUpdate
from stoplist.config import Settings, get_settings
from stoplist.db import create_db_engine, create_session_factory
from stoplist.declared import linked
from stoplist.errors import ErrorBody, error_codes, install_error_handlers
from stoplist.ops import install_ops
from stoplist.web import HeadAsGet, StrictRequests, TrailingSlash, install_allow

log = logging.getLogger("stoplist")

DESCRIPTION = """A self-hosted blacklist (suppression list) for SMS senders, wire-compatible with SMSAPI's Blacklist API.

Authenticate with `Authorization: Bearer <token>` (`stoplist token create`). Every error answers with
`{"error": "<code>", "message": "<sentence>", "errors": [{"path", "message", "error"}]}`.
"""


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """The Stoplist API, on the database `settings` name (migrated beforehand: the app never creates tables).

    `freeze_heap` is for a process that serves this one app until it exits (`stoplist serve`): see
    _freeze_heap. Not for tests, which create many apps in one process.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Uploads cut off by a crash (kill -9 mid-request) leave their temporary files behind.
        removed = remove_stale_uploads()
        if removed:
            log.info("removed %s upload file(s) left by servers that are gone", removed)
        await app.state.lookup.open()
        worker = start_worker_thread(app.state.session_factory, settings) if settings.serve_worker else None
        checkpointer = app.state.checkpointer = wal.Checkpointer(app.state.engine, app.state.session_factory).start() if own_checkpoints else None
        if freeze_heap:
            _freeze_heap()
        yield
        if worker is not None:
            worker.stop_and_join()
        if checkpointer is not None:
            checkpointer.stop()
        await app.state.lookup.close()
        app.state.engine.dispose()

    # /docs and /redoc serve their scripts from the installed package, not a CDN: they work offline.
    # FastAPI's OpenTelemetry hooks stay off: they cost every request a look at the providers, and
    # /metrics (prometheus) is what this service exports.
    app = FastAPIOffline(
        title="Stoplist", version=__version__, description=DESCRIPTION, lifespan=lifespan, redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # SQLite: the server checkpoints the log on a thread of its own, off the requests (stoplist.wal).
    own_checkpoints = wal.background_checkpoints(settings.database_url)
    app.state.engine = create_db_engine(settings.database_url, **({"wal_autocheckpoint": wal.SAFETY_CAP_PAGES} if own_checkpoints else {}))
    app.state.session_factory = create_session_factory(app.state.engine)
    app.state.lookup = create_lookup(settings.database_url)
    # The check routes remember tokens briefly; every other route reads its token on each request.
    lookup = app.state.lookup
    app.state.token_cache = TokenCache(lookup.token, lookup.subuser, ttl=settings.token_cache_seconds)
    app.state.token_check = TokenCache(lookup.token, lookup.subuser, ttl=0)
    install_error_handlers(app)
    install_allow(app)
    app.include_router(checks_router)
    app.include_router(imports_router)
    app.include_router(blacklist_router)
    app.include_router(entries_router)
    app.include_router(entry_edits_router)
    app.include_router(history_router)
    app.include_router(files_router)
    app.include_router(accounts_router)
    install_ops(app)
    _match_first(app, checks_router)
    # Innermost, so the request metrics count what it refuses.
    app.user_middleware.append(Middleware(StrictRequests, api=app))
    app.add_middleware(HeadAsGet)
    app.add_middleware(TrailingSlash)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    # Outermost: the checks are answered before any middleware (checks.gate), everything else passes on.
    build_stack = app.build_middleware_stack
    app.build_middleware_stack = lambda: CheckGate(build_stack(), app)  # type: ignore[method-assign]
    return app


def _match_first(app: FastAPI, router) -> None:
    """Try `router`'s routes before any other: the checks are most of all requests, and otherwise
    each of them is first compared with the documentation's routes, which FastAPI adds at the
    front. No two routes share a path, so the order changes nothing else."""
    app.router.routes.sort(key=lambda route: getattr(route, "original_router", None) is not router)
    mark_changed = getattr(app.router, "_mark_routes_changed", None)
    if mark_changed is not None:
        mark_changed()


def _freeze_heap() -> None:
    """Keep what startup loaded (modules, FastAPI's routes and models, phonenumbers' metadata, ...)
    out of the garbage collector's full passes.

    Those objects live as long as the process, yet each full pass walked all of them: under load,
    every few seconds the event loop stopped for about 40 ms, which was the p99 latency of checks
    on PostgreSQL. Objects made later are collected as usual, but young ones every 20,000
    allocations instead of 700: an import's batch holds some 100,000 objects for as long as it
    is written, and each collection walked those that had lived through the last (9% of an
    import's time).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


# Every app of this code has the same document (its routes do not depend on settings): made once per
# process, since it takes a good part of a second, and StrictRequests reads it on an app's first request.
_DOCUMENT: dict[str, Any] = {}


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None and _DOCUMENT:
        app.openapi_schema = _DOCUMENT
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        # Bodies read by hand (JSON or form) and error bodies are not seen by FastAPI's walk.
        for body in (EntryCreate, EntryUpdate, BulkCheckRequest, NativeEntryCreate, NativeEntryUpdate, EntryReplace, BatchCreate):
            definition = body.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, nested in definition.pop("$defs", {}).items():
                schemas.setdefault(name, nested)
            schemas[body.__name__] = definition
        for operation in (op for path in schema["paths"].values() for op in path.values()):
            for parameter in operation.get("parameters", []):
                parameter["schema"] = _never_null(parameter["schema"])
            # Validation failures answer 400 with ErrorBody, never FastAPI's default 422; every
            # operation can answer one, for a parameter or body it does not take (web.StrictRequests).
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            responses.setdefault("400", {"description": "A parameter or body this route does not take (`validation_error`).", "content": ERROR_CONTENT})
        # Every code an error body can carry, so clients and fuzzers know the whole set.
        error = schemas["ErrorBody"]["properties"]["error"]
        error["enum"] = error_codes()
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        for name, definition in ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}").get("$defs", {}).items():
            schemas.setdefault(name, definition)
        schema = linked(schema, declared_schemas())
        app.openapi_schema = schema
        _DOCUMENT.update(schema)
    return app.openapi_schema


def _never_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter's schema without the null FastAPI allows for an optional one: a parameter is text, or is not sent."""
    branches = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(branches) != 1:
        return schema
    # What FastAPI writes beside the anyOf (a bound, a description) holds for the one branch left.
    return {**branches[0], **{key: value for key, value in schema.items() if key != "anyOf"}}
