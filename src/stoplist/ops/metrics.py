"""`/metrics`: Prometheus metrics of one app, in its own registry (summed over the workers of
`stoplist serve --workers N`: stoplist.ops.shared).

HTTP metrics are measured by a pure ASGI middleware that labels each request with its route's
path template (`/blacklist/phone_numbers/{entry_id}`), read from `scope["route"]` once the app
has answered; data metrics (entries, jobs) are read from the database at scrape time.
"""

import logging
import threading
from bisect import bisect_left
from collections.abc import Iterator
from datetime import datetime
from itertools import accumulate
from time import perf_counter
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Info
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stoplist import __version__
from stoplist.audit.counters import COUNTERS, HONOURED_BUCKETS
from stoplist.exports.service import KIND as EXPORT
from stoplist.imports.service import KIND as IMPORT
from stoplist.jobs.models import DONE, FAILED, QUEUED, RUNNING
from stoplist.ops.database import SingleFlight, Snapshot
from stoplist.ops.shared import SharedCounts, shared_directory

log = logging.getLogger("stoplist.ops")

router = APIRouter()

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
JOB_KINDS = (IMPORT, EXPORT)
JOB_STATUSES = (QUEUED, RUNNING, DONE, FAILED)
# From sub-millisecond checks to minutes-long uploads.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BUCKET_LABELS = (*(floatToGoString(bound) for bound in DURATION_BUCKETS), "+Inf")


class _RouteStats:
    """Everything measured for one (method, route template)."""

    __slots__ = ("buckets", "seconds", "statuses")

    def __init__(self) -> None:
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # per bucket, not cumulative; the last is +Inf
        self.seconds = 0.0
        self.statuses: dict[int, int] = {}


class HttpMetrics:
    """Request counts and durations, labelled by method, route template and status.

    The hot path is a dict lookup, a bisect and three additions under a lock (about 0.5 µs);
    prometheus-client's labelled Counter and Histogram, even with their children cached, took
    about 3 µs per request for the same, so this class keeps the numbers itself and is the
    registry's collector for them (prometheus-client still renders the exposition)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], _RouteStats] = {}
        self._endpoint_routes: dict[Any, str] | None = None

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        self.count(scope["method"], getattr(route, "path_format", UNMATCHED) if route is not None else self._unrouted(scope), status, seconds)

    def count(self, method: str, template: str, status: int, seconds: float) -> None:
        """One request answered on the route `template`."""
        key = (method, template)
        with self._lock:
            stats = self._stats.get(key)
            if stats is None:
                stats = self._new(key)
            stats.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
            stats.seconds += seconds
            stats.statuses[status] = stats.statuses.get(status, 0) + 1

    def _new(self, key: tuple[str, str]) -> _RouteStats:
        method, template = key
        if method not in METHODS:  # any token is a method: label the unusual ones "other"
            key = ("other", template)
            if key in self._stats:
                return self._stats[key]
        stats = self._stats[key] = _RouteStats()
        return stats

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            copies = [(key, list(stats.buckets), stats.seconds, dict(stats.statuses)) for key, stats in self._stats.items()]
        requests = CounterMetricFamily(
            "stoplist_http_requests", "HTTP requests answered, by method, route template and status.", labels=["method", "route", "status"]
        )
        duration = HistogramMetricFamily(
            "stoplist_http_request_duration_seconds",
            "Time to answer an HTTP request (body included), by method and route template.",
            labels=["method", "route"],
        )
        for (method, template), buckets, seconds, statuses in sorted(copies):
            for status, count in sorted(statuses.items()):
                requests.add_metric([method, template, str(status)], count)
            duration.add_metric([method, template], list(zip(BUCKET_LABELS, accumulate(buckets))), seconds)
        yield requests
        yield duration

    def _unrouted(self, scope: Scope) -> str:
        """Routes FastAPI adds itself (/docs, /openapi.json) set only scope["endpoint"]; no match sets neither."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        if self._endpoint_routes is None:
            self._endpoint_routes = {
                route.endpoint: getattr(route, "path_format", route.path)
                for route in self.app.routes
                if getattr(route, "endpoint", None) is not None and hasattr(route, "path")
            }
        return self._endpoint_routes.get(endpoint, UNMATCHED)


class MetricsMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): a clock read on each side of the app; streaming passes untouched."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the server answers when the app raises before starting a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            self.metrics.observe(scope, status, perf_counter() - started)


