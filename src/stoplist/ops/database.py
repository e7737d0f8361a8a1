"""Short, bounded database reads for /readyz and /metrics.

A probe must answer quickly even when the database does not: an unreachable Postgres host
can take minutes to refuse a connection. So every read runs in its own daemon thread, at
most one per kind at a time (callers arriving while one is in flight share its result), and
callers wait for it at most `timeout` seconds. A hung database then holds one daemon thread
per kind, not one per probe; it never keeps the server's own threads past the timeout, and
never delays the process's exit. On PostgreSQL the query itself is also bounded by a
statement_timeout.
"""

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

from sqlalchemy import Connection, Engine, case, func, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from stoplist.audit.models import Head
from stoplist.lists.models import Entry
from stoplist.jobs.models import FAILED, QUEUED, Job

T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database could not be read; `summary` is safe to show, the cause is for the log."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


class SingleFlight(Generic[T]):
    """Run `function` in a daemon thread, one run at a time; every caller during a run shares it."""

    def __init__(self, function: Callable[[], T], name: str) -> None:
        self.function = function
        self.name = name
        self._lock = threading.Lock()
        self._future: concurrent.futures.Future[T] | None = None

    def submit(self) -> "concurrent.futures.Future[T]":
        with self._lock:
            if self._future is None or self._future.done():
                future: concurrent.futures.Future[T] = concurrent.futures.Future()
                threading.Thread(target=self._run, args=(future,), name=f"stoplist-{self.name}", daemon=True).start()
                self._future = future
            return self._future

    def _run(self, future: "concurrent.futures.Future[T]") -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(self.function())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            future.set_exception(exc)

    def wait(self, timeout: float) -> T:
        """The result of the current (or a fresh) run; TimeoutError after `timeout` seconds."""
        return self.submit().result(timeout)

    async def wait_async(self, timeout: float) -> T:
        """Like `wait`, without blocking the event loop."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()

        def wake(done: "concurrent.futures.Future[T]") -> None:
            try:
                loop.call_soon_threadsafe(_settle, waiter, done)
            except RuntimeError:  # the loop closed: nobody waits any more
                pass

        self.submit().add_done_callback(wake)
        return await asyncio.wait_for(waiter, timeout)


def _settle(waiter: asyncio.Future, done: concurrent.futures.Future) -> None:
    if waiter.done():  # the caller timed out or went away
        return
    error = done.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(done.result())


def _kind(exc: SQLAlchemyError) -> str:
    """The driver's error class (e.g. OperationalError), never its text: that can name hosts and users."""
    return type(getattr(exc, "orig", None) or exc).__name__


def _connect(engine: Engine, timeout: float) -> Connection:
    try:
        connection = engine.connect()
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(f"unreachable ({_kind(exc)})") from exc
    if engine.dialect.name == "postgresql":
        # Bound the query itself on the server too (the connection is returned rolled back).
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout * 1000))}")
    return connection


def read_revisions(engine: Engine, timeout: float) -> list[str] | None:
    """The revisions in alembic_version (sorted), or None when the table does not exist."""
    with _connect(engine, timeout) as connection:
        try:
            return sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        except SQLAlchemyError as exc:
            connection.rollback()
            try:
                exists = inspect(connection).has_table("alembic_version")
            except SQLAlchemyError:
                exists = True
            if not exists:
                return None
            raise DatabaseUnavailable(f"unreadable ({_kind(exc)})") from exc


@dataclass(frozen=True)
class JobCounts:
    kind: str
    status: str
    count: int
    oldest_created_at: datetime | None
    failed_last_hour: int


@dataclass(frozen=True)
class Snapshot:
    """What /metrics reports about the data, read in one short transaction."""

    entries: int
    jobs: list[JobCounts]
    read_at: datetime
    newest_event_at: datetime | None = None


def read_snapshot(engine: Engine, timeout: float) -> Snapshot:
    now = datetime.now(timezone.utc)
    hour_ago = now - timedelta(hours=1)
    jobs_query = select(
        Job.kind,
        Job.status,
        func.count(),
        func.min(Job.created_at),
        func.sum(case((Job.finished_at >= hour_ago, 1), else_=0)),
    ).group_by(Job.kind, Job.status)
    with _connect(engine, timeout) as connection:
        try:
            entries = connection.execute(select(func.count()).select_from(Entry.__table__)).scalar_one()
            newest = connection.execute(select(func.max(Head.at))).scalar_one()
            jobs = [
                JobCounts(kind=kind, status=status, count=count, oldest_created_at=oldest if status == QUEUED else None,
                          failed_last_hour=int(recent or 0) if status == FAILED else 0)
                for kind, status, count, oldest, recent in connection.execute(jobs_query)
            ]
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(f"unreadable ({_kind(exc)})") from exc
    return Snapshot(entries=entries, jobs=jobs, read_at=now, newest_event_at=newest)
