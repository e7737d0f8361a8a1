"""Small helpers shared by the API tests."""

import re
from datetime import datetime

from sqlalchemy import update

from stoplist.blacklist.models import Entry
from stoplist.db import transaction

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
URL = "/blacklist/phone_numbers"


def add(client, auth, phone_number: str, expire_at: str | None = None, status: int = 201) -> dict:
    body = {"phone_number": phone_number} if expire_at is None else {"phone_number": phone_number, "expire_at": expire_at}
    response = client.post(URL, json=body, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def set_expiry(app, entry_id: str, expire_at: datetime | None) -> None:
    """Move an entry's expiry, e.g. into the past, behind the API's back."""
    with transaction(app.state.session_factory) as session:
        session.execute(update(Entry).where(Entry.id == int(entry_id)).values(expire_at=expire_at))


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "errors"}
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list)
    return body
