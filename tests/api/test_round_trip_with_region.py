"""With STOPLIST_DEFAULT_REGION set, Stoplist's own exports still import back unchanged."""

import csv
import io
import time

import pytest

from stoplist.config import Settings
from tests.api.helpers import URL, add

NUMBERS = ["+48500000000", "+298201234", "+390612345678", "+15062345678"]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, default_region="DE", worker_poll_interval=0.02)


def exported(client, auth) -> set[tuple[str, str]]:
    text = client.get(URL, headers={**auth, "Accept": "text/csv"}).text
    return {(row["phone_number"], row["expire_at"]) for row in csv.DictReader(io.StringIO(text))}


def test_an_export_imports_back_unchanged_into_another_account_whatever_the_region(client, make_token):
    first = {"Authorization": f"Bearer {make_token('first')}"}
    second = {"Authorization": f"Bearer {make_token('second')}"}
    for number in NUMBERS:
        add(client, first, number, expire_at="2031-01-01")
    add(client, first, "030 123456")  # a national number, read with the region: +49 30 123456
    export = client.get(URL, headers={**first, "Accept": "text/csv"}).content

    job = client.post(f"{URL}/imports", content=export, headers={**second, "Content-Type": "text/csv"}).json()
    deadline = time.monotonic() + 20
    while (status := client.get(f"{URL}/imports/{job['id']}", headers=second).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    assert (status["rows"], status["added"], status["invalid"]) == (5, 5, 0)
    assert exported(client, second) == exported(client, first)
    assert ("4930123456", "") in exported(client, first)
