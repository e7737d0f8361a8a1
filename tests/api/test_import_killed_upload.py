"""An upload cut off by `kill -9` of a real `stoplist serve` leaves its temp file; the startup sweep removes it."""

import signal
import socket
import tempfile
import time
from pathlib import Path

import pytest

from stoplist.imports.upload import PREFIX, SUFFIX, remove_stale_uploads
from tests.e2e.conftest import running_server

DECLARED = 10_000_000  # the body the client announces; it sends only the first part of it
SENT = 256 * 1024


def wait_for_upload_file(directory: Path, pid: int) -> Path:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = [path for path in directory.glob(f"{PREFIX}{pid}.*{SUFFIX}") if path.stat().st_size >= SENT]
        if found:
            return found[0]
        time.sleep(0.05)
    pytest.fail(f"no upload file of {SENT} bytes from pid {pid} in {directory}: {list(directory.iterdir())}")


def test_a_server_killed_mid_upload_leaves_a_file_that_only_the_sweep_removes(tmp_path, monkeypatch):
    uploads = tmp_path / "tmp"
    uploads.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(uploads))  # the sweep looks where the server wrote
    with running_server(tmp_path, database_url=f"sqlite:///{tmp_path / 'stoplist.db'}", env={"TMPDIR": str(uploads)}) as server:
        token = server.create_token()
        port = int(server.base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(
                (f"POST /blacklist/phone_numbers/imports HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: text/csv\r\nContent-Length: {DECLARED}\r\n\r\n").encode()
            )
            client.sendall(b"48500000001\n" * (SENT // 12 + 1))
            path = wait_for_upload_file(uploads, server.process.pid)

            assert remove_stale_uploads() == 0, "the sweep removed the file of a server still receiving it"
            assert path.exists()

            server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)

        assert path.exists()  # nothing in a killed process can remove it
        assert remove_stale_uploads() == 1
        assert not path.exists()
        assert remove_stale_uploads() == 0
