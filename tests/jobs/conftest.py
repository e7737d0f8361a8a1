"""An account in the test's database (the session factory is the root conftest's)."""

import pytest

from stoplist.auth.repository import AuthRepository
from stoplist.db import transaction, utcnow


@pytest.fixture
def account_id(session_factory) -> int:
    with transaction(session_factory) as session:
        return AuthRepository(session).add_account("jobs", created_at=utcnow()).id
