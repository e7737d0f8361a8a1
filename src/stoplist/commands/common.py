"""What the `stoplist` commands share: a session on the migrated database, and accounts named on the command line."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from stoplist.auth.models import SHARED, Account
from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings, get_settings, misspelt
from stoplist.db import create_db_engine, create_session_factory, shown_url, sqlite_file, transaction


def valid_settings() -> Settings:
    """The settings; one not valid stops the command with a line naming it (exit 2), not a traceback.
    Read by each command, not by the group: `stoplist serve --help` shows its help whatever the settings. A variable
    that misspells a setting stops it too: the setting would silently keep its default (a new, empty database)."""
    wrong = misspelt()
    for variable, setting in wrong:
        typer.echo(f"error: {variable} is not a setting of Stoplist: did you mean {setting}? (it would be ignored, and {setting} keep its default)", err=True)
    if wrong:
        raise typer.Exit(2)
    try:
        settings = get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = "STOPLIST_" + "_".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            typer.echo(f"error: {variable} {message}" if error["type"] == "value_error" else f"error: {variable}={error['input']!r}: {message}", err=True)
        raise typer.Exit(2) from None
    if make_url(settings.database_url).get_backend_name() == "sqlite" and sqlite_file(settings.database_url) is None:
        # Each connection of one is a database of its own, gone when it closes: `stoplist migrate` made tables no later
        # command saw, and every command said to run it. (Code may make Settings of one: the OpenAPI document's app.)
        typer.echo("error: STOPLIST_DATABASE_URL names no file (an in-memory SQLite database is gone when its connection closes):"
                   " name one, for example sqlite:///var/stoplist.db", err=True)
        raise typer.Exit(2)
    return settings


@contextmanager
def database_session() -> Iterator[Session]:
    """A session on the configured database, committed when the command's work succeeds; a database
    not migrated to this release's revision stops the command with a sentence saying so, not a traceback."""
    from stoplist import migrate as migrations  # Alembic only where a command runs, not in every process that imports this

    url = valid_settings().database_url
    missing = missing_sqlite_file(url)
    if missing is not None:
        # Opening it would make an empty file there: a command run from another directory left var/stoplist.db behind.
        typer.echo(
            f"error: there is no database at {missing} (STOPLIST_DATABASE_URL={shown_url(url)}):"
            " run the command where the database is, set STOPLIST_DATABASE_URL to it, or make one with `stoplist migrate`",
            err=True,
        )
        raise typer.Exit(1)
    at, head = migrations.known_revision_or_exit(url), migrations.head_revision(url)
    if at != head:
        state = "has no tables yet" if at is None else f"is at revision {at}, this release's is {head}"
        typer.echo(f"error: the database {shown_url(url)} {state}: run `stoplist migrate`", err=True)
        raise typer.Exit(1)
    # Past this, an error is the command's (or a bug): raised as it is, with its traceback.
    engine = create_db_engine(url)
    try:
        with transaction(create_session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def missing_sqlite_file(url: str) -> Path | None:
    """The absolute path of the SQLite file `url` names when there is no such file; else None (PostgreSQL, memory, a file)."""
    path = sqlite_file(url)
    try:
        there = path is None or path.exists()
    except OSError:  # a name longer than the file system takes, a component that is a file: no database there either
        there = False
    return None if there else path.resolve()  # type: ignore[union-attr]


def sqlite_files(url: str) -> list[Path]:
    """The files of the SQLite database `url` names (the database, its log and shared memory); none for PostgreSQL."""
    path = sqlite_file(url)
    return [] if path is None else [path.with_name(path.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def account_named(session: Session, name: str) -> Account:
    """The account named `name` exactly; else the command stops, naming the account it may have meant."""
    repository = AuthRepository(session)
    found = repository.account_by_name(name)
    if found is None:
        alike = repository.account_alike(name)
        hint = (
            f"did you mean {alike.name!r}? names are one whatever their case or form, and the command line names them as they are" if alike is not None
            else "accounts are made by `stoplist account create NAME` or `stoplist token create --account NAME`"
        )
        typer.echo(f"error: no account named {name!r} ({hint})", err=True)
        raise typer.Exit(1)
    return found


def account_id_named(session: Session, name: str) -> int:
    return account_named(session, name).id


def owner_id_named(session: Session, name: str, *, writing: bool) -> int:
    """Whose lists (and trail) the account's are, as its tokens would act on them: a shared subuser's are its
    parent's; a deleted subuser's lists are read-only."""
    account = account_named(session, name)
    if writing and account.deleted_at is not None:
        typer.echo(f"error: account {name!r} is a deleted subuser: its lists can be read, not written", err=True)
        raise typer.Exit(1)
    if account.parent_id is not None and account.list_mode == SHARED and account.deleted_at is None:
        typer.echo(f"note: {name!r} is a shared subuser: this acts on its parent's lists and trail", err=True)
        return account.parent_id
    return account.id
