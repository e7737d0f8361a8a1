"""Date ranges on every listing (issue 25): created, updated and expire bounds on the native listing, its CSV (whole
and paged), SMSAPI's listing, its CSV export and its x-async job; `start`/`end`; unreadable dates."""

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from stoplist.config import Settings
from stoplist.db import transaction
from stoplist.lists.models import Entry
from tests.api.helpers import URL, add, assert_error
from tests.api.test_exports import wait_for_file

ENTRIES = "/blacklist/entries"


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def dated(app, entry: dict, created: datetime, updated: datetime | None = None) -> None:
    """Move an entry's created_at (and updated_at) behind the API's back."""
    with transaction(app.state.session_factory) as session:
        session.execute(update(Entry).where(Entry.id == int(entry["id"])).values(created_at=created, updated_at=updated or created))


@pytest.fixture
def year(client, app, auth) -> dict[str, dict]:
    """Entries of the default list created through 2026 (and one just now), one updated later, two expiring."""
    made = {
        "january": add(client, auth, "+48500000001"),
        "march": add(client, auth, "+48500000002", expire_at="2030-01-01"),
        "june_noon": add(client, auth, "+48500000003", expire_at="2031-06-01T00:00:00Z"),
        "now": add(client, auth, "+48500000004"),
    }
    dated(app, made["january"], utc(2026, 1, 10, 9))
    dated(app, made["march"], utc(2026, 3, 15), updated=utc(2026, 11, 1, 8))
    dated(app, made["june_noon"], utc(2026, 6, 1, 12))
    return made


