"""The `stoplist` command: serve, migrate, and manage access tokens."""

import signal
from enum import Enum
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from stoplist import migrate as migrations
from stoplist.auth import service as auth_service
from stoplist.auth.repository import AuthRepository
from stoplist.config import get_settings
from stoplist.ops import configure_logging, uvicorn_log_config
from stoplist.db import create_db_engine, create_session_factory, normalize_url, transaction, utcnow
from stoplist.auth.models import SHARED, AccessToken
from stoplist.exports.operations import Layout
from stoplist.lists.schemas import format_timestamp


class ListMode(str, Enum):
    own = "own"
    shared = "shared"


app = typer.Typer(help="Stoplist: a self-hosted, SMSAPI-compatible blacklist service.", no_args_is_help=True, add_completion=False)
token_app = typer.Typer(help="Create, list and revoke access tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
account_app = typer.Typer(help="Create accounts: top-level, or subusers of one (one level).", no_args_is_help=True)
app.add_typer(account_app, name="account")


@contextmanager
def database_session() -> Iterator[Session]:
    """A session on the configured database, committed when the command's work succeeds; a database
    not migrated to this release's revision stops the command with a sentence saying so, not a traceback."""
    url = get_settings().database_url
    at, head = migrations.current_revision(url), migrations.head_revision(url)
    if at != head:
        state = "has no tables yet" if at is None else f"is at revision {at}, this release's is {head}"
        typer.echo(f"error: the database {make_url(normalize_url(url)).render_as_string(hide_password=True)} {state}: run `stoplist migrate`", err=True)
        raise typer.Exit(1)
    engine = create_db_engine(url)
    try:
        with transaction(create_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    url = get_settings().database_url
    migrations.upgrade(url)
    typer.echo(f"database at revision {migrations.current_revision(url)}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log", help="Log every request (uvicorn's access log).")] = True,
    bootstrap_token: Annotated[
        bool, typer.Option("--bootstrap-token", help="If the database has no token at all, create one and print it.")
    ] = False,
) -> None:
    """Migrate the database to the latest revision, then serve the API."""
    from stoplist.app import create_app

    settings = get_settings()
    migrations.upgrade(settings.database_url)
    if bootstrap_token:
        _print_first_token(f"http://{_url_host(host)}:{port}")
    configure_logging(settings.log_format)
    config = uvicorn.Config(
        create_app(settings, freeze_heap=True), host=host, port=port, proxy_headers=True, access_log=access_log, log_config=uvicorn_log_config(settings.log_format)
    )
    uvicorn.Server(config).run(sockets=[listen(config, settings.send_buffer_bytes)])


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


def _print_first_token(base_url: str) -> None:
    from stoplist.accounts.service import grant_operator_token

    with database_session() as session:
        repository = AuthRepository(session)
        if repository.count_tokens():
            return
        secret, record = grant_operator_token(session, now=utcnow())
    typer.echo(
        f"\nNo access token existed, so one was created for account '{record.account.name}' "
        f"(scopes: {record.scopes}). Keep it; it is not shown again:\n\n    {secret}\n\n"
        f'Try it:  curl -H "Authorization: Bearer {secret}" {base_url}/blacklist/phone_numbers\n',
        err=True,
    )


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Argument(help="The new account's name (unique on the server).")],
    parent: Annotated[str | None, typer.Option(help="Make it a subuser of this account (a top-level one).")] = None,
    mode: Annotated[ListMode, typer.Option(help="A subuser's lists: own, or shared (its parent's).")] = ListMode.own,
) -> None:
    """Create an account, or a subuser of one (recorded as `sub_add` on the parent's trail); prints its id."""
    from stoplist.accounts.service import add_subuser
    from stoplist.audit.trail import Origin

    try:
        with database_session() as session:
            repository = AuthRepository(session)
            name = auth_service.valid_account_name(name)
            taken = auth_service.taken_name(repository, name)
            if taken is not None:
                raise auth_service.InvalidTokenRequest(f"an account named {taken!r} exists already (names are unique whatever their case)")
            if parent is None:
                account = auth_service.create_account(repository=repository, name=name, mode=mode.value)
            else:
                account = add_subuser(session, parent=_account(session, parent), name=name, mode=mode.value, origin=Origin("cli"), now=utcnow())
            account_id = account.id
    except auth_service.InvalidTokenRequest as exc:
        raise typer.BadParameter(str(exc)) from None
    where = "" if parent is None else f" as a subuser of '{parent}' ({mode.value} lists)"
    typer.echo(f"created account '{name}'{where}", err=True)
    typer.echo(account_id)


