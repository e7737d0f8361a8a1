"""`stoplist export`: an account's list straight from the database to a CSV file, with a progress bar."""

from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from sqlalchemy.orm import Session

from stoplist.db import utcnow
from stoplist.lists.repository import EntryRepository
from stoplist.exports.service import ExportQuery, csv_chunks


def export_file(path: Path, *, session: Session, account_id: int) -> int:
    """Write the account's live entries to `path` in the API's CSV format; return how many rows."""
    repository = EntryRepository(session)
    list_id = repository.list_id(account_id=account_id)
    total = 0 if list_id is None else repository.count(account_id=account_id, list_id=list_id, now=utcnow(), digits=None)
    written = 0
    with path.open("wb") as target, Progress(console=Console(stderr=True)) as progress:
        task = progress.add_task(f"Exporting to {path.name}", total=total)
        for chunk in csv_chunks(session, ExportQuery(account_id=account_id)):
            target.write(chunk)
            rows = chunk.count(b"\n") - (1 if written == 0 else 0)
            written += rows
            progress.advance(task, rows)
    return written
