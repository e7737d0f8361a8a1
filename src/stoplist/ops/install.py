"""`install_ops(app)`: add /healthz, /readyz, /metrics and the request-metrics middleware to an app."""

from dataclasses import dataclass, field

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware

from stoplist.ops import health, metrics
from stoplist.ops.database import SingleFlight, Snapshot, read_revisions, read_snapshot

READY_TIMEOUT = 2.0
SCRAPE_TIMEOUT = 5.0


@dataclass
class OpsState:
    """Everything the ops routes need, kept on `app.state.ops`."""

    head: str | None
    ready_timeout: float
    revisions: SingleFlight[list[str] | None]
    snapshots: SingleFlight[Snapshot]
    registry: CollectorRegistry = field(repr=False)
    http: metrics.HttpMetrics = field(repr=False)
    # The last reason /readyz gave, so the log records changes rather than every probe.
    last_not_ready: str | None = None


def install_ops(app: FastAPI, *, ready_timeout: float = READY_TIMEOUT, scrape_timeout: float = SCRAPE_TIMEOUT) -> None:
    """Add the ops routes and the metrics middleware to `app` (made by `create_app`). Calling it again does nothing.

    /readyz answers 503 when the database does not answer within `ready_timeout` seconds; a scrape
    reports `stoplist_database_up 0` when its counts take longer than `scrape_timeout` (keep it
    under Prometheus's scrape_timeout, 10 s by default). Call it before the app serves its first
    request (Starlette builds its middleware stack then)."""
    if getattr(app.state, "ops", None) is not None:
        return
    if app.middleware_stack is not None:
        raise RuntimeError("install_ops(app) must run before the app serves requests")
    # The engine is looked up on each read, so the probes always test the engine the app uses.
    revisions = SingleFlight(lambda: read_revisions(app.state.engine, ready_timeout), "readyz")
    snapshots = SingleFlight(lambda: read_snapshot(app.state.engine, scrape_timeout), "metrics")
    registry, http = metrics.create_registry(app, snapshots, scrape_timeout)
    app.state.ops = OpsState(
        head=health.code_head_revision(), ready_timeout=ready_timeout, revisions=revisions, snapshots=snapshots, registry=registry, http=http
    )
    app.include_router(health.router)
    app.include_router(metrics.router)
    # Innermost of the app's own middleware, whenever this runs: inside TrailingSlash (which copies
    # the scope, so only inner middleware sees scope["route"]), right outside the exception handlers,
    # so it sees every answer they render; errors nobody handles count as the 500 they become.
    app.user_middleware.append(Middleware(metrics.MetricsMiddleware, metrics=http))
