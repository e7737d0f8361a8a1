"""`stoplist import`: a CSV straight into the database, with a progress bar and the API's counts."""

import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

import rich.progress
from rich.console import Console
from sqlalchemy.orm import Session

from stoplist import interrupts
from stoplist.audit.trail import Origin
from stoplist.imports.csv_format import CsvFormatError, NotCsvText, UploadChecker
from stoplist.imports.csv_writer import header_text, rows_text
from stoplist.imports.service import SHOWN_REJECTIONS, ImportCounts, Rejection, import_rows

__all__ = ["CsvFormatError", "ImportStopped", "NotCsvText", "import_file"]

REJECTS_HEADER = ("line", "value", "message")  # as the API's errors_url, neutralised the same way
STDIN = Path("-")  # `stoplist import -`: the CSV from standard input
STDOUT = STDIN  # `--rejects -`: the rejected rows on standard output


class ImportStopped(Exception):
    """An import stopped midway: Ctrl-C or SIGTERM, or its rejected rows could not be written (a full disk, a reader of
    standard output that went, `--rejects - | head`). What the batches committed before it hold stays; the batch under
    way does not, its rejected rows being written before it commits. `status`: the exit status due; `why`: the error
    that stopped it, for the operator (None for a signal)."""

    def __init__(self, committed: ImportCounts, status: object, *, why: str | None = None, whole: bool = False) -> None:
        super().__init__(f"stopped after line {committed.line}")
        self.committed, self.status, self.why = committed, status, why
        self.whole = whole  # every line is imported: only the last rejected rows could not be written


@contextmanager
def _readable_twice(path: Path) -> Iterator[Path]:
    """`path` itself when it is a file; else (standard input, a pipe such as /dev/stdin or <(zcat …)) a copy
    of what it gives, spooled to a temporary file: the file is read twice (its text checked, then imported), and a
    pipe gives its rows once, so the second read found none and a piped import counted 0 rows."""
    if path != STDIN and path.is_file():
        yield path
        return
    with ExitStack() as removed:
        with interrupts.held():  # a SIGTERM just after the file was made left it behind
            spool = removed.enter_context(tempfile.NamedTemporaryFile(prefix="stoplist-import-", suffix=".csv"))
        with (nullcontext(sys.stdin.buffer) if path == STDIN else path.open("rb")) as source:
            shutil.copyfileobj(source, spool, 1 << 20)
        spool.flush()
        yield Path(spool.name)


def check_text(path: Path) -> None:
    """Refuse what the API refuses at upload: a file that is not UTF-8 CSV text."""
    checker = UploadChecker()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            checker.feed(chunk)
    checker.close()


def import_file(
    path: Path, *, session: Session, account_id: int, default_region: str | None, rejects_path: Path | None = None, origin: Origin = Origin("cli")
) -> tuple[ImportCounts, list[Rejection]]:
    """Import `path`, committing batch by batch; return the counts and the first rejected rows.

    A restore: the entries a native file creates keep the created_at, updated_at and source it gives them.
    `path` may be STDIN, or a pipe: what it gives is spooled to a temporary file first."""
    with _readable_twice(path) as readable:
        return _import(readable, session=session, account_id=account_id, default_region=default_region, rejects_path=rejects_path, origin=origin,
                       name="standard input" if path == STDIN else path.name if readable == path else str(path))  # a pipe: /dev/fd/63, not 63


class _Rejects:
    """Where rejected rows are written, as CSV: a file, or standard output (`-`), through a descriptor of its own that a
    buffered writer fills whole (`sys.stdout.buffer` is a raw file under PYTHONUNBUFFERED=1, and the short write of a
    pipe whose reader went lost the rest of the rows unnoticed). An error writing them stops the import (ImportStopped), naming what could not be written."""

    def __init__(self, path: Path) -> None:
        self.shown = "standard output (--rejects -)" if path == STDOUT else f"--rejects {path}"
        # Opened at once, before any row is read: a path that cannot be written is the command's error (OSError, named).
        self._file = _standard_output() if path == STDOUT else path.open("w", encoding="utf-8", newline="")

    def write(self, text: str) -> None:
        self._done(self._file.write, text)

    def close(self) -> None:
        """Flush and close: where a failed write of the last rows shows."""
        self._done(self._file.close)

    def abandon(self) -> None:
        """Close after an error: what the buffer holds goes nowhere."""
        try:
            self._file.close()
        except OSError:
            pass

    def _done(self, action, *args) -> None:
        try:
            action(*args)
        except BrokenPipeError:
            raise _RejectsLost(f"{self.shown}: its reader went") from None
        except OSError as exc:
            raise _RejectsLost(f"cannot write {self.shown}: {exc.strerror or exc}") from None


def _standard_output():
    if sys.stdout is None:  # closed when the command started (`>&-`)
        raise OSError(errno.EBADF, "standard output is closed", "-")
    try:
        return open(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", newline="")
    except (OSError, ValueError):  # no descriptor behind it: a test's runner, which captures what is written
        return _Captured()


class _Captured:
    """Standard output with no descriptor: written through its own buffer, which stays open."""

    def write(self, text: str) -> None:
        sys.stdout.buffer.write(text.encode("utf-8"))

    def close(self) -> None:
        sys.stdout.buffer.flush()


class _RejectsLost(Exception):
    """Rejected rows that could not be written: the import stops there."""


def _import(
    path: Path, *, session: Session, account_id: int, default_region: str | None, rejects_path: Path | None, origin: Origin, name: str
) -> tuple[ImportCounts, list[Rejection]]:
    check_text(path)
    shown: list[Rejection] = []
    rejects = _Rejects(rejects_path) if rejects_path is not None else None

    def reject(_session: Session, rejections: list[Rejection]) -> None:
        shown.extend(rejections[: SHOWN_REJECTIONS - len(shown)])
        if rejects:
            rejects.write(rows_text(REJECTS_HEADER, rejections))

    committed = ImportCounts()

    def commit(batch_session: Session, counts: ImportCounts) -> None:
        nonlocal committed
        batch_session.commit()
        committed = counts

    try:
        if rejects:
            rejects.write(header_text(REJECTS_HEADER))
        with rich.progress.open(path, "rb", description=f"Importing {name}", console=Console(stderr=True)) as stream:
            counts = import_rows(
                stream, session=session, account_id=account_id, default_region=default_region, start=ImportCounts(),
                commit=commit, reject=reject, origin=origin, restore=True,
            )
        if rejects:
            rejects, written = None, rejects
            try:
                written.close()
            except _RejectsLost as lost:
                raise ImportStopped(counts, 1, why=str(lost), whole=True) from None
    except (KeyboardInterrupt, SystemExit) as stopped:
        raise ImportStopped(committed, 130 if isinstance(stopped, KeyboardInterrupt) else stopped.code) from None
    except _RejectsLost as lost:
        raise ImportStopped(committed, 1, why=str(lost)) from None
    finally:
        if rejects:
            rejects.abandon()
    return counts, shown
