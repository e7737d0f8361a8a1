"""CSV exports of the blacklist: `Accept: text/csv` now, or `x-async: true` and `GET /files/{id}` later."""

import csv
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.audit.trail import Origin
from stoplist.auth.repository import AuthRepository
from stoplist.blacklist import service
from stoplist.testing.lists import fill
from stoplist.config import Settings
from stoplist.db import transaction
from stoplist.files.models import FileChunk, StoredFile
from stoplist.jobs.models import Job
from stoplist.composition import create_worker, purge_expired
from tests.api.helpers import TIMESTAMP, URL, add, assert_error, count, set_expiry

HEADER = ["id", "phone_number", "expire_at", "created_at"]
CSV = {"Accept": "text/csv"}
ASYNC = {"Accept": "text/csv", "x-async": "true"}


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


def export(client, auth, **params):
    return client.get(URL, params=params, headers={**auth, **CSV})


def csv_rows(response) -> list[dict[str, str]]:
    """The data rows of a CSV answer, after checking its header."""
    assert response.status_code == 200, response.text
    reader = csv.reader(io.StringIO(response.text))
    assert next(reader) == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in reader]


def json_rows(client, auth, **params) -> list[dict[str, str]]:
    """The same entries as the JSON list shows them, with a null expiry as the CSV's empty cell."""
    response = client.get(URL, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [{**entry, "expire_at": entry["expire_at"] or ""} for entry in response.json()["collection"]]


def account_id(app, name: str = "default") -> int:
    with transaction(app.state.session_factory) as session:
        return AuthRepository(session).account_by_name(name).id


def add_many(app, count: int, account: str = "default") -> list[str]:
    """Put `count` numbers on an account's list through the service layer; return them."""
    numbers = [f"48500{i:06d}" for i in range(count)]
    owner = account_id(app, account)
    with transaction(app.state.session_factory) as session:
        for number in numbers:
            service.add_entry(session, account_id=owner, phone_number=number, expire_at=None, origin=Origin("api"))
    return numbers


def queue_async_export(client, auth, **params) -> str:
    response = client.get(URL, params=params, headers={**auth, **ASYNC})
    assert response.status_code == 202, response.text
    assert set(response.json()) == {"file_id"}
    return response.json()["file_id"]


def wait_for_file(client, auth, file_id: str, timeout: float = 20):
    """Poll `GET /files/{id}` until it stops answering 202."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/files/{file_id}", headers=auth)
        if response.status_code != 202:
            return response
        assert response.json()["status"] in ("queued", "running")
        assert time.monotonic() < deadline, f"export {file_id} still pending after {timeout}s"
        time.sleep(0.02)


# --- synchronous CSV export --------------------------------------------------------------------------


@pytest.fixture
def listed(client, auth) -> list[dict]:
    return [
        add(client, auth, "+48 500 000 001"),
        add(client, auth, "48500000002", expire_at="2099-01-01"),
        add(client, auth, "+44 7400 123456", expire_at="2099-06-30T12:30:45+02:00"),
    ]


def test_accept_text_csv_answers_200_text_csv_with_the_header_row(client, auth, listed):
    response = export(client, auth)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == "id,phone_number,expire_at,created_at"


def test_csv_values_are_formatted_as_in_json(client, auth, listed):
    rows = csv_rows(export(client, auth))

    assert rows == json_rows(client, auth)
    by_number = {row["phone_number"]: row for row in rows}
    assert by_number["48500000001"]["expire_at"] == ""
    assert by_number["48500000002"]["expire_at"] == "2099-01-01T00:00:00Z"
    assert by_number["447400123456"]["expire_at"] == "2099-06-30T10:30:45Z"
    assert all(TIMESTAMP.match(row["created_at"]) for row in rows)
    assert {row["id"] for row in rows} == {entry["id"] for entry in listed}


def test_a_null_expiry_is_an_empty_cell_not_a_word(client, auth, listed):
    line = next(line for line in export(client, auth).text.splitlines() if ",48500000001," in line)

    assert line.split(",")[2] == ""


@pytest.mark.parametrize("order", ["created_at", "-created_at", "phone_number", "-phone_number", "expire_at", "-expire_at"])
def test_orderby_sorts_the_csv_like_the_json_list(client, auth, listed, order):
    assert csv_rows(export(client, auth, orderBy=order)) == json_rows(client, auth, orderBy=order)


def test_q_filters_the_csv_like_the_json_list(client, auth, listed):
    rows = csv_rows(export(client, auth, q="500 000"))

    assert [row["phone_number"] for row in rows] == ["48500000002", "48500000001"]
    assert rows == json_rows(client, auth, q="500 000")


def test_an_invalid_q_is_a_400_for_csv_too(client, auth, listed):
    assert_error(export(client, auth, q="abc"), 400, "invalid_query")


def test_without_limit_the_csv_is_the_whole_list_not_one_page(client, app, auth):
    numbers = add_many(app, 250)

    rows = csv_rows(export(client, auth))

    assert len(rows) == 250
    assert sorted(row["phone_number"] for row in rows) == numbers


def test_limit_and_offset_chunk_the_csv(client, app, auth):
    numbers = add_many(app, 250)

    chunks = [csv_rows(export(client, auth, orderBy="phone_number", limit=100, offset=offset)) for offset in (0, 100, 200)]

    assert [len(chunk) for chunk in chunks] == [100, 100, 50]
    assert [row["phone_number"] for chunk in chunks for row in chunk] == numbers


def test_an_offset_alone_skips_entries_and_exports_the_rest(client, app, auth):
    numbers = add_many(app, 250)

    rows = csv_rows(export(client, auth, orderBy="phone_number", offset=240))

    assert [row["phone_number"] for row in rows] == numbers[240:]


def test_a_csv_limit_may_exceed_the_json_maximum(client, app, auth):
    add_many(app, 250)

    assert len(csv_rows(export(client, auth, limit=5000))) == 250
    assert_error(client.get(URL, params={"limit": 5000}, headers=auth), 400, "validation_error")


def test_an_empty_list_exports_as_204(client, auth):
    response = export(client, auth)

    assert response.status_code == 204
    assert response.content == b""


def test_a_filter_matching_nothing_exports_as_204(client, auth, listed):
    assert export(client, auth, q="999999").status_code == 204
    assert export(client, auth, offset=3).status_code == 204


def test_expired_entries_are_not_exported(client, app, auth, listed):
    set_expiry(app, listed[1]["id"], datetime.now(timezone.utc) - timedelta(minutes=1))

    rows = csv_rows(export(client, auth))

    assert sorted(row["phone_number"] for row in rows) == ["447400123456", "48500000001"]


def test_an_account_whose_entries_all_expired_exports_as_204(client, app, auth):
    entry = add(client, auth, "48500000001", expire_at="2099-01-01")
    set_expiry(app, entry["id"], datetime.now(timezone.utc) - timedelta(seconds=1))

    assert export(client, auth).status_code == 204


def test_an_export_holds_only_the_callers_account(client, auth, make_token, listed):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, other, "48600000009")

    assert [row["phone_number"] for row in csv_rows(export(client, other))] == ["48600000009"]
    assert "48600000009" not in export(client, auth).text


def test_an_account_with_nothing_exports_as_204_even_when_others_have_entries(client, auth, make_token, listed):
    other = {"Authorization": f"Bearer {make_token('other')}"}

    assert export(client, other).status_code == 204


def test_a_csv_export_needs_a_token(client, listed):
    assert_error(client.get(URL, headers=CSV), 401, "unauthorized")


# --- x-async exports ---------------------------------------------------------------------------------


def test_x_async_answers_202_with_a_file_id(client, auth, listed):
    response = client.get(URL, headers={**auth, **ASYNC})

    assert response.status_code == 202
    assert set(response.json()) == {"file_id"}
    assert isinstance(response.json()["file_id"], str) and response.json()["file_id"]


def test_an_async_export_has_the_same_content_as_the_synchronous_one(client, auth, listed):
    file_id = queue_async_export(client, auth)

    response = wait_for_file(client, auth, file_id)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content == export(client, auth).content


def test_an_async_export_applies_the_same_filters_and_chunking(client, app, auth):
    add_many(app, 250)
    params = {"q": "5000001", "orderBy": "-phone_number", "offset": 10, "limit": 50}

    response = wait_for_file(client, auth, queue_async_export(client, auth, **params))

    assert response.status_code == 200
    assert len(csv_rows(response)) == 50
    assert response.content == export(client, auth, **params).content


def test_an_async_export_is_the_whole_list_without_limit(client, app, auth):
    add_many(app, 250)

    response = wait_for_file(client, auth, queue_async_export(client, auth))

    assert len(csv_rows(response)) == 250


def test_a_large_async_export_spanning_several_stored_chunks_matches_the_synchronous_one(client, app, auth):
    # About 1.5 MB of CSV: more than one stored chunk (1 MB) and several stream pieces (256 kB).
    with transaction(app.state.session_factory) as session:
        fill(session, account_id(app), {f"48500{i:06d}": None for i in range(30_000)}, now=datetime.now(timezone.utc).replace(microsecond=0))
    synchronous = export(client, auth, orderBy="phone_number")
    assert len(synchronous.content) > 1 << 20

    response = wait_for_file(client, auth, queue_async_export(client, auth, orderBy="phone_number"))

    assert response.status_code == 200
    assert response.content == synchronous.content
    assert len(csv_rows(response)) == 30_000


def test_an_async_export_of_nothing_is_a_204(client, auth):
    response = wait_for_file(client, auth, queue_async_export(client, auth))

    assert response.status_code == 204
    assert response.content == b""


def test_another_accounts_token_cannot_fetch_the_file(client, auth, make_token, listed):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    file_id = queue_async_export(client, auth)
    assert wait_for_file(client, auth, file_id).status_code == 200

    assert_error(client.get(f"/files/{file_id}", headers=other), 404, "file_not_found")


def test_an_unknown_file_id_is_a_404(client, auth):
    assert_error(client.get("/files/0123456789abcdef0123456789abcdef", headers=auth), 404, "file_not_found")
    assert_error(client.get("/files/nope", headers=auth), 404, "file_not_found")


def test_x_async_false_exports_synchronously(client, auth, listed):
    response = client.get(URL, headers={**auth, **CSV, "x-async": "false"})

    assert response.status_code == 200
    assert len(csv_rows(response)) == len(listed)


def test_an_import_id_is_not_a_file_id(client, auth):
    queued = client.post(f"{URL}/imports", content=b"48500000001\n", headers={**auth, "Content-Type": "text/csv"})
    assert queued.status_code == 202

    assert_error(client.get(f"/files/{queued.json()['id']}", headers=auth), 404, "file_not_found")


def test_fetching_a_file_needs_a_token(client, auth, listed):
    file_id = queue_async_export(client, auth)

    assert_error(client.get(f"/files/{file_id}"), 401, "unauthorized")


class TestWhileTheExportIsPending:
    """With no worker running, the export stays queued until one is run by hand."""

    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, serve_worker=False)

    def test_a_queued_export_answers_202_with_its_status(self, client, auth, listed):
        file_id = queue_async_export(client, auth)

        response = client.get(f"/files/{file_id}", headers=auth)

        assert response.status_code == 202
        assert response.json() == {"status": "queued"}

    def test_a_running_export_answers_202_running(self, client, app, auth, listed):
        file_id = queue_async_export(client, auth)
        with transaction(app.state.session_factory) as session:
            session.execute(update(Job).where(Job.id == file_id).values(status="running"))

        response = client.get(f"/files/{file_id}", headers=auth)

        assert response.status_code == 202
        assert response.json() == {"status": "running"}

    def test_the_file_is_served_once_a_worker_ran_the_job(self, client, app, settings, auth, listed):
        file_id = queue_async_export(client, auth)

        assert create_worker(app.state.session_factory, settings).run_once()

        response = client.get(f"/files/{file_id}", headers=auth)
        assert response.status_code == 200
        assert response.content == export(client, auth).content

    def test_the_export_reflects_the_list_when_it_runs(self, client, app, settings, auth, listed):
        file_id = queue_async_export(client, auth)
        add(client, auth, "48600000009")

        create_worker(app.state.session_factory, settings).run_once()

        assert "48600000009" in [row["phone_number"] for row in csv_rows(client.get(f"/files/{file_id}", headers=auth))]

    def test_purge_never_removes_a_pending_export(self, client, app, auth, listed, database_url):
        file_id = queue_async_export(client, auth)
        with transaction(app.state.session_factory) as session:
            session.execute(update(Job).where(Job.id == file_id).values(created_at=datetime.now(timezone.utc) - timedelta(days=30)))

        assert purge_expired(app.state.session_factory, Settings(database_url=database_url, file_retention=timedelta(0))) == 0
        assert client.get(f"/files/{file_id}", headers=auth).status_code == 202


# --- retention ---------------------------------------------------------------------------------------


def age_job(app, job_id: str, by: timedelta) -> None:
    with transaction(app.state.session_factory) as session:
        job = session.get(Job, job_id)
        job.finished_at = job.finished_at - by


def test_purge_removes_an_export_past_the_retention_with_its_file(client, app, settings, auth, listed):
    file_id = queue_async_export(client, auth)
    assert wait_for_file(client, auth, file_id).status_code == 200
    age_job(app, file_id, settings.file_retention + timedelta(minutes=1))

    assert purge_expired(app.state.session_factory, settings) == 1

    assert_error(client.get(f"/files/{file_id}", headers=auth), 404, "file_not_found")
    assert count(app, Job) == 0
    assert count(app, StoredFile) == 0
    assert count(app, FileChunk) == 0


class TestWithZeroRetention:
    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, worker_poll_interval=0.02, file_retention=timedelta(0))

    def test_a_finished_export_is_purged_once_its_second_has_passed(self, client, app, settings, auth, listed):
        # Timestamps are whole seconds, so "older than 0" takes effect from the next second.
        file_id = queue_async_export(client, auth)
        assert wait_for_file(client, auth, file_id).status_code == 200
        time.sleep(1.05)

        assert purge_expired(app.state.session_factory, settings) == 1

        assert_error(client.get(f"/files/{file_id}", headers=auth), 404, "file_not_found")


def test_purge_keeps_an_export_within_the_retention(client, app, settings, auth, listed):
    file_id = queue_async_export(client, auth)
    assert wait_for_file(client, auth, file_id).status_code == 200
    age_job(app, file_id, settings.file_retention - timedelta(minutes=1))

    assert purge_expired(app.state.session_factory, settings) == 0

    assert client.get(f"/files/{file_id}", headers=auth).status_code == 200


def test_purge_follows_the_configured_retention(client, app, auth, listed, database_url):
    file_id = queue_async_export(client, auth)
    assert wait_for_file(client, auth, file_id).status_code == 200
    age_job(app, file_id, timedelta(minutes=10))
    short = Settings(database_url=database_url, file_retention=timedelta(minutes=5))
    long = Settings(database_url=database_url, file_retention=timedelta(minutes=15))

    assert purge_expired(app.state.session_factory, long) == 0
    assert client.get(f"/files/{file_id}", headers=auth).status_code == 200
    assert purge_expired(app.state.session_factory, short) == 1
    assert client.get(f"/files/{file_id}", headers=auth).status_code == 404


class TestQueuedExportsPerAccount:
    """At most STOPLIST_MAX_QUEUED_EXPORTS x-async exports of one account wait or run at once."""

    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, serve_worker=False, max_queued_exports=2)

    def test_one_export_beyond_the_bound_is_a_429_too_many_exports(self, client, auth, listed):
        queue_async_export(client, auth)
        queue_async_export(client, auth)

        body = assert_error(client.get(URL, headers={**auth, **ASYNC}), 429, "too_many_exports")
        assert "STOPLIST_MAX_QUEUED_EXPORTS" in body["message"]

    def test_the_refused_export_leaves_no_job_behind(self, client, app, auth, listed):
        queue_async_export(client, auth)
        queue_async_export(client, auth)
        client.get(URL, headers={**auth, **ASYNC})

        assert count(app, Job) == 2

    def test_a_running_export_counts_and_a_finished_one_does_not(self, client, app, settings, auth, listed):
        first = queue_async_export(client, auth)
        queue_async_export(client, auth)
        with transaction(app.state.session_factory) as session:
            session.execute(update(Job).where(Job.id == first).values(status="running"))
        assert client.get(URL, headers={**auth, **ASYNC}).status_code == 429

        with transaction(app.state.session_factory) as session:
            session.execute(update(Job).where(Job.id == first).values(status="done"))
        queue_async_export(client, auth)

    def test_once_a_worker_ran_one_another_may_be_queued(self, client, app, settings, auth, listed):
        queue_async_export(client, auth)
        queue_async_export(client, auth)

        assert create_worker(app.state.session_factory, settings).run_once()

        queue_async_export(client, auth)

    def test_the_bound_is_per_account(self, client, auth, make_token, listed):
        queue_async_export(client, auth)
        queue_async_export(client, auth)
        other = {"Authorization": f"Bearer {make_token('other')}"}

        queue_async_export(client, other)

    def test_racing_requests_never_queue_more_than_the_bound(self, client, app, auth, listed):
        # Concurrent requests, each in a thread and transaction of its own.
        barrier = threading.Barrier(8)

        def ask(_) -> int:
            barrier.wait()
            return client.get(URL, headers={**auth, **ASYNC}).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(pool.map(ask, range(8)))

        assert statuses.count(202) == 2 and statuses.count(429) == 6, statuses
        assert count(app, Job) == 2
