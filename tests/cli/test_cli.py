import re

import pytest
from typer.testing import CliRunner

from stoplist import migrate
from stoplist.cli import app
from stoplist.config import get_settings

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
        ("STOPLIST_DEFAULT_REGION", "XX", "error: STOPLIST_DEFAULT_REGION names an unknown region 'XX'"),
        ("STOPLIST_LOG_FORMAT", "xml", "error: STOPLIST_LOG_FORMAT='xml': Input should be 'text' or 'json'"),
        ("STOPLIST_MAX_DOWNLOADS", "many", "error: STOPLIST_MAX_DOWNLOADS='many': Input should be a valid integer"),
    ],
)
@pytest.mark.parametrize("command", [("migrate",), ("token", "list"), ("audit", "verify"), ("serve", "--port", "1"), ("worker",), ("audit", "public-key")])
def test_a_setting_that_is_not_valid_stops_every_command_with_one_line_naming_it(command, variable, value, said, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        result = stoplist(*command)
    finally:
        get_settings.cache_clear()

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(said) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    assert not list(tmp_path.iterdir()), "nothing made before the refusal (no var/stoplist.db)"


@pytest.mark.parametrize("command", [("serve",), ("token", "list"), ("audit", "verify"), ("import",)])
def test_a_commands_help_shows_whatever_the_settings(command, monkeypatch):
    monkeypatch.setenv("STOPLIST_DATABASE_URL", "mysql://stoplist@db/stoplist")
    get_settings.cache_clear()
    try:
        result = stoplist(*command, "--help")
    finally:
        get_settings.cache_clear()

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
