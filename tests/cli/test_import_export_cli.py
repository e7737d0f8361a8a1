"""`stoplist import` and `stoplist export`: the API's CSV rules and counts, straight on the database."""

import csv
import io
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stoplist import migrate
from stoplist.app import create_app
from stoplist.auth import service as auth_service
from stoplist.auth.repository import AuthRepository
from stoplist.cli import app
from stoplist.config import Settings, get_settings
from stoplist.db import create_db_engine, create_session_factory, transaction
from tests.api.helpers import IMPORTS, URL, listed, wait_for_import
from tests.conftest import TestClient

runner = CliRunner()
SUMMARY = re.compile(r"^rows (\d+)  added (\d+)  updated (\d+)  unchanged (\d+)  invalid (\d+)$", re.MULTILINE)

# One file exercising every rule: spellings of one number, a repeat, bad numbers, bad and past expiries.
MIXED = (
    "phone_number,expire_at\n"
    "+48 500 000 001,2099-01-01\n"
    "0048500000001\n"
    "48500000002,2098-06-30T12:00:00+02:00\n"
    "not a number\n"
    "\n"
    "48500000003,2000-01-01\n"
    "48500000004,soon\n"
    "+44 7400 123456\n"
)
MIXED_COUNTS = {"rows": 7, "added": 3, "updated": 1, "unchanged": 0, "invalid": 3}


