"""Exports: the blacklist as CSV, streamed from the database in constant memory."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from stoplist.db import RFC3339, read_sqlite_stamp, utcnow
from stoplist.lists import render
from stoplist.lists import service as lists
from stoplist.lists.cursors import Cursor
from stoplist.lists.moments import Period
from stoplist.lists.queries import EntryFilter
from stoplist.lists.repository import EntryRepository, EntryRow, smsapi_view
from stoplist.lists.schemas import EntryOrder
from stoplist.errors import TooManyExports
from stoplist.imports.csv_format import GUARDED_COLUMNS, HEADER, NATIVE_HEADER
from stoplist.imports.csv_writer import write_rows
from stoplist.jobs.repository import JobRepository
from stoplist.spreadsheets import guard

KIND = "export"
CHUNK_BYTES = 1 << 18


@dataclass(frozen=True)
class ExportQuery:
    """Which entries of SMSAPI's list to export: the same filter as the JSON list (its dates read when the export was
    asked for: an x-async job keeps them as moments), its order, and optional chunking."""

    account_id: int
    where: EntryFilter = EntryFilter()
    order: EntryOrder = EntryOrder.created_at_desc
    offset: int = 0
    limit: int | None = None

    def as_params(self) -> dict:
        periods = {name: [_stamp(moment) for moment in getattr(self.where, name)] for name in _PERIODS}
        return {"digits": self.where.digits, **periods, "order": self.order.value, "offset": self.offset, "limit": self.limit}

    @classmethod
    def from_params(cls, account_id: int, params: dict) -> "ExportQuery":
        # A job queued before the date ranges existed has none.
        periods = {name: Period(*(None if text is None else read_sqlite_stamp(text) for text in params.get(name, (None, None)))) for name in _PERIODS}
        where = EntryFilter(digits=params.get("digits"), **periods)
        return cls(account_id=account_id, where=where, order=EntryOrder(params["order"]), offset=params.get("offset", 0), limit=params.get("limit"))


_PERIODS = ("created", "updated", "expires")


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime(RFC3339)


def csv_chunks(session: Session, query: ExportQuery, *, chunk_bytes: int = CHUNK_BYTES, counted: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """SMSAPI's export of the default list as CSV bytes, header first, in pieces of about `chunk_bytes`; nothing at all if no entry matches.

    `counted` is told how many rows each batch read holds, as the batches are read."""
    repository = EntryRepository(session)
    list_id = repository.list_id(account_id=query.account_id)
    if list_id is None:
        return iter(())
    statement = repository.smsapi_export(
        account_id=query.account_id, now=utcnow(), where=smsapi_view(query.where, list_id), order=query.order, offset=query.offset, limit=query.limit
    )
    return write_rows(HEADER, _counting(repository.export_batches(statement), counted), piece_bytes=chunk_bytes, header_if_empty=False)


def native_csv_chunks(
    session: Session, *, account_id: int, where: EntryFilter, order: EntryOrder = EntryOrder.created_at_desc, chunk_bytes: int = CHUNK_BYTES,
    counted: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """The native export (every list of the account, filtered, in `order`) as CSV bytes; nothing at all if no entry matches."""
    repository = EntryRepository(session)
    # The statement's columns are the header's, in its order, already as the file shows them.
    batches = repository.export_batches(repository.native_export(account_id=account_id, now=utcnow(), where=where, order=order))
    return write_rows(NATIVE_HEADER, _counting(batches, counted), piece_bytes=chunk_bytes, header_if_empty=False)


def native_csv_page(
    session: Session, *, account_id: int, where: EntryFilter, order: EntryOrder, after: Cursor | None, offset: int, limit: int, now: datetime, base: datetime
) -> tuple[bytes | None, str | None]:
    """The page of entries the native JSON listing answers for the same filters, order and paging, as the native export
    writes them (None when it is empty), and the cursor of the next page (None on the last)."""
    _size, rows, next_cursor = lists.find(
        session, account_id=account_id, where=where, order=order, after=after, offset=offset, limit=limit, now=now, base=base, counted=False
    )
    if not rows:
        return None, None
    return b"".join(write_rows(NATIVE_HEADER, [[_native_cells(row) for row in rows]])), next_cursor


def _native_cells(row: EntryRow) -> list:
    """An entry's cells under NATIVE_HEADER, whose names are its JSON fields', guarded as native_export guards them,
    and its id a number, as native_export reads it: the page's bytes are the export's."""
    entry = render.native(row)
    entry["id"] = int(entry["id"])
    return [guard(entry[name]) if name in GUARDED_COLUMNS and entry[name] is not None else entry[name] for name in NATIVE_HEADER]


def _counting(batches: Iterator[list], counted: Callable[[int], None] | None) -> Iterator[list]:
    """The batches, each one's size told to `counted` as it is read: rows, which the file's lines are not (a note may hold line breaks)."""
    if counted is None:
        return batches

    def telling() -> Iterator[list]:
        try:
            for batch in batches:
                counted(len(batch))
                yield batch
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()

    return telling()


def unless_empty(chunks: Iterator[bytes]) -> Iterator[bytes] | None:
    """The same stream, or None when it yields nothing (the caller answers 204); closing it closes `chunks`."""
    try:
        first = next(chunks)
    except StopIteration:
        return None

    def whole() -> Iterator[bytes]:
        try:
            yield first
            yield from chunks
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    return whole()


def queue_export(*, session: Session, query: ExportQuery, max_queued: int):
    """Queue an x-async export; its job id is the file id clients poll.

    At most `max_queued` exports of an account may be queued or running: each holds a worker for
    a while and its file for the retention, so one more is TooManyExports. The job is inserted
    first and counted with the account locked, so racing requests are counted exactly: SQLite
    takes its one write lock at the insert, PostgreSQL queues them on the account's row.
    """
    jobs = JobRepository(session)
    job = jobs.enqueue(account_id=query.account_id, kind=KIND, params=query.as_params())
    if jobs.count_pending(account_id=query.account_id, kind=KIND, lock_account=True) > max_queued:
        raise TooManyExports(
            f"This account already has {max_queued} x-async exports queued or running (STOPLIST_MAX_QUEUED_EXPORTS); "
            "fetch them or let them finish first."
        )
    return job
