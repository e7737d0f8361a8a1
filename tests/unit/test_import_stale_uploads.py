"""Upload temp files: named after their server process, removed on every failure, and swept at startup
only when their server is gone (or they are a day old), since servers may share one TMPDIR."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from fastapi import Request

from stoplist.errors import InvalidCsv, UploadTooLarge, ValidationFailed
from stoplist.imports import upload
from stoplist.imports.upload import PREFIX, STALE_AFTER_SECONDS, SUFFIX, receive_upload, remove_stale_uploads

HOST = upload._HOST


@pytest.fixture(autouse=True)
def tmpdir_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR for this test alone, as the server would see it."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def upload_file(directory: Path, owner: str, *, age: float = 0.0) -> Path:
    path = directory / f"{PREFIX}{owner}-abc_123{SUFFIX}"
    path.write_text("48500000001\n")
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_the_files_of_a_process_that_is_gone_are_removed(tmp_path):
    gone = upload_file(tmp_path, f"{dead_pid()}@{HOST}")

    assert remove_stale_uploads() == 1
    assert not gone.exists()


def test_the_files_of_running_servers_are_kept(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        other_server = upload_file(tmp_path, f"{sleeper.pid}@{HOST}")
        this_server = upload_file(tmp_path, f"{os.getpid()}@{HOST}")

        assert remove_stale_uploads() == 0
        assert other_server.exists() and this_server.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_killed_process_not_yet_reaped_counts_as_gone(tmp_path):
    zombie = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        path = upload_file(tmp_path, f"{zombie.pid}@{HOST}")
        zombie.kill()
        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the killed process never became a zombie"
            time.sleep(0.01)

        assert remove_stale_uploads() == 1
        assert not path.exists()
    finally:
        zombie.wait()


def test_files_of_another_host_or_of_no_known_owner_are_kept_until_a_day_old(tmp_path):
    young = [upload_file(tmp_path, f"{dead_pid()}@some-other-host"), upload_file(tmp_path, "x"), upload_file(tmp_path, f"0@{HOST}")]
    old = [
        upload_file(tmp_path, f"{dead_pid()}@some-other-host", age=STALE_AFTER_SECONDS + 60),
        tmp_path / f"{PREFIX}oldstyle{SUFFIX}",  # as versions before the owner was in the name called them
    ]
    old[1].write_text("x")
    stamp = time.time() - STALE_AFTER_SECONDS - 60
    os.utime(old[1], (stamp, stamp))

    assert remove_stale_uploads() == 2
    assert all(path.exists() for path in young)
    assert not any(path.exists() for path in old)


def test_even_a_running_owners_file_goes_once_untouched_for_a_day(tmp_path):
    path = upload_file(tmp_path, f"{os.getpid()}@{HOST}", age=STALE_AFTER_SECONDS + 60)

    assert remove_stale_uploads() == 1
    assert not path.exists()


def test_other_files_in_the_directory_are_left_alone(tmp_path):
    others = [tmp_path / "stoplist-upload-notes.txt", tmp_path / "report.csv", tmp_path / f"{PREFIX}dir{SUFFIX}"]
    others[0].write_text("x")
    others[1].write_text("x")
    others[2].mkdir()
    stamp = time.time() - STALE_AFTER_SECONDS - 60
    for path in others:
        os.utime(path, (stamp, stamp))

    assert remove_stale_uploads() == 0
    assert all(path.exists() for path in others)


def test_an_upload_file_is_named_after_its_server_process_and_host(tmp_path):
    path = asyncio.run(receive_upload(raw_request([b"48500000001\n"]), max_bytes=1000))

    assert path.parent == tmp_path
    assert path.name.startswith(f"{PREFIX}{os.getpid()}.") and f"@{HOST}-" in path.name and path.name.endswith(SUFFIX)
    assert path.name.startswith(f"{PREFIX}{upload.owner_tag()}-")
    assert remove_stale_uploads() == 0  # this process runs
    path.unlink()


def test_a_file_named_by_an_earlier_process_with_this_pid_is_stale(tmp_path):
    """A container restarted after a crash runs its server as pid 1 again, on the same host."""
    pid, _, rest = upload.owner_tag().partition(".")
    start = rest.partition("@")[0]
    earlier = upload_file(tmp_path, f"{pid}.{int(start) - 1}@{HOST}")
    ours = upload_file(tmp_path, upload.owner_tag())

    assert remove_stale_uploads() == 1
    assert not earlier.exists() and ours.exists()


# --- every failure removes the file -----------------------------------------------------------------


def raw_request(pieces: list[bytes], content_type: bytes = b"text/csv", *, disconnect: bool = False) -> Request:
    """A request handing the app `pieces` of body, then (with `disconnect`) the client going away."""
    sent = 0

    async def receive():
        nonlocal sent
        sent += 1
        if sent > len(pieces):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": pieces[sent - 1], "more_body": disconnect or sent < len(pieces)}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(b"content-type", content_type)]}
    return Request(scope, receive)


def multipart(field: str, body: bytes) -> list[bytes]:
    return [
        (f'--b\r\nContent-Disposition: form-data; name="{field}"; filename="list.csv"\r\nContent-Type: text/csv\r\n\r\n').encode(),
        body,
        b"\r\n--b--\r\n",
    ]


@pytest.mark.parametrize(
    "request_for, error",
    [
        (lambda: raw_request([b"48500000001\n", b"\xff\xfe\n"]), InvalidCsv),
        (lambda: raw_request([b"48500000001\n"] * 200), UploadTooLarge),
        (lambda: raw_request([b"48500000001\n"] * 3, disconnect=True), Exception),
        (lambda: raw_request(multipart("import", b"\x00\x01")[:3], b"multipart/form-data; boundary=b"), InvalidCsv),
        (lambda: raw_request(multipart("other", b"48500000001\n"), b"multipart/form-data; boundary=b"), ValidationFailed),
    ],
    ids=["not-utf8", "too-large", "client-gone", "multipart-binary", "multipart-no-field"],
)
def test_a_failed_upload_leaves_no_file(tmp_path, request_for, error):
    with pytest.raises(error):
        asyncio.run(receive_upload(request_for(), max_bytes=1000))

    assert list(tmp_path.iterdir()) == []
