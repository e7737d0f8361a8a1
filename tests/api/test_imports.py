"""CSV imports: `POST /blacklist/phone_numbers/imports`, then follow the job to its counts and rejected rows."""

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.config import Settings
from stoplist.db import transaction
from stoplist.files.models import StoredFile
from stoplist.imports import service as import_service
from stoplist.jobs.models import ImportRejection, Job
from stoplist.composition import create_worker, purge_expired
from tests.api.helpers import IMPORTS, TIMESTAMP, URL, add, assert_error, count, listed, set_expiry, wait_for_import

STATUS_FIELDS = {"id", "status", "rows", "added", "updated", "unchanged", "invalid", "errors", "errors_url", "error", "created_at", "finished_at"}


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


def post_raw(client, auth, body: bytes | str, content_type: str = "text/csv"):
    data = body.encode() if isinstance(body, str) else body
    return client.post(IMPORTS, content=data, headers={**auth, "Content-Type": content_type})


def post_multipart(client, auth, body: bytes | str, field: str = "import"):
    data = body.encode() if isinstance(body, str) else body
    return client.post(IMPORTS, files={field: ("list.csv", data, "text/csv")}, headers=auth)


def run_import(client, auth, body: bytes | str, *, multipart: bool = False) -> dict:
    """Upload `body`, wait for its import, and check the counts add up."""
    response = post_multipart(client, auth, body) if multipart else post_raw(client, auth, body)
    assert response.status_code == 202, response.text
    result = wait_for_import(client, auth, response.json()["id"])
    if result["status"] == "done":
        assert result["added"] + result["updated"] + result["unchanged"] + result["invalid"] == result["rows"], result
    return result


def counts(result: dict) -> dict:
    return {key: result[key] for key in ("rows", "added", "updated", "unchanged", "invalid")}


