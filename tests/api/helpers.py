"""Small helpers shared by the API tests."""

import re
import time
from datetime import datetime

from sqlalchemy import func, select, update

from stoplist.lists.models import Entry
from stoplist.db import transaction

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
URL = "/blacklist/phone_numbers"
IMPORTS = f"{URL}/imports"


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


def listed(client, auth) -> dict[str, str | None]:
    """The account's live list as {phone_number: expire_at}."""
    body = client.get(URL, params={"limit": 1000}, headers=auth).json()
    return {entry["phone_number"]: entry["expire_at"] for entry in body["collection"]}


def count(app, model) -> int:
    """Rows of `model`'s table, every account's."""
    with app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def wait_for_import(client, auth, job_id: str, timeout: float = 20) -> dict:
    """Poll the import until it is done or failed; return its last status."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"{IMPORTS}/{job_id}", headers=auth)
        assert response.status_code == 200, response.text
        body = response.json()
        if body["status"] in ("done", "failed"):
            return body
        assert time.monotonic() < deadline, f"import {job_id} still {body['status']} after {timeout}s"
        time.sleep(0.02)
