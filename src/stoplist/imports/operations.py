"""`stoplist import`: a CSV straight into the database, with a progress bar and the API's counts."""

import io
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TextIO

import rich.progress
from rich.console import Console
from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.imports.csv_format import CsvFormatError, NotCsvText, UploadChecker
from stoplist.imports.csv_writer import header_text, rows_text
from stoplist.imports.service import SHOWN_REJECTIONS, ImportCounts, Rejection, import_rows

__all__ = ["CsvFormatError", "ImportStopped", "NotCsvText", "import_file"]

REJECTS_HEADER = ("line", "value", "message")  # as the API's errors_url, neutralised the same way
STDIN = Path("-")  # `stoplist import -`: the CSV from standard input
STDOUT = STDIN  # `--rejects -`: the rejected rows on standard output


class ImportStopped(Exception):
    """Ctrl-C or SIGTERM midway, or standard output closed under `--rejects -` (`| head`): what the batches committed
    before it hold (they stay; the one under way does not). `status`: the exit status due."""

    def __init__(self, committed: ImportCounts, status: object, *, reader_gone: bool = False) -> None:
        super().__init__(f"stopped after line {committed.line}")
        self.committed, self.status, self.reader_gone = committed, status, reader_gone


@contextmanager
def _readable_twice(path: Path) -> Iterator[Path]:
    """`path` itself when it is a file; else (standard input, a pipe such as /dev/stdin or <(zcat …)) a copy
    of what it gives, spooled to a temporary file: the file is read twice (its text checked, then imported), and a
    pipe gives its rows once, so the second read found none and a piped import counted 0 rows."""
    if path != STDIN and path.is_file():
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="stoplist-import-", suffix=".csv") as spool:
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


def _rejects_file(path: Path | None) -> TextIO | None:
    """Where rejected rows are written: the file, or standard output (left open; its rows are the API's bytes, CRLF and all)."""
    if path is None:
        return None
    if path == STDOUT:
        return _Unclosed(sys.stdout.buffer, encoding="utf-8", newline="", write_through=True)
    return path.open("w", encoding="utf-8", newline="")


class _Unclosed(io.TextIOWrapper):
    """Standard output as a text file the import closes when done: flushed, and left open for what the command says next."""

    def close(self) -> None:
        if not getattr(self, "_left", False):  # once: the finaliser closes it again
            self._left = True
            try:
                self.flush()
            except BrokenPipeError:
                pass  # the reader went: said by ImportStopped
            self.detach()


def _import(
    path: Path, *, session: Session, account_id: int, default_region: str | None, rejects_path: Path | None, origin: Origin, name: str
) -> tuple[ImportCounts, list[Rejection]]:
    check_text(path)
    shown: list[Rejection] = []
    rejects = _rejects_file(rejects_path)
    if rejects:
        rejects.write(header_text(REJECTS_HEADER))

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
        with rich.progress.open(path, "rb", description=f"Importing {name}", console=Console(stderr=True)) as stream:
            counts = import_rows(
                stream, session=session, account_id=account_id, default_region=default_region, start=ImportCounts(),
                commit=commit, reject=reject, origin=origin, restore=True,
            )
    except (KeyboardInterrupt, SystemExit) as stopped:
        raise ImportStopped(committed, 130 if isinstance(stopped, KeyboardInterrupt) else stopped.code) from None
    except BrokenPipeError:  # only standard output breaks a pipe here: a file's error is another OSError
        raise ImportStopped(committed, 1, reader_gone=True) from None
    finally:
        if rejects:
            rejects.close()
    return counts, shown