def native_ids(client, auth, **params) -> list[str]:
    response = client.get(ENTRIES, params=params, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == len(body["collection"])
    return [entry["id"] for entry in body["collection"]]


def smsapi_ids(client, auth, **params) -> list[str]:
    response = client.get(URL, params=params, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["size"] == len(body["collection"])
    return [entry["id"] for entry in body["collection"]]


CASES = [
    ({"created_after": "2026-03-01"}, ["now", "june_noon", "march"]),
    # A bound's moment is in it from below, out of it from above; a bare date as an upper bound is its whole day.
    ({"created_after": "2026-06-01T12:00:00Z"}, ["now", "june_noon"]),
    ({"created_after": "2026-06-01T12:00:01Z"}, ["now"]),
    ({"created_before": "2026-06-01T12:00:00Z"}, ["march", "january"]),
    ({"created_before": "2026-03-15"}, ["march", "january"]),
    ({"created_before": "2026-03-14"}, ["january"]),
    ({"created_after": "2026-01-10", "created_before": "2026-06-01"}, ["june_noon", "march", "january"]),
    ({"start": "2026-03-15", "end": "2026-03-15"}, ["march"]),
    ({"start": "1773532800"}, ["now", "june_noon", "march"]),  # 2026-03-15T00:00:00Z as a UNIX timestamp
    ({"created_after": "2026-03-15T01:00:00+01:00"}, ["now", "june_noon", "march"]),
    ({"created_after": "march 2026", "created_before": "march 2026"}, ["march"]),
    ({"created_after": "yesterday"}, ["now"]),
    ({"created_before": "2 weeks ago"}, ["june_noon", "march", "january"]),
    ({"updated_after": "2026-10-01", "updated_before": "2026-12-01"}, ["march"]),
    ({"updated_after": "1 hour ago"}, ["now"]),
    # An entry that never expires expires after every date, and before none.
    ({"expire_after": "2031-01-01"}, ["now", "june_noon", "january"]),
    ({"expire_before": "2031-01-01"}, ["march"]),
    ({"expire_after": "2030-01-01", "expire_before": "2031-06-01T00:00:01Z"}, ["june_noon", "march"]),
    ({"created_after": "2999-01-01"}, []),
    # A lower bound inside an upper bound's day: the rest of that day, not a swap.
    ({"created_after": "2026-06-01T09:00:00Z", "created_before": "2026-06-01"}, ["june_noon"]),
    ({"created_after": "2026-06-01T12:00:01Z", "created_before": "2026-06-01"}, []),
]


@pytest.mark.parametrize(("params", "expected"), CASES)
def test_a_date_range_selects_exactly_its_entries_on_both_listings(client, auth, year, params, expected):
    ids = [year[name]["id"] for name in expected]

    assert native_ids(client, auth, **params) == ids
    assert smsapi_ids(client, auth, **params) == ids


def test_date_ranges_combine_with_the_other_filters_and_never_show_another_account(client, auth, make_token, year):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, other, "+48500000009")

    assert native_ids(client, auth, created_after="2026-03-01", q="5000000") == [year[name]["id"] for name in ("now", "june_noon", "march")]
    assert native_ids(client, auth, created_after="2026-03-01", q="0000002") == [year["march"]["id"]]
    assert smsapi_ids(client, auth, created_after="2026-03-01", q="0000001") == []
    assert native_ids(client, other, created_before="2999-01-01") != [] and native_ids(client, auth, address="+48500000009", created_before="2999-01-01") == []


def test_the_native_csv_exports_whole_and_paged_take_the_ranges(client, auth, year):
    params = {"created_after": "2026-03-01", "created_before": "2026-12-01"}

    whole = client.get(ENTRIES, params=params, headers={**auth, "Accept": "text/csv"})
    paged = client.get(ENTRIES, params={**params, "limit": 1}, headers={**auth, "Accept": "text/csv"})
    rest = client.get(ENTRIES, params={**params, "limit": 1, "cursor": paged.headers["X-Next-Cursor"]}, headers={**auth, "Accept": "text/csv"})

    assert [row["id"] for row in csv.DictReader(io.StringIO(whole.text))] == [year["june_noon"]["id"], year["march"]["id"]]
    assert [row["id"] for row in csv.DictReader(io.StringIO(paged.text))] == [year["june_noon"]["id"]]
    assert [row["id"] for row in csv.DictReader(io.StringIO(rest.text))] == [year["march"]["id"]]
    assert "X-Next-Cursor" not in rest.headers


def test_smsapis_csv_export_and_its_x_async_job_take_the_ranges(client, auth, year):
    params = {"start": "2026-03-01", "end": "2026-06-01", "orderBy": "created_at"}

    exported = client.get(URL, params=params, headers={**auth, "Accept": "text/csv"})
    queued = client.get(URL, params=params, headers={**auth, "Accept": "text/csv", "x-async": "true"})
    assert queued.status_code == 202, queued.text
    stored = wait_for_file(client, auth, queued.json()["file_id"])

    assert [row["id"] for row in csv.DictReader(io.StringIO(exported.text))] == [year["march"]["id"], year["june_noon"]["id"]]
    assert stored.status_code == 200 and stored.content == exported.content


def test_an_x_async_job_reads_a_relative_date_when_it_is_asked_for(client, app, auth, year):
    """`yesterday` is the day before the request, not before the job runs: the job keeps the moments."""
    from stoplist.jobs.models import Job

    queued = client.get(URL, params={"created_after": "yesterday"}, headers={**auth, "Accept": "text/csv", "x-async": "true"})
    stored = wait_for_file(client, auth, queued.json()["file_id"])

    with app.state.session_factory() as session:
        params = json.loads(session.get(Job, queued.json()["file_id"]).params)
    assert params["created"][0].endswith("T00:00:00Z") and params["created"][1] is None
    assert [row["id"] for row in csv.DictReader(io.StringIO(stored.text))] == [year["now"]["id"]]


@pytest.mark.parametrize("path", [ENTRIES, URL])
@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"created_after": "whenever"}, "created_after"), ({"start": "soon"}, "start"), ({"end": ""}, "end"), ({"updated_before": "  "}, "updated_before"),
        ({"expire_after": "2026-02-30"}, "expire_after"), ({"expire_before": "x" * 65}, "expire_before"), ({"created_before": "0999-01-01"}, "created_before"),
    ],
)
def test_an_unreadable_date_is_400_invalid_date_naming_its_parameter(client, auth, path, params, name):
    body = assert_error(client.get(path, params=params, headers=auth), 400, "invalid_date")

    assert [problem["path"] for problem in body["errors"]] == [name]
    assert "UNIX timestamp" in body["message"] or "1000 to 9999" in body["message"]


@pytest.mark.parametrize("path", [ENTRIES, URL])
@pytest.mark.parametrize(("params", "names"), [({"start": "2026-01-01", "created_after": "2026-01-01"}, ["created_after", "start"]),
                                               ({"end": "2026-01-01", "created_before": "2026-02-01"}, ["created_before", "end"])])
def test_a_date_given_in_both_spellings_is_conflicting_parameters(client, auth, path, params, names):
    body = assert_error(client.get(path, params=params, headers=auth), 400, "conflicting_parameters")

    assert [problem["path"] for problem in body["errors"]] == names


