"""A huge body is refused as it arrives: the server's memory stays flat, with or without Content-Length."""

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import Databases
from tests.e2e.conftest import LiveServer, running_server

HUGE = 200 * 1024 * 1024
PIECE = b"x" * (1 << 20)
# Imports are streamed to disk; this bound keeps the test about the limit, not about the disk.
UPLOAD_LIMIT = 1 << 20


def peak_rss_kib(pid: int) -> int:
    """The process's largest resident set so far (VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def send_huge(base_url: str, path: str, token: str, content_type: str, *, chunked: bool) -> bytes:
    """Send a 200 MB body (stopping early once the server answers); return the answer's first bytes."""
    address = urlsplit(base_url)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {HUGE}"
    head = f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\n{length}\r\n\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(head.encode())
        connection.setblocking(False)
        sent = 0
        answer = b""
        while sent < HUGE:
            try:
                answer += connection.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            piece = b"%x\r\n%s\r\n" % (len(PIECE), PIECE) if chunked else PIECE
            try:
                connection.setblocking(True)
                connection.sendall(piece)
                connection.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(PIECE)
        connection.setblocking(True)
        connection.settimeout(2)
        try:
            while not _complete(answer):
                chunk = connection.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.fixture(scope="module")
def server(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the module: the limits are the HTTP layer's, the same on either database."""
    url = databases.migrated("sqlite")
    with running_server(tmp_path_factory.mktemp("server"), database_url=url, env={"STOPLIST_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}) as live:
        token = live.create_token()
        send_huge(live.base_url, "/blacklist/phone_numbers", token, "application/json", chunked=False)  # warm up the code paths
        live.env["TOKEN"] = token
        yield live


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("path", "content_type", "code"),
    [
        ("/blacklist/phone_numbers", "application/json", "body_too_large"),
        ("/blacklist/phone_numbers", "application/x-www-form-urlencoded", "body_too_large"),
        ("/blacklist/check", "application/json", "body_too_large"),
        ("/blacklist/phone_numbers/imports", "text/csv", "upload_too_large"),
    ],
)
def test_a_200_mb_body_is_refused_with_flat_memory(server: LiveServer, path, content_type, code, chunked):
    before = peak_rss_kib(server.process.pid)

    answer = send_huge(server.base_url, path, server.env["TOKEN"], content_type, chunked=chunked)

    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert f'"error":"{code}"'.encode() in answer, answer[:500]
    grown = peak_rss_kib(server.process.pid) - before
    assert grown < 8 * 1024, f"peak RSS grew by {grown} KiB"
