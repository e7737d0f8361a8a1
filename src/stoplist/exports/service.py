"""Exports: the blacklist as CSV, streamed from the database in constant memory."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from stoplist.db import utcnow
from stoplist.lists import render
from stoplist.lists import service as lists
from stoplist.lists.repository import EntryFilter, EntryRepository, EntryRow
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
    """Which entries to export: the same filters as the JSON list, and optional chunking."""

    account_id: int
    digits: str | None = None
    order: EntryOrder = EntryOrder.created_at_desc
    offset: int = 0
    limit: int | None = None

    def as_params(self) -> dict:
        return {"digits": self.digits, "order": self.order.value, "offset": self.offset, "limit": self.limit}

    @classmethod
    def from_params(cls, account_id: int, params: dict) -> "ExportQuery":
        return cls(account_id=account_id, digits=params.get("digits"), order=EntryOrder(params["order"]), offset=params.get("offset", 0), limit=params.get("limit"))


def csv_chunks(session: Session, query: ExportQuery, *, chunk_bytes: int = CHUNK_BYTES, counted: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """SMSAPI's export of the default list as CSV bytes, header first, in pieces of about `chunk_bytes`; nothing at all if no entry matches.

    `counted` is told how many rows each batch read holds, as the batches are read."""
    repository = EntryRepository(session)
    list_id = repository.list_id(account_id=query.account_id)
    if list_id is None:
        return iter(())
    statement = repository.smsapi_export(
        account_id=query.account_id, list_id=list_id, now=utcnow(), digits=query.digits, order=query.order, offset=query.offset, limit=query.limit
    )
    return write_rows(HEADER, _counting(repository.export_batches(statement), counted), piece_bytes=chunk_bytes, header_if_empty=False)


def native_csv_chunks(
    session: Session, *, account_id: int, where: EntryFilter, chunk_bytes: int = CHUNK_BYTES, counted: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The native export (every list of the account, filtered, newest first) as CSV bytes; nothing at all if no entry matches."""
    repository = EntryRepository(session)
    # The statement's columns are the header's, in its order, already as the file shows them.
    batches = repository.export_batches(repository.native_export(account_id=account_id, now=utcnow(), where=where))
    return write_rows(NATIVE_HEADER, _counting(batches, counted), piece_bytes=chunk_bytes, header_if_empty=False)


def native_csv_page(
    session: Session, *, account_id: int, where: EntryFilter, cursor: str | None, offset: int, limit: int
) -> tuple[bytes | None, str | None]:
    """The page of entries the native JSON listing answers for the same filters and paging, as the native export
    writes them (None when it is empty), and the cursor of the next page (None on the last)."""
    _size, rows, next_cursor = lists.find(session, account_id=account_id, where=where, cursor=cursor, offset=offset, limit=limit, counted=False)
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
