"""A session factory on the test's database, and an account in it."""

import pytest

from stoplist.auth.repository import AuthRepository
from stoplist.db import create_db_engine, create_session_factory, transaction, utcnow


@pytest.fixture
def session_factory(database_url):
    engine = create_db_engine(database_url)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
def account_id(session_factory) -> int:
    with transaction(session_factory) as session:
        return AuthRepository(session).add_account("jobs", created_at=utcnow()).id
