"""Engine and session factories, and the declarative base every model uses."""

import functools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import orjson
from sqlalchemy import DateTime, Engine, MetaData, Select, String, Text, bindparam, create_engine, event, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import asbool

from stoplist.errors import ServiceBusy, StoplistError

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
            return read_sqlite_stamp(value)
        return value.replace(tzinfo=timezone.utc)


def read_sqlite_stamp(text: str) -> datetime:
    """The moment of a timestamp as SQLite stores it (sqlite_stamp's inverse), for reads straight on the driver."""
    return datetime.strptime(text, RFC3339).replace(tzinfo=timezone.utc)


def naive_utc(moment: datetime) -> datetime:
    """An aware moment as the naive UTC timestamp PostgreSQL columns hold, to the second."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None, microsecond=0)


def storable(text: str) -> bool:
    """Text every database stores as it is: PostgreSQL refuses NUL, and no UTF-8 holds an unpaired surrogate."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utcnow() -> datetime:
    """The current time in UTC, to the whole second (what the API shows)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and pick the installed driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def shown_url(url: str) -> str:
    """`url` as a message may show it: its password hidden."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def plainly_unusable(url: str, error: BaseException) -> str | None:
    """For a command that could not reach or open its database (down, refused, a wrong password, a file that is no
    database, a directory that cannot be made): one sentence with the driver's (or system's) first line; None for an
    error of another kind. Callers ask it only of the first connection: later errors are the command's, raised."""
    if isinstance(error, OSError):  # the SQLite file's directory cannot be made
        where = f": {error.filename}" if error.filename is not None else ""
        return f"cannot use the database {shown_url(url)}: {error.strerror or error}{where}"
    if not isinstance(error, DBAPIError):
        return None
    lines = str(error.orig if error.orig is not None else error).strip().splitlines()
    return f"cannot use the database {shown_url(url)}: {lines[0] if lines else type(error.orig).__name__}"


def sqlite_file(url: str) -> Path | None:
    """The file of the SQLite database `url` names, as sqlite3 opens it: the path, or with `uri=true` a `file:` URI's
    path; None for PostgreSQL and an in-memory database."""
    parsed = make_url(normalize_url(url))
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return None
    if not (asks_for_uri(parsed) and database.startswith("file:")):
        return Path(database)  # a name, even one that starts with file: (without uri=true sqlite3 reads no URI)
    path = unquote(urlsplit(database).path)
    return None if parsed.query.get("mode") == "memory" or path in ("", ":memory:") else Path(path)


def asks_for_uri(url: "str | URL") -> bool:
    """Whether a SQLite URL's `uri` asks sqlite3 to read its database as a URI: any value SQLAlchemy does not read as
    false (`uri=maybe` is no false)."""
    value = make_url(url).query.get("uri")
    if value is None:
        return False
    try:
        return asbool(value)
    except ValueError:
        return True


def _prepare_sqlite_file(url: str) -> None:
    """Make the directory of the database's file (var/ on a fresh clone)."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


WAL_AUTOCHECKPOINT_PAGES = 4000


def _sqlite_pragmas(dbapi_connection, _record, *, wal_autocheckpoint: int = WAL_AUTOCHECKPOINT_PAGES) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer commits; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint once the log holds 16 MB, not 4: an import's batch dirties index pages all over
    # three random-order B-trees, and fewer, larger checkpoints copy each page fewer times
    # (1,000,000 rows imported in-process: 116.9 s -> 107.6 s). A server's engine sets it higher, as a
    # cap: its own thread checkpoints (stoplist.wal).
    cursor.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
    require_json_functions(cursor)
    cursor.close()


def require_json_functions(cursor) -> None:
    """Bulk writes and bulk checks pass their rows to SQLite as one JSON text (see rows_json):
    SQLite's JSON functions are built in since 3.38, and were an option before."""
    try:
        cursor.execute("SELECT json_group_array(value) FROM json_each('[]')")
    except sqlite3.OperationalError:
        raise RuntimeError(
            f"Stoplist needs SQLite's JSON functions (built in since SQLite 3.38); this Python's sqlite3 module has"
            f" SQLite {sqlite3.sqlite_version} without them. Use a Python built with a newer SQLite, or PostgreSQL."
        ) from None


# An escaped NUL in JSON text: \u0000 after an even number of backslashes (an odd one escapes the first).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def sqlite_json_rows(name: str = "rows"):
    """SQLite's reading of a rows_json parameter: the table of its rows (json_each: `key` a row's place from 0,
    `value` the row), and `field(i)`, the i-th value of a row (json_extract gives JSON's strings, numbers and
    nulls as they are; the `->>` operator would need SQLite 3.38)."""
    rows = func.json_each(bindparam(name, type_=Text)).table_valued("key", "value").alias("n")

    def field(index: int):
        return func.json_extract(rows.c.value, literal_column(f"'$[{index}]'"))

    return rows, field


