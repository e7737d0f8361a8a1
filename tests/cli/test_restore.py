"""`stoplist export` then `stoplist import`: into an empty account, every entry of every list comes back
with every field, created_at included; the API's import stamps its own time and source instead."""

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update

from stoplist.db import create_db_engine, create_session_factory, transaction, utcnow
from stoplist.imports.csv_format import NATIVE_HEADER
from stoplist.lists.models import Entry
from tests.api.helpers import TIMESTAMP, URL
from tests.cli.test_import_export_cli import api_import, bearer, create_token, stoplist, summary, write

ENTRIES = "/blacklist/entries"
# Free text a CSV file and a spreadsheet both have rules about: delimiters, quotes, line breaks of
# every kind, the starts of formulas, the guard's own quote, spaces at either end.
NOTES = [
    "a note, with a comma",
    'she said "stop", twice',
    "two\nlines",
    "windows\r\nline end",
    "a lone\rcarriage return",
    '=HYPERLINK("http://x","y")',
    "'quoted already",
    "''twice",
    "-1+2",
    "@SUM(1)",
    "\tstarts with a tab",
    "\rstarts with a carriage return",
    "  padded at both ends  ",
    "naïve 🛑 ünïcode",
]
START = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)


def entries(client, auth) -> dict[tuple, dict]:
    """Every live entry of the account by (list, channel, sender, address), every field but id."""
    body = client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()
    assert body["next_cursor"] is None
    return {(e["list"], e["channel"], e["sender"], e["address"]): {k: v for k, v in e.items() if k != "id"} for e in body["collection"]}


def stamp(database: str, entry_id: str, created_at: datetime, updated_at: datetime) -> None:
    """Give an entry the times of one written long ago, behind the API's back (the API stamps only the present)."""
    engine = create_db_engine(database)
    try:
        with transaction(create_session_factory(engine)) as session:
            session.execute(update(Entry).where(Entry.id == int(entry_id)).values(created_at=created_at, updated_at=updated_at))
    finally:
        engine.dispose()


def fill(database: str, api, tmp_path: Path) -> dict[tuple, dict]:
    """The account `acme` with entries on many lists, of every source, with distinct created_at and updated_at."""
    auth = bearer(database, "acme")
    api.post(URL, json={"phone_number": "+48500000001", "expire_at": "2031-01-01"}, headers=auth).raise_for_status()
    scopes = [
        {}, {"channel": "sms"}, {"channel": "whatsapp", "sender": "ACME"}, {"list": "allow", "sender": "Shop, Inc."},
        {"list": "allow", "channel": "voice"}, {"sender": "=SUM(1)"}, {"channel": "rcs", "sender": "'quoted"},
    ]
    reasons = ["unsubscribed", "stop_keyword", "complaint", "legal", "gdpr_erasure", "other"]
    for index, note in enumerate(NOTES):
        body = {"address": f"+4860011{index:04d}", **scopes[index % len(scopes)], "reason": reasons[index % len(reasons)], "note": note}
        if index % 3 == 0:
            body["expire_at"] = f"2035-0{index % 9 + 1}-15T12:00:00Z"
        response = api.post(ENTRIES, json=body, headers=auth)
        assert response.status_code == 201, response.text
    for body in (
        {"address": "Jan.Kowalski@Example.COM", "channel": "email", "reason": "bounce", "expire_at": "2032-02-02"},
        {"address": "ops@bücher.de", "list": "allow", "note": "=1+2"},
        {"address": "+48 600 110 000", "channel": "sms", "list": "allow", "reason": "other"},  # the first note's number, on a list of its own too
    ):
        api.post(ENTRIES, json=body, headers=auth).raise_for_status()
    api_import(api, auth, "address,channel,reason,note\n+48700000001,sms,complaint,via the API's import\nanna@example.com,email,,\n")
    summary(stoplist("import", write(tmp_path, "phone_number,expire_at\n+48700000002,2033-05-05\n+48700000003,\n", "plain.csv"), "--account", "acme"))
    ids = [entry["id"] for entry in api.get(ENTRIES, params={"limit": 1000}, headers=auth).json()["collection"]]
    for offset, entry_id in enumerate(sorted(ids, key=int)):
        created = START + timedelta(days=offset, seconds=offset)
        stamp(database, entry_id, created, created + timedelta(hours=offset % 4))
    return entries(api, auth)


