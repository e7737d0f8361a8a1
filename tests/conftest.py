"""Shared fixtures: a real, migrated SQLite file per test, the app on it, and tokens."""

import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from stoplist import migrate
from stoplist.app import create_app
from stoplist.auth import service as auth_service
from stoplist.auth.repository import AuthRepository
from stoplist.config import Settings
from stoplist.db import transaction

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head by Alembic; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "stoplist.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(migrated_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "stoplist.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"


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
