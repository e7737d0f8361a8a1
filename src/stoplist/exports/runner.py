"""The x-async export job: writes the CSV into a stored file that any instance can serve."""

from stoplist.db import utcnow
from stoplist.exports.service import KIND, ExportQuery, csv_chunks
from stoplist.files.repository import CHUNK_SIZE, FileRepository
from stoplist.jobs.worker import JobContext

def run_export(context: JobContext) -> tuple[dict, str | None]:
    """Write the export from scratch (a retry starts over), committing about a megabyte at a time."""
    query = ExportQuery.from_params(context.account_id, context.params)
    with context.session_factory() as writer:
        files = FileRepository(writer)
        output_id = context.progress.get("file_id")
        if output_id:
            files.truncate(file_id=output_id)
        else:
            output_id = files.create(account_id=context.account_id, kind=KIND, now=utcnow()).id
        context.commit(writer, {"file_id": output_id, "bytes": 0})
        written = 0
        with context.session_factory() as reader:
            for chunk in csv_chunks(reader, query, chunk_bytes=CHUNK_SIZE):
                files.append(file_id=output_id, data=chunk)
                written += len(chunk)
                context.commit(writer, {"file_id": output_id, "bytes": written})
        progress = {"file_id": output_id, "bytes": written}
        context.commit(writer, progress)
    return progress, output_id
