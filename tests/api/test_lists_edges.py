"""Edges of the lists model found in review: SMSAPI's routes see phone numbers only, text no database
stores is refused, SMSAPI's `entry` is one its routes can read, and an import merges like two POSTs."""

import pytest

from stoplist.config import Settings
from tests.api.helpers import IMPORTS, URL, wait_for_import

ENTRIES = "/blacklist/entries"


@pytest.fixture
def settings(database_url):
    return Settings(database_url=database_url, worker_poll_interval=0.02)


def test_an_email_on_the_default_list_stays_off_smsapi_routes(client, auth):
    client.post(URL, json={"phone_number": "+48500000001"}, headers=auth).raise_for_status()
    mail = client.post(ENTRIES, json={"address": "jan500@example.com"}, headers=auth).json()
    assert (mail["list"], mail["channel"], mail["sender"]) == ("block", None, None)  # the default list

    page = client.get(URL, headers=auth).json()
    assert [entry["phone_number"] for entry in page["collection"]] == ["48500000001"] and page["size"] == 1
    assert client.get(URL, params={"q": "500"}, headers=auth).json()["size"] == 1
    assert client.get(f"{URL}/{mail['id']}", headers=auth).status_code == 404
    assert "example.com" not in client.get(URL, headers={**auth, "Accept": "text/csv"}).text
    assert client.delete(f"{URL}/{mail['id']}", headers=auth).status_code == 404
    # SMSAPI's delete-all empties SMSAPI's list: the e-mail address it never showed stays.
    assert client.delete(URL, headers=auth).status_code == 204
    assert client.get(URL, headers=auth).json()["size"] == 0
    assert client.get(f"{ENTRIES}/{mail['id']}", headers=auth).status_code == 200


@pytest.mark.parametrize("note", [r"a\u0000b", r"\ud800"], ids=["nul", "lone-surrogate"])
def test_a_note_no_database_can_store_is_refused_alike_on_both(client, auth, note):
    body = ('{"address": "+48500000002", "note": "%s"}' % note).encode()

    answer = client.post(ENTRIES, content=body, headers={**auth, "Content-Type": "application/json"})

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_scope"
    assert client.get(ENTRIES, headers=auth).json()["size"] == 0


@pytest.mark.parametrize("accept", [None, "text/csv"])
def test_a_search_text_with_nul_is_refused(client, auth, accept):
    headers = {**auth, **({"Accept": accept} if accept else {})}

    answer = client.get(ENTRIES, params={"q": "jan\u0000"}, headers=headers)

    assert answer.status_code == 400 and answer.json()["error"] == "invalid_query", answer.text


def test_smsapis_entry_field_names_only_an_entry_its_routes_can_read(client, auth):
    client.post(ENTRIES, json={"address": "+48500000003", "channel": "sms"}, headers=auth).raise_for_status()

    scoped = client.get("/blacklist/check", params={"phone_number": "48500000003", "channel": "sms"}, headers=auth).json()

    assert scoped["blacklisted"] is True and scoped["decision"]["entry"]["channel"] == "sms"
    assert scoped["entry"] is None  # not on the default list: SMSAPI's GET /{id} would not find it
    default = client.post(URL, json={"phone_number": "+48500000003"}, headers=auth).json()
    unscoped = client.get("/blacklist/check", params={"phone_number": "48500000003"}, headers=auth).json()
    assert unscoped["entry"] == default
    assert client.get(f"{URL}/{default['id']}", headers=auth).json() == default


def test_a_row_with_an_empty_reason_keeps_what_an_earlier_row_of_the_same_file_set(client, auth):
    rows = "address,channel,sender,list,reason,note\n+48500000010,sms,ACME,block,UNSUBSCRIBED,from STOP\n+48500000010,sms,ACME,block,,\n"
    job = client.post(IMPORTS, content=rows.encode(), headers={**auth, "Content-Type": "text/csv"}).json()

    result = wait_for_import(client, auth, job["id"])

    assert (result["rows"], result["added"], result["updated"], result["unchanged"], result["invalid"]) == (2, 1, 0, 1, 0)
    [entry] = client.get(ENTRIES, headers=auth).json()["collection"]
    assert (entry["reason"], entry["note"]) == ("unsubscribed", "from STOP")
