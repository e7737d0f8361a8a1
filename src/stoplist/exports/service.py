"""Exports: the blacklist as CSV, streamed from the database in constant memory."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from stoplist.db import utcnow
from stoplist.lists.repository import EntryFilter, EntryRepository
from stoplist.lists.schemas import EntryOrder
from stoplist.errors import TooManyExports
from stoplist.imports.csv_format import HEADER, NATIVE_HEADER
from stoplist.imports.csv_writer import write_rows
from stoplist.jobs.repository import JobRepository

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


def csv_chunks(session: Session, query: ExportQuery, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """SMSAPI's export of the default list as CSV bytes, header first, in pieces of about `chunk_bytes`; nothing at all if no entry matches."""
    repository = EntryRepository(session)
    list_id = repository.list_id(account_id=query.account_id)
    if list_id is None:
        return iter(())
    statement = repository.smsapi_export(
        account_id=query.account_id, list_id=list_id, now=utcnow(), digits=query.digits, order=query.order, offset=query.offset, limit=query.limit
    )
    return write_rows(HEADER, repository.export_batches(statement), piece_bytes=chunk_bytes, header_if_empty=False)


def native_csv_chunks(session: Session, *, account_id: int, where: EntryFilter, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The native export (every list of the account, filtered, newest first) as CSV bytes; nothing at all if no entry matches."""
    repository = EntryRepository(session)
    # The statement's columns are the header's, in its order, already as the file shows them.
    batches = repository.export_batches(repository.native_export(account_id=account_id, now=utcnow(), where=where))
    return write_rows(NATIVE_HEADER, batches, piece_bytes=chunk_bytes, header_if_empty=False)


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