def test_a_round_trip_through_export_and_import_into_an_empty_account_keeps_every_field(database, api, tmp_path):
    before = fill(database, api, tmp_path)
    assert {entry["source"] for entry in before.values()} == {"api", "import", "cli"}
    assert len({entry["created_at"] for entry in before.values()}) == len(before) == len(NOTES) + 8
    backup, again = tmp_path / "backup.csv", tmp_path / "again.csv"

    exported = stoplist("export", backup, "--account", "acme")
    assert exported.exit_code == 0, exported.output
    create_token(database, "restored")
    restored = summary(stoplist("import", backup, "--account", "restored"))

    assert restored == {"rows": len(before), "added": len(before), "updated": 0, "unchanged": 0, "invalid": 0}
    auth = bearer(database, "restored")
    after = entries(api, auth)
    assert after == before
    # The trail tells what happened: each entry added now, by the command line.
    events = api.get("/blacklist/changes", params={"limit": 1000}, headers=auth).json()["events"]
    assert {(event["op"], event["source"]) for event in events} == {("add", "cli")} and len(events) == len(before)
    # The restored account exports the same file, but for the ids.
    stoplist("export", again, "--account", "restored")
    assert without_ids(again) == without_ids(backup)


def without_ids(path: Path) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(), newline="")))
    assert tuple(rows[0]) == NATIVE_HEADER
    return sorted(row[1:] for row in rows[1:])


def test_a_native_export_guards_the_note_and_writes_a_carriage_return_inside_quotes(database, api, tmp_path):
    auth = bearer(database, "acme")
    for index, note in enumerate(NOTES):
        api.post(ENTRIES, json={"address": f"+4860011{index:04d}", "note": note}, headers=auth).raise_for_status()
    target = tmp_path / "out.csv"
    stoplist("export", target, "--account", "acme")

    text = target.read_bytes().decode()
    notes = sorted(row["note"] for row in csv.DictReader(io.StringIO(text, newline="")))
    guarded = sorted("'" + note if note.startswith(("=", "+", "-", "@", "\t", "\r", "'")) else note for note in NOTES)
    assert notes == guarded
    # A row whose note holds a carriage return has every text cell quoted (a lone CR would end it); the others as usual.
    assert ',"a lone\rcarriage return","api",' in text and ',"\'\rstarts with a carriage return","api",' in text
    assert ',"block","manual","windows\r\nline end","api",' in text
    assert ",block,manual,naïve 🛑 ünïcode,api," in text and ',block,manual,"two\nlines",api,' in text


def test_the_api_import_stamps_its_own_time_and_source_whatever_the_file_says(database, api, tmp_path):
    body = "address,source,created_at,updated_at\n+48500000001,api,2020-01-01T00:00:00Z,2021-01-01T00:00:00Z\n+48500000002,web,never,2999-01-01\n"
    auth = bearer(database, "acme")
    before = utcnow()

    result = api_import(api, auth, body)

    assert (result["rows"], result["added"], result["invalid"]) == (2, 2, 0)
    for entry in entries(api, auth).values():
        assert entry["source"] == "import"
        assert entry["created_at"] == entry["updated_at"] >= before.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_cli_import_keeps_times_and_source_only_for_entries_it_creates(database, api, tmp_path):
    auth = bearer(database, "acme")
    api.post(ENTRIES, json={"address": "+48500000001", "note": "kept"}, headers=auth).raise_for_status()
    existing = entries(api, auth)[("block", None, None, "48500000001")]
    body = "address,note,source,created_at,updated_at\n+48500000001,new note,api,2020-01-01T00:00:00Z,2020-01-02T00:00:00Z\n+48500000002,,api,2020-01-01,2020-01-02T00:00:00+02:00\n"

    assert summary(stoplist("import", write(tmp_path, body), "--account", "acme")) == {"rows": 2, "added": 1, "updated": 1, "unchanged": 0, "invalid": 0}

    listed = entries(api, auth)
    updated, created = listed[("block", None, None, "48500000001")], listed[("block", None, None, "48500000002")]
    assert updated["created_at"] == existing["created_at"] and updated["note"] == "new note"
    assert (created["source"], created["created_at"], created["updated_at"]) == ("api", "2020-01-01T00:00:00Z", "2020-01-01T22:00:00Z")


