"""The import job: reads the stored upload and imports it, resuming after the last committed batch."""

from sqlalchemy.orm import Session

from stoplist.files.stream import open_stored_file
from stoplist.imports.csv_format import CsvFormatError
from stoplist.imports.service import ImportCounts, Rejection, import_origin, import_rows
from stoplist.jobs.repository import JobRepository
from stoplist.jobs.worker import JobContext, JobFailed


def run_import(context: JobContext) -> tuple[dict, str | None]:
    """Import the job's upload; rows committed before a failure stay counted."""
    start = ImportCounts.from_progress(context.progress)

    def reject(session: Session, rejections: list[Rejection]) -> None:
        JobRepository(session).add_rejections(job_id=context.job_id, rejections=rejections)

    def commit(session: Session, counts: ImportCounts) -> None:
        context.commit(session, counts.as_progress())

    with context.session_factory() as reader, context.session_factory() as writer:
        try:
            counts = import_rows(
                open_stored_file(reader, context.input_file_id or ""),
                session=writer, account_id=context.account_id, default_region=context.settings.default_region,
                start=start, commit=commit, reject=reject, origin=import_origin(context.job_id, context.params),
            )
        except CsvFormatError as exc:
            raise JobFailed("invalid_csv", exc.message) from None
    return counts.as_progress(), None