def export(client, auth) -> str:
    response = client.get(URL, headers={**auth, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return response.text


def error_lines(result: dict) -> list[int]:
    return [error["line"] for error in result["errors"]]


@pytest.fixture
def other(make_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('other')}"}


# --- uploading ---------------------------------------------------------------------------------------


def test_a_multipart_upload_answers_202_with_a_queued_import(client, auth):
    response = post_multipart(client, auth, "48500000001\n")

    assert response.status_code == 202
    body = response.json()
    assert set(body) == STATUS_FIELDS
    assert body["status"] == "queued"
    assert (body["rows"], body["added"], body["updated"], body["unchanged"], body["invalid"]) == (0, 0, 0, 0, 0)
    assert body["errors"] == [] and body["error"] is None and body["finished_at"] is None
    assert TIMESTAMP.match(body["created_at"])
    assert body["errors_url"] == f"{IMPORTS}/{body['id']}/errors"


def test_a_raw_text_csv_body_answers_202_too(client, auth):
    response = post_raw(client, auth, "48500000001\n")

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["rows"] == 0


@pytest.mark.parametrize("multipart", [False, True], ids=["raw", "multipart"])
def test_an_import_puts_its_numbers_on_the_list(client, auth, multipart):
    result = run_import(client, auth, "48500000001\n48500000002,2099-01-01\n", multipart=multipart)

    assert result["status"] == "done"
    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": None, "48500000002": "2099-01-01T00:00:00Z"}


def test_a_finished_import_reports_every_field(client, auth):
    result = run_import(client, auth, "48500000001\n")

    assert set(result) == STATUS_FIELDS
    assert result["errors"] == [] and result["error"] is None
    assert TIMESTAMP.match(result["created_at"]) and TIMESTAMP.match(result["finished_at"])
    assert result["finished_at"] >= result["created_at"]


def test_a_charset_parameter_on_text_csv_is_accepted(client, auth):
    response = post_raw(client, auth, "48500000001\n", content_type="text/csv; charset=utf-8")

    assert response.status_code == 202
    assert wait_for_import(client, auth, response.json()["id"])["added"] == 1


def test_an_import_needs_a_token(client):
    assert_error(client.post(IMPORTS, content=b"48500000001\n", headers={"Content-Type": "text/csv"}), 401, "unauthorized")


def test_a_binary_upload_is_a_400_invalid_csv_and_queues_nothing(client, app, auth):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"

    assert_error(post_raw(client, auth, png), 400, "invalid_csv")
    assert_error(post_multipart(client, auth, png), 400, "invalid_csv")
    assert count(app, Job) == 0
    assert count(app, StoredFile) == 0


def test_a_file_with_nul_bytes_is_a_400_invalid_csv(client, app, auth):
    assert_error(post_raw(client, auth, b"48500000001\n\x00\x0148500000002\n"), 400, "invalid_csv")
    assert count(app, Job) == 0


def test_a_non_utf8_upload_is_a_400_invalid_csv_and_queues_nothing(client, app, auth):
    latin1 = "phone_number,note\n48500000001,café\n".encode("latin-1")

    assert_error(post_raw(client, auth, latin1), 400, "invalid_csv")
    assert_error(post_multipart(client, auth, latin1), 400, "invalid_csv")
    assert count(app, Job) == 0


def test_a_non_utf8_byte_far_into_the_file_is_still_caught_at_upload(client, app, auth):
    body = "".join(f"48500{i:06d}\n" for i in range(20_000)).encode() + "48500000001,café\n".encode("latin-1")

    assert_error(post_raw(client, auth, body), 400, "invalid_csv")
    assert count(app, Job) == 0


def test_a_character_split_between_upload_chunks_is_valid_utf8(client, auth):
    body = "phone_number,note\n48500000001,zażółć\n".encode()
    split = body.index("ż".encode()) + 1
    chunks = iter([body[:split], body[split:]])

    response = client.post(IMPORTS, content=chunks, headers={**auth, "Content-Type": "text/csv"})

    assert response.status_code == 202, response.text
    assert wait_for_import(client, auth, response.json()["id"])["added"] == 1


def test_a_utf16_upload_is_a_400_invalid_csv(client, app, auth):
    assert_error(post_raw(client, auth, "48500000001\n".encode("utf-16")), 400, "invalid_csv")
    assert count(app, Job) == 0


@pytest.mark.parametrize("body", [b"", b"\n\n  \r\n"], ids=["empty", "blank"])
def test_an_empty_upload_is_a_400_invalid_csv(client, app, auth, body):
    assert_error(post_raw(client, auth, body), 400, "invalid_csv")
    assert count(app, Job) == 0


def test_a_multipart_body_without_the_import_field_is_a_400_validation_error(client, app, auth):
    body = assert_error(post_multipart(client, auth, "48500000001\n", field="file"), 400, "validation_error")

    assert body["errors"][0]["path"] == "import"
    assert count(app, Job) == 0


def test_a_multipart_text_field_named_import_is_not_a_file(client, auth):
    response = client.post(IMPORTS, data={"import": "48500000001"}, files={"other": ("x.txt", b"x")}, headers=auth)

    assert_error(response, 400, "validation_error")


def test_a_json_body_is_a_415(client, app, auth):
    assert_error(client.post(IMPORTS, json={"phone_number": "48500000001"}, headers=auth), 415, "unsupported_media_type")
    assert count(app, Job) == 0


class TestTheUploadLimit:
    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, worker_poll_interval=0.02, max_upload_bytes=1000)

    big = "".join(f"48500{i:06d}\n" for i in range(100)).encode()  # 1200 bytes

    def test_a_raw_upload_over_the_limit_is_a_413(self, client, app, auth):
        assert_error(post_raw(client, auth, self.big), 413, "upload_too_large")
        assert count(app, Job) == 0

    def test_a_streamed_raw_upload_without_a_length_is_cut_off_at_the_limit(self, client, app, auth):
        chunks = iter([self.big[:600], self.big[600:]])
        response = client.post(IMPORTS, content=chunks, headers={**auth, "Content-Type": "text/csv"})

        assert_error(response, 413, "upload_too_large")
        assert count(app, Job) == 0

    def test_a_multipart_upload_over_the_limit_is_a_413(self, client, app, auth):
        assert_error(post_multipart(client, auth, self.big), 413, "upload_too_large")
        assert count(app, Job) == 0

    def test_a_multipart_upload_far_over_the_limit_is_a_413(self, client, app, auth):
        assert_error(post_multipart(client, auth, self.big * 100), 413, "upload_too_large")

    def test_an_upload_at_the_limit_is_accepted(self, client, auth):
        assert post_raw(client, auth, self.big[:1000]).status_code == 202
        assert post_multipart(client, auth, self.big[:1000]).status_code == 202


class TestWithoutAWorker:
    """With no worker running, an import stays queued until one is run by hand."""

    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, serve_worker=False)

    def test_a_queued_import_shows_queued_with_zero_counts(self, client, auth):
        job_id = post_raw(client, auth, "48500000001\n").json()["id"]

        body = client.get(f"{IMPORTS}/{job_id}", headers=auth).json()

        assert body["status"] == "queued"
        assert counts(body) == {"rows": 0, "added": 0, "updated": 0, "unchanged": 0, "invalid": 0}
        assert listed(client, auth) == {}

    def test_the_import_is_done_once_a_worker_ran_it(self, client, app, settings, auth):
        job_id = post_raw(client, auth, "48500000001\nbad\n").json()["id"]

        assert create_worker(app.state.session_factory, settings).run_once()

        body = client.get(f"{IMPORTS}/{job_id}", headers=auth).json()
        assert body["status"] == "done"
        assert counts(body) == {"rows": 2, "added": 1, "updated": 0, "unchanged": 0, "invalid": 1}


