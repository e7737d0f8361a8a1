"""With STOPLIST_DEFAULT_REGION set, digits without a prefix are read as a national number first; where they are
also another, valid, international number (the digits Stoplist itself answers for it, SMSAPI-style, without '+'),
a check stops the message if either number is blocked: a suppression list errs toward blocking."""

import pytest
from fastapi.testclient import TestClient

from stoplist.app import create_app
from stoplist.config import Settings
from tests.api.helpers import URL, add

CHECK = "/blacklist/check"
ST_PIERRE = "+508412345"  # its digits, 508412345, are also a Polish number: +48 508 412 345


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, default_region="PL", worker_poll_interval=0.02)


def test_the_digits_stoplist_answers_for_a_number_find_it_again_in_a_check(client, auth):
    entry = add(client, auth, ST_PIERRE)
    assert entry["phone_number"] == "508412345"

    for spelling in ("508412345", "508 412 345"):
        single = client.get(CHECK, params={"phone_number": spelling}, headers=auth).json()
        assert (single["blacklisted"], single["phone_number"], single["entry"]["id"]) == (True, "508412345", entry["id"]), spelling
        by_address = client.get(CHECK, params={"address": spelling}, headers=auth).json()
        assert by_address["blacklisted"] is True
    results = client.post(CHECK, json={"phone_numbers": ["508412345", 508412345, "+48508412345"]}, headers=auth).json()["results"]
    assert [(result["address"], result["blacklisted"]) for result in results] == [
        ("508412345", True), ("508412345", True), ("48508412345", False),  # the Polish number, named so, is another
    ]


def test_the_national_reading_still_decides_when_it_is_the_one_listed(client, auth):
    polish = add(client, auth, "+48508412345")

    single = client.get(CHECK, params={"phone_number": "508412345"}, headers=auth).json()
    assert (single["blacklisted"], single["phone_number"], single["entry"]["id"]) == (True, "48508412345", polish["id"])
    result = client.post(CHECK, json={"phone_numbers": ["508412345"]}, headers=auth).json()["results"][0]
    assert (result["address"], result["blacklisted"]) == ("48508412345", True)
    # a '+' or 00 says which: no second reading
    assert client.get(CHECK, params={"phone_number": "00508412345"}, headers=auth).json()["blacklisted"] is False


def test_digits_with_one_reading_are_read_as_before(client, auth):
    add(client, auth, "+48500000000")
    assert client.get(CHECK, params={"phone_number": "500000000"}, headers=auth).json()["blacklisted"] is True
    neither = client.get(CHECK, params={"phone_number": "508412345"}, headers=auth).json()
    assert (neither["blacklisted"], neither["phone_number"]) == (False, "48508412345")  # unlisted either way: the national reading shown
    assert client.get(URL, headers=auth).json()["size"] == 1


def test_a_delete_by_digits_whose_other_number_is_listed_is_refused_and_deletes_nothing(client, auth):
    st_pierre, polish = add(client, auth, ST_PIERRE), add(client, auth, "+48508412345")

    for method, path, params, code, named in (
        ("DELETE", URL, {"phone_number": "508412345"}, "invalid_phone_number", "phone_number"),
        ("DELETE", "/blacklist/entries", {"address": "508412345"}, "invalid_address", "address"),
        ("DELETE", "/blacklist/entries", {"address": "508412345", "dry_run": "true"}, "invalid_address", "address"),
    ):
        response = client.request(method, path, params=params, headers=auth)
        assert response.status_code == 400 and response.json()["error"] == code, response.text
        message = response.json()["message"]
        assert "names two numbers with STOPLIST_DEFAULT_REGION=PL: 48508412345 (read as national) and 508412345" in message
        assert response.json()["errors"] == [{"path": named, "message": message, "error": code}]  # the parameter sent, named
    assert {entry["id"] for entry in client.get(URL, headers=auth).json()["collection"]} == {st_pierre["id"], polish["id"]}
    # said with its prefix, each goes alone
    assert client.delete(URL, params={"phone_number": "+508412345"}, headers=auth).status_code == 204
    assert client.delete(URL, params={"phone_number": "0048508412345"}, headers=auth).status_code == 204
    assert client.get(URL, headers=auth).json()["size"] == 0


def test_a_delete_by_such_digits_goes_on_when_their_other_number_is_not_listed(client, auth):
    # Most national numbers have a second, unlisted, reading (about 2% of Polish ones): deleting the national one is what is meant.
    add(client, auth, "+48508412345")
    assert client.delete(URL, params={"phone_number": "508412345"}, headers=auth).status_code == 204
    assert client.get(URL, headers=auth).json()["size"] == 0
    add(client, auth, "+48508412345")
    assert client.request("DELETE", "/blacklist/entries", params={"address": "508 412 345"}, headers=auth).json() == {"count": 1}


