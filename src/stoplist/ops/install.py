"""`install_ops(app)`: add /healthz, /readyz, /metrics and the request-metrics middleware to an app."""

from dataclasses import dataclass, field
from functools import partial

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware

from stoplist.ops import health, metrics
from stoplist.ops.database import DEFAULT_TIMEOUT, SingleFlight, Snapshot, read_revisions, read_snapshot


@dataclass
class OpsState:
    """Everything the ops routes need, kept on `app.state.ops`."""

    head: str | None
    timeout: float
    revisions: SingleFlight[list[str] | None]
    snapshots: SingleFlight[Snapshot]
    registry: CollectorRegistry = field(repr=False)
    http: metrics.HttpMetrics = field(repr=False)
    # The last reason /readyz gave, so the log records changes rather than every probe.
    last_not_ready: str | None = None


def install_ops(app: FastAPI, *, database_timeout: float = DEFAULT_TIMEOUT) -> None:
    """Add the ops routes and the metrics middleware to `app` (made by `create_app`). Calling it again does nothing.

    Call it before the app serves its first request (Starlette builds its middleware stack then)."""
    if getattr(app.state, "ops", None) is not None:
        return
    if app.middleware_stack is not None:
        raise RuntimeError("install_ops(app) must run before the app serves requests")
    engine = app.state.engine
    revisions = SingleFlight(partial(read_revisions, engine, database_timeout), "readyz")
    snapshots = SingleFlight(partial(read_snapshot, engine, database_timeout), "metrics")
    registry, http = metrics.create_registry(app, snapshots, database_timeout)
    app.state.ops = OpsState(
        head=health.code_head_revision(), timeout=database_timeout, revisions=revisions, snapshots=snapshots, registry=registry, http=http
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Innermost of the app's own middleware, whenever this runs: inside TrailingSlash (which copies
    # the scope, so only inner middleware sees scope["route"]), right outside the exception handlers,
    # so it sees every answer they render; errors nobody handles count as the 500 they become.
    app.user_middleware.append(Middleware(metrics.MetricsMiddleware, metrics=http))
