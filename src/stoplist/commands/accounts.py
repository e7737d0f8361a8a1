"""`stoplist account` and `stoplist token`: accounts and subusers, and access tokens, made by the operator (each recorded on the trail)."""

from enum import Enum
from typing import Annotated

import typer

from stoplist.auth import service as auth_service
from stoplist.auth.models import AccessToken
from stoplist.auth.names import shown
from stoplist.auth.repository import AuthRepository
from stoplist.commands.common import account_named, database_session
from stoplist.db import utcnow
from stoplist.errors import NameTaken
from stoplist.lists.schemas import format_timestamp


MAX_ID = 2**63 - 1  # the largest id a BIGINT holds


class ListMode(str, Enum):
    own = "own"
    shared = "shared"


token_app = typer.Typer(help="Create, list and revoke access tokens.", no_args_is_help=True)
account_app = typer.Typer(help="Create accounts: top-level, or subusers of one (one level).", no_args_is_help=True)


def print_first_token(base_url: str) -> None:
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
            alike = repository.account_alike(name)
            if alike is not None:
                raise auth_service.InvalidTokenRequest(f"an account named {alike.name!r} exists already (names are one whatever their case or form)")
            if parent is None:
                account = auth_service.create_account(repository=repository, name=name, mode=mode.value)
            else:
                account = add_subuser(session, parent=account_named(session, parent), name=name, mode=mode.value, origin=Origin("cli"), now=utcnow())
            account_id = account.id
    except auth_service.InvalidTokenRequest as exc:
        raise typer.BadParameter(str(exc)) from None
    except NameTaken as exc:  # another command or request named one alike meanwhile
        raise typer.BadParameter(exc.message) from None
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
    except NameTaken as exc:
        raise typer.BadParameter(exc.message, param_hint="--account") from None
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
    return (str(record.id), shown(record.account.name), record.prefix + "…", record.scopes, format_timestamp(record.created_at), status, shown(record.name or ""))


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
def token_revoke(token_id: Annotated[int, typer.Argument(min=1, max=MAX_ID, help="The token's id, from `stoplist token list`.")]) -> None:
    """Revoke a token: requests with it are refused from now on (recorded as `revoke` on its account's trail)."""
    from stoplist.accounts.service import revoke_operator_token

    try:
        with database_session() as session:
            record, revoked = revoke_operator_token(session, token_id=token_id, now=utcnow())
            revoked_at = record.revoked_at
    except auth_service.TokenNotFound:
        typer.echo(f"error: no token has id {token_id}", err=True)
        raise typer.Exit(1) from None
    if revoked:
        typer.echo(f"revoked token {token_id}", err=True)
    else:
        typer.echo(f"token {token_id} was revoked already, at {format_timestamp(revoked_at)}: nothing more to do", err=True)