def rows_json(rows: list) -> str:
    """Rows as the one JSON text a bulk write hands SQLite's json_each. SQLite's JSON functions end a
    text at its first NUL, so one is refused here (addresses, notes and evidence with one are
    refused where they come in already). Written by orjson, several times faster than json (a batch's
    1,000 events: ~1.5 ms -> ~0.3 ms); json writes what orjson refuses (an unpaired surrogate, an
    integer beyond 64 bits), for SQLite to refuse or store as before."""
    try:
        text = orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(rows, ensure_ascii=False)
    if "u0000" in text and _JSON_NUL.search(text):
        raise ValueError("A NUL character cannot be written through SQLite's JSON functions.")
    return text


# The request pool matches the 40 threads that run synchronous routes, so those requests never
# queue for a connection; 10 stay open, the rest are opened under load and closed after it.
# Streamed downloads and the job worker have connections of their own (see downloads.py, runners.py).
POOL_SIZE = 10
MAX_OVERFLOW = 30
# If the pool is exhausted anyway, a request waits this long, then answers 503 busy (see transaction()).
POOL_TIMEOUT = 5.0


def create_db_engine(
    url: str, *, pooled: bool = True, pool_size: int = POOL_SIZE, max_overflow: int = MAX_OVERFLOW, pool_timeout: float = POOL_TIMEOUT,
    application_name: str | None = None, wal_autocheckpoint: int = WAL_AUTOCHECKPOINT_PAGES,
) -> Engine:
    """An engine for `url`, tuned for the database it points at.

    `pooled=False`: every session opens a connection of its own and closes it when it ends.
    `application_name` labels the connections in PostgreSQL's pg_stat_activity. `wal_autocheckpoint`:
    SQLite's log size (pages) at which a commit checkpoints it.
    """
    url = normalize_url(url)
    sqlite_db = url.startswith("sqlite")
    pool: dict = {"poolclass": NullPool} if not pooled else {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if sqlite_db:
        _prepare_sqlite_file(url)
        if make_url(url).database in (None, "", ":memory:"):
            pool = {}  # one connection per thread (SQLAlchemy's SingletonThreadPool), whatever was asked
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **pool)
        event.listen(engine, "connect", functools.partial(_sqlite_pragmas, wal_autocheckpoint=wal_autocheckpoint))
        return engine
    connect_args = {"application_name": application_name} if application_name else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **pool)


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error (but one that keeps its work, see StoplistError).

    A connection pool that stays exhausted for its timeout answers 503 busy with Retry-After,
    not 500: the request can simply be retried in a moment.
    """
    session = factory()
    try:
        yield session
        session.commit()
    except PoolTimeout as exc:
        session.rollback()
        raise ServiceBusy("Every database connection is in use; retry in a moment.") from exc
    except StoplistError as exc:
        if exc.keeps_work:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def snapshot(session: Session) -> Iterator[Session]:
    """A read-only session of its own whose every statement sees the database as of its first one, whatever commits
    meanwhile: REPEATABLE READ on PostgreSQL; on SQLite one read transaction (the driver begins none for a SELECT, so
    each statement saw the latest commit). For reads that must agree with one another while writers go on."""
    engine = session.get_bind()
    if engine.dialect.name == "sqlite":
        connection = engine.connect()
        connection.exec_driver_sql("BEGIN")
    else:
        connection = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    try:
        with Session(bind=connection) as reading:
            yield reading
    finally:
        connection.rollback()
        connection.close()


def driver_connection(session: Session):
    """The driver's own connection under the session's transaction, for the raw paths below."""
    return session.connection().connection.dbapi_connection


# The raw paths (checks on sqlite3 and asyncpg, imports, exports, the trail's inserts) run SQL text
# compiled once from Core statements, never a hand-kept copy.
_DIALECTS = {"sqlite": sqlite.dialect(), "asyncpg": postgresql.asyncpg.dialect(), "psycopg": postgresql.psycopg.dialect()}


# Room for every statement: the bulk check's probes come in up to 1,000 sizes, the import's lookups in up to 500.
@functools.lru_cache(maxsize=2048)
def raw(build: Callable[..., Select], dialect: str, *args) -> tuple[str, tuple[str, ...]]:
    """The SQL text of `build(*args)` for a driver (`sqlite`, `asyncpg`, `psycopg`), and the names
    of its parameters in the order the driver takes them (empty for psycopg's named style)."""
    compiled = build(*args).compile(dialect=_DIALECTS[dialect])
    return str(compiled), tuple(compiled.positiontup or ())


def in_order(build: Callable[..., Select], dialect: str, order: tuple[str, ...], *args) -> str:
    """The SQL text of `build(*args)` for a positional driver (`sqlite`, `asyncpg`), checked to take
    its parameters in `order`, the order the caller passes them in: a statement edited so that its
    parameters come in another order must fail loudly, not bind values to the wrong names."""
    sql, names = raw(build, dialect, *args)
    if names != order:
        raise RuntimeError(f"{getattr(build, '__name__', build)} takes its parameters as {names}, not {order}")
    return sql