def test_without_those_columns_the_cli_import_stamps_the_present_and_source_cli(database, api, tmp_path):
    auth = bearer(database, "acme")
    started = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    old_export = "id,address,channel,sender,list,reason,expire_at,created_at\n7,48500000001,sms,,block,bounce,,2022-05-05T05:05:05Z\n"
    summary(stoplist("import", write(tmp_path, "address\n+48500000002\n"), "--account", "acme"))
    summary(stoplist("import", write(tmp_path, old_export, "old.csv"), "--account", "acme"))

    listed = entries(api, auth)
    fresh, old = listed[("block", None, None, "48500000002")], listed[("block", "sms", None, "48500000001")]
    assert fresh["source"] == "cli" and TIMESTAMP.match(fresh["created_at"]) and fresh["created_at"] == fresh["updated_at"]
    assert fresh["created_at"] >= started
    # An export older than updated_at: the entry is as it was created.
    assert (old["source"], old["created_at"], old["updated_at"], old["reason"]) == ("cli", "2022-05-05T05:05:05Z", "2022-05-05T05:05:05Z", "bounce")


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("api,yesterday,", "created_at 'yesterday' is neither a date (2026-12-01) nor an RFC 3339 date-time"),
        ("api,2999-01-01T00:00:00Z,", "created_at '2999-01-01T00:00:00Z' is in the future (more than 5 minutes ahead of this host's clock)."),
        ("api,2020-01-01,soon", "updated_at 'soon' is neither a date"),
        ("api,2020-01-01,2999-01-01", "updated_at '2999-01-01' is in the future"),
        ("api,{in_ten_minutes},", "created_at '{in_ten_minutes}' is in the future"),
        ("api,2020-01-02,2020-01-01", "updated_at '2020-01-01' is before created_at '2020-01-02'."),
        ("api,,2020-01-01", "updated_at '2020-01-01' is given without the created_at it follows."),
        ("web,,", "source 'web' is not one of api, import, cli."),
        ("api,0999-06-15T12:00:00Z,", "created_at '0999-06-15T12:00:00Z' is before the year 1000: entries hold times of the years 1000 to 9999."),
        ("api,0001-01-01,", "created_at '0001-01-01' is before the year 1000"),
    ],
)
def test_the_cli_import_rejects_a_row_whose_times_or_source_it_cannot_keep(database, api, tmp_path, cells, message):
    in_ten_minutes = (datetime.now(timezone.utc) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cells, message = cells.format(in_ten_minutes=in_ten_minutes), message.format(in_ten_minutes=in_ten_minutes)
    body = f"address,source,created_at,updated_at\n+48500000001,{cells}\n+48500000002,import,2020-01-01,\n"
    rejects = tmp_path / "rejects.csv"

    result = stoplist("import", write(tmp_path, body), "--account", "acme", "--rejects", rejects)

    assert summary(result) == {"rows": 2, "added": 1, "updated": 0, "unchanged": 0, "invalid": 1}
    [rejected] = list(csv.DictReader(io.StringIO(rejects.read_text())))
    assert rejected["line"] == "2" and rejected["message"].startswith(message), rejected
    assert set(entries(api, bearer(database, "acme"))) == {("block", None, None, "48500000002")}


def test_times_a_little_ahead_of_this_hosts_clock_are_kept_as_its_now_not_rejected(database, api, tmp_path):
    """A file written on a host whose clock runs 20 s fast: its recipients are blocked, at this host's time of the import."""
    ahead = (datetime.now(timezone.utc) + timedelta(seconds=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = f"address,source,created_at,updated_at\n+48500000001,api,{ahead},{ahead}\n+48500000002,api,2020-01-01,{ahead}\n"

    result = stoplist("import", write(tmp_path, body), "--account", "acme")
    done = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert summary(result) == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    listed = entries(api, bearer(database, "acme"))
    skewed, older = listed[("block", None, None, "48500000001")], listed[("block", None, None, "48500000002")]
    assert skewed["created_at"] == skewed["updated_at"] <= done < ahead
    assert older["created_at"] == "2020-01-01T00:00:00Z" and older["updated_at"] <= done


def test_times_ahead_are_compared_as_written_before_they_are_kept_as_now(database, api, tmp_path):
    """updated_at 3 minutes before created_at, both a little ahead: refused as written, not made equal by the clamp."""
    now = datetime.now(timezone.utc)
    created, updated = ((now + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ") for minutes in (4, 1))
    rejects = tmp_path / "rejects.csv"

    result = stoplist("import", write(tmp_path, f"address,source,created_at,updated_at\n+48500000001,api,{created},{updated}\n"), "--rejects", rejects)

    assert summary(result)["invalid"] == 1
    assert "is before created_at" in rejects.read_text()


def test_times_from_the_year_1000_are_kept_and_list_sort_filter_and_export_as_the_moments_they_are(database, api, tmp_path):
    """The earliest time an entry may hold: on SQLite, where times sort as text, it sorts first, a date filter finds it, and it exports as written."""
    body = "address,source,created_at,updated_at\n+48500000001,api,1000-01-01T00:00:00Z,\n+48500000002,api,2020-01-01,\n"

    assert summary(stoplist("import", write(tmp_path, body), "--account", "acme"))["added"] == 2

    auth = bearer(database, "acme")
    oldest = api.get(ENTRIES, params={"orderBy": "created_at"}, headers=auth).json()["collection"]
    assert [(entry["address"], entry["created_at"]) for entry in oldest] == [("48500000001", "1000-01-01T00:00:00Z"), ("48500000002", "2020-01-01T00:00:00Z")]
    found = api.get(ENTRIES, params={"created_before": "1000-01-01"}, headers=auth).json()["collection"]
    assert [entry["address"] for entry in found] == ["48500000001"]
    assert "1000-01-01T00:00:00Z" in stoplist("export", "-", "--account", "acme").stdout