@pytest.fixture
def database(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated database named by STOPLIST_DATABASE_URL, with accounts `default` and `acme`."""
    url = empty_database_url
    monkeypatch.setenv("STOPLIST_DATABASE_URL", url)
    get_settings.cache_clear()
    migrate.upgrade(url)
    for account in ("default", "acme"):
        create_token(url, account)
    yield url
    get_settings.cache_clear()


def create_token(url: str, account: str) -> str:
    engine = create_db_engine(url)
    try:
        with transaction(create_session_factory(engine)) as session:
            secret, _ = auth_service.create_token(repository=AuthRepository(session), account_name=account)
    finally:
        engine.dispose()
    return secret


@pytest.fixture
def api(database):
    """The API on the same database, with a token per account."""
    with TestClient(create_app(Settings(database_url=database, worker_poll_interval=0.02))) as client:
        yield client


def bearer(url: str, account: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token(url, account)}"}


def stoplist(*args: str):
    return runner.invoke(app, [str(arg) for arg in args])


def stoplist_as_set(*args: str):
    """`stoplist` with the settings read afresh from the environment the test set, and forgotten after."""
    get_settings.cache_clear()
    try:
        return stoplist(*args)
    finally:
        get_settings.cache_clear()


def write(tmp_path: Path, text: str | bytes, name: str = "list.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def summary(result) -> dict[str, int]:
    assert result.exit_code == 0, result.output
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout
    return dict(zip(("rows", "added", "updated", "unchanged", "invalid"), map(int, match.groups())))


def api_import(client, auth, body: str | bytes) -> dict:
    data = body.encode() if isinstance(body, str) else body
    response = client.post(IMPORTS, content=data, headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    return wait_for_import(client, auth, response.json()["id"])


# --- stoplist import ---------------------------------------------------------------------------------


def test_import_prints_a_summary_line_with_the_counts(database, tmp_path):
    result = stoplist("import", write(tmp_path, MIXED))

    assert summary(result) == MIXED_COUNTS


def test_import_gives_the_same_counts_and_list_as_the_api_for_the_same_file(database, api, tmp_path):
    cli = summary(stoplist("import", write(tmp_path, MIXED), "--account", "acme"))
    via_api = api_import(api, bearer(database, "default"), MIXED)

    assert cli == {key: via_api[key] for key in cli} == MIXED_COUNTS
    assert listed(api, bearer(database, "acme")) == listed(api, bearer(database, "default"))


def test_import_goes_to_the_default_account_unless_told_otherwise(database, api, tmp_path):
    path = write(tmp_path, "48500000001\n")

    stoplist("import", path)
    stoplist("import", write(tmp_path, "48500000002\n", "b.csv"), "--account", "acme")

    assert listed(api, bearer(database, "default")) == {"48500000001": None}
    assert listed(api, bearer(database, "acme")) == {"48500000002": None}


def test_import_counts_numbers_already_listed_as_they_are_as_unchanged(database, tmp_path):
    path = write(tmp_path, "48500000001\n48500000002\n")
    stoplist("import", path)

    assert summary(stoplist("import", path)) == {"rows": 2, "added": 0, "updated": 0, "unchanged": 2, "invalid": 0}


def test_import_shows_the_rejected_rows_on_stderr(database, tmp_path):
    result = stoplist("import", write(tmp_path, MIXED))

    assert "line 5: 'not a number'" in result.stderr
    assert "line 7:" in result.stderr and "not in the future" in result.stderr
    assert "not a number" not in result.stdout


def test_import_rejects_writes_every_rejected_row_as_the_api_errors_url_does(database, api, tmp_path):
    body = "".join(f"bad{i}\n" for i in range(150)) + "48500000001\n"
    rejects = tmp_path / "rejects.csv"

    cli = summary(stoplist("import", write(tmp_path, body), "--rejects", rejects))
    auth = bearer(database, "acme")
    via_api = api.get(api_import(api, auth, body)["errors_url"], headers=auth).text

    assert cli == {"rows": 151, "added": 1, "updated": 0, "unchanged": 0, "invalid": 150}
    written = list(csv.reader(io.StringIO(rejects.read_text())))
    assert written[0] == ["line", "value", "message"]
    assert len(written) == 151
    assert written == list(csv.reader(io.StringIO(via_api)))


def test_import_reads_the_same_dialects_as_the_api(database, tmp_path):
    body = "\ufeffphone_number;expire_at\r\n+48 500 000 001;2099-01-01\r\n48500000002;\r\n".encode()

    assert summary(stoplist("import", write(tmp_path, body))) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}


def test_import_into_an_unknown_account_fails_clearly(database, tmp_path):
    result = stoplist("import", write(tmp_path, "48500000001\n"), "--account", "nobody")

    assert result.exit_code == 1
    assert "no account named 'nobody'" in result.stderr
    assert not SUMMARY.search(result.stdout)


def test_import_of_a_header_without_a_phone_column_fails_clearly(database, tmp_path):
    result = stoplist("import", write(tmp_path, "id,created_at\n1,2020-01-01T00:00:00Z\n"))

    assert result.exit_code == 1
    assert "phone" in result.stderr


NOT_TEXT = {
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
    "latin-1": "phone_number,note\n48500000001,café\n48500000002,x\n".encode("latin-1"),
    "utf-16": "48500000001\n48500000002\n".encode("utf-16"),
}


@pytest.mark.parametrize("kind", NOT_TEXT)
def test_import_refuses_a_file_that_is_not_utf8_text_as_the_api_does(database, api, tmp_path, kind):
    body = NOT_TEXT[kind]
    api_answer = api.post(f"{URL}/imports", content=body, headers={**bearer(database, "acme"), "Content-Type": "text/csv"})
    assert api_answer.status_code == 400 and api_answer.json()["error"] == "invalid_csv"

    result = stoplist("import", write(tmp_path, body))

    assert result.exit_code == 1
    assert result.stderr.startswith("error:")
    assert not SUMMARY.search(result.stdout)
    assert listed(api, bearer(database, "default")) == {}


def test_import_of_a_missing_file_is_a_usage_error(database, tmp_path):
    result = stoplist("import", tmp_path / "missing.csv")

    assert result.exit_code == 2


def test_import_dash_reads_standard_input(database, api):
    result = runner.invoke(app, ["import", "-", "--account", "acme"], input=MIXED)

    assert summary(result) == MIXED_COUNTS
    assert "Importing standard input" in result.stderr
    assert set(listed(api, bearer(database, "acme"))) == {"48500000001", "48500000002", "447400123456"}


def test_import_of_a_pipe_imports_every_row_it_gives(database, tmp_path):
    """A named pipe, as /dev/stdin or a shell's <(zcat backup.csv.gz) are: read once, every row (the file is read
    twice, to check its text and then to import it: from a pipe, the second read once found nothing, and 0 rows)."""
    import os
    import threading

    pipe = tmp_path / "rows.csv"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_text(MIXED), daemon=True)  # daemon: a refusal before the open must not hang the run
    writer.start()
    try:
        result = stoplist("import", pipe, "--account", "acme")
    finally:
        writer.join(timeout=10)

    assert summary(result) == MIXED_COUNTS


# --- stoplist export ---------------------------------------------------------------------------------

NATIVE_HEADER_LINE = "id,address,channel,sender,list,reason,note,source,expire_at,created_at,updated_at"
SMSAPI_HEADER_LINE = "id,phone_number,expire_at,created_at"


def test_export_writes_every_list_as_the_native_csv_export_and_prints_the_row_count(database, api, tmp_path):
    auth = bearer(database, "acme")
    api_import(api, auth, MIXED)
    for entry in ({"address": "+48500000001", "channel": "sms", "sender": "ACME", "list": "allow", "note": "a, \"b\""}, {"address": "jan@example.com"}):
        api.post("/blacklist/entries", json=entry, headers=auth).raise_for_status()
    target = tmp_path / "out.csv"

    result = stoplist("export", target, "--account", "acme")

    assert result.exit_code == 0, result.output
    assert re.search(r"^rows 5$", result.stdout, re.MULTILINE)
    assert target.read_text().splitlines()[0] == NATIVE_HEADER_LINE
    assert target.read_bytes() == api.get("/blacklist/entries", headers={**auth, "Accept": "text/csv"}).content


def test_export_format_smsapi_writes_the_default_lists_numbers_as_the_apis_csv(database, api, tmp_path):
    auth = bearer(database, "acme")
    api_import(api, auth, MIXED)
    api.post("/blacklist/entries", json={"address": "+48500000009", "channel": "sms"}, headers=auth).raise_for_status()
    target = tmp_path / "out.csv"

    result = stoplist("export", target, "--account", "acme", "--format", "smsapi")

    assert re.search(r"^rows 3$", result.stdout, re.MULTILINE), result.output
    assert target.read_text().splitlines()[0] == SMSAPI_HEADER_LINE
    assert target.read_bytes() == api.get(URL, headers={**auth, "Accept": "text/csv"}).content


@pytest.mark.parametrize("layout", ["native", "smsapi"])
def test_export_dash_writes_the_csv_alone_on_standard_output_and_it_imports_back(database, api, tmp_path, layout, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a file named - would be written
    auth = bearer(database, "acme")
    api_import(api, auth, MIXED)
    target = tmp_path / "out.csv"
    stoplist("export", target, "--account", "acme", "--format", layout)

    result = stoplist("export", "-", "--account", "acme", "--format", layout)

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == target.read_bytes()  # the rows line goes to standard error, not into the CSV
    assert re.search(r"^rows 3$", result.stderr, re.MULTILINE) and not (tmp_path / "-").exists()
    again = runner.invoke(app, ["import", "-"], input=result.stdout_bytes)
    assert summary(again) == {"rows": 3, "added": 3, "updated": 0, "unchanged": 0, "invalid": 0}


def test_export_dash_into_a_pipe_whose_reader_goes_stops_quietly(database, tmp_path):
    """`stoplist export - | head -1`: the reader closes the pipe mid-export; the export stops with exit 1 and no traceback
    (the export's reading is closed while its database session is open, not by the collector after it)."""
    import subprocess
    import sys

    stoplist("import", write(tmp_path, "".join(f"48500{i:06d}\n" for i in range(60_000))), "--account", "acme")
    process = subprocess.Popen(  # about 5 MB of CSV: more than a pipe holds, so the reader goes mid-export
        [sys.executable, "-m", "stoplist", "export", "-", "--account", "acme"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0
    )
    assert process.stdout.read(200).startswith(b"id,address,")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "Exception ignored" not in stderr and "Error" not in stderr, stderr


def _import_rejecting_into(stdout, tmp_path: Path, rows: int, unbuffered: bool):
    """`stoplist import` of `rows` bad rows with `--rejects -`, its standard output `stdout`, in a process of its own."""
    import os
    import subprocess
    import sys

    environment = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    if unbuffered:  # common in containers and units: sys.stdout.buffer is then a raw file, whose short writes lost rows
        environment["PYTHONUNBUFFERED"] = "1"
    source = write(tmp_path, "48500000001\n" + "".join(f"bad{i}\n" for i in range(rows)))
    return subprocess.Popen(
        [sys.executable, "-m", "stoplist", "import", source, "--account", "acme", "--rejects", "-"],
        stdout=stdout, stderr=subprocess.PIPE, bufsize=0, env=environment,
    )


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_import_rejects_dash_into_a_pipe_whose_reader_goes_says_what_is_imported(database, tmp_path, unbuffered):
    """`stoplist import … --rejects - | head -1`: the reader goes mid-import; the import stops as Ctrl-C stops it, saying
    which lines its committed batches hold (none here: the first batch's rejects fill the pipe), exit 1, no traceback."""
    import subprocess

    process = _import_rejecting_into(subprocess.PIPE, tmp_path, 60_000, unbuffered)  # about 5 MB of rejects: more than a pipe holds
    assert process.stdout.read(200).startswith(b"line,value,message")
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "error: standard output (--rejects -): its reader went\nstopped before its first batch was committed: nothing is imported" in stderr, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_import_rejects_dash_whose_reader_is_gone_before_it_writes_says_so_and_what_it_committed(database, api, tmp_path, unbuffered):
    """`… --rejects - | true`: the rows are committed before the last rejects leave the buffer; the import says that every
    line is imported and only the rejected rows were not all written, exit 1 (it exited 1 silently)."""
    import subprocess

    process = _import_rejecting_into(subprocess.PIPE, tmp_path, 2, unbuffered)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "error: standard output (--rejects -): its reader went" in stderr, stderr
    assert "every line is imported (rows 3  added 1  updated 0  unchanged 0  invalid 2); only the rejected rows were not all written" in stderr, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert set(listed(api, bearer(database, "acme"))) == {"48500000001"}


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_import_rejects_dash_onto_a_full_disk_is_one_line_naming_it(database, tmp_path, unbuffered):
    with open("/dev/full", "wb") as full:
        process = _import_rejecting_into(full, tmp_path, 2, unbuffered)
        stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "error: cannot write standard output (--rejects -): No space left on device" in stderr, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


def test_import_rejects_dash_with_standard_output_closed_is_one_line(database, tmp_path):
    """`stoplist import … --rejects - >&-`: Python starts with no sys.stdout at all (a traceback before)."""
    import subprocess
    import sys

    source = write(tmp_path, "48500000001\nbad\n")
    process = subprocess.run(
        [sys.executable, "-m", "stoplist", "import", source, "--account", "acme", "--rejects", "-"],
        stdout=None, stderr=subprocess.PIPE, pass_fds=(), close_fds=True, preexec_fn=lambda: __import__("os").close(1), timeout=60,
    )
    assert process.returncode == 1
    assert process.stderr.decode().strip().splitlines()[-1] == "error: cannot write --rejects -: standard output is closed", process.stderr
    assert b"Traceback" not in process.stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_import_rejects_dash_to_a_reader_of_everything_gets_every_row(database, tmp_path, unbuffered):
    """5 MB of rejects through a pipe read to its end: byte for byte what `--rejects FILE` writes."""
    import subprocess

    process = _import_rejecting_into(subprocess.PIPE, tmp_path, 60_000, unbuffered)
    written = process.stdout.read()
    process.stderr.read()
    assert process.wait(timeout=60) == 0
    to_file = tmp_path / "rejects.csv"
    stoplist("import", tmp_path / "list.csv", "--account", "acme", "--rejects", to_file)
    assert written == to_file.read_bytes() and len(written) > 5_000_000


def test_import_dash_stopped_by_sigterm_removes_its_spooled_input_and_writes_nothing(database, api, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    spool = tmp_path / "tmp"
    spool.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "stoplist", "import", "-", "--account", "acme"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "TMPDIR": str(spool)},
    )
    process.stdin.write(b"phone_number\n+48503000001\n")
    process.stdin.flush()  # and left open: the command waits for the rest, as from a slow pipe
    deadline = time.monotonic() + 30
    while not list(spool.glob("stoplist-import-*")):
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.05)

    process.send_signal(signal.SIGTERM)

    assert process.wait(timeout=30) == 128 + signal.SIGTERM
    assert not list(spool.iterdir()), "the spooled input is removed"
    assert listed(api, bearer(database, "acme")) == {}


