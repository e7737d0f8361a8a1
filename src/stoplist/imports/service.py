"""Imports: rows of a CSV put on their lists by the rules of POST, in batches committed with their counts."""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.db import utcnow
from stoplist.errors import ImportNotFound, InvalidAddress, InvalidExpiry, InvalidListScope, InvalidPhoneNumber
from stoplist.files.repository import CHUNK_SIZE, FileRepository
from stoplist.imports.csv_format import CsvRow, NativeRow, RowError, read_rows
from stoplist.imports.restore import InvalidRecord, recorded
from stoplist.jobs.models import Job
from stoplist.jobs.repository import JobRepository
from stoplist.lists.addresses import EMAIL, PHONE, address_and_display, address_fits
from stoplist.lists.expiry import parse_expire_at
from stoplist.lists.phone import normalize_phone_number
from stoplist.lists.service import EVERY_IN_CSV, channel_of, kind_of, note_of, reason_of, sender_of
from stoplist.lists.writer import EntryWriter, Row, merged

KIND = "import"
# Rows per committed batch. Each commit writes every index page the batch touched, and numbers
# land all over the unique and covering indexes: on a list of a million, batches of 5,000 rewrote
# most of those pages four times as often (1M rows into SQLite, in-process: 28.8 s -> 18.9 s). And
# each batch starts with a lookup and ends with a commit, where PostgreSQL's work and Python's
# cannot overlap (200,000 rows into PostgreSQL, in-process: 11.5-11.8 s in batches of 20,000,
# 10.2-10.8 s in batches of 50,000). Larger batches raise the peak of memory, which the allocator
# keeps (the same import: 114 MB resident after it in batches of 30,000, 122 MB in batches of
# 50,000). A resumed import redoes at most one batch; the lease is renewed after each (seconds).
BATCH_ROWS = 40_000
# Rows per write within a batch (see EntryWriter.upsert_many): an import's peak of small objects is
# that of a batch's lookups and of 5,000 rows' events, and so is what the allocator keeps
# afterwards. Each write is a few statements run in the background, and each statement's end
# waits for the interpreter's lock (on PostgreSQL, 2,000 rows a write took 12.4-13.2 s for the
# 200,000 rows above, 5,000 11.5-11.8 s).
WRITE_ROWS = 5_000
SHOWN_REJECTIONS = 100

Rejection = tuple[int, str, str]
Scope = tuple[str, str, str]  # a list's (kind, channel, sender's key)
Item = CsvRow | NativeRow | RowError


@dataclass
class ImportCounts:
    """How far an import got: `line` is the last file line taken into account."""

    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    line: int = 0

    def as_progress(self) -> dict:
        return asdict(self)

    def summary(self) -> dict:
        """What the job's `import` event says of it."""
        return {"rows": self.rows, "added": self.added, "updated": self.updated, "unchanged": self.unchanged, "invalid": self.invalid}

    @classmethod
    def from_progress(cls, progress: dict) -> "ImportCounts":
        return cls(**{key: progress.get(key, 0) for key in ("rows", "added", "updated", "unchanged", "invalid", "line")})


def store_upload(*, session: Session, account_id: int, path: Path, origin: Origin) -> Job:
    """Copy a received upload into the database (any worker can read it there) and queue its import,
    with the grounds its events will carry."""
    now = utcnow()
    stored = FileRepository(session).create(account_id=account_id, kind="upload", now=now)
    with path.open("rb") as source:
        while data := source.read(CHUNK_SIZE):
            FileRepository(session).append(file_id=stored.id, data=data)
    grounds = {
        "token_id": origin.token_id, "actor_account_id": origin.actor_account_id, "request_id": origin.request_id, "evidence": origin.evidence,
        "received_at": None if origin.received_at is None else origin.received_at.isoformat(),
    }
    return JobRepository(session).enqueue(account_id=account_id, kind=KIND, params={"origin": grounds}, input_file_id=stored.id)


