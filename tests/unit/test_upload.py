"""Receiving an upload stops reading the body once it is over the limit, multipart or not,
whether or not the client sent a Content-Length."""

import asyncio

import pytest
from fastapi import Request

from stoplist.errors import UploadTooLarge
from stoplist.imports.upload import receive_upload

BOUNDARY = "stoplistboundary"
PIECE = 64 * 1024
PIECES = 100  # 6.4 MB of file part, far over the limit


def chunked_multipart_request(sent: list[int]) -> Request:
    """A multipart upload with no Content-Length, handed to the app piece by piece; `sent` counts the pieces."""
    head = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"import\"; filename=\"list.csv\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode()
    pieces = [head] + [b"48500000001\n" * (PIECE // 12)] * PIECES + [f"\r\n--{BOUNDARY}--\r\n".encode()]

    async def receive():
        sent.append(1)
        index = len(sent) - 1
        if index >= len(pieces):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": pieces[index], "more_body": index < len(pieces) - 1}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]}
    return Request(scope, receive)


def test_a_chunked_multipart_upload_is_refused_before_its_file_is_read_to_the_end():
    sent: list[int] = []

    with pytest.raises(UploadTooLarge):
        asyncio.run(receive_upload(chunked_multipart_request(sent), max_bytes=1000))

    assert len(sent) <= 3, f"read {len(sent)} of {PIECES + 2} pieces: the body was read on past the limit"
