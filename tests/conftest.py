"""Shared fixtures: every database-touching test runs on a real SQLite file and on a real
PostgreSQL server (a throwaway cluster started from the installed binaries, or the server
named by STOPLIST_TEST_POSTGRES_URL), each test on a database of its own."""

import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from stoplist import migrate
from stoplist.app import create_app
from stoplist.auth import service as auth_service
from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings
from stoplist.db import create_db_engine, create_session_factory, transaction
from stoplist.testing.postgres import ExistingPostgres, PostgresUnavailable, ThrowawayPostgres

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

BACKENDS = ["sqlite", "postgresql"]
_postgres_skipped: list[str] = []


class Databases:
    """Fresh databases for tests: empty, or migrated to head (copied from a template made once)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.postgres = None
        self.postgres_problem: str | None = None
        self._sqlite_template: Path | None = None
        self._pg_template: str | None = None
        self._created: list[str] = []
        self._count = 0

    def start_postgres(self) -> None:
        try:
            given = os.environ.get("STOPLIST_TEST_POSTGRES_URL")
            self.postgres = ExistingPostgres(given) if given else ThrowawayPostgres().__enter__()
        except PostgresUnavailable as exc:
            self.postgres_problem = str(exc)

    def require(self, backend: str) -> None:
        if backend == "postgresql" and self.postgres is None:
            if not _postgres_skipped:
                _postgres_skipped.append(self.postgres_problem or "PostgreSQL is not available")
            pytest.skip(f"PostgreSQL half skipped: {self.postgres_problem}")

    def migrated(self, backend: str) -> str:
        self.require(backend)
        if backend == "sqlite":
            if self._sqlite_template is None:
                self._sqlite_template = self.root / "template.db"
                migrate.upgrade(f"sqlite:///{self._sqlite_template}")
            path = self._next_sqlite_path()
            shutil.copyfile(self._sqlite_template, path)
            return f"sqlite:///{path}"
        if self._pg_template is None:
            self._pg_template = "stoplist_template"
            migrate.upgrade(self.postgres.create_database(self._pg_template))
        return self._pg(template=self._pg_template)

    def empty(self, backend: str) -> str:
        self.require(backend)
        if backend == "sqlite":
            return f"sqlite:///{self._next_sqlite_path()}"
        return self._pg()

    def drop_created(self) -> None:
        while self._created:
            self.postgres.drop_database(self._created.pop())

    def close(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()

    def _pg(self, template: str | None = None) -> str:
        url = self.postgres.create_database(template=template)
        self._created.append(url.rsplit("/", 1)[1])
        return url

    def _next_sqlite_path(self) -> Path:
        self._count += 1
        directory = self.root / f"db{self._count}"
        directory.mkdir()
        return directory / "stoplist.db"


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    found = Databases(tmp_path_factory.mktemp("databases"))
    found.start_postgres()
    yield found
    found.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, databases: Databases) -> str:
    databases.require(request.param)
    return request.param


@pytest.fixture
def database_url(backend: str, databases: Databases) -> Iterator[str]:
    """A database of this test's own, migrated to head."""
    yield databases.migrated(backend)
    if backend == "postgresql":
        databases.drop_created()


@pytest.fixture
def empty_database_url(backend: str, databases: Databases) -> Iterator[str]:
    """A database of this test's own, never migrated."""
    yield databases.empty(backend)
    if backend == "postgresql":
        databases.drop_created()


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test's database straight through SQLAlchemy, without an app."""
    engine = create_db_engine(database_url)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_token(app) -> Callable[..., str]:
    """Create a token for an account (created if new) and return the secret."""

    def make(account: str = "default", scopes: list[str] | None = None) -> str:
        with transaction(app.state.session_factory) as session:
            secret, _ = auth_service.create_token(repository=AuthRepository(session), account_name=account, scopes=scopes)
        return secret

    return make


@pytest.fixture
def auth(make_token) -> dict[str, str]:
    """Headers for the default account, with the blacklist scope."""
    return {"Authorization": f"Bearer {make_token()}"}


SERVER_SUITES = ("e2e",)


def pytest_collection_modifyitems(config, items) -> None:
    """Under `make test` (pytest-xdist, two workers) the end-to-end tests, which start servers and
    time them, run on one worker one after another, and the other tests fill both workers: no
    two load tests share the machine."""
    for item in items:
        if item.path.parent.name in SERVER_SUITES:
            item.add_marker(pytest.mark.xdist_group("servers"))


def pytest_terminal_summary(terminalreporter) -> None:
    if _postgres_skipped:
        terminalreporter.write_sep("=", "PostgreSQL half SKIPPED", yellow=True, bold=True)
        terminalreporter.write_line(f"Why: {_postgres_skipped[0]}")
        terminalreporter.write_line(
            "Every database test ran on SQLite only. To run them on PostgreSQL too, install the server "
            "(apt-get install postgresql; .ci/run does it) or set STOPLIST_TEST_POSTGRES_URL=postgresql://user@host:port/db."
        )