def import_origin(job_id: str, params: dict) -> Origin:
    """The grounds of an import job's events: the upload's, and the job."""
    grounds = params.get("origin") or {}
    received_at = grounds.get("received_at")
    return Origin(
        "import", token_id=grounds.get("token_id"), actor_account_id=grounds.get("actor_account_id"), job_id=job_id, request_id=grounds.get("request_id"), evidence=grounds.get("evidence"),
        received_at=None if received_at is None else datetime.fromisoformat(received_at),
    )


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
    origin: Origin,
    restore: bool = False,
) -> ImportCounts:
    """Import a CSV stream from where `start` left off; each batch is committed with its counts, so a rerun resumes exactly.

    The last commit also records the job's one `import` event (when there is a job): a rerun
    after it finds nothing left to import and records no second one. With `restore` (`stoplist
    import`), the entries a native file creates keep its created_at, updated_at and source."""
    counts = ImportCounts(**start.as_progress())
    source = origin.source
    writer = EntryWriter(session, origin)
    list_id: int | None = None
    lists = _Lists(writer, account_id)
    with _Committer(writer, commit, reject) as committer:
        for batch in _batches(item for item in read_rows(stream) if item.line > start.line):
            # Read and checked while the batch before commits: neither touches the writer's session.
            now = utcnow()
            native = _is_native(batch)
            parsed = _native_batch(batch, default_region=default_region, now=now, restore=restore) if native else _phone_batch(batch, default_region=default_region, now=now)
            committer.wait()
            if native:
                scoped, rejected, duplicates = parsed
                rows = [row._replace(list_id=lists.id(scope, now, shown)) for scope, shown, row in scoped]
            else:
                accepted, rejected, duplicates = parsed
                if list_id is None and accepted:
                    list_id = writer.list_id(account_id=account_id, now=now)
                rows = [Row(list_id, number, PHONE, expiry, None) for number, expiry in accepted.items()]  # type: ignore[arg-type]
            size, line = len(batch), batch[-1].line
            # The batch as read and as checked goes before the write: a batch's peak of memory is what it writes.
            batch = parsed = scoped = accepted = None  # type: ignore[assignment]
            _write(session, writer, account_id, counts, size, line, rows, rejected, duplicates, source=source, now=now, commit=committer.start)
        committer.wait()
        if origin.job_id is not None and writer.record_summary(account_id=account_id, summary=counts.summary(), now=utcnow()):
            commit(session, counts)
    return counts


class _Committer:
    """Finishes each batch on a thread of its own, so that the next batch is read and checked
    meanwhile: it waits for the writer's last writes (they run in the background),
    records the rejections and commits, which is mostly the database writing pages, with the
    interpreter's lock let go. One batch at a time; `wait` hands on its error. The session is used
    by one thread at a time: the caller touches it only after `wait`."""

    def __init__(self, writer: EntryWriter, commit: Callable[[Session, ImportCounts], None], reject: Callable[[Session, list[Rejection]], None]) -> None:
        self._writer = writer
        self._commit = commit
        self._reject = reject
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stoplist-import-commit")
        self._pending: Future | None = None

    def start(self, session: Session, counts: ImportCounts, rejected: list[Rejection]) -> None:
        self.wait()
        self._pending = self._executor.submit(self._finish, session, ImportCounts(**counts.as_progress()), rejected)

    def _finish(self, session: Session, counts: ImportCounts, rejected: list[Rejection]) -> None:
        self._writer.wait()
        self._reject(session, rejected)
        self._commit(session, counts)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> "_Committer":
        return self

    def __exit__(self, *_exc) -> None:
        try:
            self.wait()
        finally:
            try:
                self._writer.wait()  # writes left running by a batch that failed before its commit
            finally:
                self._executor.shutdown()


def _write(
    session: Session, writer: EntryWriter, account_id: int, counts: ImportCounts, size: int, line: int, rows: list[Row],
    rejected: list[Rejection], duplicates: "Repeats", *, source: str, now: datetime, commit: Callable[[Session, ImportCounts, list[Rejection]], None],
) -> None:
    """Write one batch's accepted rows and rejections, and commit them with the counts (in the
    background: see _Committer); the batch had `size` rows, up to file line `line`.

    The rows go in order of their key, WRITE_ROWS at a time (see EntryWriter.upsert_many)."""
    # By (list_id, address): by address, then (stable) by list. Each sort compares one type, which
    # list.sort does in C, not tuples: 20,000 rows in 9 ms instead of 25.
    rows.sort(key=_ADDRESS)
    rows.sort(key=_LIST)
    written = writer.upsert_many(account_id=account_id, rows=rows, source=source, now=now, per_write=WRITE_ROWS, background=True)
    counts.rows += size
    counts.added += written.added
    counts.updated += written.updated + duplicates.updated
    counts.unchanged += written.unchanged + duplicates.unchanged
    counts.invalid += len(rejected)
    counts.line = line
    commit(session, counts, rejected)


_LIST, _ADDRESS = itemgetter(0), itemgetter(1)  # a Row's list_id and address


class Repeats:
    """Rows of a batch that repeat an earlier row's list and address: they count as `updated` when
    they change what the earlier one said, as `unchanged` when they say the same."""

    __slots__ = ("updated", "unchanged")

    def __init__(self) -> None:
        self.updated = self.unchanged = 0

    def count(self, same: bool) -> None:
        if same:
            self.unchanged += 1
        else:
            self.updated += 1


def _phone_batch(batch: list[Item], *, default_region: str | None, now: datetime) -> tuple[dict[str, datetime | None], list[Rejection], Repeats]:
    """A batch of today's layouts: (expiry by number, rejections, rows that repeat an earlier number)."""
    accepted: dict[str, datetime | None] = {}
    rejected: list[Rejection] = []
    duplicates = Repeats()
    for item in batch:
        if isinstance(item, RowError):
            rejected.append((item.line, item.value, item.message))
            continue
        if not isinstance(item, CsvRow):
            raise TypeError(f"line {item.line}: a row of the native layout in a file of phone numbers")
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
            # Listed earlier in the same batch: the later row's expiry wins.
            duplicates.count(accepted[number] == expire_at)
        accepted[number] = expire_at
    return accepted, rejected, duplicates


