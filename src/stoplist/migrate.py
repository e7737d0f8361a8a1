"""Running Alembic migrations from code (`stoplist migrate`, `stoplist worker`, the tests; `stoplist serve`
runs `stoplist migrate` in a process of its own, see cli.serve)."""

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from stoplist.db import create_db_engine
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
