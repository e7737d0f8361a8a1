"""Running Alembic migrations from code (`stoplist migrate`, `stoplist worker`, the tests; `stoplist serve`
runs `stoplist migrate` in a process of its own, see cli.serve)."""

import sys
from typing import NoReturn

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

from stoplist.db import create_db_engine, plainly_unusable, shown_url
from stoplist.lists.search import is_search_index_table
from stoplist.revisions import ROOT


def alembic_config(database_url: str) -> Config:
    """Alembic's configuration for `database_url`, using the repository's migrations."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to `revision` (the latest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def known_revision(database_url: str, revision: str) -> bool:
    """Whether this release has `revision` (a database a newer release migrated is at one it has not)."""
    try:
        return ScriptDirectory.from_config(alembic_config(database_url)).get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_or_exit(database_url: str) -> None:
    """`upgrade`, for a command (`stoplist migrate`, and the migration `stoplist serve` and `stoplist worker` run
    first): what `known_revision_or_exit` refuses ends the process before anything is migrated."""
    known_revision_or_exit(database_url)
    upgrade(database_url)


def known_revision_or_exit(database_url: str) -> str | None:
    """The revision the database is at (None: never migrated), for a command: a database it cannot reach, or one at a
    revision this release does not know, ends the process with one line on stderr and status 1, not a traceback."""
    try:
        at = current_revision(database_url)
    except (DBAPIError, OSError) as exc:  # reaching it; what fails after the first connection is raised as it is
        _stop(plainly_unusable(database_url, exc))
    if at is not None and not known_revision(database_url, at):
        _stop(_newer_release(database_url, at))
    return at


def _stop(said: str) -> NoReturn:
    print(f"error: {said}", file=sys.stderr)
    sys.exit(1)


def _newer_release(database_url: str, at: str) -> str:
    return (
        f"the database {shown_url(database_url)} is at revision {at}, which this release does not know (its latest is"
        f" {head_revision(database_url)}): a newer release migrated it. Run that release, or restore a backup taken before the upgrade."
    )


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def include_object_for(dialect: str):
    """Autogenerate's filter: skip objects the models create only on other databases (Index.ddl_if), and
    SQLite's search index, an FTS5 table that migration 0016 makes and the models cannot declare."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table" and reflected and compare_to is None and dialect == "sqlite" and is_search_index_table(name):
            return False
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect is None or condition.dialect == dialect

    return include_object
