"""Exports: the blacklist as CSV, streamed from the database in constant memory."""

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from stoplist.blacklist.repository import EntryRepository
from stoplist.blacklist.schemas import EntryOrder
from stoplist.db import utcnow
from stoplist.imports.csv_format import HEADER, write_rows
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
    """The export as CSV bytes, header first, in pieces of about `chunk_bytes`; nothing at all if no entry matches."""
    batches = EntryRepository(session).export_batches(
        account_id=query.account_id, now=utcnow(), digits=query.digits, order=query.order, offset=query.offset, limit=query.limit
    )
    return write_rows(HEADER, batches, piece_bytes=chunk_bytes, header_if_empty=False)


def unless_empty(chunks: Iterator[bytes]) -> Iterator[bytes] | None:
    """The same stream, or None when it yields nothing (the caller answers 204)."""
    try:
        first = next(chunks)
    except StopIteration:
        return None
    return itertools.chain((first,), chunks)


def queue_export(*, session: Session, query: ExportQuery):
    """Queue an x-async export; its job id is the file id clients poll."""
    return JobRepository(session).enqueue(account_id=query.account_id, kind=KIND, params=query.as_params())
