"""`/blacklist/phone_numbers/imports`: upload a CSV, follow its import, download its rejected rows."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from stoplist.audit.origin import EVIDENCE_BEYOND_SCHEMA, RECEIVED_AT_ACCEPTED, EvidenceQuery, ReceivedAtQuery, api_origin
from stoplist.audit.trail import Origin
from stoplist.auth.deps import BlacklistPrincipal, ReadPrincipal, SessionDep
from stoplist.db import transaction, utcnow
from stoplist.downloads import AUTH_ERRORS, BUSY, streaming_session
from stoplist.errors import ErrorBody, InvalidCsv, InvalidEvidence, beyond_schema
from stoplist.imports import service
from stoplist.imports.csv_writer import write_rows
from stoplist.imports.schemas import ImportStatus, RejectedRow
from stoplist.imports.upload import receive_upload
from stoplist.jobs.models import FAILED
from stoplist.jobs.repository import JobRepository

router = APIRouter(prefix="/blacklist/phone_numbers/imports", tags=["imports"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Not CSV text (`invalid_csv`), or no `import` field."},
    **AUTH_ERRORS,
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "No such import on your account."}}


def status_of(job, counts: service.ImportCounts, rejections) -> ImportStatus:
    return ImportStatus(
        id=job.id, status=job.status, rows=counts.rows, added=counts.added, updated=counts.updated, unchanged=counts.unchanged, invalid=counts.invalid,
        errors=[RejectedRow(line=r.line, value=r.value, message=r.message) for r in rejections],
        errors_url=f"/blacklist/phone_numbers/imports/{job.id}/errors",
        error=ErrorBody(error=job.error_code or "import_failed", message=job.error_message or "") if job.status == FAILED else None,
        created_at=job.created_at, finished_at=job.finished_at,
    )


@router.post(
    "",
    status_code=202,
    response_model=ImportStatus,
    responses={**_ERRORS, 413: {"model": ErrorBody, "description": "Larger than STOPLIST_MAX_UPLOAD_BYTES."}, 415: {"model": ErrorBody, "description": "Neither text/csv nor multipart."}},
    summary="Upload a CSV to import",
    openapi_extra={
        **beyond_schema(
            {InvalidCsv: "whether bytes are UTF-8 CSV text, which no schema of a string or a file can say", InvalidEvidence: EVIDENCE_BEYOND_SCHEMA},
            accepted={"received_at": RECEIVED_AT_ACCEPTED},
        ),
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string", "minLength": 1}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {"import": {"type": "string", "format": "binary"}}, "required": ["import"], "additionalProperties": False}},
            },
        }
    },
)
async def create_import(
    request: Request, principal: BlacklistPrincipal, evidence: EvidenceQuery = None, received_at: ReceivedAtQuery = None
) -> ImportStatus:
    # Read before the upload: a bad one is refused before the body is received.
    origin = api_origin(request, principal, evidence=evidence, received_at=received_at, now=utcnow(), source="import")
    path = await receive_upload(request, max_bytes=request.app.state.settings.max_upload_bytes)
    try:
        return await run_in_threadpool(_queue, request.app.state.session_factory, principal.owner_id, path, origin)
    finally:
        path.unlink(missing_ok=True)


def _queue(session_factory, account_id: int, path, origin: Origin) -> ImportStatus:
    with transaction(session_factory) as session:
        job = service.store_upload(session=session, account_id=account_id, path=path, origin=origin)
    return status_of(job, service.ImportCounts(), [])


@router.get("/{import_id}", response_model=ImportStatus, responses={**_ERRORS, **_NOT_FOUND}, summary="An import's status and counts")
def get_import(principal: ReadPrincipal, session: SessionDep, import_id: str) -> ImportStatus:
    return status_of(*service.get_import(session=session, account_id=principal.owner_id, job_id=import_id))


@router.get(
    "/{import_id}/errors",
    response_class=StreamingResponse,
    responses={**_ERRORS, **_NOT_FOUND, **BUSY, 200: {"content": {"text/csv": {}}, "description": "Every rejected row: `line,value,message`."}},
    summary="Every rejected row of an import, as CSV",
)
def get_import_errors(principal: ReadPrincipal, request: Request, import_id: str) -> StreamingResponse:
    # Looked up on the request pool, so an unknown id takes no download slot.
    with transaction(request.app.state.session_factory) as session:
        service.find_import(session=session, account_id=principal.owner_id, job_id=import_id)
    with streaming_session(request) as reader:
        rows = JobRepository(reader.session).rejection_rows(job_id=import_id)
        return reader.csv(write_rows(("line", "value", "message"), rows.partitions()), f"import-{import_id}-errors.csv")