@pytest.mark.parametrize("spelling", [508412345.0, "508412345.0", 508412345])
def test_a_number_spelled_as_json_or_a_float_is_read_both_ways_too(client, auth, spelling):
    entry = add(client, auth, ST_PIERRE)
    result = client.post(CHECK, json={"phone_numbers": [spelling]}, headers=auth).json()["results"][0]
    assert (result["address"], result["blacklisted"], result["decision"]["entry_id"]) == ("508412345", True, entry["id"])
    single = client.get(CHECK, params={"phone_number": str(spelling)}, headers=auth).json()
    assert single["blacklisted"] is True


def put(client, auth, address: str, **fields) -> dict:
    """An entry added on the native route, on the list its fields name."""
    response = client.post("/blacklist/entries", json={"address": address, **fields}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_senders_digits_are_read_both_ways_too_so_its_list_applies_to_either_spelling(client, auth):
    """A list of the sender +508 41 23 45 (keyed 508412345): a check naming the sender 508412345, which the region
    reads as +48 508 412 345 first, is stopped by it, as a check of those digits as an address would be."""
    entry = put(client, auth, "+48500000031", sender="+508 41 23 45")

    for spelling in ("508412345", "508 41 23 45", "+508 41 23 45"):
        single = client.get(CHECK, params={"phone_number": "+48500000031", "sender": spelling}, headers=auth).json()
        assert (single["blacklisted"], single["decision"]["entry"]["id"]) == (True, entry["id"]), spelling
        [result] = client.post(CHECK, json={"phone_numbers": ["+48500000031"], "sender": spelling}, headers=auth).json()["results"]
        assert (result["blacklisted"], result["decision"]) == (True, {"list": "block", "entry_id": entry["id"]}), spelling
    # Another sender, in digits too, is another.
    assert client.get(CHECK, params={"phone_number": "+48500000031", "sender": "508412346"}, headers=auth).json()["blacklisted"] is False


def test_a_senders_list_made_before_the_region_was_set_still_applies(database_url, client, auth):
    """`500 000 000` as a sender without a region is text; with STOPLIST_DEFAULT_REGION=PL the same spelling reads as
    +48 500 000 000. Setting the region must not let that list's opt-outs through."""
    with TestClient(create_app(Settings(database_url=database_url))) as before:
        entry = put(before, auth, "+48500000020", sender="500 000 000")
        put(before, auth, "+48500000021", sender="500 000 000", list="allow")
        assert before.get(CHECK, params={"phone_number": "+48500000020", "sender": "500 000 000"}, headers=auth).json()["blacklisted"] is True
    everyone = add(client, auth, "+48500000021")  # blocked for every sender; allowed for that sender as read before the region

    # As the list was keyed then: text, its white space one space (without a region, 500000000 was another sender).
    for spelling in ("500 000 000", " 500\u00a0000  000 "):
        single = client.get(CHECK, params={"phone_number": "+48500000020", "sender": spelling}, headers=auth).json()
        assert (single["blacklisted"], single["decision"]["entry"]["id"]) == (True, entry["id"]), spelling
        results = client.post(CHECK, json={"phone_numbers": ["+48500000020", "+48500000021"], "sender": spelling}, headers=auth).json()["results"]
        # Another reading adds blocks only: its allow list lifts no block of every sender (a suppression list errs toward blocking).
        assert [(result["blacklisted"], result["decision"]["entry_id"]) for result in results] == [(True, entry["id"]), (True, everyone["id"])], spelling
        other = client.get(CHECK, params={"phone_number": "+48500000021", "sender": spelling}, headers=auth).json()
        assert (other["blacklisted"], other["decision"]["entry"]["id"]) == (True, everyone["id"]), spelling


def test_an_allow_list_of_another_reading_of_the_sender_lifts_no_block(client, auth):
    """A block of every sender, and an allow list of the sender +508 41 23 45: a check naming the sender 508412345 (read as
    +48 508 412 345 first) is stopped, as it is naming +48 508 412 345: one sender, one answer."""
    everyone = add(client, auth, "+48500000050")
    put(client, auth, "+48500000050", sender="+508 41 23 45", list="allow")

    for spelling in ("508412345", "+48 508 412 345"):
        single = client.get(CHECK, params={"phone_number": "+48500000050", "sender": spelling}, headers=auth).json()
        assert (single["blacklisted"], single["decision"]["entry"]["id"]) == (True, everyone["id"]), spelling
        [result] = client.post(CHECK, json={"phone_numbers": ["+48500000050"], "sender": spelling}, headers=auth).json()["results"]
        assert (result["blacklisted"], result["decision"]["entry_id"]) == (True, everyone["id"]), spelling
    # The sender as it reads, +508 41 23 45: its allow list decides, as always.
    assert client.get(CHECK, params={"phone_number": "+48500000050", "sender": "+508 41 23 45"}, headers=auth).json()["blacklisted"] is False