def test_rejects_naming_the_file_imported_or_an_export_naming_the_database_is_refused_and_both_stay(database, tmp_path):
    source = write(tmp_path, MIXED)
    refused = stoplist("import", source, "--rejects", source)
    assert refused.exit_code == 1 and "--rejects" in refused.stderr and "is the file being imported" in refused.stderr
    assert source.read_text() == MIXED

    if database.startswith("sqlite"):
        file = Path(database.removeprefix("sqlite:///"))
        before = file.read_bytes()
        for command in (("export", file), ("import", source, "--rejects", file)):
            result = stoplist(*command)
            assert result.exit_code == 1 and "is the database: writing it would destroy it" in result.stderr, result.output
        assert file.read_bytes() == before


def test_rejects_naming_the_databases_log_before_sqlite_makes_it_is_refused_and_the_database_stays_whole(database, tmp_path):
    """SQLite makes its log (-wal) and shared memory (-shm) only once a connection opens: `--rejects var/stoplist.db-wal`
    wrote CSV into the live log, and the database no longer opened ("file is not a database"); -shm ended in a bus error."""
    if not database.startswith("sqlite"):
        pytest.skip("PostgreSQL's files are its server's")
    file = Path(database.removeprefix("sqlite:///"))
    assert stoplist("import", write(tmp_path, "48500000001\n"), "--account", "acme").exit_code == 0
    for suffix in ("-wal", "-shm", "-journal"):
        log = file.with_name(file.name + suffix)
        assert not log.exists()  # no connection open: the case the guard missed
        for command in (("import", write(tmp_path, "bad\n"), "--rejects", log), ("export", log)):
            result = stoplist(*command)
            assert result.exit_code == 1 and "is a file of the database's: writing it would destroy it" in result.stderr, result.output
    assert summary(stoplist("import", write(tmp_path, "48500000001\n"), "--account", "acme"))["unchanged"] == 1


