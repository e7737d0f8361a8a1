"""Sorting the listings (issue 25): orderBy's new keys on both listings; on the native one, VoodooSMS's `sort` and
`skip`, and a cursor that continues any order exactly and only the listing it came from."""

import base64
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from stoplist.db import transaction
from stoplist.lists.models import Entry
from tests.api.helpers import URL, add, assert_error

ENTRIES = "/blacklist/entries"
ORDERS = ["created_at", "-created_at", "updated_at", "-updated_at", "id", "-id", "address", "-address", "phone_number", "-phone_number",
          "expire_at", "-expire_at"]


def put(client, auth, **body) -> dict:
    response = client.post(ENTRIES, json=body, headers=auth)
    assert response.status_code in (200, 201), response.text
    return response.json()


def page(client, auth, path: str = ENTRIES, **params) -> dict:
    response = client.get(path, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: dict) -> list[str]:
    return [entry["id"] for entry in body["collection"]]


@pytest.fixture
def mixed(client, app, auth) -> list[dict]:
    """Entries on several lists, some sharing an address, a second, an updated_at or an expiry."""
    made = [
        put(client, auth, address="+48500000003"),
        # One address on two lists: the default list was made first, so its entry comes first by list and by id alike.
        put(client, auth, address="+48500000001"),
        put(client, auth, address="+48500000001", channel="sms", expire_at="2031-01-01"),
        put(client, auth, address="Ann@example.com", channel="email", expire_at="2030-06-01"),
        put(client, auth, address="+48500000002", sender="ACME", expire_at="2030-06-01"),
        put(client, auth, address="bob@example.com"),
    ]
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with transaction(app.state.session_factory) as session:
        for index, entry in enumerate(made):
            # Two pairs share a created_at; the updated order differs from the created one.
            created = base + timedelta(hours=index // 2)
            session.execute(update(Entry).where(Entry.id == int(entry["id"])).values(created_at=created, updated_at=base + timedelta(hours=10 - index * 3 % 7)))
    return [page(client, auth, address=entry["address"], channel=entry["channel"] or "", sender=entry["sender"] or "")["collection"][0] for entry in made]


def expected(entries: list[dict], order: str) -> list[str]:
    """The order as the README defines it, in Python: ties broken by id (an address's by its list); never-expiring entries last."""
    key = order.lstrip("-")
    descending = order.startswith("-")

    def sort_key(entry: dict):
        if key in ("address", "phone_number"):
            # The key an address is matched on: e-mail addresses folded; two entries of one address differ by list (here, by id).
            return (entry["address"].casefold(), int(entry["id"]))
        if key == "id":
            return (int(entry["id"]),)
        if key == "expire_at":
            return (entry["expire_at"] is None, entry["expire_at"] or "", int(entry["id"]))
        return (entry[key], int(entry["id"]))

    return [entry["id"] for entry in sorted(entries, key=sort_key, reverse=descending)]


@pytest.mark.parametrize("order", ORDERS)
def test_every_order_sorts_the_native_listing_and_a_cursor_walks_it_exactly_once(client, auth, mixed, order):
    assert ids(page(client, auth, orderBy=order)) == expected(mixed, order)

    walked, cursor = [], None
    for _ in range(10):
        body = page(client, auth, orderBy=order, limit=2, **({} if cursor is None else {"cursor": cursor}))
        walked += ids(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert walked == expected(mixed, order)


@pytest.mark.parametrize("order", ["id", "-id", "updated_at", "-updated_at", "address", "-address"])
def test_smsapis_listing_takes_the_new_orders_too(client, auth, order):
    for number in ("+48500000003", "+48500000001", "+48500000002"):
        add(client, auth, number)
    listed = page(client, auth, URL, orderBy=order)["collection"]
    field = {"address": "phone_number", "updated_at": "id"}.get(order.lstrip("-"), "id")

    values = [int(entry["id"]) if field == "id" else entry[field] for entry in listed]
    assert values == sorted(values, reverse=order.startswith("-"))


def test_a_cursor_continues_while_entries_are_added_in_any_order(client, auth):
    added = [put(client, auth, address=f"+4850{index:07d}")["id"] for index in range(0, 40, 2)]
    walked, late, cursor = [], [], None
    for round_ in range(20):
        body = page(client, auth, orderBy="address", limit=7, **({} if cursor is None else {"cursor": cursor}))
        walked += ids(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
        # One before the walk's position (never seen), one after it (seen when the walk gets there).
        late.append(put(client, auth, address=f"+4850{round_ * 2 + 1:07d}")["id"])

    assert len(walked) == len(set(walked))
    assert set(added) <= set(walked)
    numbers = [entry["address"] for entry in page(client, auth, orderBy="address", limit=1000)["collection"] if entry["id"] in walked]
    assert numbers == sorted(numbers)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ({"orderBy": "address"}, {"orderBy": "-address"}),
        ({"orderBy": "address"}, {"orderBy": "id"}),
        ({}, {"sort": "asc"}),
        ({"channel": "sms"}, {}),
        ({}, {"channel": "sms"}),
        ({"created_after": "2026-01-01"}, {"created_after": "2026-01-02"}),
        ({"q": "500"}, {"q": "5000"}),
    ],
)
def test_a_cursor_given_with_another_order_or_other_filters_is_invalid_cursor(client, auth, first, then):
    for index in range(5):
        put(client, auth, address=f"+4850000000{index}", channel="sms")
    cursor = page(client, auth, limit=2, **first)["next_cursor"]

    body = assert_error(client.get(ENTRIES, params={"limit": 2, "cursor": cursor, **then}, headers=auth), 400, "invalid_cursor")
    assert body["errors"][0]["path"] == "cursor"


def test_a_cursor_of_another_account_is_invalid_cursor(client, auth, make_token):
    for index in range(3):
        put(client, auth, address=f"+4850000000{index}")
    other = {"Authorization": f"Bearer {make_token('other')}"}
    for index in range(3):
        put(client, other, address=f"+4850000001{index}")
    cursor = page(client, auth, limit=1)["next_cursor"]

    assert_error(client.get(ENTRIES, params={"limit": 1, "cursor": cursor}, headers=other), 400, "invalid_cursor")
    assert len(ids(page(client, auth, limit=5, cursor=cursor))) == 2


def test_a_cursor_of_the_first_release_still_continues_newest_first(client, auth):
    made = [put(client, auth, address=f"+4850000000{index}")["id"] for index in range(4)]
    newest_first = ids(page(client, auth))
    last = page(client, auth, limit=2)["collection"][-1]
    cursor = base64.urlsafe_b64encode(f"{last['created_at']}|{last['id']}".encode()).decode().rstrip("=")

    assert ids(page(client, auth, limit=10, cursor=cursor)) == newest_first[2:] and len(made) == 4


def test_a_relative_date_is_read_at_the_first_pages_moment_on_every_page(client, auth, monkeypatch):
    import stoplist.entries.router as router

    for index in range(4):
        put(client, auth, address=f"+4850000000{index}")
    first = page(client, auth, limit=2, created_after="1 hour ago")
    # Two hours on, `1 hour ago` would exclude every entry; the walk goes on as it began.
    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(hours=2)
    monkeypatch.setattr(router, "utcnow", lambda: later)

    second = page(client, auth, limit=2, created_after="1 hour ago", cursor=first["next_cursor"])
    assert len(ids(first) + ids(second)) == 4 and second["next_cursor"] is None
    assert page(client, auth, created_after="1 hour ago")["size"] == 0


@pytest.mark.parametrize(("params", "order"), [({"sort": "asc"}, "created_at"), ({"sort": "DESC"}, "-created_at"), ({"sort": " Asc "}, "created_at"),
                                                ({"sort": "desc", "orderBy": "address"}, "-address"), ({"sort": "asc", "orderBy": "expire_at"}, "expire_at")])
def test_sort_gives_the_direction_of_orderbys_key(client, auth, mixed, params, order):
    assert ids(page(client, auth, **params)) == expected(mixed, order)


def test_sort_beside_a_descending_orderby_is_conflicting_and_an_unknown_sort_is_refused(client, auth):
    assert_error(client.get(ENTRIES, params={"sort": "asc", "orderBy": "-address"}, headers=auth), 400, "conflicting_parameters")
    assert_error(client.get(ENTRIES, params={"sort": "desc", "orderBy": "-address"}, headers=auth), 400, "conflicting_parameters")
    body = assert_error(client.get(ENTRIES, params={"sort": "sideways"}, headers=auth), 400, "validation_error")
    assert body["errors"][0]["path"] == "sort"
    assert_error(client.get(ENTRIES, params={"orderBy": "size"}, headers=auth), 400, "validation_error")


def test_skip_is_offset_and_both_together_are_conflicting(client, auth, mixed):
    newest_first = ids(page(client, auth))

    assert ids(page(client, auth, skip=2, limit=2)) == newest_first[2:4]
    assert_error(client.get(ENTRIES, params={"skip": 1, "offset": 1}, headers=auth), 400, "conflicting_parameters")
    csv_page = client.get(ENTRIES, params={"skip": 5}, headers={**auth, "Accept": "text/csv"})
    assert csv_page.status_code == 200 and csv_page.text.count("\n") == 2  # the header and the sixth entry: skip pages the CSV


def test_the_address_order_sorts_addresses_as_keyed_not_as_shown(client, auth):
    """An e-mail address sorts by its key (folded to lower case), whatever spelling the listing shows."""
    for address in ("Jan.Kowalski@example.com", "ewa_nowak@example.com", "ADAM@example.com"):
        assert client.post("/blacklist/entries", json={"address": address}, headers=auth).status_code == 201

    shown = [entry["address"] for entry in client.get("/blacklist/entries", params={"orderBy": "address"}, headers=auth).json()["collection"]]

    assert shown == ["ADAM@example.com", "ewa_nowak@example.com", "Jan.Kowalski@example.com"]