def test_a_date_range_is_not_a_parameter_of_smsapis_delete(client, auth):
    add(client, auth, "+48500000001")

    assert_error(client.delete(URL, params={"created_after": "2000-01-01"}, headers=auth), 400, "validation_error")
    assert smsapi_ids(client, auth) != []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{ENTRIES}?created_after=9999-12-31T23:59:59.5Z"),
        ("GET", "/blacklist/phone_numbers?created_before=9999-12-31T23:59:59.999999Z"),
        ("GET", "/blacklist/history?since=9999-12-31T23:59:59.5Z"),
        ("DELETE", f"{ENTRIES}?expire_after=9999-12-31T23:59:59.5Z&dry_run=true"),
    ],
)
def test_a_moment_rounded_past_year_9999_is_invalid_date_not_a_server_error(client, auth, method, path):
    response = client.request(method, path, headers=auth)

    assert_error(response, 400, "invalid_date")
    assert "years 1000 to 9999" in response.json()["message"]


def test_a_european_day_in_digits_is_refused_rather_than_read_month_first(client, auth, year):
    # dateparser alone would read 06.12.2026 as 12 June: a delete by filter would act on the wrong half of the year.
    response = client.delete(f"{ENTRIES}?created_before=06.12.2026&dry_run=true", headers=auth)

    assert_error(response, 400, "invalid_date")
    assert "could be 6 December or 12 June" in response.json()["message"]


@pytest.mark.parametrize(
    ("method", "path", "params", "names"),
    [
        ("GET", ENTRIES, {"created_after": "2026-12-02", "created_before": "2026-12-01"}, ["created_after", "created_before"]),
        ("GET", URL, {"start": "today", "end": "yesterday"}, ["start", "end"]),
        ("GET", ENTRIES, {"updated_after": "2026-12-01T10:00:01Z", "updated_before": "2026-12-01T10:00:00Z"}, ["updated_after", "updated_before"]),
        ("GET", "/blacklist/history", {"since": "2030-01-01", "until": "2020-01-01"}, ["since", "until"]),
        ("DELETE", ENTRIES, {"expire_after": "2031", "expire_before": "2030"}, ["expire_after", "expire_before"]),
        # From where the upper bound's day ends: no moment is from the one and before the other.
        ("GET", ENTRIES, {"created_after": "2026-12-02T00:00:00Z", "created_before": "2026-12-01"}, ["created_after", "created_before"]),
        ("GET", "/blacklist/history", {"since": "2027-01-01T00:00:00Z", "until": "2026"}, ["since", "until"]),
    ],
)
def test_bounds_the_wrong_way_round_are_refused_naming_both_and_nothing_is_deleted(client, auth, method, path, params, names):
    """An empty answer would read as "nothing happened then" to whoever swapped them."""
    add(client, auth, "+48500000001", expire_at="2030-06-01")
    body = assert_error(client.request(method, path, params=params, headers=auth), 400, "invalid_date")
    assert [error["path"] for error in body["errors"]] == names and "Swapped?" in body["message"]
    assert client.get(URL, headers=auth).json()["size"] == 1


def test_a_day_as_both_bounds_is_that_day_not_refused(client, auth, year):
    response = client.get(ENTRIES, params={"created_after": "2026-11-30", "created_before": "2026-11-30"}, headers=auth)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("params"),
    [
        {"since": "2026-11-30T10:00:00.2Z", "until": "2026-11-30T10:00:00.5Z"},  # in order, both round to 10:00:01: no second between
        {"since": "2026-11-30T10:00:00Z", "until": "2026-11-30T10:00:00Z"},  # meeting: an empty period, not a swapped one
        {"since": "1764547200.2", "until": "1764547200.7"},
        {"since": "2026-11-30T23:59:59.5Z", "until": "2026-11-30"},  # the fraction is the next day's first second: the bounds meet
    ],
)
def test_bounds_in_order_that_hold_no_second_answer_nothing_rather_than_swapped(client, auth, params):
    response = client.get("/blacklist/history", params=params, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["events"] == []


def test_a_lower_bound_inside_the_upper_bounds_day_is_the_rest_of_that_day(client, auth):
    """`since=2 hours ago&until=today`: from two hours ago to the end of today (of yesterday, just after midnight), not "swapped"."""
    entry = add(client, auth, "+48500000001")
    response = client.get("/blacklist/history", params={"since": "2 hours ago", "until": "today"}, headers=auth)
    assert response.status_code == 200, response.text
    assert entry["id"] in [event["entry_id"] for event in response.json()["events"]]
