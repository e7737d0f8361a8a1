"""The `stoplist` command: serve, migrate, run the worker, import and export; its groups for accounts,
tokens and the audit trail are in stoplist.commands."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from stoplist import servers
from stoplist.auth import service as auth_service
from stoplist.commands.accounts import account_app, print_first_token, token_app
from stoplist.commands.audit import audit_app
from stoplist.commands.common import database_session, owner_id_named, valid_settings
from stoplist.db import create_db_engine, create_session_factory
from stoplist.exports.operations import Layout
from stoplist.ops import configure_logging, uvicorn_log_config
from stoplist.supervisor import MAX_WORKERS, run_workers


app = typer.Typer(help="Stoplist: a self-hosted, SMSAPI-compatible blacklist service.", no_args_is_help=True, add_completion=False)
app.add_typer(token_app, name="token")
app.add_typer(account_app, name="account")
app.add_typer(audit_app, name="audit")


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    from stoplist import migrate as migrations

    url = valid_settings().database_url
    migrations.upgrade_or_exit(url)
    typer.echo(f"database at revision {migrations.current_revision(url)}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request (uvicorn's access log).")] = True,
    bootstrap_token: Annotated[
        bool, typer.Option("--bootstrap-token", help="If the database has no token at all, create one and print it.")
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            envvar="STOPLIST_WORKERS", min=1, max=MAX_WORKERS,
            help="Server processes on the one port, each with its own connections and caches (see the README's Several workers).",
        ),
    ] = 1,
    server: Annotated[
        str, typer.Option(envvar="STOPLIST_SERVER", help=f"The HTTP server: {servers.UVICORN} (the default) or {servers.GRANIAN} (faster checks; see the README).")
    ] = servers.UVICORN,
) -> None:
    """Migrate the database to the latest revision, then serve the API."""
    server = server.strip().lower()
    if server not in servers.SERVERS:
        raise typer.BadParameter(f"{server!r} is not one of {', '.join(servers.SERVERS)}.", param_hint="'--server' (or STOPLIST_SERVER)")
    settings = valid_settings()
    _migrate_apart(settings.database_url)
    if bootstrap_token:
        print_first_token(f"http://{_url_host(host)}:{port}")
    configure_logging(settings.log_format)
    if server == servers.GRANIAN:
        servers.run_granian(host=host, port=port, workers=workers, access_log=access_log, log_format=settings.log_format)
        return
    options = dict(host=host, port=port, proxy_headers=True, access_log=access_log, log_config=uvicorn_log_config(settings.log_format))
    if workers > 1:
        run_workers(workers, lambda config: listen(config, settings.send_buffer_bytes), **options)
        return
    from stoplist.app import create_app

    config = uvicorn.Config(create_app(settings, freeze_heap=True), **options)
    uvicorn.Server(config).run(sockets=[listen(config, settings.send_buffer_bytes)])


def _migrate_apart(database_url: str) -> None:
    """The database migrated to the latest revision, in a process of its own (the same interpreter and
    directory; the URL in its environment, never on its command line): Alembic, with the Mako and
    Pygments it loads, would otherwise stay in the serving process's memory for good, about 11 MB, for
    a migration done once at start. SIGTERM and SIGINT are passed on to it, so stopping the command
    stops the migration too. A failed migration stops the command with its exit status (128 + the
    signal's number for one a signal ended); its error is on stderr, as before."""
    environment = {**os.environ, "STOPLIST_DATABASE_URL": database_url}
    child: subprocess.Popen | None = None
    early: list[int] = []

    def pass_on(signum: int, _frame) -> None:
        if child is None:
            early.append(signum)  # between the fork and Popen's return: sent to it as soon as it is known
        else:
            child.send_signal(signum)

    # In place before the child starts: a signal in between killed this process alone, and the migration went on.
    passed_on = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        child = subprocess.Popen([sys.executable, "-c", _MIGRATE], env=environment)
        for signum in early:
            child.send_signal(signum)
        status = child.wait()
    finally:
        for signum, handler in passed_on.items():
            signal.signal(signum, handler)
    if status < 0:
        typer.echo(f"error: the migration was ended by {signal.Signals(-status).name}", err=True)
        raise typer.Exit(128 - status)
    if status:
        raise typer.Exit(status)


# What _migrate_apart's process runs: the upgrade alone, which writes nothing of its own to stdout or stderr
# (`stoplist migrate` would add a line of plain text to a server whose log is JSON).
_MIGRATE = "import os; from stoplist.migrate import upgrade_or_exit; upgrade_or_exit(os.environ['STOPLIST_DATABASE_URL'])"


def listen(config: uvicorn.Config, send_buffer_bytes: int) -> socket.socket:
    """The server's listening socket, whose send buffer every connection it accepts inherits.

    Left to itself, the kernel lets a download queue about 3 MB for a client that reads at a few
    KB/s: eight slow readers made the server produce 70% of a 4 MB export each at once, while
    other requests waited up to a second for the CPU."""
    listener = config.bind_socket()
    if send_buffer_bytes:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer_bytes)
    return listener