@token_app.command("create")
def token_create(
    account: Annotated[str, typer.Option(help="The account the token acts for; created if new.")] = auth_service.DEFAULT_ACCOUNT,
    scope: Annotated[list[str] | None, typer.Option(help="A scope to grant (repeatable). Default: blacklist, the one /blacklist routes need.")] = None,
    expires: Annotated[str | None, typer.Option(help="When the token stops working: an RFC 3339 moment or a date (midnight UTC), in the future.")] = None,
    name: Annotated[str | None, typer.Option(help="A label, to tell tokens apart.")] = None,
) -> None:
    """Create an access token and print it (alone, on stdout). It is shown only this once (recorded as `grant` on its account's trail)."""
    from stoplist.accounts.service import grant_operator_token
    from stoplist.lists.expiry import parse_moment

    expires_at = None
    if expires is not None:
        expires_at = parse_moment(expires.strip())
        if expires_at is None or expires_at.replace(microsecond=0) <= utcnow():
            raise typer.BadParameter(f"{expires!r} is not an RFC 3339 moment or a date in the future", param_hint="--expires")
        expires_at = expires_at.replace(microsecond=0)
    try:
        with database_session() as session:
            secret, record = grant_operator_token(session, account_name=account, scopes=scope, name=name, expires_at=expires_at, now=utcnow())
    except auth_service.InvalidTokenRequest as exc:
        raise typer.BadParameter(str(exc)) from None  # the message names the option at fault (scope, account, expiry)
    unused = sorted(set(record.scope_set) - set(auth_service.SCOPES))
    if unused:
        typer.echo(f"note: Stoplist does not use scope(s) {', '.join(unused)}; they open nothing here", err=True)
    until = "" if expires_at is None else f", until {format_timestamp(expires_at)}"
    typer.echo(f"created token {record.id} for account '{account}' with scopes: {record.scopes}{until}", err=True)
    typer.echo(secret)


def format_token_row(record: AccessToken) -> tuple[str, ...]:
    if record.revoked_at is not None:
        status = f"revoked {format_timestamp(record.revoked_at)}"
    elif record.expires_at is not None:
        status = f"{'expired' if record.expires_at <= utcnow() else 'expires'} {format_timestamp(record.expires_at)}"
    else:
        status = "active"
    return (str(record.id), record.account.name, record.prefix + "…", record.scopes, format_timestamp(record.created_at), status, record.name or "")


@token_app.command("list")
def token_list() -> None:
    """List every token: id, account, first characters, scopes, creation time, status, name."""
    with database_session() as session:
        rows = [format_token_row(record) for record in AuthRepository(session).all_tokens()]
    header = ("ID", "ACCOUNT", "TOKEN", "SCOPES", "CREATED", "STATUS", "NAME")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id, from `stoplist token list`.")]) -> None:
    """Revoke a token: requests with it are refused from now on (recorded as `revoke` on its account's trail)."""
    from stoplist.accounts.service import revoke_operator_token

    try:
        with database_session() as session:
            revoke_operator_token(session, token_id=token_id, now=utcnow())
    except auth_service.TokenNotFound:
        typer.echo(f"error: no token has id {token_id}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked token {token_id}", err=True)


@app.command()
def worker() -> None:
    """Run background jobs (imports, x-async exports) until stopped; run as many as you like."""
    from stoplist.composition import create_worker

    settings = get_settings()
    configure_logging(settings.log_format)
    migrations.upgrade(settings.database_url)
    engine = create_db_engine(settings.database_url)
    job_worker = create_worker(create_session_factory(engine), settings)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: job_worker.stop.set())
    typer.echo(f"worker {job_worker.worker_id} waiting for jobs", err=True)
    try:
        job_worker.run()
    finally:
        engine.dispose()


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The CSV to import.")],
    account: Annotated[str, typer.Option(help="The account whose lists receive the entries.")] = auth_service.DEFAULT_ACCOUNT,
    rejects: Annotated[Path | None, typer.Option(help="Write every rejected row here, as CSV (line,value,message).")] = None,
) -> None:
    """Import a CSV straight into the database, as the API would, with a progress bar; the entries a native file
    (such as `stoplist export` writes) creates keep its created_at, updated_at and source."""
    from stoplist.imports import operations

    settings = get_settings()
    with database_session() as session:
        account_id = _owner_id(session, account, writing=True)
        try:
            counts, shown = operations.import_file(
                file, session=session, account_id=account_id, default_region=settings.default_region, rejects_path=rejects
            )
        except (operations.CsvFormatError, operations.NotCsvText) as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1) from None
    for line, value, message in shown:
        typer.echo(f"line {line}: {value!r}: {message}", err=True)
    typer.echo(f"rows {counts.rows}  added {counts.added}  updated {counts.updated}  unchanged {counts.unchanged}  invalid {counts.invalid}")


@app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(dir_okay=False, writable=True, help="Where to write the CSV.")],
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

    with database_session() as session:
        rows = operations.export_file(file, session=session, account_id=_owner_id(session, account, writing=False), layout=layout)
    typer.echo(f"rows {rows}")


def _account(session: Session, name: str):
    found = AuthRepository(session).account_by_name(name)
    if found is None:
        typer.echo(f"error: no account named {name!r} (accounts are made by `stoplist account create NAME` or `stoplist token create --account NAME`)", err=True)
        raise typer.Exit(1)
    return found


def _account_id(session: Session, name: str) -> int:
    return _account(session, name).id


