"""Engine and session factories, and the declarative base every model uses."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, Engine, MetaData, String, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC on every database and read back as aware UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


def sqlite_stamp(moment: datetime) -> str:
    """An aware moment as SQLite stores entry timestamps (see Rfc3339Timestamp): '2026-11-25T10:00:00Z'."""
    return moment.astimezone(timezone.utc).strftime(RFC3339)


def pg_rfc3339(column: str) -> str:
    """SQL that formats a PostgreSQL timestamp column as the API shows it, in the server."""
    return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


class Rfc3339Timestamp(TypeDecorator[datetime]):
    """A timestamp to the second. SQLite stores it as the API shows it ('2026-11-25T10:00:00Z'),
    which sorts and compares like the moment itself, so exports and checks read it without
    converting; other databases store a naive UTC timestamp."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(String(20) if dialect.name == "sqlite" else DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware UTC datetime")
        return sqlite_stamp(value) if dialect.name == "sqlite" else naive_utc(value)

    def process_result_value(self, value, dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.strptime(value, RFC3339).replace(tzinfo=timezone.utc)
        return value.replace(tzinfo=timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    """An aware moment as the naive UTC timestamp PostgreSQL columns hold, to the second."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)


def utcnow() -> datetime:
    """The current time in UTC, to the whole second (what the API shows)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the installed driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer commits; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """An engine for `url`, tuned for the database it points at."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