def _url_host(host: str) -> str:
    """The host as a URL names it: a wildcard address is reached on loopback; IPv6 goes in brackets."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@app.command()
def worker() -> None:
    """Run background jobs (imports, x-async exports) until stopped; run as many as you like."""
    from stoplist.composition import create_worker

    settings = valid_settings()
    configure_logging(settings.log_format)
    _migrate_apart(settings.database_url)
    engine = create_db_engine(settings.database_url)
    job_worker = create_worker(create_session_factory(engine), settings)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: job_worker.stop.set())
    typer.echo(f"worker {job_worker.worker_id} waiting for jobs", err=True)
    try:
        job_worker.run()
    finally:
        engine.dispose()


def _existing_or_stdin(file: Path) -> Path:
    """typer's `exists=True` with `allow_dash=True` refuses `-` (it compares the Path made of it with the text "-")."""
    if str(file) != "-" and not file.exists():
        raise typer.BadParameter(f"file {str(file)!r} does not exist.")
    return file


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(dir_okay=False, readable=True, callback=_existing_or_stdin, help="The CSV to import; - for standard input.")],
    account: Annotated[str, typer.Option(help="The account whose lists receive the entries.")] = auth_service.DEFAULT_ACCOUNT,
    rejects: Annotated[Path | None, typer.Option(help="Write every rejected row here, as CSV (line,value,message); - for standard output (the counts then go to standard error).")] = None,
    evidence: Annotated[str | None, typer.Option(help="Kept on the audit trail with every change the import makes, as the API's evidence (at most 1,000 characters).")] = None,
    received_at: Annotated[str | None, typer.Option(help="When the opt-outs reached you, as the API's received_at: RFC 3339 with an offset (2026-11-30T10:00:00Z).")] = None,
) -> None:
    """Import a CSV straight into the database, as the API would, with a progress bar; the entries a native file
    (such as `stoplist export` writes) creates keep its created_at, updated_at and source."""
    from stoplist.imports import operations

    settings = valid_settings()
    origin = _cli_origin(evidence, received_at)
    if rejects is not None and rejects != operations.STDOUT:
        _refuse_to_overwrite(rejects, "--rejects", inputs={file: "the file being imported"}, database_url=settings.database_url)
    with _sigterm_as_exit():  # the batch under way rolled back, a spooled standard input removed
        with database_session() as session:
            account_id = owner_id_named(session, account, writing=True)
            try:
                counts, shown = operations.import_file(
                    file, session=session, account_id=account_id, default_region=settings.default_region, rejects_path=rejects, origin=origin
                )
            except (operations.CsvFormatError, operations.NotCsvText) as exc:
                typer.echo(f"error: {exc.message}", err=True)
                raise typer.Exit(1) from None
            except operations.ImportStopped as stopped:
                done = stopped.committed
                if stopped.why:
                    typer.echo(f"error: {stopped.why}", err=True)
                typer.echo(
                    f"every line is imported ({_counted(done)}); only the rejected rows were not all written" if stopped.whole else
                    "stopped before its first batch was committed: nothing is imported" if not done.line else
                    f"stopped: lines 1-{done.line} are imported ({_counted(done)}), the rest is not; import the file again to finish"
                    " (what is listed counts as unchanged)",
                    err=True,
                )
                raise typer.Exit(stopped.status if isinstance(stopped.status, int) else 1) from None
            except OSError as exc:
                if rejects is None or exc.filename is None or Path(exc.filename) != rejects:
                    raise
                typer.echo(f"error: cannot write --rejects {rejects}: {exc.strerror}", err=True)
                raise typer.Exit(1) from None
    for line, value, message in shown:
        typer.echo(f"line {line}: {value!r}: {message}", err=True)
    # With the rejected rows on standard output, the counts go where the progress bar went: the CSV stays a CSV.
    typer.echo(_counted(counts), err=rejects == operations.STDOUT)