# --- following an import -----------------------------------------------------------------------------


def test_another_account_cannot_see_an_import(client, auth, other):
    job_id = post_raw(client, auth, "48500000001\n").json()["id"]

    assert_error(client.get(f"{IMPORTS}/{job_id}", headers=other), 404, "import_not_found")
    assert_error(client.get(f"{IMPORTS}/{job_id}/errors", headers=other), 404, "import_not_found")


def test_an_unknown_import_is_a_404(client, auth):
    assert_error(client.get(f"{IMPORTS}/0123456789abcdef0123456789abcdef", headers=auth), 404, "import_not_found")
    assert_error(client.get(f"{IMPORTS}/nope/errors", headers=auth), 404, "import_not_found")


def test_an_import_lands_on_the_uploaders_account_only(client, auth, other):
    run_import(client, auth, "48500000001\n")

    assert listed(client, auth) == {"48500000001": None}
    assert listed(client, other) == {}


def test_an_export_job_is_not_an_import(client, auth):
    add(client, auth, "48500000001")
    file_id = client.get(URL, headers={**auth, "Accept": "text/csv", "x-async": "true"}).json()["file_id"]

    assert_error(client.get(f"{IMPORTS}/{file_id}", headers=auth), 404, "import_not_found")


def test_a_purged_import_is_gone_with_its_upload_and_rejected_rows(client, app, settings, auth):
    result = run_import(client, auth, "48500000001\nnot a number\n")
    with transaction(app.state.session_factory) as session:
        session.execute(update(Job).values(finished_at=datetime.now(timezone.utc) - settings.file_retention - timedelta(minutes=1)))

    assert purge_expired(app.state.session_factory, settings) == 1

    assert_error(client.get(f"{IMPORTS}/{result['id']}", headers=auth), 404, "import_not_found")
    assert count(app, ImportRejection) == 0
    assert count(app, StoredFile) == 0
    assert listed(client, auth) == {"48500000001": None}


# --- rows follow POST's rules ------------------------------------------------------------------------


def test_every_spelling_of_a_number_is_the_same_entry(client, auth):
    add(client, auth, "+48 500 000 001")

    result = run_import(client, auth, "+48 500-000-001\n0048500000001\n48 (500) 000 001\n+48.500.000.001\n")

    assert counts(result) == {"rows": 4, "added": 0, "updated": 0, "unchanged": 4, "invalid": 0}
    assert listed(client, auth) == {"48500000001": None}


def test_a_number_repeated_in_the_file_is_added_once_and_the_repeat_changes_nothing(client, auth):
    result = run_import(client, auth, "48500000001\n+48 500 000 001\n48500000002\n")

    assert counts(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 1, "invalid": 0}
    assert sorted(listed(client, auth)) == ["48500000001", "48500000002"]


