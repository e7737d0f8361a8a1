"""`stoplist import`: a CSV straight into the database, with a progress bar and the API's counts."""

from pathlib import Path

import rich.progress
from rich.console import Console
from sqlalchemy.orm import Session

from stoplist.audit.trail import Origin
from stoplist.imports.csv_format import CsvFormatError, NotCsvText, UploadChecker
from stoplist.imports.csv_writer import header_text, rows_text
from stoplist.imports.service import SHOWN_REJECTIONS, ImportCounts, Rejection, import_rows

__all__ = ["CsvFormatError", "NotCsvText", "import_file"]

REJECTS_HEADER = ("line", "value", "message")  # as the API's errors_url, neutralised the same way


def check_text(path: Path) -> None:
    """Refuse what the API refuses at upload: a file that is not UTF-8 CSV text."""
    checker = UploadChecker()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            checker.feed(chunk)
    checker.close()


def import_file(
    path: Path, *, session: Session, account_id: int, default_region: str | None, rejects_path: Path | None = None
) -> tuple[ImportCounts, list[Rejection]]:
    """Import `path`, committing batch by batch; return the counts and the first rejected rows.

    A restore: the entries a native file creates keep the created_at, updated_at and source it gives them."""
    check_text(path)
    shown: list[Rejection] = []
    rejects = rejects_path.open("w", encoding="utf-8", newline="") if rejects_path else None
    if rejects:
        rejects.write(header_text(REJECTS_HEADER))

    def reject(_session: Session, rejections: list[Rejection]) -> None:
        shown.extend(rejections[: SHOWN_REJECTIONS - len(shown)])
        if rejects:
            rejects.write(rows_text(REJECTS_HEADER, rejections))

    try:
        with rich.progress.open(path, "rb", description=f"Importing {path.name}", console=Console(stderr=True)) as stream:
            counts = import_rows(
                stream, session=session, account_id=account_id, default_region=default_region, start=ImportCounts(),
                commit=lambda batch_session, _counts: batch_session.commit(), reject=reject, origin=Origin("cli"), restore=True,
            )
    finally:
        if rejects:
            rejects.close()
    return counts, shown