def _owner_id(session: Session, name: str, *, writing: bool) -> int:
    """Whose lists the account's entries are, as its tokens would act on them: a shared subuser's are its
    parent's; a deleted subuser's lists are read-only."""
    account = _account(session, name)
    if writing and account.deleted_at is not None:
        typer.echo(f"error: account {name!r} is a deleted subuser: its lists can be read, not written", err=True)
        raise typer.Exit(1)
    if account.parent_id is not None and account.list_mode == SHARED and account.deleted_at is None:
        typer.echo(f"note: {name!r} is a shared subuser: this acts on its parent's lists", err=True)
        return account.parent_id
    return account.id


audit_app = typer.Typer(help="Verify the audit trail, sign checkpoints of it, and export proof from it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    account: Annotated[str | None, typer.Option(help="Only this account's trail (default: every account's).")] = None,
    checkpoint: Annotated[
        list[Path] | None,
        typer.Option(exists=True, dir_okay=False, readable=True, metavar="FILE", help="Checkpoints kept elsewhere (one, or JSON lines): the chain must still lead to each (repeatable)."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, readable=True, metavar="PEM_FILE", help="The key saved from `stoplist audit public-key` (default: the database's)."),
    ] = None,
) -> None:
    """Check every event's hash chain, numbering and columns, then each checkpoint given; name what does not hold and exit 1 if anything."""
    from stoplist.history import checkpoints as saved
    from stoplist.history import service as history

    given = None if public_key is None else public_key.read_text(encoding="utf-8", errors="replace")
    if given is not None and (wrong := saved.not_a_public_key(given)) is not None:
        raise typer.BadParameter(f"{public_key}: {wrong}", param_hint="--public-key")
    with database_session() as session:
        account_id = None if account is None else _account_id(session, account)
        accounts, checked, broken = history.verify(session, account_id=account_id)
        if broken is not None:
            typer.echo(f"BROKEN: {broken.describe()} ({checked:,} events before it verified)", err=True)
            raise typer.Exit(1)
        files = [(str(path), path.read_text(encoding="utf-8", errors="replace")) for path in checkpoint or []]
        confirmed, problems = saved.confirm(session, files, public_pem=given, account_id=account_id)
    for problem in problems:
        typer.echo(f"BROKEN: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    anchored = f", {confirmed:,} checkpoint(s) confirmed" if checkpoint else ""
    typer.echo(f"ok: {checked:,} events of {accounts:,} account(s) verified{anchored}")


@audit_app.command("checkpoint")
def audit_checkpoint(account: Annotated[str, typer.Option(help="The account whose trail is signed.")] = auth_service.DEFAULT_ACCOUNT) -> None:
    """Print a signed checkpoint of the account's trail (one line of JSON, as GET /blacklist/audit/checkpoint): keep it elsewhere."""
    from stoplist.history import checkpoints

    with database_session() as session:
        made = checkpoints.issue(session, account_id=_account_id(session, account), now=utcnow())
    typer.echo(made.line())


@audit_app.command("public-key")
def audit_public_key() -> None:
    """Print the public key that checkpoints are signed with (PEM): keep it with them."""
    from stoplist.history import checkpoints

    with database_session() as session:
        found = checkpoints.public_key(session, now=utcnow())
    typer.echo(found.pem, nl=False)


@audit_app.command("export")
def audit_export(
    address: Annotated[str | None, typer.Option(help="Every event of this address (any spelling).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Every event recorded at or after this moment: a UNIX timestamp, ISO 8601 (a date: from its start), or a phrase (`2 weeks ago`).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Every event recorded before this moment, in the same forms (a date: up to its end, included).")
    ] = None,
    account: Annotated[str, typer.Option(help="The account whose trail is read.")] = auth_service.DEFAULT_ACCOUNT,
) -> None:
    """Write events to standard output as CSV (the columns of GET /blacklist/history with Accept: text/csv)."""
    import sys

    from stoplist.errors import InvalidAddress, InvalidMoment
    from stoplist.history import service as history
    from stoplist.history.repository import EventRepository
    from stoplist.lists.moments import period

    if (address is None) == (since is None and until is None):
        typer.echo("error: give --address, or --since and/or --until (one of the two)", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    try:
        during = None if address is not None else period(since, until, names=("--since", "--until"), now=utcnow())
    except InvalidMoment as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    with database_session() as session:
        account_id = _account_id(session, account)
        if during is None:
            try:
                forms = history.spellings(address, default_region=settings.default_region)  # type: ignore[arg-type]
            except InvalidAddress as exc:
                typer.echo(f"error: {exc.message}", err=True)
                raise typer.Exit(2) from None
            events = EventRepository(session).of_address(account_id=account_id, addresses=forms, after=0, limit=10**12)
            sys.stdout.write(history.csv_text(events))
            return
        sys.stdout.write(history.csv_text([]))
        after = 0
        # A batch at a time, in seq order: a period may hold millions of events.
        while batch := EventRepository(session).during(account_id=account_id, period=during, after=after, limit=5_000):
            sys.stdout.write(history.csv_text(batch, header=False))
            after = batch[-1][0]
