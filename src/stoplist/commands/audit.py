"""`stoplist audit`: verify the trail, sign checkpoints of it, and export proof from it."""

from pathlib import Path
from typing import Annotated

import typer

from stoplist.auth import service as auth_service
from stoplist.commands.common import account_id_named, database_session, owner_id_named, valid_settings
from stoplist.db import utcnow

audit_app = typer.Typer(help="Verify the audit trail, sign checkpoints of it, and export proof from it.", no_args_is_help=True)


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
    from stoplist.history.reconcile import Unaccounted
    from stoplist.history import service as history

    given = None if public_key is None else public_key.read_text(encoding="utf-8-sig", errors="replace")
    if given is not None and (wrong := saved.not_a_public_key(given)) is not None:
        raise typer.BadParameter(f"{public_key}: {wrong}", param_hint="--public-key")
    with database_session() as session:
        # A shared subuser: its own chain (what it held before it shared) and its parent's, which its checkpoints sign.
        account_id = None if account is None else owner_id_named(session, account, writing=False)
        chains = [None] if account is None else list(dict.fromkeys([account_id_named(session, account), account_id]))
        accounts = checked = entries = 0
        for chain_of in chains:
            verified = history.verify(session, account_id=chain_of)
            if isinstance(verified.broken, Unaccounted):
                typer.echo(f"BROKEN: {verified.broken.describe()} (every event verified; {entries + verified.entries:,} listed entries before it agree with them)", err=True)
                raise typer.Exit(1)
            if verified.broken is not None:
                typer.echo(f"BROKEN: {verified.broken.describe()} ({checked + verified.events:,} events before it verified)", err=True)
                raise typer.Exit(1)
            accounts, checked, entries = accounts + verified.accounts, checked + verified.events, entries + verified.entries
        files = [(str(path), path.read_text(encoding="utf-8-sig", errors="replace")) for path in checkpoint or []]
        confirmed, problems = saved.confirm(session, files, public_pem=given, account_id=account_id)
    for problem in problems:
        typer.echo(f"BROKEN: {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    anchored = f", {confirmed:,} checkpoint(s) confirmed" if checkpoint else ""
    typer.echo(f"ok: {checked:,} events of {accounts:,} account(s) verified, {entries:,} listed entries agree with them{anchored}")


@audit_app.command("checkpoint")
def audit_checkpoint(account: Annotated[str, typer.Option(help="The account whose trail is signed.")] = auth_service.DEFAULT_ACCOUNT) -> None:
    """Print a signed checkpoint of the account's trail (one line of JSON, as GET /blacklist/audit/checkpoint): keep it elsewhere."""
    from stoplist.history import checkpoints

    with database_session() as session:
        made = checkpoints.issue(session, account_id=owner_id_named(session, account, writing=False), now=utcnow())
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
    settings = valid_settings()
    try:
        during = None if address is not None else period(since, until, names=("--since", "--until"), now=utcnow())
    except InvalidMoment as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    with database_session() as session:
        account_id = owner_id_named(session, account, writing=False)
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