def _is_native(batch: list[Item]) -> bool:
    """Whether the batch's rows are of the native layout (a file has one layout, so its first good row tells)."""
    first = next((item for item in batch if not isinstance(item, RowError)), None)
    return isinstance(first, NativeRow)


class _Lists:
    """The ids of the account's lists by scope, found or created once per import."""

    def __init__(self, writer: EntryWriter, account_id: int) -> None:
        self._writer = writer
        self._account_id = account_id
        self._ids: dict[Scope, int] = {}

    def id(self, scope: Scope, now: datetime, sender_display: str | None) -> int:
        """The list of `scope`; one created now shows `sender_display`."""
        found = self._ids.get(scope)
        if found is None:
            kind, channel, sender = scope
            found = self._ids[scope] = self._writer.list_id(
                account_id=self._account_id, kind=kind, channel=channel, sender=sender, sender_display=sender_display, now=now
            )
        return found


def _native_batch(
    batch: list[Item], *, default_region: str | None, now: datetime, restore: bool
) -> tuple[list[tuple[Scope, str | None, Row]], list[Rejection], Repeats]:
    """A batch of the native layout: each row with the scope of its list and the sender's spelling to
    show, by the rules of POST /blacklist/entries (its list_id is a stand-in, until the list is found
    or created). Rows are keyed by scope and address key: `ACME` and `acme` are one sender, `Jan@` and
    `jan@` one address, and each keeps the spelling it was first given in."""
    accepted: dict[tuple[Scope, str], tuple[Scope, str | None, Row]] = {}
    rejected: list[Rejection] = []
    duplicates = Repeats()
    for item in batch:
        if isinstance(item, RowError):
            rejected.append((item.line, item.value, item.message))
            continue
        if not isinstance(item, NativeRow):
            raise TypeError(f"line {item.line}: a row of phone numbers in a file of the native layout")
        try:
            scope, shown, row = _native(item, default_region=default_region, now=now, restore=restore)
        except (InvalidAddress, InvalidListScope, InvalidExpiry, InvalidRecord) as exc:
            rejected.append((item.line, item.value, exc.message))
            continue
        key = (scope, row.address)
        earlier = accepted.get(key)
        if earlier is not None:
            # On that list earlier in the same file: the later row wins; what it leaves empty, the
            # earlier row's instruction keeps (as two POSTs would), and so do the spellings shown.
            shown, row = earlier[1], merged(earlier[2], row)._replace(address_display=earlier[2].address_display)
            duplicates.count(row == earlier[2])
        accepted[key] = scope, shown, row
    return list(accepted.values()), rejected, duplicates


def _native(item: NativeRow, *, default_region: str | None, now: datetime, restore: bool) -> tuple[Scope, str | None, Row]:
    """One native row: the scope of its list, the sender as the list shows it (None: as its key), and the row."""
    raw = item.address
    if raw.isdigit():
        raw = "+" + raw  # a native export writes phone numbers as E.164 digits, whatever the default region
    kind, address, display = address_and_display(raw, default_region=default_region)
    channel = channel_of(item.channel, every=EVERY_IN_CSV)
    if not address_fits(kind, channel):
        reason = "an e-mail address goes only on lists of channel email or of every channel" if kind == EMAIL else "a phone number cannot go on a list of channel email"
        raise InvalidAddress(address, reason)
    sender = sender_of(item.sender, default_region=default_region, every=EVERY_IN_CSV)
    scope = (kind_of(item.list), channel, sender.key)
    # Validated before the list is looked up: a rejected row creates no list.
    reason, note, expire_at = reason_of(item.reason), note_of(item.note), parse_expire_at(item.expire_at, now=now)
    if not restore:
        # The API's import stamps its own time and source, whatever the file says.
        return scope, sender.shown, Row(0, address, kind, expire_at, reason, note, display)
    kept = recorded(created_at=item.created_at, updated_at=item.updated_at, source=item.source, now=now)
    row = Row(0, address, kind, expire_at, reason, note, display, created_at=kept.created_at, updated_at=kept.updated_at, source=kept.source)
    return scope, sender.shown, row


def _batches(items: Iterable[Item]) -> Iterator[list[Item]]:
    """Lists of BATCH_ROWS items; none is kept here once handed on (the caller frees each early)."""
    iterator = iter(items)
    return iter(lambda: list(islice(iterator, BATCH_ROWS)), [])


def _value(row: CsvRow) -> str:
    return row.phone_number if row.expire_at is None else f"{row.phone_number},{row.expire_at}"
