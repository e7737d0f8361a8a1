"""Imports of the native layout: a header naming `address` puts each row on the list of its channel, sender and kind."""

import csv
import io
from pathlib import Path

import pytest

from stoplist.config import Settings
from stoplist.imports.csv_format import NATIVE_HEADER
from tests.api.helpers import IMPORTS, wait_for_import

ENTRIES = "/blacklist/entries"


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02, default_region="DE")


def run_import(client, auth, body: str) -> dict:
    """Upload `body`, wait for its import, and check the counts add up."""
    response = client.post(IMPORTS, content=body.encode(), headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    result = wait_for_import(client, auth, response.json()["id"])
    assert result["status"] == "done", result
    assert result["added"] + result["updated"] + result["unchanged"] + result["invalid"] == result["rows"], result
    return result


def counts(result: dict) -> tuple[int, int, int, int, int]:
    """(rows, added, updated, unchanged, invalid)."""
    return result["rows"], result["added"], result["updated"], result["unchanged"], result["invalid"]


def put(client, auth, **fields) -> dict:
    response = client.post(ENTRIES, json=fields, headers=auth)
    assert response.status_code in (200, 201), response.text
    return response.json()


def entries(client, auth) -> dict[tuple, dict]:
    """Every live entry of the account, by (list, channel, sender, address)."""
    body = client.get(ENTRIES, params={"limit": 1000}, headers=auth).json()
    return {(entry["list"], entry["channel"], entry["sender"], entry["address"]): entry for entry in body["collection"]}


def export(client, auth) -> str:
    response = client.get(ENTRIES, headers={**auth, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    return response.text


# What the API's import stamps afresh on every entry it writes.
STAMPED = ("id", "source", "created_at", "updated_at")


def without_ids(text: str) -> list[tuple]:
    """The export's rows without what an import stamps afresh (STAMPED), in a stable order."""
    reader = csv.reader(io.StringIO(text, newline=""))
    assert tuple(next(reader)) == NATIVE_HEADER
    return sorted(tuple(cell for name, cell in zip(NATIVE_HEADER, row) if name not in STAMPED) for row in reader)


def test_a_native_export_reimports_unchanged(client, auth):
    put(client, auth, address="+48 500 000 001", reason="UNSUBSCRIBED")
    put(client, auth, address="+48500000001", channel="sms", sender="ACME", reason="stop_keyword", expire_at="2031-01-01T00:00:00Z")
    put(client, auth, address="+48500000002", channel="whatsapp", list="allow", reason="other")
    put(client, auth, address="+48500000003", sender="Shop, Inc.", reason="legal")  # a sender with the delimiter in it
    put(client, auth, address="Jan.Kowalski@Example.COM", channel="email", reason="bounce", expire_at="2030-06-01T12:00:00Z")
    put(client, auth, address="jan@bücher.de", reason="complaint")
    put(client, auth, address="ops@example.com", list="allow", sender="ACME")
    put(client, auth, address="030 123456", channel="voice")  # national, read with the region: +49 30 123456
    put(client, auth, address="+15062345678", channel="rcs", sender="ACME")  # digits a German reading would mangle
    before = export(client, auth)
    assert len(without_ids(before)) == 9
    assert ",4930123456,voice," in before
    for entry in entries(client, auth).values():
        assert client.delete(f"{ENTRIES}/{entry['id']}", headers=auth).status_code == 204
    assert client.get(ENTRIES, headers={**auth, "Accept": "text/csv"}).status_code == 204

    result = run_import(client, auth, before)

    assert counts(result) == (9, 9, 0, 0, 0), result["errors"]
    after = export(client, auth)
    assert without_ids(after) == without_ids(before)
    assert {entry["source"] for entry in entries(client, auth).values()} == {"import"}
    # Importing it once more changes nothing: every row counts as unchanged.
    assert counts(run_import(client, auth, after)) == (9, 0, 0, 9, 0)
    assert without_ids(export(client, auth)) == without_ids(before)


def test_re_importing_an_unchanged_export_writes_nothing_and_records_nothing(client, auth):
    """The entries keep their source and updated_at, and the trail gains only the job's summary."""
    put(client, auth, address="+48500000001", reason="unsubscribed", note="by SMS")
    put(client, auth, address="+48500000002", channel="sms", sender="ACME", expire_at="2031-01-01T00:00:00Z")
    put(client, auth, address="ops@example.com", list="allow")
    listed = entries(client, auth)
    events_before = client.get("/blacklist/changes", headers=auth).json()["events"]

    result = run_import(client, auth, export(client, auth))

    assert counts(result) == (3, 0, 0, 3, 0)
    assert entries(client, auth) == listed  # source "api" and updated_at as they were
    new_events = client.get("/blacklist/changes", params={"after": events_before[-1]["seq"]}, headers=auth).json()["events"]
    assert [(event["op"], event["after"]) for event in new_events] == [("import", {"rows": 3, "added": 0, "updated": 0, "unchanged": 3, "invalid": 0})]


def test_a_row_that_changes_one_field_is_updated_and_the_others_unchanged(client, auth):
    put(client, auth, address="+48500000001", reason="unsubscribed")
    put(client, auth, address="+48500000002", reason="unsubscribed")
    body = "address,reason,note\n+48500000001,unsubscribed,\n+48500000002,unsubscribed,a note now\n+48500000003,,\n"

    assert counts(run_import(client, auth, body)) == (3, 1, 1, 1, 0)
    sources = {key[3]: entry["source"] for key, entry in entries(client, auth).items()}
    assert sources == {"48500000001": "api", "48500000002": "import", "48500000003": "import"}


NOTES = ["a, comma", 'said "stop"', "two\nlines", "crlf\r\nend", "lone\rcr", "=1+2", "'quoted", "\tindented", "  spaced  ", "-", None]


def test_a_native_export_carries_every_note_and_reimports_it_exactly(client, auth):
    for index, note in enumerate(NOTES):
        put(client, auth, address=f"+4850000{index:04d}", sender="ACME" if index % 2 else None, note=note, reason="complaint")
    before = export(client, auth)
    notes = {entry["address"]: entry["note"] for entry in entries(client, auth).values()}
    assert sorted(notes.values(), key=str) == sorted(NOTES, key=str)
    for entry in entries(client, auth).values():
        assert client.delete(f"{ENTRIES}/{entry['id']}", headers=auth).status_code == 204

    assert counts(run_import(client, auth, before)) == (len(NOTES), len(NOTES), 0, 0, 0)

    assert {entry["address"]: entry["note"] for entry in entries(client, auth).values()} == notes
    assert without_ids(export(client, auth)) == without_ids(before)


FORMULA_SENDERS = ['=HYPERLINK("http://x","y")', "+ACME", "-1+2", "@SUM(1)", "'quoted", "''twice"]  # (senders are trimmed: no tab)
FORMULA_ADDRESSES = ["=cmd@example.com", "+tag@example.com", "-dash@example.com", "'o@example.com"]


def test_a_native_export_guards_senders_and_addresses_against_spreadsheets_and_reimports_them_exactly(client, auth):
    for index, sender in enumerate(FORMULA_SENDERS):
        put(client, auth, address=f"+4850000000{index}", sender=sender)
    for address in FORMULA_ADDRESSES:
        put(client, auth, address=address)
    listed = set(entries(client, auth))
    text = export(client, auth)
    rows = list(csv.DictReader(io.StringIO(text)))

    # What a spreadsheet shows: no cell it would run as a formula; a guarded cell starts with one quote.
    cells = [row[name] for row in rows for name in ("address", "sender")]
    assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert sorted(row["sender"] for row in rows if row["sender"]) == sorted("'" + sender for sender in FORMULA_SENDERS)
    assert sorted(row["address"] for row in rows if "@" in row["address"]) == sorted("'" + address for address in FORMULA_ADDRESSES)
    for entry in entries(client, auth).values():
        assert client.delete(f"{ENTRIES}/{entry['id']}", headers=auth).status_code == 204

    assert counts(run_import(client, auth, text)) == (10, 10, 0, 0, 0)

    assert set(entries(client, auth)) == listed  # every sender and address exactly as it was put on
    assert without_ids(export(client, auth)) == without_ids(text)


def test_a_native_import_takes_one_leading_quote_off_address_sender_and_note_as_a_spreadsheet_shows_them(client, auth):
    body = "address,sender,note\n'+48500000001,'=ACME,'=1+2\n'anna@example.com,''Shop,''quoted\n"

    assert counts(run_import(client, auth, body)) == (2, 2, 0, 0, 0)

    listed = entries(client, auth)
    assert set(listed) == {("block", None, "=ACME", "48500000001"), ("block", None, "'Shop", "anna@example.com")}
    assert listed[("block", None, "=ACME", "48500000001")]["note"] == "=1+2"
    assert listed[("block", None, "'Shop", "anna@example.com")]["note"] == "'quoted"


def test_columns_are_found_by_name_in_any_order_and_case(client, auth):
    body = "Reason,SENDER,Address,Expire_At,LIST,Channel,notes\nComplaint,ACME,+48500000001,2031-01-01,allow,rcs,ignored\n"

    assert counts(run_import(client, auth, body)) == (1, 1, 0, 0, 0)

    entry = entries(client, auth)[("allow", "rcs", "ACME", "48500000001")]
    assert (entry["reason"], entry["expire_at"], entry["address_kind"]) == ("complaint", "2031-01-01T00:00:00Z", "phone")


def test_empty_cells_mean_every_channel_every_sender_and_the_block_list(client, auth):
    body = "address,channel,sender,list,reason,expire_at\n+48500000001,,,,,\nanna@example.com\n"

    assert counts(run_import(client, auth, body)) == (2, 2, 0, 0, 0)

    listed = entries(client, auth)
    assert set(listed) == {("block", None, None, "48500000001"), ("block", None, None, "anna@example.com")}
    assert {entry["reason"] for entry in listed.values()} == {"manual"}
    assert {entry["expire_at"] for entry in listed.values()} == {None}


def test_an_empty_reason_or_note_keeps_the_entrys(client, auth):
    put(client, auth, address="+48500000001", channel="sms", reason="gdpr_erasure", note="asked by phone")

    result = run_import(client, auth, "address,channel,reason,note,expire_at\n48500000001,sms,,,2031-01-01\n")

    assert counts(result) == (1, 0, 1, 0, 0)
    entry = entries(client, auth)[("block", "sms", None, "48500000001")]
    assert (entry["reason"], entry["note"], entry["expire_at"]) == ("gdpr_erasure", "asked by phone", "2031-01-01T00:00:00Z")


def test_a_reason_and_note_in_the_file_replace_the_entrys(client, auth):
    put(client, auth, address="+48500000001", reason="gdpr_erasure", note="asked by phone")

    run_import(client, auth, "address,reason,note\n48500000001,Legal,court order 12\n")

    entry = entries(client, auth)[("block", None, None, "48500000001")]
    assert (entry["reason"], entry["note"]) == ("legal", "court order 12")


def test_one_address_goes_on_each_list_its_rows_name(client, auth):
    body = "address,channel,sender,list\n+48500000001,,,\n+48500000001,sms,,\n+48500000001,sms,ACME,\n+48500000001,sms,ACME,allow\n"

    assert counts(run_import(client, auth, body)) == (4, 4, 0, 0, 0)

    assert set(entries(client, auth)) == {
        ("block", None, None, "48500000001"), ("block", "sms", None, "48500000001"),
        ("block", "sms", "ACME", "48500000001"), ("allow", "sms", "ACME", "48500000001"),
    }


def test_the_last_row_of_a_list_and_address_wins_and_counts_as_updated(client, auth):
    body = "address,channel,reason,expire_at\n+48500000001,sms,bounce,2031-01-01\n+48 500 000 001,SMS,complaint,2032-01-01\n"

    assert counts(run_import(client, auth, body)) == (2, 1, 1, 0, 0)

    entry = entries(client, auth)[("block", "sms", None, "48500000001")]
    assert (entry["reason"], entry["expire_at"]) == ("complaint", "2032-01-01T00:00:00Z")


def test_all_digit_addresses_are_e164_and_others_follow_the_default_region(client, auth):
    # With the default region DE, `4930123456` alone would be a German national number; a native file holds E.164 digits.
    body = "address\n4930123456\n15062345678\n030 123457\n"

    assert counts(run_import(client, auth, body)) == (3, 3, 0, 0, 0)

    assert {key[3] for key in entries(client, auth)} == {"4930123456", "15062345678", "4930123457"}


def test_bad_rows_are_rejected_alone_with_their_reason(client, auth):
    body = (
        "address,channel,sender,list,reason,expire_at\n"
        "+48500000001,sms,ACME,block,manual,\n"  # line 2: good
        "not an address,,,,,\n"  # 3
        "jan@example.com,sms,,,,\n"  # 4: e-mail on a phone channel
        "+48500000002,email,,,,\n"  # 5: phone number on the e-mail channel
        "+48500000003,fax,,,,\n"  # 6
        "+48500000004,,,grey,,\n"  # 7
        "+48500000005,,,,angry,\n"  # 8
        "+48500000006,,,,,yesterday\n"  # 9
        ",sms,,,,\n"  # 10
        "+48500000007,,,,,\n"  # 11: good
    )

    result = run_import(client, auth, body)

    assert counts(result) == (10, 2, 0, 0, 8)
    errors = {error["line"]: error["message"] for error in result["errors"]}
    assert set(errors) == set(range(3, 11))
    assert "is not a valid address" in errors[3]
    assert "e-mail address goes only on lists of channel email or of every channel" in errors[4]
    assert "phone number cannot go on a list of channel email" in errors[5]
    assert "channel 'fax' is not one of" in errors[6]
    assert "list 'grey' is not one of" in errors[7]
    assert "reason 'angry' is not one of" in errors[8]
    assert "yesterday" in errors[9]
    assert errors[10] == "the address cell is empty"
    assert {error["value"] for error in result["errors"] if error["line"] == 6} == {"+48500000003,fax,,,,"}
    assert set(entries(client, auth)) == {("block", "sms", "ACME", "48500000001"), ("block", None, None, "48500000007")}
    # A rejected row creates no list of its own.
    assert client.get(ENTRIES, params={"channel": "email"}, headers=auth).json()["size"] == 0


def test_a_native_import_spanning_several_batches_counts_every_row(client, auth, monkeypatch):
    from stoplist.imports import service as import_service

    monkeypatch.setattr(import_service, "WRITE_ROWS", 7)
    monkeypatch.setattr(import_service, "BATCH_ROWS", 14)
    rows = [f"+4850000{i:04d},{('sms', 'whatsapp', '')[i % 3]},S{i % 2}" for i in range(50)]
    body = "address,channel,sender\n" + "\n".join(rows + rows[:5] + ["bad,,"]) + "\n"

    assert counts(run_import(client, auth, body)) == (56, 50, 0, 5, 1)
    assert client.get(ENTRIES, headers=auth).json()["size"] == 50


def test_a_header_with_a_phone_number_column_keeps_todays_layout(client, auth):
    """`address` only switches layouts instead of a number column: a file naming both is read as today."""
    assert counts(run_import(client, auth, "address,phone_number,channel\nWarsaw,+48500000001,sms\n")) == (1, 1, 0, 0, 0)

    assert set(entries(client, auth)) == {("block", None, None, "48500000001")}


def test_the_readmes_native_example_imports_as_documented(client, auth):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("**The native layout**", 1)[1].split("```csv\n", 1)[1].split("```", 1)[0]

    assert counts(run_import(client, auth, example)) == (3, 3, 0, 0, 0)

    listed = entries(client, auth)
    assert set(listed) == {("block", "sms", "ACME", "48500000001"), ("block", "email", None, "jan@example.com"), ("allow", None, None, "48500000002")}
    assert listed[("block", "email", None, "jan@example.com")]["reason"] == "bounce"


@pytest.mark.parametrize("note", ['says "stop", twice', "back\\slash {braces} [1,2]", "naïve 🛑 ünïcode", "null", "tab\there"])
def test_a_note_and_a_sender_reach_the_entry_exactly_as_the_file_holds_them(client, auth, note):
    # Written in bulk (on PostgreSQL as one JSON text): no character of theirs may change on the way.
    sender = "Shop's [\"best\"]"
    rows = io.StringIO()
    csv.writer(rows, lineterminator="\n").writerows([("address", "sender", "note", "expire_at"), ("48500000001", sender, note, "2031-01-01"), ("48500000002", sender, note, "")])
    run_import(client, auth, rows.getvalue())

    listed = entries(client, auth)
    first, second = listed[("block", None, sender, "48500000001")], listed[("block", None, sender, "48500000002")]
    assert (first["note"], first["expire_at"]) == (note, "2031-01-01T00:00:00Z")
    assert (second["note"], second["expire_at"]) == (note, None)


ROW_LIKE_NOTES = [
    "agent pasted:\n0,48500000060,,,allow,other,,api,,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\nend",
    "customer wrote:\n,48500000077\nthanks",
    "forwarded from\njan@example.com",
    "+48500000078\n+48500000079",
]


def test_a_note_whose_lines_read_like_rows_comes_back_as_a_note_and_adds_no_entry(client, auth):
    """A native export quotes a note with line breaks; its import keeps the note whole, whatever its
    lines look like: no opt-out is lost, and no entry appears that nobody listed."""
    put(client, auth, address="+48500000060", reason="complaint")
    for index, note in enumerate(ROW_LIKE_NOTES):
        put(client, auth, address=f"+4850000007{index}", note=note)
    before = export(client, auth)
    listed = {key: (entry["note"], entry["reason"]) for key, entry in entries(client, auth).items()}
    for entry in entries(client, auth).values():
        assert client.delete(f"{ENTRIES}/{entry['id']}", headers=auth).status_code == 204

    assert counts(run_import(client, auth, before)) == (5, 5, 0, 0, 0)

    assert {key: (entry["note"], entry["reason"]) for key, entry in entries(client, auth).items()} == listed
    assert without_ids(export(client, auth)) == without_ids(before)


def test_a_stray_quote_in_an_exports_note_rejects_its_row_and_the_rows_after_it_still_import(client, auth):
    header = ",".join(NATIVE_HEADER)
    body = (
        f"{header}\n"
        '1,+48500000001,,,block,manual,"a stray quote,api,,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n'
        "2,+48500000002,,,block,manual,,api,,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n"
        "3,+48500000003,,,block,manual,,api,,2026-01-01T00:00:00Z,2026-01-01T00:00:00Z\n"
    )

    result = run_import(client, auth, body)

    assert counts(result) == (3, 2, 0, 0, 1)
    assert [error["line"] for error in result["errors"]] == [2]
    assert sorted(key[3] for key in entries(client, auth)) == ["48500000002", "48500000003"]
