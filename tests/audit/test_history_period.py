"""A period's proof (issue 25): `GET /blacklist/history?since=&until=` answers every event of the account recorded in
a period, paged as history is, as JSON or CSV; `stoplist audit export --since/--until` writes the same."""

import csv
import io
from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from stoplist.audit.models import Event
from stoplist.db import transaction
from tests.api.helpers import URL, add, assert_error

HISTORY = "/blacklist/history"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


@pytest.fixture
def trail(client, app, auth) -> list[int]:
    """Six events; the stored `at` of the first four moved into November 2026 (the column the period reads)."""
    for number in ("+48500000001", "+48500000002", "+48500000003"):
        add(client, auth, number)
    entry = add(client, auth, "+48500000004")
    client.delete(f"{URL}/{entry['id']}", headers=auth)
    add(client, auth, "+48500000005")
    moved = {1: utc(2026, 11, 1), 2: utc(2026, 11, 15, 12), 3: utc(2026, 11, 30, 23, 59, 59), 4: utc(2026, 12, 1)}
    with transaction(app.state.session_factory) as session:
        for seq, at in moved.items():
            session.execute(update(Event).where(Event.seq == seq).values(at=at))
    return list(range(1, 7))


def seqs(client, auth, **params) -> list[int]:
    response = client.get(HISTORY, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [event["seq"] for event in response.json()["events"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"since": "2026-11-01", "until": "2026-11-30"}, [1, 2, 3]),
        ({"since": "2026-11-01T00:00:01Z", "until": "2026-11-30"}, [2, 3]),
        ({"since": "2026-11-15T12:00:00Z", "until": "2026-12-01T00:00:00Z"}, [2, 3]),
        ({"since": "november 2026", "until": "november 2026"}, [1, 2, 3]),
        ({"until": "2026-11-15"}, [1, 2]),
        ({"since": "2026-12-01"}, [4, 5, 6]),
        ({"since": "yesterday"}, [5, 6]),
        ({"since": "1764547200"}, [1, 2, 3, 4, 5, 6]),
        ({"since": "2999-01-01"}, []),
    ],
)
def test_a_period_holds_exactly_the_events_recorded_in_it(client, auth, trail, params, expected):
    assert seqs(client, auth, **params) == expected


def test_a_period_is_paged_as_history_and_answers_csv_as_history(client, auth, trail):
    first = client.get(HISTORY, params={"since": "2026-11-01", "limit": 2}, headers=auth).json()
    rest = client.get(HISTORY, params={"since": "2026-11-01", "limit": 2, "after": first["next"]}, headers=auth).json()
    proof = client.get(HISTORY, params={"since": "2026-11-01", "until": "2026-11-30"}, headers={**auth, "Accept": "text/csv"})

    assert [event["seq"] for event in first["events"]] == [1, 2] and first["next"].startswith("2-")
    assert [event["seq"] for event in rest["events"]] == [3, 4]
    assert proof.headers["content-type"].startswith("text/csv")
    assert [row["seq"] for row in csv.DictReader(io.StringIO(proof.text))] == ["1", "2", "3"]


def test_another_accounts_events_are_never_in_a_period(client, auth, make_token, trail):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, other, "+48500000009")

    assert seqs(client, other, since="2000-01-01") == [1]
    assert seqs(client, auth, since="2000-01-01") == list(range(1, 7))


@pytest.mark.parametrize(
    ("params", "code", "paths"),
    [
        ({}, "filter_required", []),
        ({"limit": 5}, "filter_required", []),
        # only the parameters sent are named
        ({"address": "+48500000001", "since": "2026-01-01"}, "conflicting_parameters", ["address", "since"]),
        ({"address": "+48500000001", "until": "2026-01-01"}, "conflicting_parameters", ["address", "until"]),
        ({"address": "+48500000001", "since": "2025-01-01", "until": "2026-01-01"}, "conflicting_parameters", ["address", "since", "until"]),
        ({"address": "+48500000001", "until": "9999"}, "conflicting_parameters", ["address", "until"]),  # sent, though it reads as no bound
        ({"since": "whenever"}, "invalid_date", ["since"]),
        ({"until": ""}, "invalid_date", ["until"]),
    ],
)
def test_a_history_names_an_address_or_a_period(client, auth, params, code, paths):
    body = assert_error(client.get(HISTORY, params=params, headers=auth), 400, code)

    assert [problem["path"] for problem in body["errors"]] == paths


def test_a_history_cursor_past_the_newest_event_says_to_page_again_not_to_resynchronise(client, auth, trail):
    # The feed's advice (export, then follow X-Feed-Cursor) is for a mirror; a history is read again from its first page.
    body = assert_error(client.get(HISTORY, params={"since": "2000", "after": 999}, headers=auth), 400, "invalid_cursor")
    assert "read the history again from its first page" in body["message"] and "X-Feed-Cursor" not in body["message"]
    feed = assert_error(client.get("/blacklist/changes", params={"after": 999}, headers=auth), 400, "invalid_cursor")
    assert "X-Feed-Cursor" in feed["message"]


@pytest.mark.parametrize(("accept", "csv"), [("text/csv", True), ("text/csv, */*", True), ("text/csv;q=0.1, application/json", False), ("*/*", False)])
def test_accept_weighs_csv_against_json_on_every_route_that_answers_either(client, auth, trail, accept, csv):
    for path, params in ((HISTORY, {"since": "2000"}), ("/blacklist/entries", {}), (URL, {})):
        response = client.get(path, params=params, headers={**auth, "Accept": accept})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/csv" if csv else "application/json"), (path, accept)
