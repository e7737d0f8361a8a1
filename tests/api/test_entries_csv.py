"""GET /blacklist/entries as CSV: the whole filtered export without paging parameters, or the very page the
JSON listing answers for the same filters, offset, limit and cursor, with X-Next-Cursor naming the next."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.config import Settings
from stoplist.db import transaction
from stoplist.imports.csv_format import NATIVE_HEADER
from stoplist.lists.models import Entry
from tests.api.helpers import IMPORTS, assert_error, wait_for_import

ENTRIES = "/blacklist/entries"
CSV = {"Accept": "text/csv"}
SIZE = 130  # more than a JSON page's default of 100
NOTES = ["", "=1+2", "a, b", 'said "stop"', "two\nlines", "a\rb", "'quoted"]


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


@pytest.fixture
def filled(app, client, auth) -> None:
    """SIZE entries over lists of every kind, phone numbers and e-mail addresses; most share the second
    they were imported in (the order's ties, broken by id), a few were created earlier."""
    scopes = [",,", "sms,,", "whatsapp,ACME,", ",ACME,allow", "email,,", "voice,,allow"]
    rows = []
    for index in range(SIZE):
        channel, sender, kind = scopes[index % len(scopes)].split(",")
        address = f"user{index}@example.com" if channel == "email" else f"+4850000{index:04d}"
        note = NOTES[index % len(NOTES)]
        rows.append([address, channel, sender, kind, note])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([["address", "channel", "sender", "list", "note"], *rows])
    job = client.post(IMPORTS, content=text.getvalue().encode(), headers={**auth, "Content-Type": "text/csv"}).json()
    assert wait_for_import(client, auth, job["id"])["added"] == SIZE
    ids = [entry["id"] for entry in client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()["collection"]]
    earlier = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with transaction(app.state.session_factory) as session:
        for offset, entry_id in enumerate(ids[::9]):
            moment = earlier + timedelta(minutes=offset % 4)  # ties here too
            session.execute(update(Entry).where(Entry.id == int(entry_id)).values(created_at=moment, updated_at=moment))


def csv_page(client, auth, **params) -> tuple[list[dict], str | None]:
    response = client.get(ENTRIES, params=params, headers={**auth, **CSV})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text, newline=""))
    assert tuple(reader.fieldnames or ()) == NATIVE_HEADER
    return list(reader), response.headers.get("X-Next-Cursor")


def json_page(client, auth, **params) -> dict:
    response = client.get(ENTRIES, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


PAGES = [
    {"limit": 7},
    {"offset": 5},
    {"offset": 95, "limit": 30},
    {"offset": 0},
    {"channel": "sms", "limit": 4, "offset": 2},
    {"list": "allow", "limit": 9},
    {"sender": "", "limit": 11, "offset": 3},
    {"address_kind": "email", "limit": 5},
    {"q": "5000001", "limit": 3},
    {"reason": "manual", "limit": 1000},
]


def test_a_csv_page_lists_the_ids_of_the_json_page_in_its_order_and_names_the_same_next_cursor(client, auth, filled):
    # One list filled once for every case: filling it is most of the time each case would take.
    for params in PAGES:
        rows, next_cursor = csv_page(client, auth, **params)
        page = json_page(client, auth, **params)

        assert rows, params
        assert [row["id"] for row in rows] == [entry["id"] for entry in page["collection"]], params
        assert next_cursor == page["next_cursor"], params
        if next_cursor is not None:
            # And the page after it, by cursor (an offset counts from the cursor: it is left out).
            following = {key: value for key, value in params.items() if key != "offset"} | {"cursor": next_cursor}
            after, _ = csv_page(client, auth, **following)
            assert [row["id"] for row in after] == [entry["id"] for entry in json_page(client, auth, **following)["collection"]], following


def test_following_x_next_cursor_walks_the_whole_export_exactly_once(client, auth, filled):
    whole = list(csv.DictReader(io.StringIO(client.get(ENTRIES, headers={**auth, **CSV}).text, newline="")))
    walked, cursor, pages = [], None, 0
    while True:
        rows, cursor = csv_page(client, auth, limit=8, **({} if cursor is None else {"cursor": cursor}))
        walked += rows
        pages += 1
        if pages == 2:
            # An entry added meanwhile is newer than every page: the walk neither repeats nor skips for it.
            client.post(ENTRIES, json={"address": "+48600000001"}, headers=auth).raise_for_status()
        if cursor is None:
            break

    assert len(whole) == SIZE and pages == -(-SIZE // 8)
    assert walked == whole  # every cell too, guarded as the export guards it
    assert len({row["id"] for row in walked}) == SIZE


def test_without_paging_parameters_the_csv_is_every_matching_entry(client, auth, filled):
    everything = client.get(ENTRIES, headers={**auth, **CSV})
    sms = client.get(ENTRIES, params={"channel": "sms"}, headers={**auth, **CSV})

    assert "X-Next-Cursor" not in everything.headers
    assert len(list(csv.DictReader(io.StringIO(everything.text, newline="")))) == SIZE
    assert [row["id"] for row in csv.DictReader(io.StringIO(sms.text, newline=""))] == [
        entry["id"] for entry in json_page(client, auth, channel="sms", limit=1000)["collection"]
    ]


def test_a_csv_page_past_the_end_is_204_as_an_empty_export(client, auth, filled):
    response = client.get(ENTRIES, params={"offset": SIZE}, headers={**auth, **CSV})

    assert response.status_code == 204 and "X-Next-Cursor" not in response.headers


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": 1001}, "validation_error"), ({"limit": 0}, "validation_error"), ({"offset": -1}, "validation_error"), ({"cursor": "nope"}, "invalid_cursor")],
)
def test_a_csv_page_refuses_what_the_json_page_refuses(client, auth, params, code):
    assert_error(client.get(ENTRIES, params=params, headers={**auth, **CSV}), 400, code)
    assert_error(client.get(ENTRIES, params=params, headers=auth), 400, code)


def test_a_csv_page_holds_the_very_bytes_the_whole_export_writes_for_its_rows(client, auth):
    """Notes that force quoting (a carriage return) included: a page is a slice of the export, byte for byte."""
    for index, note in enumerate(["plain", "lone\rcr", "two\nlines", None]):
        client.post("/blacklist/entries", json={"address": f"+4850000002{index}", "note": note}, headers=auth)
    whole = client.get("/blacklist/entries", headers={**auth, "Accept": "text/csv"}).content
    pages, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/blacklist/entries", params=params, headers={**auth, "Accept": "text/csv"})
        header, _, rows = page.content.partition(b"\n")
        pages.append(rows)
        cursor = page.headers.get("X-Next-Cursor")
        if cursor is None:
            break
    assert header + b"\n" + b"".join(pages) == whole