@pytest.mark.parametrize("target", ["missing/out.csv", "/dev/full"])
def test_an_export_it_cannot_write_is_one_line(database, api, tmp_path, target):
    api_import(api, bearer(database, "default"), MIXED)
    path = target if target.startswith("/") else tmp_path / target
    result = stoplist("export", path)
    assert result.exit_code == 1 and result.stderr.splitlines()[-1].startswith(f"error: cannot write {path}: "), result.output
    assert "Traceback" not in result.output


def test_an_export_stopped_midway_leaves_the_previous_file_and_no_partial_one(database, api, tmp_path, monkeypatch):
    from stoplist.exports import operations

    api_import(api, bearer(database, "default"), MIXED)
    target = tmp_path / "backup.csv"
    target.write_text("yesterday's backup\n")

    def interrupted(*args, **kwargs):
        yield b"id,address,channel,sender,list,reason,note,source,expire_at,created_at,updated_at\n1,48500000001,,,block,,,,,,\n"
        raise KeyboardInterrupt  # Ctrl-C (and SIGTERM, which the command turns into an exit) midway

    monkeypatch.setattr(operations, "native_csv_chunks", interrupted)
    result = stoplist("export", target)

    assert result.exit_code != 0
    assert target.read_text() == "yesterday's backup\n"
    assert [path.name for path in tmp_path.iterdir()] == ["backup.csv"], "no partial file left beside it"