def _counted(counts) -> str:
    """An import's counts as the command says them (ImportCounts)."""
    return f"rows {counts.rows}  added {counts.added}  updated {counts.updated}  unchanged {counts.unchanged}  invalid {counts.invalid}"


def _cli_origin(evidence: str | None, received_at: str | None):
    """The grounds the command line's changes carry, read by the API's rules; a value they refuse stops the command (exit 2)."""
    from stoplist.audit.origin import evidence_of, received_at_of
    from stoplist.audit.trail import Origin
    from stoplist.db import utcnow
    from stoplist.declared import plus_hint
    from stoplist.errors import InvalidEvidence

    try:
        return Origin("cli", evidence=evidence_of(evidence), received_at=received_at_of(received_at, now=utcnow()))
    except InvalidEvidence as exc:
        option = "--received-at" if exc.errors[0].path == "received_at" else "--evidence"
        # Without the hint for a form's or a query's + read as a space: a command line reads a + as it is.
        typer.echo(f"error: {option}: {exc.message.replace(plus_hint(received_at or ''), '')}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM (`timeout`, systemd, `docker stop`) ends the command as Ctrl-C does, through its cleanup; its default
    action would leave a spooled input or a partial export behind in the temporary directory or beside the file."""
    before = signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _refuse_to_overwrite(output: Path, option: str, *, inputs: dict[Path, str], database_url: str) -> None:
    """Stop before writing `output` over what the command reads: the file imported (`--rejects` naming it emptied
    it: its rows neither imported nor kept), or the SQLite database (`stoplist export var/stoplist.db`)."""
    from stoplist.commands.common import sqlite_files

    # sqlite_files: the database first, then its log, shared memory and journal.
    files = {path: "the database" if index == 0 else "a file of the database's" for index, path in enumerate(sqlite_files(database_url))}
    for path, what in {**inputs, **files}.items():
        if _same_file(output, path):
            typer.echo(f"error: {option} {output} is {what}: writing it would destroy it. Name another file.", err=True)
            raise typer.Exit(1)


def _same_file(output: Path, path: Path) -> bool:
    """Whether `output` is `path`: the same file, or, where either is not there yet, the same place. SQLite makes its
    log (-wal, -shm) only once a connection opens: `--rejects var/stoplist.db-wal` then wrote CSV into the live log."""
    try:
        if output.exists() and path.exists():
            return output.samefile(path)
        return output.resolve() == path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
        return False


@app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True, allow_dash=True, help="Where to write the CSV; - for standard output.")],
    account: Annotated[str, typer.Option(help="The account whose entries are exported.")] = auth_service.DEFAULT_ACCOUNT,
    layout: Annotated[
        Layout,
        typer.Option(
            "--format",
            help="native: every entry of every list, every field (what `stoplist import` restores); "
            "smsapi: the default list's phone numbers as GET /blacklist/phone_numbers exports them.",
        ),
    ] = Layout.native,
) -> None:
    """Export an account's entries as CSV, with a progress bar: every list in the native layout, or SMSAPI's."""
    from stoplist.exports import operations

    if file != operations.STDOUT:
        _refuse_to_overwrite(file, "FILE", inputs={}, database_url=valid_settings().database_url)
    try:
        with _sigterm_as_exit(), database_session() as session:  # a partial file removed
            rows = operations.export_file(file, session=session, account_id=owner_id_named(session, account, writing=False), layout=layout)
    except BrokenPipeError:
        raise  # a reader of standard output that goes (`stoplist export - | head`): Click ends the command quietly, with exit 1
    except OSError as exc:
        typer.echo(f"error: cannot write {file}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"rows {rows}", err=file == operations.STDOUT)  # not into the CSV of a pipe


