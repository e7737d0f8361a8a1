"""`/files/{file_id}`: the result of an x-async export, once its job is done."""

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stoplist.auth.deps import ReadPrincipal
from stoplist.db import transaction
from stoplist.downloads import AUTH_ERRORS, BUSY, streaming_session
from stoplist.errors import ErrorBody, ExportFailed, FileNotFound
from stoplist.files.models import EXPORT_JOB
from stoplist.files.repository import FileRepository
from stoplist.files.schemas import FilePending
from stoplist.jobs.models import DONE, FAILED
from stoplist.jobs.repository import JobRepository

router = APIRouter(prefix="/files", tags=["files"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The export, as CSV."},
    202: {"model": FilePending, "description": "Not ready yet: poll again."},
    204: {"description": "The export finished and nothing matched."},
    **AUTH_ERRORS,
    404: {"model": ErrorBody, "description": "No such file on your account, or it was removed after the retention period."},
    500: {"model": ErrorBody, "description": "The export job failed (`export_failed`)."},
    **BUSY,
}


@router.get("/{file_id}", response_class=Response, responses=_RESPONSES, summary="Download an x-async export")
def get_file(principal: ReadPrincipal, request: Request, file_id: str) -> Response:
    # The job is looked up on the request pool: polling a pending export takes no download slot.
    with transaction(request.app.state.session_factory) as session:
        job = JobRepository(session).get(account_id=principal.owner_id, job_id=file_id, kind=EXPORT_JOB)
    if job is None:
        raise FileNotFound()
    if job.status == FAILED:
        raise ExportFailed(f"The export failed: {job.error_message}")
    if job.status != DONE:
        return JSONResponse(FilePending(status=job.status).model_dump(), status_code=202)
    if job.output_file_id is None or job.progress_data.get("bytes", 0) == 0:
        return Response(status_code=204)
    with streaming_session(request) as reader:
        return reader.csv(FileRepository(reader.session).chunks(file_id=job.output_file_id), f"blacklist-{file_id}.csv")
