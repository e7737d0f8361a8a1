"""One rule for "every" on every way in, and senders and e-mail local parts matched without regard to case:
`every`, `all` and `*` are refused as a channel or sender; `ACME`, `acme` and ` Acme ` are one sender, a
phone number in any spelling too; `Jane.Doe@` and `jane.doe@` one address, shown as first given."""

import csv
import io
import json

import pytest

from stoplist.config import Settings
from tests.api.helpers import IMPORTS, assert_error, wait_for_import

ENTRIES = "/blacklist/entries"
CHECK = "/blacklist/check"
NUMBER = "+48500000001"
WORDS = ["every", "ALL", "*", " Every ", "all ", " * "]


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


def put(client, auth, status: int = 201, **fields) -> dict:
    response = client.post(ENTRIES, json={"address": NUMBER, **fields}, headers=auth)
    assert response.status_code == status, response.text
    return response.json()


def check(client, auth, **params) -> dict:
    response = client.get(CHECK, params={"address": NUMBER, **params}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def bulk(client, auth, addresses: list, **fields) -> list[dict]:
    response = client.post(CHECK, json={"addresses": addresses, **fields}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def listing(client, auth, **params) -> list[dict]:
    response = client.get(ENTRIES, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["collection"]


def run_import(client, auth, body: str) -> dict:
    response = client.post(IMPORTS, content=body.encode(), headers={**auth, "Content-Type": "text/csv"})
    assert response.status_code == 202, response.text
    result = wait_for_import(client, auth, response.json()["id"])
    assert result["status"] == "done", result
    return result


# Scope words


@pytest.mark.parametrize("field", ["channel", "sender"])
@pytest.mark.parametrize("word", WORDS)
def test_a_scope_word_is_refused_when_adding_and_nothing_is_written(client, auth, field, word):
    body = assert_error(client.post(ENTRIES, json={"address": NUMBER, field: word}, headers=auth), 400, "invalid_scope")

    assert body["errors"][0]["path"] == field
    assert body["message"] == f"{field} {word.strip()!r} is not a {field}: leave {field} out, or send null, for every {field}."
    assert listing(client, auth) == []


@pytest.mark.parametrize("field", ["channel", "sender"])
def test_a_scope_word_is_refused_by_every_check_and_by_the_listing(client, auth, field):
    for word in WORDS:
        one = assert_error(client.get(CHECK, params={"address": NUMBER, field: word}, headers=auth), 400, "invalid_scope")
        assert one["message"].endswith(f"leave {field} out for every {field}.")
        many = assert_error(client.post(CHECK, json={"addresses": [NUMBER], field: word}, headers=auth), 400, "invalid_scope")
        assert many["message"].endswith(f"leave {field} out, or send null, for every {field}.")
        found = assert_error(client.get(ENTRIES, params={field: word}, headers=auth), 400, "invalid_scope")
        assert found["message"].endswith(f"send {field} empty ({field}=) for every {field}.")


def test_every_is_said_by_leaving_the_field_out_or_empty(client, auth):
    every = put(client, auth, channel=None, sender=None)
    assert (every["channel"], every["sender"]) == (None, None)
    assert put(client, auth, 200, channel="", sender="  ")["id"] == every["id"]
    assert check(client, auth)["decision"]["entry"]["id"] == every["id"]
    assert check(client, auth, channel="", sender="")["decision"]["entry"]["id"] == every["id"]
    assert [entry["id"] for entry in listing(client, auth, channel="", sender="")] == [every["id"]]


def test_a_blank_channel_is_every_channel_as_a_blank_sender_is_every_sender(client, auth):
    """README: "an empty or blank value says the same" of channel and sender alike."""
    every = put(client, auth, channel=None, sender=None)
    assert put(client, auth, 200, channel=" \t", sender=" ")["id"] == every["id"]
    assert check(client, auth, channel=" ", sender="\t")["decision"]["entry"]["id"] == every["id"]
    assert [entry["id"] for entry in listing(client, auth, channel=" ", sender=" ")] == [every["id"]]


def test_a_scope_word_in_a_native_import_rejects_that_row_alone(client, auth):
    body = "address,channel,sender\n+48500000001,,every\n+48500000002,ALL,\n+48500000003,sms,*\n+48500000004,sms,ACME\n"

    result = run_import(client, auth, body)

    assert (result["rows"], result["added"], result["invalid"]) == (4, 1, 3)
    assert [(error["line"], error["message"]) for error in result["errors"]] == [
        (2, "sender 'every' is not a sender: leave the sender cell empty for every sender."),
        (3, "channel 'ALL' is not a channel: leave the channel cell empty for every channel."),
        (4, "sender '*' is not a sender: leave the sender cell empty for every sender."),
    ]
    assert [(entry["address"], entry["sender"]) for entry in listing(client, auth)] == [("48500000004", "ACME")]


# Senders


def test_a_sender_is_matched_without_regard_to_case_and_surrounding_space(client, auth):
    block = put(client, auth, channel="sms", sender="ACME")

    for spelling in ("acme", " Acme ", "ACME", "aCmE"):
        answer = check(client, auth, channel="sms", sender=spelling)
        assert answer["blacklisted"] is True and answer["decision"]["entry"] == block
        assert bulk(client, auth, [NUMBER], channel="sms", sender=spelling)[0]["decision"] == {"list": "block", "entry_id": block["id"]}
    assert check(client, auth, channel="sms", sender="ACME Ltd")["decision"] is None
    # One list, shown as first given: a later spelling updates the entry and leaves the list's.
    again = put(client, auth, 200, channel="sms", sender=" acme ", reason="complaint")
    assert (again["id"], again["sender"], again["reason"]) == (block["id"], "ACME", "complaint")
    assert [entry["id"] for entry in listing(client, auth, sender="Acme")] == [block["id"]]


def test_a_sender_that_is_a_phone_number_is_one_sender_in_any_spelling(client, auth):
    first = put(client, auth, sender="+48 500 000 000")
    second = put(client, auth, 200, sender="48500000000")
    third = put(client, auth, 200, sender="0048-500-000-000")

    assert first["id"] == second["id"] == third["id"] and third["sender"] == "+48 500 000 000"
    assert check(client, auth, sender="+48500000000")["decision"]["entry"]["id"] == first["id"]
    assert [entry["sender"] for entry in listing(client, auth, sender="48 500 000 000")] == ["+48 500 000 000"]


def test_a_sender_in_full_width_characters_is_the_same_sender(client, auth):
    # As East Asian keyboards type it: a block on ACME must stop a check naming ＡＣＭＥ, and a number in
    # full-width digits is that number.
    block = put(client, auth, channel="sms", sender="ACME")
    for spelling in ("ＡＣＭＥ", "ａｃｍｅ", "\u3000ＡＣＭＥ\u3000"):
        assert check(client, auth, channel="sms", sender=spelling)["decision"]["entry"]["id"] == block["id"], spelling
        assert bulk(client, auth, [NUMBER], channel="sms", sender=spelling)[0]["decision"] == {"list": "block", "entry_id": block["id"]}
        assert [entry["id"] for entry in listing(client, auth, sender=spelling)] == [block["id"]]
    numbered = put(client, auth, address="+48500000002", sender="+48 500 000 000")
    assert check(client, auth, address="+48500000002", sender="＋４８ ５００ ０００ ０００")["decision"]["entry"]["id"] == numbered["id"]
    # an edit naming the same sender in full width moves nothing
    same = client.patch(f"{ENTRIES}/{numbered['id']}", json={"sender": "＋４８５００００００００"}, headers=auth)
    assert same.status_code == 200 and same.json() == numbered
    # and the words for every sender are refused in full width too
    assert_error(client.post(ENTRIES, json={"address": NUMBER, "sender": "ＡＬＬ"}, headers=auth), 400, "invalid_scope")


@pytest.mark.parametrize(
    "spelling",
    ["+48\u00a0500\u00a0000\u00a0001", "+48 500\u2013000\u2013001", "\u200e+48500000001\u200f", "＋４８ ５００ ０００ ００１", "+٤٨٥٠٠٠٠٠٠٠١", "\ufeff+48500000001"],
)
def test_a_number_pasted_from_a_document_is_the_number_it_spells(client, auth, spelling):
    # A CRM that kept a number as a word processor wrote it (no-break spaces, en dashes, direction marks) must find
    # its entry: answered valid: false, blacklisted: false, a pipeline would send to it.
    entry = put(client, auth)
    assert check(client, auth, address=spelling)["decision"]["entry"]["id"] == entry["id"]
    assert bulk(client, auth, [spelling])[0]["decision"] == {"list": "block", "entry_id": entry["id"]}
    again = client.post(ENTRIES, json={"address": spelling}, headers=auth)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]
    smsapi = client.post("/blacklist/phone_numbers", json={"phone_number": spelling}, headers=auth)
    assert smsapi.status_code == 200 and smsapi.json()["phone_number"] == "48500000001"


def test_white_space_inside_a_sender_is_one_space_of_whatever_kind(client, auth):
    # A template that doubles a space or puts a no-break space between words must not miss the block.
    block = put(client, auth, channel="sms", sender="ACME Bank")
    for spelling in ("ACME  Bank", "ACME\u00a0Bank", "acme\u3000bank", " ACME \t Bank "):
        assert check(client, auth, channel="sms", sender=spelling)["decision"]["entry"]["id"] == block["id"], repr(spelling)
        assert bulk(client, auth, [NUMBER], channel="sms", sender=spelling)[0]["decision"] == {"list": "block", "entry_id": block["id"]}
    again = put(client, auth, 200, channel="sms", sender="ACME\u00a0\u00a0Bank", reason="complaint")
    assert (again["id"], again["sender"]) == (block["id"], "ACME Bank")


def test_a_native_import_takes_a_sender_in_any_case_as_one_list_shown_as_first_given(client, auth):
    body = "address,channel,sender\n+48500000001,sms,Acme\n+48500000001,sms,ACME\n+48500000002,sms,acme\n"

    result = run_import(client, auth, body)

    # The second row names the first one's list and address again, and says nothing new.
    assert (result["rows"], result["added"], result["updated"], result["unchanged"], result["invalid"]) == (3, 2, 0, 1, 0)
    assert sorted((entry["address"], entry["sender"]) for entry in listing(client, auth)) == [("48500000001", "Acme"), ("48500000002", "Acme")]


# E-mail addresses


def test_an_email_address_is_matched_without_regard_to_the_case_of_its_local_part(client, auth):
    entry = put(client, auth, address="Jane.Doe@Example.com", channel="email")
    assert entry["address"] == "Jane.Doe@example.com"

    for spelling in ("jane.doe@example.com", "JANE.DOE@EXAMPLE.COM", " Jane.Doe@example.com"):
        answer = check(client, auth, address=spelling, channel="email")
        assert (answer["address"], answer["blacklisted"]) == ("jane.doe@example.com", True)
        assert answer["decision"]["entry"] == entry
    results = bulk(client, auth, ["jane.doe@example.com", "JANE.doe@example.com", "john.doe@example.com"], channel="email")
    assert [(result["address"], result["blacklisted"]) for result in results] == [
        ("jane.doe@example.com", True), ("jane.doe@example.com", True), ("john.doe@example.com", False),
    ]
    assert results[0]["decision"] == {"list": "block", "entry_id": entry["id"]}


def test_an_email_address_typed_in_full_width_is_the_same_address(client, auth):
    entry = put(client, auth, address="josé@example.com", channel="email")
    # The at sign too, full-width (U+FF20) or small (U+FE6B), as an IME types it with the rest.
    spellings = ("ｊｏｓé@example.com", "ＪＯＳÉ@ＥＸＡＭＰＬＥ.com", "ｊｏｓé＠ｅｘａｍｐｌｅ．ｃｏｍ", "josé﹫example.com")
    for spelling in spellings:
        answer = check(client, auth, address=spelling, channel="email")
        assert (answer["address"], answer["decision"]["entry"]["id"]) == ("josé@example.com", entry["id"]), spelling
    assert [(result["address"], result["blacklisted"]) for result in bulk(client, auth, list(spellings), channel="email")] == [
        ("josé@example.com", True)
    ] * len(spellings)
    again = put(client, auth, 200, address="ｊｏｓé@example.com", channel="email", reason="complaint")
    assert (again["id"], again["address"]) == (entry["id"], "josé@example.com")
    again = put(client, auth, 200, address="JOSÉ＠example.com", channel="email", reason="bounce")
    assert (again["id"], again["address"], again["reason"]) == (entry["id"], "josé@example.com", "bounce")
    assert [found["id"] for found in listing(client, auth, q="ｊｏｓé")] == [entry["id"]]


def test_re_adding_an_address_in_another_case_updates_its_entry_and_keeps_the_first_spelling(client, auth):
    entry = put(client, auth, address="Jane.Doe@example.com")

    again = put(client, auth, 200, address="JANE.DOE@example.com", reason="bounce")

    assert (again["id"], again["address"], again["reason"], again["created_at"]) == (entry["id"], "Jane.Doe@example.com", "bounce", entry["created_at"])
    fetched = client.get(f"{ENTRIES}/{entry['id']}", headers=auth).json()
    assert fetched["address"] == "Jane.Doe@example.com"
    assert [found["id"] for found in listing(client, auth, address="jane.DOE@example.com")] == [entry["id"]]
    assert [found["address"] for found in listing(client, auth, q="JANE.d")] == ["Jane.Doe@example.com"]


def test_the_native_export_shows_the_spellings_first_given(client, auth):
    put(client, auth, address="Jane.Doe@example.com", sender="Shop")
    put(client, auth, 200, address="jane.doe@example.com", sender="SHOP")

    response = client.get(ENTRIES, headers={**auth, "Accept": "text/csv"})

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(row["address"], row["sender"]) for row in rows] == [("Jane.Doe@example.com", "Shop")]


def test_a_native_import_takes_an_address_in_any_case_as_one_entry_shown_as_first_given(client, auth):
    body = "address,reason\nJane.Doe@example.com,bounce\nJANE.DOE@example.com,complaint\n"

    result = run_import(client, auth, body)

    assert (result["rows"], result["added"], result["updated"]) == (2, 1, 1)
    [entry] = listing(client, auth)
    assert (entry["address"], entry["reason"]) == ("Jane.Doe@example.com", "complaint")


def test_events_name_the_address_and_the_sender_by_their_keys(client, auth):
    entry = put(client, auth, address="Jane.Doe@example.com", sender="ACME")

    response = client.get("/blacklist/history", params={"address": "JANE.DOE@example.com"}, headers=auth)

    [event] = json.loads(response.text)["events"]
    assert (event["op"], event["entry_id"], event["address"]) == ("add", entry["id"], "jane.doe@example.com")
    assert event["list"] == {"kind": "block", "channel": None, "sender": "acme"}
