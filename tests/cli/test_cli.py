import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stoplist import migrate
from stoplist.cli import app
from tests.cli.test_import_export_cli import stoplist_as_set
from sqlalchemy import text

from stoplist.config import get_settings
from stoplist.db import create_db_engine

runner = CliRunner()


@pytest.fixture
def database(empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    url = empty_database_url
    monkeypatch.setenv("STOPLIST_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def stoplist(*args: str):
    return runner.invoke(app, list(args))


def test_migrate_brings_a_new_database_to_head(database):
    result = stoplist("migrate")

    assert result.exit_code == 0, result.output
    assert migrate.current_revision(database) == migrate.head_revision(database)


def test_token_create_prints_the_token_alone_on_stdout(database):
    stoplist("migrate")

    result = stoplist("token", "create", "--account", "acme")

    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"sl_[A-Za-z0-9_-]{40,}\n", result.stdout)
    assert "acme" in result.stderr


def test_token_list_shows_tokens_without_their_secrets(database):
    stoplist("migrate")
    secret = stoplist("token", "create", "--account", "acme", "--scope", "blacklist", "--scope", "sms").stdout.strip()

    result = stoplist("token", "list")

    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header.split() == ["ID", "ACCOUNT", "TOKEN", "SCOPES", "CREATED", "STATUS", "NAME"]
    assert row.split()[:2] == ["1", "acme"]
    assert "blacklist sms" in row and row.endswith("active")
    assert secret not in result.stdout


def test_token_revoke_marks_the_token_revoked(database):
    stoplist("migrate")
    stoplist("token", "create")

    assert stoplist("token", "revoke", "1").exit_code == 0
    assert "revoked" in stoplist("token", "list").stdout.splitlines()[1]


def test_revoking_an_unknown_token_fails_clearly(database):
    stoplist("migrate")

    result = stoplist("token", "revoke", "42")

    assert result.exit_code == 1
    assert "no token has id 42" in result.stderr


def test_a_malformed_scope_is_refused(database):
    stoplist("migrate")

    result = stoplist("token", "create", "--scope", "Black List!")

    assert result.exit_code != 0
    assert "malformed scope" in result.output


def test_an_unknown_default_region_is_refused(monkeypatch):
    from stoplist.config import Settings

    monkeypatch.setenv("STOPLIST_DEFAULT_REGION", "XX")
    with pytest.raises(ValueError, match="unknown region"):
        Settings()

    monkeypatch.setenv("STOPLIST_DEFAULT_REGION", "pl")
    assert Settings().default_region == "PL"


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("STOPLIST_DATABASE_URL", "", "error: STOPLIST_DATABASE_URL is empty: name the database, for example sqlite:///"),
        ("STOPLIST_DATABASE_URL", "   ", "error: STOPLIST_DATABASE_URL is empty"),
        ("STOPLIST_DATABASE_URL", "var/stoplist.db", "error: STOPLIST_DATABASE_URL is not a database URL: write it as sqlite:///"),
        ("STOPLIST_DATABASE_URL", "mysql://stoplist@db/stoplist", "error: STOPLIST_DATABASE_URL names mysql, which Stoplist does not run on"),
        ("STOPLIST_DATABASE_URL", "postgresql://stoplist@db:port/stoplist", "error: STOPLIST_DATABASE_URL is not a database URL"),
        ("STOPLIST_DATABASE_URL", "postgresql+psycopg2://stoplist@db/stoplist", "error: STOPLIST_DATABASE_URL names the driver psycopg2, which Stoplist does not use: write postgresql://"),
        ("STOPLIST_DATABASE_URL", "postgresql+asyncpg://stoplist@db/stoplist", "error: STOPLIST_DATABASE_URL names the driver asyncpg, which Stoplist does not use"),
        ("STOPLIST_DATABASE_URL", "postgresql+nosuchdriver://stoplist@db/stoplist", "error: STOPLIST_DATABASE_URL names the driver nosuchdriver, which Stoplist does not use"),
        ("STOPLIST_DATABASE_URL", "sqlite://", "error: STOPLIST_DATABASE_URL names no file (an in-memory SQLite database is gone when its connection closes)"),
        ("STOPLIST_DATABASE_URL", "sqlite:///:memory:", "error: STOPLIST_DATABASE_URL names no file"),
        ("STOPLIST_DATABASE_URL", "sqlite+aiosqlite:///var/stoplist.db", "error: STOPLIST_DATABASE_URL names the driver aiosqlite, which Stoplist does not use: write sqlite:///"),
        ("STOPLIST_DATABASE_URL", "sqlite:///file:var/stoplist.db?uri=true", "error: STOPLIST_DATABASE_URL is a SQLite URI (uri=true), which Stoplist does not read"),
        ("STOPLIST_DATABASE_URL", "sqlite:///file:var/stoplist.db?uri=maybe", "error: STOPLIST_DATABASE_URL is a SQLite URI (uri=maybe), which Stoplist does not read"),
        ("STOPLIST_DEFAULT_REGION", "XX", "error: STOPLIST_DEFAULT_REGION names an unknown region 'XX'"),
        ("STOPLIST_LOG_FORMAT", "xml", "error: STOPLIST_LOG_FORMAT='xml': Input should be 'text' or 'json'"),
        ("STOPLIST_MAX_DOWNLOADS", "many", "error: STOPLIST_MAX_DOWNLOADS='many': Input should be a valid integer"),
        ("STOPLIST_JOB_TIMEOUT", "0", "error: STOPLIST_JOB_TIMEOUT must be longer than 0 seconds, not 0"),
        ("STOPLIST_JOB_TIMEOUT", "-60", "error: STOPLIST_JOB_TIMEOUT must be longer than 0 seconds, not -60"),
        ("STOPLIST_FILE_RETENTION", "-P1D", "error: STOPLIST_FILE_RETENTION must be 0 seconds or longer, not -86400"),
        # Past the README's bounds: each was taken, then failed later (an OverflowError in the worker's every loop, the
        # expiry sweep stopped, a job never claimed, serve ending with a traceback, a revoked token never refused).
        ("STOPLIST_JOB_TIMEOUT", "99999999999", "error: STOPLIST_JOB_TIMEOUT must be at most a day (86400 seconds), not 1e+11"),
        ("STOPLIST_FILE_RETENTION", "99999999999", "error: STOPLIST_FILE_RETENTION must be at most 366 days (31622400 seconds), not 1e+11"),
        ("STOPLIST_WORKER_POLL_INTERVAL", "inf", "error: STOPLIST_WORKER_POLL_INTERVAL='inf': Input should be less than or equal to 60"),
        ("STOPLIST_WORKER_POLL_INTERVAL", "1e30", "error: STOPLIST_WORKER_POLL_INTERVAL='1e30': Input should be less than or equal to 60"),
        ("STOPLIST_TOKEN_CACHE_SECONDS", "inf", "error: STOPLIST_TOKEN_CACHE_SECONDS='inf': Input should be less than or equal to 3600"),
        ("STOPLIST_PURGE_INTERVAL", "nan", "error: STOPLIST_PURGE_INTERVAL='nan': Input should be less than or equal to 86400"),
        ("STOPLIST_SEND_BUFFER_BYTES", "2147483648", "error: STOPLIST_SEND_BUFFER_BYTES='2147483648': Input should be less than or equal to 2147483647"),
        ("STOPLIST_AUDIT_RETENTION_MONTHS", "1000000000", "error: STOPLIST_AUDIT_RETENTION_MONTHS='1000000000': Input should be less than or equal to 1200"),
    ],
)
@pytest.mark.parametrize("command", [("migrate",), ("token", "list"), ("audit", "verify"), ("serve", "--port", "1"), ("worker",), ("audit", "public-key")])
def test_a_setting_that_is_not_valid_stops_every_command_with_one_line_naming_it(command, variable, value, said, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    result = stoplist_as_set(*command)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir()), "nothing made before the refusal (no var/stoplist.db)"


