"""Imports: rows of a CSV put on the list by the rules of POST, in batches committed with their counts."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from stoplist.db import utcnow
from stoplist.errors import ImportNotFound, InvalidExpiry, InvalidPhoneNumber
from stoplist.files.repository import CHUNK_SIZE, FileRepository
from stoplist.imports.csv_format import CsvRow, RowError, read_rows
from stoplist.jobs.models import Job
from stoplist.jobs.repository import JobRepository
from stoplist.lists.addresses import PHONE
from stoplist.lists.expiry import parse_expire_at
from stoplist.lists.phone import normalize_phone_number
from stoplist.lists.writer import EntryWriter, Row

KIND = "import"
# Rows per committed batch. Each commit writes every index page the batch touched, and numbers
# land all over the unique and covering indexes: on a list of a million, batches of 5,000 rewrote
# most of those pages four times as often (1M rows into SQLite, in-process: 28.8 s -> 18.9 s). A resumed
# import redoes at most one batch; the lease is renewed after each (well under a second).
BATCH_ROWS = 20_000
SHOWN_REJECTIONS = 100

Rejection = tuple[int, str, str]


@dataclass
class ImportCounts:
    """How far an import got: `line` is the last file line taken into account."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    invalid: int = 0
    line: int = 0

    def as_progress(self) -> dict:
        return asdict(self)

    @classmethod
    def from_progress(cls, progress: dict) -> "ImportCounts":
        return cls(**{key: progress.get(key, 0) for key in ("rows", "added", "updated", "invalid", "line")})


def store_upload(*, session: Session, account_id: int, path: Path) -> Job:
    """Copy a received upload into the database (any worker can read it there) and queue its import."""
    now = utcnow()
    stored = FileRepository(session).create(account_id=account_id, kind="upload", now=now)
    with path.open("rb") as source:
        while data := source.read(CHUNK_SIZE):
            FileRepository(session).append(file_id=stored.id, data=data)
    return JobRepository(session).enqueue(account_id=account_id, kind=KIND, params={}, input_file_id=stored.id)


def find_import(*, session: Session, account_id: int, job_id: str) -> Job:
    """An import of the account, or ImportNotFound."""
    job = JobRepository(session).get(account_id=account_id, job_id=job_id, kind=KIND)
    if job is None:
        raise ImportNotFound()
    return job


def get_import(*, session: Session, account_id: int, job_id: str) -> tuple[Job, ImportCounts, list]:
    """An import of the account, its counts, and its first rejected rows."""
    job = find_import(session=session, account_id=account_id, job_id=job_id)
    counts = ImportCounts.from_progress(job.progress_data)
    return job, counts, JobRepository(session).first_rejections(job_id=job.id, limit=SHOWN_REJECTIONS)


def import_rows(
    stream: BinaryIO,
    *,
    session: Session,
    account_id: int,
    default_region: str | None,
    start: ImportCounts,
    commit: Callable[[Session, ImportCounts], None],
    reject: Callable[[Session, list[Rejection]], None],
    source: str = "import",
) -> ImportCounts:
    """Import a CSV stream from where `start` left off; each batch is committed with its counts, so a rerun resumes exactly."""
    counts = ImportCounts(**start.as_progress())
    writer = EntryWriter(session)
    list_id: int | None = None
    for batch in _batches(item for item in read_rows(stream) if item.line > start.line):
        now = utcnow()
        accepted: dict[str, object] = {}
        rejected: list[Rejection] = []
        duplicates = 0
        for item in batch:
            if isinstance(item, RowError):
                rejected.append((item.line, item.value, item.message))
                continue
            try:
                raw = item.phone_number
                if item.exported and raw.isdigit():
                    raw = "+" + raw  # Stoplist's own export: E.164 digits, whatever the default region
                number = normalize_phone_number(raw, default_region=default_region)
                expire_at = parse_expire_at(item.expire_at, now=now)
            except (InvalidPhoneNumber, InvalidExpiry) as exc:
                rejected.append((item.line, _value(item), exc.message))
                continue
            if number in accepted:
                # Listed earlier in the same file: the later row's expiry wins, and it counts as an update.
                duplicates += 1
            accepted[number] = expire_at
        if list_id is None and accepted:
            list_id = writer.list_id(account_id=account_id, now=now)
        rows = [Row(list_id, number, PHONE, expiry, None) for number, expiry in accepted.items()]  # type: ignore[arg-type]
        added, updated = writer.upsert_many(account_id=account_id, rows=rows, source=source, now=now)
        reject(session, rejected)
        counts.rows += len(batch)
        counts.added += added
        counts.updated += updated + duplicates
        counts.invalid += len(rejected)
        counts.line = batch[-1].line
        commit(session, counts)
    return counts


def _batches(items: Iterable[CsvRow | RowError]) -> Iterator[list[CsvRow | RowError]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH_ROWS)):
        yield batch


def _value(row: CsvRow) -> str:
    return row.phone_number if row.expire_at is None else f"{row.phone_number},{row.expire_at}"