def test_export_of_an_unknown_format_is_a_usage_error(database, tmp_path):
    assert stoplist("export", tmp_path / "out.csv", "--format", "xlsx").exit_code == 2


def test_export_is_the_whole_list_of_the_account_only(database, tmp_path):
    numbers = [f"48500{i:06d}" for i in range(250)]
    stoplist("import", write(tmp_path, "\n".join(numbers) + "\n"), "--account", "acme")
    stoplist("import", write(tmp_path, "48600000009\n", "b.csv"))
    target = tmp_path / "out.csv"

    result = stoplist("export", target, "--account", "acme")

    assert re.search(r"^rows 250$", result.stdout, re.MULTILINE)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert sorted(row["address"] for row in rows) == numbers


@pytest.mark.parametrize("layout", ["native", "smsapi"])
def test_export_then_import_round_trips_the_list(database, tmp_path, layout):
    stoplist("import", write(tmp_path, MIXED), "--account", "acme")
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    stoplist("export", first, "--account", "acme", "--format", layout)

    imported = summary(stoplist("import", first))
    stoplist("export", second, "--format", layout)

    def entries(path: Path) -> set[tuple[str, str]]:
        return {(row.get("address") or row["phone_number"], row["expire_at"]) for row in csv.DictReader(io.StringIO(path.read_text()))}

    assert imported == {"rows": 3, "added": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    assert entries(second) == entries(first)


def test_export_of_an_unknown_account_fails_clearly(database, tmp_path):
    target = tmp_path / "out.csv"

    result = stoplist("export", target, "--account", "nobody")

    assert result.exit_code == 1
    assert "no account named 'nobody'" in result.stderr
    assert not target.exists()


def test_export_of_an_empty_list_prints_rows_0(database, tmp_path):
    result = stoplist("export", tmp_path / "out.csv")

    assert result.exit_code == 0, result.output
    assert re.search(r"^rows 0$", result.stdout, re.MULTILINE)


@pytest.mark.parametrize(("layout", "header"), [("native", NATIVE_HEADER_LINE), ("smsapi", SMSAPI_HEADER_LINE)])
def test_an_export_of_an_empty_list_is_the_header_and_imports_back_as_zero_rows(database, api, tmp_path, layout, header):
    target = tmp_path / "out.csv"
    stoplist("export", target, "--format", layout)

    assert target.read_text() == header + "\n"
    assert summary(stoplist("import", target)) == {"rows": 0, "added": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    auth = bearer(database, "acme")
    assert api_import(api, auth, target.read_bytes())["status"] == "done"


def test_import_of_a_0_byte_file_is_refused_as_the_api_refuses_it(database, tmp_path):
    result = stoplist("import", write(tmp_path, b""))

    assert result.exit_code == 1
    assert "error: The file is empty." in result.stderr


def test_import_rejects_neutralises_formulas_byte_for_byte_as_the_api_errors_url(database, api, tmp_path):
    body = 'phone_number\n"=HYPERLINK(""http://x"",""y"")"\n+48 =1\n@x\nnot a number\n'
    rejects = tmp_path / "rejects.csv"

    stoplist("import", write(tmp_path, body), "--rejects", rejects)
    auth = bearer(database, "acme")
    result = api_import(api, auth, body)

    assert rejects.read_bytes() == api.get(result["errors_url"], headers=auth).content
    values = [row[1] for row in csv.reader(io.StringIO(rejects.read_text(), newline=""))][1:]
    assert values == ["'=HYPERLINK(\"http://x\",\"y\")", "'+48 =1", "'@x", "not a number"]


def test_an_import_stopped_midway_says_which_lines_are_in_and_importing_again_finishes_it(database, api, tmp_path, monkeypatch):
    """Ctrl-C (or SIGTERM) after a batch was committed: that batch stays, and the command says so instead of exiting
    silently; the same file again adds the rest, what is listed counting as unchanged."""
    from stoplist.imports import operations, service

    monkeypatch.setattr(service, "BATCH_ROWS", 3)
    real = operations.import_rows

    def stopped_after_the_first_commit(stream, *, commit, **kwargs):
        commits = 0

        def stopped_before_the_second(session, counts):  # the second batch read and written, not committed
            nonlocal commits
            commits += 1
            if commits == 2:
                raise KeyboardInterrupt
            commit(session, counts)

        return real(stream, commit=stopped_before_the_second, **kwargs)

    monkeypatch.setattr(operations, "import_rows", stopped_after_the_first_commit)
    source = write(tmp_path, "".join(f"48500{i:06d}\n" for i in range(7)))

    result = stoplist("import", source, "--account", "acme")

    assert result.exit_code == 130, result.output
    assert "stopped: lines 1-3 are imported (rows 3  added 3  updated 0  unchanged 0  invalid 0), the rest is not" in result.stderr
    assert len(listed(api, bearer(database, "acme"))) == 3
    monkeypatch.setattr(operations, "import_rows", real)
    assert summary(stoplist("import", source, "--account", "acme")) == {"rows": 7, "added": 4, "updated": 0, "unchanged": 3, "invalid": 0}


def test_an_export_keeps_the_files_mode_and_writes_through_a_symbolic_link(database, api, tmp_path):
    import os
    import stat

    api_import(api, bearer(database, "default"), MIXED)
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "backup.csv"
    real.write_text("old\n")
    real.chmod(0o600)  # phone numbers: kept private
    link = tmp_path / "backup.csv"
    link.symlink_to(real)

    result = stoplist("export", link)

    assert result.exit_code == 0, result.output
    assert link.is_symlink() and real.read_text().startswith("id,address,")
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600
    assert sorted(path.name for path in (tmp_path / "real").iterdir()) == ["backup.csv"]


def test_an_import_stopped_before_its_first_commit_says_nothing_is_imported(database, api, tmp_path, monkeypatch):
    from stoplist.imports import operations

    real = operations.import_rows

    def stopped_at_once(stream, *, commit, **kwargs):
        def never(session, counts):
            raise KeyboardInterrupt

        return real(stream, commit=never, **kwargs)

    monkeypatch.setattr(operations, "import_rows", stopped_at_once)
    result = stoplist("import", write(tmp_path, MIXED), "--account", "acme")

    assert result.exit_code == 130 and "stopped before its first batch was committed: nothing is imported" in result.stderr, result.output
    assert listed(api, bearer(database, "acme")) == {}


def test_an_export_into_a_directory_that_takes_no_new_file_writes_the_file_in_place(database, api, tmp_path, monkeypatch):
    """A writable file in a directory the user may not add to (root may add to any, so the test says the directory is
    such): no name of its own beside it, the file itself is written, as before the export wrote aside."""
    import os

    from stoplist.exports import operations

    api_import(api, bearer(database, "default"), MIXED)
    target = tmp_path / "backup.csv"
    target.write_text("old\n")
    access = os.access
    monkeypatch.setattr(operations.os, "access", lambda path, mode: Path(path) != tmp_path and access(path, mode))
    monkeypatch.setattr(operations.tempfile, "mkstemp", lambda **kwargs: pytest.fail(f"wrote aside: {kwargs}"))

    result = stoplist("export", target)

    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("id,address,") and [path.name for path in tmp_path.iterdir()] == ["backup.csv"]


def test_import_rejects_dash_writes_the_rejected_rows_on_stdout_and_the_counts_on_stderr(database, tmp_path):
    """`--rejects -` is standard output, as `-` is for `stoplist export`: the CSV alone there (no file named `-`),
    the counts beside the progress bar; the same bytes as `--rejects FILE`."""
    body = "".join(f"bad{i}\n" for i in range(3)) + "48500000001\n"
    to_file = tmp_path / "rejects.csv"
    stoplist("import", write(tmp_path, body), "--rejects", to_file)

    result = stoplist("import", write(tmp_path, body), "--rejects", "-")

    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == to_file.read_bytes()
    assert list(csv.reader(io.StringIO(result.stdout)))[0] == ["line", "value", "message"]
    assert "rows 4  added 0  updated 0  unchanged 1  invalid 3" in result.stderr
    assert not (Path.cwd() / "-").exists() and not (tmp_path / "-").exists()


def test_import_evidence_and_received_at_go_on_every_event_the_import_writes(database, tmp_path):
    """As the API's upload takes `?evidence=&received_at=`: a compliance officer importing a legacy file by hand keeps
    where the opt-outs came from and when they reached them; the API's rules refuse the same values (exit 2, nothing written)."""
    source = write(tmp_path, "48500000001\n48500000002\nbad\n")
    refused = stoplist("import", source, "--account", "acme", "--received-at", "2999-01-01T00:00:00Z")
    assert refused.exit_code == 2 and "error: --received-at: received_at '2999-01-01T00:00:00Z' is in the future." in refused.stderr
    assert stoplist("import", source, "--account", "acme", "--received-at", "2026-11-30 10:00").exit_code == 2  # no offset
    spaced = stoplist("import", source, "--account", "acme", "--received-at", "2026-11-30T10:00:00 01:00")
    assert spaced.exit_code == 2 and "is not an RFC 3339 date and time" in spaced.stderr and "%2B" not in spaced.stderr  # a query's hint, not a command line's
    assert stoplist("import", source, "--account", "acme", "--evidence", "x" * 1001).exit_code == 2
    assert stoplist("audit", "export", "--since", "2000-01-01", "--account", "acme").stdout.count("\n") == 1  # the header alone

    result = stoplist("import", source, "--account", "acme", "--evidence", "paper forms, box 7", "--received-at", "2026-11-30T11:00:00+01:00")

    assert summary(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    events = list(csv.DictReader(io.StringIO(stoplist("audit", "export", "--since", "2000-01-01", "--account", "acme").stdout)))
    assert [event["op"] for event in events] == ["add", "add"]
    assert {(event["source"], event["evidence"], event["received_at"]) for event in events} == {("cli", "paper forms, box 7", "2026-11-30T10:00:00Z")}