@pytest.mark.parametrize(
    ("variable", "meant"),
    [("STOPLIST_DATABSE_URL", "STOPLIST_DATABASE_URL"), ("stoplist_log_formt", "STOPLIST_LOG_FORMAT"), ("STOPLIST_WORKER", "STOPLIST_WORKERS"),
     ("STOPLIST_TOKEN_CACHE_SECOND", "STOPLIST_TOKEN_CACHE_SECONDS")],
)
@pytest.mark.parametrize("command", [("migrate",), ("serve", "--port", "1"), ("token", "list"), ("worker",)])
def test_a_variable_that_misspells_a_setting_stops_every_command_naming_the_setting(command, variable, meant, monkeypatch, tmp_path):
    """`STOPLIST_DATABSE_URL=postgresql://… stoplist migrate` made and served a new, empty var/stoplist.db without a word."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, "postgresql://stoplist@db/stoplist")
    result = stoplist_as_set(*command)

    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {variable} is not a setting of Stoplist: did you mean {meant}? (it would be ignored, and {meant} keep its default)\n"
    assert not list(tmp_path.iterdir()), "nothing made before the refusal (no var/stoplist.db)"


def test_stoplists_other_variables_and_unrelated_ones_are_not_taken_for_misspellings():
    from stoplist.config import OTHER_VARIABLES, misspelt

    own = [  # a review found the first cut refusing each of these, and every command with them
        "STOPLIST_BASE_URL", "STOPLIST_DATABASE_USER", "STOPLIST_SERVER_NAME", "STOPLIST_OLD_DATABASE_URL", "STOPLIST_TEST_DATABASE_URL",
        "STOPLIST_DATABASE_URL_RO", "STOPLIST_DATABASE_URL_BACKUP", "STOPLIST_SERVICE", "STOPLIST_X", "STOPLIST_MY_OWN_SCRIPT_SETTING",
    ]
    environ = {name: "1" for name in OTHER_VARIABLES} | {name: "1" for name in own} | {"STOPLIST_DATABASE_URL": "sqlite:///s.db"}
    assert misspelt(environ) == []
    # Near a setting that is set itself: someone's own variable, not a misspelling of it.
    assert misspelt({"STOPLIST_DATABSE_URL": "x", "STOPLIST_DATABASE_URL": "sqlite:///s.db"}) == []
    assert misspelt({"STOPLIST_LGO_FORMAT": "json"}) == [("STOPLIST_LGO_FORMAT", "STOPLIST_LOG_FORMAT")]  # two letters swapped


@pytest.mark.parametrize("command", [("serve",), ("token", "list"), ("audit", "verify"), ("import",)])
def test_a_commands_help_shows_whatever_the_settings(command, monkeypatch):
    monkeypatch.setenv("STOPLIST_DATABASE_URL", "mysql://stoplist@db/stoplist")
    result = stoplist_as_set(*command, "--help")

    assert result.exit_code == 0 and "Usage: " in result.stdout, result.output


@pytest.mark.parametrize("send_buffer", [64 * 1024, 256 * 1024])
def test_serve_bounds_the_send_buffer_of_every_connection_it_accepts(send_buffer: int):
    """How far a download can run ahead of a slow client: what STOPLIST_SEND_BUFFER_BYTES sets
    (Linux doubles it for its bookkeeping), on the connections, not only the listener."""
    import socket

    import uvicorn

    from stoplist.cli import listen

    listener = listen(uvicorn.Config(app=None, host="127.0.0.1", port=0), send_buffer)
    listener.listen()  # as uvicorn's server does with it
    with listener, socket.create_connection(listener.getsockname()) as client:
        accepted, _ = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * send_buffer
            # The kernel's own grows with the connection, up to net.ipv4.tcp_wmem's maximum.
            assert client.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) != 2 * send_buffer


def test_send_buffer_setting_defaults_to_256_kib_and_0_leaves_it_to_the_kernel(monkeypatch: pytest.MonkeyPatch):
    import socket

    import uvicorn

    from stoplist.cli import listen

    monkeypatch.delenv("STOPLIST_SEND_BUFFER_BYTES", raising=False)
    get_settings.cache_clear()
    try:
        assert get_settings().send_buffer_bytes == 256 * 1024
    finally:
        get_settings.cache_clear()
    kernel = socket.socket().getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    with listen(uvicorn.Config(app=None, host="127.0.0.1", port=0), 0) as listener:
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == kernel


def test_serve_refuses_a_server_it_does_not_know_before_touching_the_database(database, monkeypatch: pytest.MonkeyPatch):
    from_option = stoplist("serve", "--server", "nginx")
    monkeypatch.setenv("STOPLIST_SERVER", "nginx")
    from_environment = stoplist("serve")

    for result in (from_option, from_environment):
        assert result.exit_code == 2, result.output
        said = " ".join(result.output.replace("│", " ").split())  # as read, not as the error's box wraps it
        assert "Invalid value for '--server' (or STOPLIST_SERVER): 'nginx' is not one of uvicorn, granian." in said, result.output
    assert migrate.current_revision(database) is None


@pytest.mark.parametrize("workers", ["0", "-1", "65", "100000", "two"])
def test_serve_refuses_a_number_of_workers_it_cannot_run_before_touching_the_database(workers: str, monkeypatch: pytest.MonkeyPatch, tmp_path):
    database = tmp_path / "untouched.db"
    monkeypatch.setenv("STOPLIST_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    try:
        from_option = stoplist("serve", "--workers", workers)
        monkeypatch.setenv("STOPLIST_WORKERS", workers)
        from_environment = stoplist("serve")
    finally:
        get_settings.cache_clear()

    for result in (from_option, from_environment):
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--workers'" in result.stderr, result.stderr
    assert "STOPLIST_WORKERS" in from_environment.stderr
    assert not database.exists()


def _one_line_of(command: tuple[str, ...], url: str, cwd: Path) -> str:
    """What `stoplist COMMAND` says, run as a real process (serve and worker migrate in a child process of their own)."""
    result = subprocess.run(
        [sys.executable, "-m", "stoplist", *command], env={**os.environ, "STOPLIST_DATABASE_URL": url}, cwd=cwd,
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


@pytest.mark.parametrize("command", [("migrate",), ("token", "list"), ("audit", "verify"), ("export", "-"), ("serve", "--port", "0"), ("worker",)])
def test_a_database_that_refuses_the_connection_is_one_line_with_the_password_hidden(command, tmp_path):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    said = _one_line_of(command, f"postgresql://stoplist:secret@127.0.0.1:{port}/stoplist", tmp_path)
    assert said.startswith(f"error: cannot use the database postgresql+psycopg://stoplist:***@127.0.0.1:{port}/stoplist: connection failed")
    assert "secret" not in said


def test_a_sqlite_file_whose_directory_cannot_be_made_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")  # a file where the database's directory would go
    said = _one_line_of(("migrate",), f"sqlite:///{tmp_path}/file/var/stoplist.db", tmp_path)
    assert said.startswith(f"error: cannot use the database sqlite:///{tmp_path}/file/var/stoplist.db: ")


@pytest.mark.parametrize("command", [("migrate",), ("token", "list"), ("export", "-"), ("serve", "--port", "0"), ("worker",)])
def test_a_database_a_newer_release_migrated_is_refused_with_what_to_do_not_migrated_again(command, database, tmp_path):
    migrate.upgrade(database)
    engine = create_db_engine(database)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    finally:
        engine.dispose()

    said = _one_line_of(command, database, tmp_path)

    assert "is at revision 0099, which this release does not know" in said and "a newer release migrated it" in said, said
    assert migrate.current_revision(database) == "0099"


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(database):
    result = stoplist("serve", "--port", "70000")
    assert result.exit_code == 2 and "65535" in result.output and "Traceback" not in result.output


def test_a_file_that_is_no_database_is_one_line(tmp_path):
    (tmp_path / "notes.db").write_text("these are not the opt-outs you are looking for\n" * 100)
    for command in (("migrate",), ("token", "list")):
        said = _one_line_of(command, f"sqlite:///{tmp_path}/notes.db", tmp_path)
        assert said.startswith(f"error: cannot use the database sqlite:///{tmp_path}/notes.db: file is not a database"), said