def test_the_later_row_s_expiry_wins_within_a_file(client, auth):
    result = run_import(client, auth, "48500000001,2099-01-01\n48500000002,2098-01-01\n48500000001,2098-06-01\n48500000002\n")

    assert counts(result) == {"rows": 4, "added": 2, "updated": 2, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2098-06-01T00:00:00Z", "48500000002": None}


def test_a_number_already_listed_counts_as_updated_and_takes_the_files_expiry(client, auth):
    add(client, auth, "48500000001", expire_at="2099-01-01")
    add(client, auth, "48500000002")
    add(client, auth, "48500000003", expire_at="2099-01-01")

    result = run_import(client, auth, "48500000001,2098-01-01\n48500000002,2097-01-01\n48500000003\n48500000004\n")

    assert counts(result) == {"rows": 4, "added": 1, "updated": 3, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {
        "48500000001": "2098-01-01T00:00:00Z",
        "48500000002": "2097-01-01T00:00:00Z",
        "48500000003": None,
        "48500000004": None,
    }


def test_an_already_listed_number_repeated_in_the_file_is_updated_twice(client, auth):
    add(client, auth, "48500000001")

    result = run_import(client, auth, "48500000001,2099-01-01\n48500000001,2098-01-01\n")

    assert counts(result) == {"rows": 2, "added": 0, "updated": 2, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2098-01-01T00:00:00Z"}


def test_an_expired_entry_put_back_by_an_import_counts_as_added_like_post(client, app, auth):
    entry = add(client, auth, "48500000001", expire_at="2099-01-01")
    set_expiry(app, entry["id"], datetime.now(timezone.utc) - timedelta(days=1))

    result = run_import(client, auth, "48500000001\n")

    assert counts(result) == {"rows": 1, "added": 1, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": None}
    again = client.get(URL, headers=auth).json()["collection"][0]
    assert again["created_at"] >= result["created_at"]


def test_an_expired_number_repeated_in_the_file_is_added_once_then_updated(client, app, auth):
    entry = add(client, auth, "48500000001", expire_at="2099-01-01")
    set_expiry(app, entry["id"], datetime.now(timezone.utc) - timedelta(days=1))

    result = run_import(client, auth, "48500000001\n48500000001,2099-02-01\n")

    assert counts(result) == {"rows": 2, "added": 1, "updated": 1, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2099-02-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2099-12-01", "2099-12-01T00:00:00Z"),
        ("2099-12-01T10:20:30Z", "2099-12-01T10:20:30Z"),
        ("2099-12-01T12:20:30+02:00", "2099-12-01T10:20:30Z"),
        ("2099-12-01T10:20:30.987Z", "2099-12-01T10:20:31Z"),
        ("2099-12-01 10:20:30", "2099-12-01T10:20:30Z"),
        ("", None),
        ("null", None),
    ],
)
def test_expire_at_is_read_as_post_reads_it(client, auth, sent, stored):
    result = run_import(client, auth, f"phone_number,expire_at\n48500000001,{sent}\n")

    assert result["added"] == 1
    assert listed(client, auth) == {"48500000001": stored}


class TestWithADefaultRegion:
    @pytest.fixture
    def settings(self, database_url):
        return Settings(database_url=database_url, worker_poll_interval=0.02, default_region="PL")

    def test_national_numbers_are_read_in_the_default_region_as_post_reads_them(self, client, auth):
        add(client, auth, "500 000 001")

        result = run_import(client, auth, "500000001\n500 000 002\n+44 7400 123456\n")

        assert counts(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 1, "invalid": 0}
        assert sorted(listed(client, auth)) == ["447400123456", "48500000001", "48500000002"]


def test_invalid_numbers_are_rejected_with_posts_reason(client, auth):
    post = client.post(URL, json={"phone_number": "+48 123"}, headers=auth).json()

    result = run_import(client, auth, "48500000001\n+48 123\nnot a number\n+48 500 000 002\n")

    assert counts(result) == {"rows": 4, "added": 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert [(e["line"], e["value"]) for e in result["errors"]] == [(2, "+48 123"), (3, "not a number")]
    assert result["errors"][0]["message"] == post["message"]
    assert sorted(listed(client, auth)) == ["48500000001", "48500000002"]


def test_a_past_or_unreadable_expiry_is_rejected(client, auth):
    result = run_import(client, auth, "48500000001,2000-01-01\n48500000002,next week\n48500000003,2099-01-01\n")

    assert counts(result) == {"rows": 3, "added": 1, "updated": 0, "unchanged": 0, "invalid": 2}
    assert error_lines(result) == [1, 2]
    assert "not in the future" in result["errors"][0]["message"]
    assert result["errors"][0]["value"] == "48500000001,2000-01-01"
    assert listed(client, auth) == {"48500000003": "2099-01-01T00:00:00Z"}


def test_a_rejected_row_leaves_the_listed_entry_as_it_was(client, auth):
    add(client, auth, "48500000001", expire_at="2099-01-01")

    result = run_import(client, auth, "48500000001,1999-01-01\n")

    assert counts(result) == {"rows": 1, "added": 0, "updated": 0, "unchanged": 0, "invalid": 1}
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z"}


def test_only_the_first_100_rejected_rows_are_shown_but_all_are_counted(client, auth):
    body = "phone_number\n" + "".join(f"bad{i}\n" for i in range(150)) + "48500000001\n"

    result = run_import(client, auth, body)

    assert counts(result) == {"rows": 151, "added": 1, "updated": 0, "unchanged": 0, "invalid": 150}
    assert len(result["errors"]) == 100
    assert error_lines(result) == list(range(2, 102))
    assert [e["value"] for e in result["errors"][:2]] == ["bad0", "bad1"]
    assert all(set(error) == {"line", "value", "message"} and error["message"] for error in result["errors"])


def test_errors_url_lists_every_rejected_row_as_csv(client, auth):
    body = "phone_number\n" + "".join(f"bad{i}\n" for i in range(150)) + "48500000001\n"
    result = run_import(client, auth, body)

    response = client.get(result["errors_url"], headers=auth)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["line", "value", "message"]
    assert len(rows) == 151
    assert [(int(line), value) for line, value, _ in rows[1:]] == [(i + 2, f"bad{i}") for i in range(150)]
    assert [row[2] for row in rows[1:101]] == [error["message"] for error in result["errors"]]


def test_errors_url_of_an_import_without_rejections_is_just_the_header(client, auth):
    result = run_import(client, auth, "48500000001\n")

    assert client.get(result["errors_url"], headers=auth).text.splitlines() == ["line,value,message"]


def test_a_value_with_commas_and_quotes_survives_the_errors_csv(client, auth):
    result = run_import(client, auth, 'phone_number,expire_at\n"48 500, ""x""",2099-01-01\n')

    rows = list(csv.reader(io.StringIO(client.get(result["errors_url"], headers=auth).text)))

    assert rows[1][0] == "2"
    assert rows[1][1] == result["errors"][0]["value"]
    assert '"x"' in rows[1][1]


def test_the_errors_csv_neutralises_formulas_but_the_json_keeps_values_exact(client, auth):
    formula = '=HYPERLINK("http://x","y")'
    body = f'phone_number\n"{formula.replace(chr(34), chr(34) * 2)}"\n@SUM(1)\n-1+2\nnot a number\n'
    result = run_import(client, auth, body)

    assert [error["value"] for error in result["errors"]] == [formula, "@SUM(1)", "-1+2", "not a number"]
    text = client.get(result["errors_url"], headers=auth).text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [row[1] for row in rows[1:]] == ["'" + formula, "'@SUM(1)", "'-1+2", "not a number"]
    assert [row[2] for row in rows[1:]] == [error["message"] for error in result["errors"]]  # each starts with a quote already
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# --- the CSV dialect ---------------------------------------------------------------------------------


def test_the_header_row_is_optional(client, auth):
    with_header = run_import(client, auth, "phone_number,expire_at\n48500000001,2099-01-01\n")
    without = run_import(client, auth, "48500000002,2099-01-01\n")

    assert counts(with_header) == counts(without) == {"rows": 1, "added": 1, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z", "48500000002": "2099-01-01T00:00:00Z"}


def test_header_columns_may_come_in_any_order_and_case(client, auth):
    result = run_import(client, auth, "Expire_At,note,MSISDN\n2099-01-01,vip,48500000001\n,,48500000002\n")

    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z", "48500000002": None}


def test_the_exports_four_columns_import_as_is(client, auth):
    body = "id,phone_number,expire_at,created_at\n7,48500000001,2099-01-01T00:00:00Z,2020-01-01T00:00:00Z\n8,48500000002,,2020-01-01T00:00:00Z\n"

    result = run_import(client, auth, body)

    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z", "48500000002": None}


def test_four_columns_without_a_header_read_as_the_exports_layout(client, auth):
    result = run_import(client, auth, "7,48500000001,2099-01-01T00:00:00Z,2020-01-01T00:00:00Z\n")

    assert result["added"] == 1
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z"}


def test_an_export_imported_into_another_account_exports_the_same_list(client, auth, other):
    add(client, auth, "48500000001")
    add(client, auth, "48500000002", expire_at="2099-01-01")
    add(client, auth, "+44 7400 123456", expire_at="2098-06-30T12:30:45+02:00")
    add(client, auth, "+1 650 253 0000", expire_at="2097-02-03T04:05:06Z")
    original = export(client, auth)

    result = run_import(client, other, original)

    def entries(text: str) -> set[tuple[str, str]]:
        return {(row["phone_number"], row["expire_at"]) for row in csv.DictReader(io.StringIO(text))}

    assert counts(result) == {"rows": 4, "added": 4, "updated": 0, "unchanged": 0, "invalid": 0}
    assert entries(export(client, other)) == entries(original)


def test_a_utf8_bom_is_ignored(client, auth):
    result = run_import(client, auth, "\ufeffphone_number,expire_at\n48500000001,2099-01-01\n".encode("utf-8"))

    assert counts(result) == {"rows": 1, "added": 1, "updated": 0, "unchanged": 0, "invalid": 0}


def test_a_utf8_bom_before_a_headerless_number_is_ignored(client, auth):
    result = run_import(client, auth, "\ufeff48500000001\n48500000002\n".encode("utf-8"))

    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}


def test_crlf_line_ends_are_read(client, auth):
    result = run_import(client, auth, b"phone_number,expire_at\r\n48500000001,2099-01-01\r\nnope\r\n48500000002\r\n")

    assert counts(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    assert error_lines(result) == [3]
    assert result["errors"][0]["value"] == "nope"
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z", "48500000002": None}


def test_a_semicolon_delimiter_is_read(client, auth):
    result = run_import(client, auth, "phone_number;expire_at\n48500000001;2099-01-01\n48500000002;\n")

    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500000001": "2099-01-01T00:00:00Z", "48500000002": None}


def test_excel_style_bom_crlf_and_semicolons_together(client, auth):
    body = "\ufeffphone_number;expire_at\r\n+48 500 000 001;2099-01-01\r\n+48 500 000 002;\r\n".encode("utf-8")

    result = run_import(client, auth, body, multipart=True)

    assert counts(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}


def test_a_last_row_without_a_line_end_is_read(client, auth):
    result = run_import(client, auth, "48500000001\n48500000002")

    assert result["added"] == 2


def test_one_bad_row_never_stops_the_others_and_line_numbers_count_every_line(client, auth):
    body = "\n".join(
        [
            "phone_number,expire_at",  # line 1
            "48500000001",  # 2
            "abc",  # 3: not a number
            "",  # 4: blank, skipped but counted
            "48500000002,yesterday",  # 5: unreadable expiry
            "48500000003,2099-01-01,extra",  # 6: cells beyond the header's are ignored
            ",2099-01-01",  # 7: no number
            "48500000004",  # 8
        ]
    )

    result = run_import(client, auth, body + "\n")

    assert counts(result) == {"rows": 6, "added": 3, "updated": 0, "unchanged": 0, "invalid": 3}
    assert error_lines(result) == [3, 5, 7]
    assert sorted(listed(client, auth)) == ["48500000001", "48500000003", "48500000004"]


def test_an_unclosed_quote_rejects_only_its_own_line(client, auth):
    result = run_import(client, auth, 'phone_number\n48500000001\n"48500000002\n48500000003\n')

    assert result["status"] == "done"
    assert counts(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    assert result["errors"] == [{"line": 3, "value": '"48500000002', "message": 'the row has a quote (") that does not close on its line'}]
    assert listed(client, auth) == {"48500000001": None, "48500000003": None}


def test_one_stray_quote_before_2000_valid_rows_loses_none_of_them(client, auth):
    body = 'phone_number,expire_at\n"+48500100001\n' + "".join(f"+48{500100002 + i},2031-01-01\n" for i in range(2000))

    result = run_import(client, auth, body)

    assert counts(result) == {"rows": 2001, "added": 2000, "updated": 0, "unchanged": 0, "invalid": 1}
    assert [(error["line"], error["value"]) for error in result["errors"]] == [(2, '"+48500100001')]
    assert "quote" in result["errors"][0]["message"]
    assert client.get(URL, params={"limit": 1}, headers=auth).json()["size"] == 2000


def test_quotes_inside_unquoted_cells_reject_just_their_row(client, auth):
    result = run_import(client, auth, '48 "500" 000001\n48500000002\n4850000"0003,2099-01-01\n48500000004\n')

    assert counts(result) == {"rows": 4, "added": 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert error_lines(result) == [1, 3]
    assert sorted(listed(client, auth)) == ["48500000002", "48500000004"]


def test_line_numbers_count_physical_lines_around_a_quoted_multiline_cell(client, auth):
    body = 'phone_number,note\n48500000001,"two\nlines"\nbad\n48500000002,x\n'

    result = run_import(client, auth, body)

    assert counts(result) == {"rows": 3, "added": 2, "updated": 0, "unchanged": 0, "invalid": 1}
    assert error_lines(result) == [4]


def test_a_one_column_header_over_semicolon_rows_reads_the_second_cell_as_the_expiry(client, auth):
    result = run_import(client, auth, "phone_number\n+48500100001;2031-01-01\n+48500100002;\n+48500100003\n")

    assert counts(result) == {"rows": 3, "added": 3, "updated": 0, "unchanged": 0, "invalid": 0}
    assert listed(client, auth) == {"48500100001": "2031-01-01T00:00:00Z", "48500100002": None, "48500100003": None}


def test_rows_with_the_wrong_number_of_cells_are_rejected_without_a_header(client, auth):
    result = run_import(client, auth, "48500000001\n48500000002,2099-01-01,x\n48500000003,,x,y,z\n48500000004\n")

    assert counts(result) == {"rows": 4, "added": 2, "updated": 0, "unchanged": 0, "invalid": 2}
    assert error_lines(result) == [2, 3]


def test_a_file_with_only_a_header_imports_nothing(client, auth):
    result = run_import(client, auth, "phone_number,expire_at\n")

    assert result["status"] == "done"
    assert counts(result) == {"rows": 0, "added": 0, "updated": 0, "unchanged": 0, "invalid": 0}


@pytest.mark.parametrize("body", ["phone_number\n", "\ufeffid,phone_number,expire_at,created_at\r\n", "phone_number,expire_at"])
def test_a_header_only_file_imports_as_zero_rows_done(client, auth, body):
    result = run_import(client, auth, body)

    assert (result["status"], counts(result), result["errors"]) == ("done", {"rows": 0, "added": 0, "updated": 0, "unchanged": 0, "invalid": 0}, [])


def test_an_upload_larger_than_a_stored_chunk_is_read_whole(client, auth):
    # About 1.3 MB: the stored upload spans several chunks, and rows (and characters) straddle them.
    body = "phone_number,note\n" + "".join(f"48500{i:06d},{'zażółć gęślą jaźń ' * 6}\n" for i in range(10_000))
    assert len(body.encode()) > 1 << 20

    result = run_import(client, auth, body, multipart=True)

    assert counts(result) == {"rows": 10_000, "added": 10_000, "updated": 0, "unchanged": 0, "invalid": 0}


def test_a_header_without_a_phone_column_fails_the_import_with_invalid_csv(client, auth):
    result = run_import(client, auth, "id,created_at\n1,2020-01-01T00:00:00Z\n")

    assert result["status"] == "failed"
    assert result["error"]["error"] == "invalid_csv"
    assert "phone" in result["error"]["message"]
    assert result["finished_at"] is not None
    assert listed(client, auth) == {}


def test_a_failed_import_reports_a_standard_error_body(client, auth):
    result = run_import(client, auth, "expire_at\n2099-01-01\n")

    assert result["status"] == "failed"
    assert set(result["error"]) == {"error", "message", "errors"}
    assert result["error"]["error"] == "invalid_csv"


def test_a_large_import_spanning_several_batches_counts_every_row(client, auth, monkeypatch):
    # Writes of 1,000 rows, committed 5,000 at a time: three batches, a duplicate of the first in the last.
    monkeypatch.setattr(import_service, "WRITE_ROWS", 1000)
    monkeypatch.setattr(import_service, "BATCH_ROWS", 5000)
    numbers = [f"48500{i:06d}" for i in range(12_000)]
    body = "phone_number\n" + "\n".join(numbers + numbers[:10] + ["bad"]) + "\n"

    result = run_import(client, auth, body)

    assert counts(result) == {"rows": 12_011, "added": 12_000, "updated": 0, "unchanged": 10, "invalid": 1}
    assert error_lines(result) == [12_012]
    assert client.get(URL, params={"limit": 1}, headers=auth).json()["size"] == 12_000


@pytest.mark.parametrize("field", ["evidence", "received_at", "foo"])
def test_a_form_field_beside_the_file_is_refused_not_ignored(client, app, auth, field):
    # evidence sent as a form field was dropped unseen: the trail recorded none, and the client believed it had.
    response = client.post(IMPORTS, files={"import": ("list.csv", b"48500000001\n")}, data={field: "SMS STOP 123"}, headers=auth)
    body = assert_error(response, 400, "validation_error")
    assert body["errors"] == [{"path": field, "message": f"the upload's form takes only the file field 'import'; {field!r} is none of its fields"
                               " (evidence and received_at go in the query string)", "error": "extra_forbidden"}]
    assert count(app, Job) == 0
    # in the query string, as the README says, evidence is taken
    taken = client.post(IMPORTS, files={"import": ("list.csv", b"48500000001\n")}, params={"evidence": "SMS STOP 123"}, headers=auth)
    assert taken.status_code == 202, taken.text


def test_a_number_column_saved_as_floats_lists_the_numbers_not_others(client, auth):
    # pandas writes an integer column with a gap as floats: 4930123456.0 is 4930123456, not 49301234560.
    result = run_import(client, auth, "phone_number\n4930123456.0\n+48500000001.0\n")

    assert (result["added"], result["invalid"]) == (2, 0)
    assert set(listed(client, auth)) == {"4930123456", "48500000001"}
    assert client.get("/blacklist/check", params={"phone_number": "+49 30 123456"}, headers=auth).json()["blacklisted"] is True


def test_a_tab_separated_file_is_read_by_its_columns(client, auth):
    # Read as one column, the tab was a separator inside the number: +49 30 123456 and its expiry's 1 became 49301234561.
    result = run_import(client, auth, "phone_number\texpire_at\n+49 30 123456\t2031-01-01\n+48500000001\t\n")

    assert (result["added"], result["invalid"]) == (2, 0), result
    assert listed(client, auth) == {"4930123456": "2031-01-01T00:00:00Z", "48500000001": None}


def test_a_row_past_16384_characters_is_rejected_alone_quoted_or_not(client, auth):
    wide = "z" * 20_000
    result = run_import(client, auth, f"phone_number,notes\n+48500000001,{wide}\n+48500000002,short\n")

    assert (result["added"], result["invalid"]) == (1, 1)
    assert result["errors"][0]["message"] == "the row is longer than 16384 characters"
    assert set(listed(client, auth)) == {"48500000002"}


def test_a_number_twice_in_one_import_is_one_event_of_what_it_became(client, auth):
    add(client, auth, "+48500000001", expire_at="2030-01-01")
    result = run_import(client, auth, "phone_number,expire_at\n48500000001,2032-01-01\n48500000001,2033-01-01\n")

    assert (result["updated"], result["rows"]) == (2, 2)
    events = client.get("/blacklist/history", params={"address": "+48500000001"}, headers=auth).json()["events"]
    assert [(event["op"], event["after"]["expire_at"]) for event in events] == [("add", "2030-01-01T00:00:00Z"), ("update", "2033-01-01T00:00:00Z")]


def test_the_file_field_given_twice_is_refused_not_one_of_them_dropped(client, app, auth):
    response = client.post(IMPORTS, files=[("import", ("a.csv", b"48500000001\n")), ("import", ("b.csv", b"48500000002\n"))], headers=auth)
    assert response.status_code == 400, response.text
    text_first = client.post(IMPORTS, data={"import": "48500000009"}, files={"import": ("a.csv", b"48500000001\n")}, headers=auth)
    body = assert_error(text_first, 400, "validation_error")
    assert body["errors"][0] == {"path": "import", "message": "Send the CSV once, as the one multipart field 'import'.", "error": "duplicate"}
    assert count(app, Job) == 0


def test_an_imports_counts_are_in_the_details_of_its_event_in_the_history_csv_and_an_entrys_event_has_none(client, auth):
    """The proof a compliance officer exports: the import's summary event says what it did in CSV as in JSON."""
    result = run_import(client, auth, "phone_number\n48500000001\n48500000002\nnot a number\n")

    feed = client.get("/blacklist/history", params={"since": "2000-01-01"}, headers=auth).json()["events"]
    [summary] = [event for event in feed if event["op"] == "import"]
    response = client.get("/blacklist/history", params={"since": "2000-01-01"}, headers={**auth, "Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))

    [imported] = [row for row in rows if row["op"] == "import"]
    assert json.loads(imported["details"])["after"] == summary["after"]
    assert (summary["after"]["rows"], summary["after"]["added"], summary["after"]["invalid"]) == (result["rows"], 2, 1)
    assert {row["details"] for row in rows if row["op"] == "add"} == {""}
