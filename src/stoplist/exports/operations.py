"""`stoplist export`: an account's entries straight from the database to a CSV file, with a progress bar."""

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager as ContextManager, contextmanager, nullcontext
from typing import BinaryIO
from enum import Enum
from pathlib import Path

from sqlalchemy.orm import Session

from stoplist import interrupts
from stoplist.db import utcnow
from stoplist.exports.service import ExportQuery, csv_chunks, native_csv_chunks
from stoplist.imports.csv_format import HEADER, NATIVE_HEADER
from stoplist.imports.csv_writer import header_text
from stoplist.lists.queries import EntryFilter
from stoplist.lists.repository import EntryRepository, smsapi_view


STDOUT = Path("-")  # `stoplist export -`: the CSV on standard output, for a pipe


@contextmanager
def _written(path: Path) -> Iterator[ContextManager[BinaryIO]]:
    """Where the export goes: standard output, a device or pipe as it is, or a file written under a name of its own
    beside the file `path` names (through a symbolic link) and renamed to it once whole, with the mode the file had
    (or a new file's). An export stopped midway (Ctrl-C, a full disk, a killed cron job) leaves no file of well-formed
    rows under the name, which would import back as a complete backup; the previous one stays. Where the directory
    cannot take another file, the file is written in place, as before."""
    if path == STDOUT:
        yield nullcontext(sys.stdout.buffer)
        return
    target = Path(os.path.realpath(path))
    if (target.exists() and not target.is_file()) or not os.access(target.parent, os.W_OK | os.X_OK):
        yield target.open("wb")
        return
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_umask()
    partial = None
    try:
        with interrupts.held():  # a SIGTERM just after the file was made left it behind
            descriptor, partial = tempfile.mkstemp(prefix=f".{target.name[:64]}.", suffix=".partial", dir=target.parent)
        os.fchmod(descriptor, mode)
        yield os.fdopen(descriptor, "wb")
        os.replace(partial, target)
    finally:
        if partial is not None:
            Path(partial).unlink(missing_ok=True)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


class Layout(str, Enum):
    """What `stoplist export` writes."""

    native = "native"  # every entry of every list, every field: what `stoplist import` restores
    smsapi = "smsapi"  # the phone numbers of the default list, in SMSAPI's four columns


def export_file(path: Path, *, session: Session, account_id: int, layout: Layout = Layout.native) -> int:
    """Write the account's live entries to `path` (STDOUT: standard output) in `layout`; return how many rows.
    With none, the file is the header alone, which every import reads as 0 rows."""
    repository = EntryRepository(session)
    now = utcnow()
    if layout is Layout.native:
        header = NATIVE_HEADER
        total = repository.count_found(account_id=account_id, now=now, where=EntryFilter())
    else:
        header = HEADER
        list_id = repository.list_id(account_id=account_id)
        total = 0 if list_id is None else repository.count_found(account_id=account_id, now=now, where=smsapi_view(EntryFilter(), list_id))
    written = 0
    # rich here, not at the top: `stoplist serve` imports this module (for Layout) and never shows a progress bar.
    from rich.console import Console
    from rich.progress import Progress

    with _written(path) as opened, opened as target, Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task("Exporting to standard output" if path == STDOUT else f"Exporting to {path.name}", total=total)

        def counted(rows: int) -> None:
            nonlocal written
            written += rows
            progress.advance(task, rows)

        if layout is Layout.native:
            chunks = native_csv_chunks(session, account_id=account_id, where=EntryFilter(), counted=counted)
        else:
            chunks = csv_chunks(session, ExportQuery(account_id=account_id), counted=counted)
        wrote = False
        # Closed here, whatever stops the loop (a pipe's reader gone: `stoplist export - | head`), while the
        # session it reads is open; left to the collector, it closed after the engine, with a traceback.
        try:
            for chunk in chunks:
                target.write(chunk)
                wrote = True
        finally:
            if (close := getattr(chunks, "close", None)) is not None:  # a generator; an empty export is a plain iterator
                close()
        if not wrote:
            target.write(header_text(header).encode())
        target.flush()
    return written
