"""Alembic environment: migrates the database named by STOPLIST_DATABASE_URL (or the caller's URL)."""

from alembic import context

from stoplist.audit import models as audit_models
from stoplist.auth import models as auth_models
from stoplist.lists import models as list_models
from stoplist.config import get_settings
from stoplist.db import Base, create_db_engine
from stoplist.files import models as files_models
from stoplist.jobs import models as jobs_models
from stoplist.migrate import include_object_for

MODELS = (audit_models, auth_models, list_models, files_models, jobs_models)  # imported for the tables they put on Base.metadata
config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(database_url())
    try:
        with engine.connect() as connection:
            # render_as_batch lets ALTERs work on SQLite, which rewrites tables to change them.
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True,
                include_object=include_object_for(connection.dialect.name),
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
