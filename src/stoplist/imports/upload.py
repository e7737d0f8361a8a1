"""Receiving an upload: streamed to a temporary file, checked as CSV text on the way, never held in memory."""

import os
import re
import socket
import tempfile
import time
from pathlib import Path

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import Message

from stoplist.errors import ErrorDetail, InvalidCsv, UnsupportedMediaType, UploadTooLarge, ValidationFailed, validation_error
from stoplist.imports.csv_format import NotCsvText, UploadChecker

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/octet-stream")
FIELD = "import"
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small fields beside the file

# Upload files are named stoplist-upload-<pid>.<start>@<host>-<random>.csv, so that a server starting
# up can tell the files of a process that is gone (killed mid-upload) from those of servers still
# running. <start> is when the process started: a container restarted after a crash runs its server
# as the same pid 1 on the same host, and only the start time tells the old files from its own.
PREFIX = "stoplist-upload-"
SUFFIX = ".csv"
# A file this long untouched is stale whoever owns it: an upload in progress writes to it, and a
# received one is copied into the database within seconds. It covers owners that cannot be checked
# (another host's pid, a pid reused since) and files of versions that named no owner.
STALE_AFTER_SECONDS = 24 * 3600
_NOT_A_FIELD = "the upload's form takes only the file field 'import'; {name!r} is none of its fields (evidence and received_at go in the query string)"
_HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"


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
        path: Path | None = None
        try:
            # Nothing sent is ignored: evidence given as a form field would otherwise be lost from the trail unseen.
            others = [{"loc": (name,), "msg": _NOT_A_FIELD.format(name=name), "type": "extra_forbidden"} for name in dict.fromkeys(form.keys()) if name != FIELD]
            given = form.getlist(FIELD)
            if len(given) > 1:  # one of them would be dropped unseen
                detail = ErrorDetail(path=FIELD, message="Send the CSV once, as the one multipart field 'import'.", error="duplicate")
                raise ValidationFailed(f"The multipart body has {len(given)} fields named 'import'; send the file once.", errors=[detail])
            upload = form.get(FIELD)
            if not isinstance(upload, UploadFile):
                detail = ErrorDetail(path=FIELD, message="Send the CSV as the multipart file field 'import'.", error="missing")
                raise ValidationFailed("The multipart body has no file field named 'import'.", errors=[detail, *validation_error(others).errors])
            if others:
                raise validation_error(others)
            path = await _save(_read_upload(upload), max_bytes)
        finally:
            try:
                await form.close()
            except BaseException:
                if path is not None:
                    path.unlink(missing_ok=True)  # the caller never gets it, so it would never delete it
                raise
        return path
    if content_type in CSV_TYPES or not content_type:
        return await _save(request.stream(), max_bytes)
    raise UnsupportedMediaType("Send the CSV as a text/csv body, or as the multipart/form-data file field 'import'.")


async def _read_upload(upload: UploadFile):
    while chunk := await upload.read(1 << 16):
        yield chunk


async def _save(chunks, max_bytes: int) -> Path:
    checker = UploadChecker()
    handle, name = tempfile.mkstemp(prefix=f"{PREFIX}{owner_tag()}-", suffix=SUFFIX)
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


def remove_stale_uploads() -> int:
    """Remove the upload files in the temporary directory whose server is gone (or that are a day old); return how many.

    Servers sharing the directory keep theirs: a file is removed only if the process named in it,
    on this host, no longer runs, or it has not been written for STALE_AFTER_SECONDS.
    """
    removed = 0
    oldest = time.time() - STALE_AFTER_SECONDS
    for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*{SUFFIX}"):
        try:
            if _owner_runs(path.name) and path.stat().st_mtime > oldest:
                continue
            path.unlink()
        except OSError:
            continue  # removed meanwhile by another server starting up, or not ours to remove
        removed += 1
    return removed


def owner_tag() -> str:
    """This process, as its upload files name it: `<pid>.<start>@<host>`."""
    pid = os.getpid()
    return f"{pid}.{_start_time(pid) or 0}@{_HOST}"


def _start_time(pid: int) -> str | None:
    """When the process started, in clock ticks since boot (Linux's /proc); None where it cannot be told."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    # Field 22 of stat(5), counted from the state (field 3) after the command's closing parenthesis.
    return fields[19] if len(fields) > 19 else None


def _owner_runs(name: str) -> bool:
    """Whether the process that named the file may still be using it; True when that cannot be told."""
    owner = name[len(PREFIX) : -len(SUFFIX)].rpartition("-")[0]
    process, _, host = owner.partition("@")
    pid, _, start = process.partition(".")
    if host != _HOST or not pid.isdigit() or not 0 < int(pid) < 1 << 22:
        return True
    if not _process_runs(int(pid)):
        return False
    # A live process with this pid that started at another time is not the one that wrote the file.
    return start in ("", "0") or _start_time(int(pid)) in (None, start)


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process, alive
    # A zombie (killed, not yet reaped by its parent) runs no code that could still use the file.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
