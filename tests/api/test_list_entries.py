from datetime import datetime, timedelta, timezone

import pytest

from stoplist.lists.schemas import DEFAULT_LIMIT, MAX_LIMIT
from tests.api.helpers import URL, add, assert_error, set_expiry

NUMBERS = ["48500000001", "48500000002", "48600000003", "447400123456", "16502530000"]


@pytest.fixture
def listed(client, auth) -> list[dict]:
    return [add(client, auth, "+" + number) for number in NUMBERS]


def numbers(response) -> list[str]:
    return [entry["phone_number"] for entry in response.json()["collection"]]


def test_an_empty_list_has_size_zero(client, auth):
    response = client.get(URL, headers=auth)

    assert response.status_code == 200
    assert response.json() == {"size": 0, "collection": []}


def test_the_list_is_newest_first_by_default(client, auth, listed):
    response = client.get(URL, headers=auth)

    assert response.json()["size"] == len(NUMBERS)
    assert numbers(response) == list(reversed(NUMBERS))
    assert response.json()["collection"][0] == listed[-1]


def test_q_finds_every_entry_containing_the_digits(client, auth, listed):
    assert sorted(numbers(client.get(URL, params={"q": "500000"}, headers=auth))) == ["48500000001", "48500000002"]
    assert numbers(client.get(URL, params={"q": "7400"}, headers=auth)) == ["447400123456"]
    assert numbers(client.get(URL, params={"q": "+44 7400"}, headers=auth)) == ["447400123456"]
    assert client.get(URL, params={"q": "999999"}, headers=auth).json() == {"size": 0, "collection": []}


@pytest.mark.parametrize(
    "q",
    ["５００ ０００", "500\u00a0000", "500\u2013000", "\u0665\u0660\u0660\u0660\u0660\u0660", "\u200e500000", "＋48 500 000"],
)
def test_q_is_read_as_numbers_are_whatever_keyboard_or_document_it_came_from(client, auth, listed, q):
    """Full-width and Arabic-Indic digits, a no-break space, an en dash, a direction mark: numbers are added and checked
    in these spellings, so a search for one finds them (it answered 400)."""
    assert sorted(numbers(client.get(URL, params={"q": q}, headers=auth))) == ["48500000001", "48500000002"]
    native = client.get("/blacklist/entries", params={"q": q}, headers=auth)
    assert sorted(entry["address"] for entry in native.json()["collection"]) == ["48500000001", "48500000002"], native.text


def test_q_that_is_not_part_of_a_number_is_a_400(client, auth):
    body = assert_error(client.get(URL, params={"q": "abc"}, headers=auth), 400, "invalid_query")

    assert body["errors"][0]["path"] == "q"


def test_limit_and_offset_page_through_while_size_counts_all_matches(client, auth, listed):
    first = client.get(URL, params={"limit": 2, "orderBy": "phone_number"}, headers=auth).json()
    second = client.get(URL, params={"limit": 2, "offset": 2, "orderBy": "phone_number"}, headers=auth).json()
    past_end = client.get(URL, params={"limit": 2, "offset": 10}, headers=auth).json()

    assert first["size"] == second["size"] == past_end["size"] == len(NUMBERS)
    assert [e["phone_number"] for e in first["collection"] + second["collection"]] == sorted(NUMBERS)[:4]
    assert past_end["collection"] == []


def test_the_default_page_has_the_documented_size(client, app, auth):
    from stoplist.blacklist import service
    from stoplist.audit.trail import Origin
    from stoplist.db import transaction

    with transaction(app.state.session_factory) as session:
        for i in range(DEFAULT_LIMIT + 5):
            service.add_entry(session, account_id=1, phone_number=f"48500{i:06d}", expire_at=None, origin=Origin("api"))

    body = client.get(URL, headers=auth).json()

    assert body["size"] == DEFAULT_LIMIT + 5
    assert len(body["collection"]) == DEFAULT_LIMIT


@pytest.mark.parametrize("params", [{"limit": MAX_LIMIT + 1}, {"limit": 0}, {"offset": -1}, {"limit": "ten"}, {"orderBy": "size"}])
def test_out_of_range_paging_and_unknown_order_are_400_not_422(client, auth, params):
    body = assert_error(client.get(URL, params=params, headers=auth), 400, "validation_error")

    assert body["errors"][0]["path"] == next(iter(params))


def test_the_maximum_limit_is_accepted(client, auth, listed):
    assert client.get(URL, params={"limit": MAX_LIMIT}, headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("phone_number", sorted(NUMBERS)),
        ("-phone_number", sorted(NUMBERS, reverse=True)),
        ("created_at", NUMBERS),
        ("-created_at", list(reversed(NUMBERS))),
    ],
)
def test_order_by_sorts_by_the_named_field(client, auth, listed, order_by, expected):
    assert numbers(client.get(URL, params={"orderBy": order_by}, headers=auth)) == expected


def test_order_by_expire_at_puts_entries_that_never_expire_last(client, auth):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000002", expire_at="2031-01-01")
    add(client, auth, "+48500000003", expire_at="2030-01-01")

    assert numbers(client.get(URL, params={"orderBy": "expire_at"}, headers=auth)) == ["48500000003", "48500000002", "48500000001"]
    assert numbers(client.get(URL, params={"orderBy": "-expire_at"}, headers=auth)) == ["48500000001", "48500000002", "48500000003"]


def test_expired_entries_are_not_listed_counted_or_found(client, app, auth):
    kept = add(client, auth, "+48500000001", expire_at="2030-01-01")
    gone = add(client, auth, "+48500000002", expire_at="2030-01-01")
    set_expiry(app, gone["id"], datetime.now(timezone.utc) - timedelta(seconds=1))

    body = client.get(URL, headers=auth).json()

    assert body["size"] == 1
    assert [entry["id"] for entry in body["collection"]] == [kept["id"]]
    assert client.get(URL, params={"q": "48500000002"}, headers=auth).json()["size"] == 0
    assert_error(client.get(f"{URL}/{gone['id']}", headers=auth), 404, "entry_not_found")
    assert_error(client.delete(f"{URL}/{gone['id']}", headers=auth), 404, "entry_not_found")


def test_an_entry_expiring_in_the_future_is_still_listed(client, app, auth):
    entry = add(client, auth, "+48500000001", expire_at="2030-01-01")
    set_expiry(app, entry["id"], datetime.now(timezone.utc) + timedelta(seconds=30))

    assert client.get(URL, headers=auth).json()["size"] == 1
    assert client.get(f"{URL}/{entry['id']}", headers=auth).status_code == 200