class DatabaseCollector:
    """Reads the entry and job counts at scrape time, in one short, time-bounded transaction."""

    def __init__(self, snapshots: SingleFlight[Snapshot], timeout: float) -> None:
        self.snapshots = snapshots
        self.timeout = timeout
        self._failing = False  # log when reading starts or stops failing, not on every scrape

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "stoplist_database_up",
            "1 if this scrape read the database, 0 if it could not (the entry and job series are then missing).",
        )
        try:
            snapshot = self.snapshots.wait(self.timeout)
        except Exception as exc:  # noqa: BLE001 - a scrape must still serve the HTTP metrics
            if not self._failing:
                reason = f"no answer within {self.timeout:g} s" if isinstance(exc, TimeoutError) else getattr(exc, "summary", type(exc).__name__)
                log.warning("metrics: could not read the database: %s", reason, exc_info=None if isinstance(exc, TimeoutError) else exc)
                self._failing = True
            up.add_metric([], 0)
            yield up
            return
        if self._failing:
            log.info("metrics: reading the database again")
            self._failing = False
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "stoplist_blacklist_entries",
            "Rows in blacklist_entries, all accounts (entries past their expire_at count until the purge deletes them).",
            value=snapshot.entries,
        )
        yield from _job_metrics(snapshot)
        newest = snapshot.newest_event_at
        yield GaugeMetricFamily(
            "stoplist_audit_newest_event_age_seconds",
            "Seconds since the newest event of the audit trail was recorded, any account (0 before the first): the change feed's freshness.",
            value=0.0 if newest is None else max(0.0, (snapshot.read_at - newest).total_seconds()),
        )


class AuditCollector:
    """What this process's writes put on the audit trail (counted when their transactions commit)."""

    def collect(self) -> Iterator[Metric]:
        events, honoured, honoured_sum = COUNTERS.snapshot()
        written = CounterMetricFamily("stoplist_audit_events", "Events written to the audit trail by this process, by op and source.", labels=["op", "source"])
        for (op, source), count in sorted(events.items()):
            written.add_metric([op, source], count)
        yield written
        histogram = HistogramMetricFamily(
            "stoplist_optout_honoured_seconds",
            "For writes that gave received_at: seconds from when the opt-out was received to when Stoplist recorded it.",
        )
        bounds = (*(floatToGoString(bound) for bound in HONOURED_BUCKETS), "+Inf")
        histogram.add_metric([], list(zip(bounds, accumulate(honoured))), sum_value=honoured_sum)
        yield histogram


def _job_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    counts = {(kind, status): 0 for kind in JOB_KINDS for status in JOB_STATUSES}
    oldest: dict[str, datetime] = {}
    failed_last_hour = dict.fromkeys(JOB_KINDS, 0)
    for row in snapshot.jobs:
        counts[(row.kind, row.status)] = row.count
        if row.oldest_created_at is not None:
            oldest[row.kind] = row.oldest_created_at
        failed_last_hour[row.kind] = failed_last_hour.get(row.kind, 0) + row.failed_last_hour
    jobs = GaugeMetricFamily(
        "stoplist_jobs",
        "Background jobs by kind and status: queued = queue depth, failed = failed jobs kept for STOPLIST_FILE_RETENTION.",
        labels=["kind", "status"],
    )
    for (kind, status), count in sorted(counts.items()):
        jobs.add_metric([kind, status], count)
    yield jobs
    failed = GaugeMetricFamily(
        "stoplist_jobs_failed_last_hour", "Jobs that failed (gave up) in the last hour, by kind.", labels=["kind"]
    )
    for kind, count in sorted(failed_last_hour.items()):
        failed.add_metric([kind], count)
    yield failed
    age = GaugeMetricFamily(
        "stoplist_jobs_oldest_queued_age_seconds",
        "Age of the oldest queued job, by kind (0 when none waits): grows when no worker takes jobs.",
        labels=["kind"],
    )
    now = snapshot.read_at
    for kind in sorted({*JOB_KINDS, *oldest}):
        created = oldest.get(kind)
        age.add_metric([kind], max(0.0, (now - created).total_seconds()) if created is not None else 0.0)
    yield age


def create_registry(app: FastAPI, snapshots: SingleFlight[Snapshot], timeout: float) -> tuple[CollectorRegistry, HttpMetrics]:
    """One registry per app, so several apps in one process (the tests) never share series."""
    registry = CollectorRegistry()
    Info("stoplist_build", "The running Stoplist version.", registry=registry).info({"version": __version__})
    http = HttpMetrics(app)
    directory = shared_directory()
    if directory is None:
        registry.register(http)
        registry.register(DatabaseCollector(snapshots, timeout))
        registry.register(AuditCollector())
    else:
        # One of several workers: what each counts is summed over all of them; the database's
        # figures are the same whichever reads them, so they are read, not summed.
        registry.register(DatabaseCollector(snapshots, timeout))
        registry.register(SharedCounts(directory, (http, AuditCollector())).start())
    return registry, http


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus exposition (text, or OpenMetrics when the scraper asks). A plain `def`: the scrape reads the database."""
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(request.app.state.ops.registry), headers={"Content-Type": content_type, "Cache-Control": "no-store"})

