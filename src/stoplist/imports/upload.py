"""Receiving an upload: streamed to a temporary file, checked as CSV text on the way, never held in memory."""

import os
import tempfile
from pathlib import Path

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import Message

from stoplist.errors import InvalidCsv, UnsupportedMediaType, UploadTooLarge, ValidationFailed, ErrorDetail
from stoplist.imports.csv_format import NotCsvText, UploadChecker

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")
FIELD = "import"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small fields beside the file


def _bounded(request: Request, limit: int, max_bytes: int) -> Request:
    """The request, reading at most `limit` bytes of body: UploadTooLarge as soon as more arrive."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise UploadTooLarge(max_bytes)
        return message

    return Request(request.scope, receive)


async def receive_upload(request: Request, *, max_bytes: int) -> Path:
    """Save the request's CSV (a raw body, or the multipart field `import`) to a temporary file; the caller deletes it."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + (MULTIPART_OVERHEAD if content_type == "multipart/form-data" else 0):
        raise UploadTooLarge(max_bytes)
    if content_type == "multipart/form-data":
        # The form parser spools a file part to disk whole: bound the body it reads, with or without a length.
        form = await _bounded(request, max_bytes + MULTIPART_OVERHEAD, max_bytes).form(max_files=1, max_fields=20)
        try:
            upload = form.get(FIELD)
            if not isinstance(upload, UploadFile):
                detail = ErrorDetail(path=FIELD, message="Send the CSV as the multipart file field 'import'.", error="missing")
                raise ValidationFailed("The multipart body has no file field named 'import'.", errors=[detail])
            return await _save(_read_upload(upload), max_bytes)
        finally:
            await form.close()
    if content_type in CSV_TYPES or not content_type:
        return await _save(request.stream(), max_bytes)
    raise UnsupportedMediaType("Send the CSV as a text/csv body, or as the multipart/form-data file field 'import'.")


async def _read_upload(upload: UploadFile):
    while chunk := await upload.read(1 << 16):
        yield chunk


async def _save(chunks, max_bytes: int) -> Path:
    checker = UploadChecker()
    handle, name = tempfile.mkstemp(prefix="stoplist-upload-", suffix=".csv")
    path = Path(name)
    size = 0
    try:
        with os.fdopen(handle, "wb") as target:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                checker.feed(chunk)
                target.write(chunk)
        checker.close()
    except NotCsvText as exc:
        path.unlink(missing_ok=True)
        raise InvalidCsv(exc.message) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
