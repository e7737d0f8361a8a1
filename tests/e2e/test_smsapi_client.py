"""SMSAPI's official Python client (`smsapi-client`), unchanged, against a real Stoplist server.

Every test drives `Client(base_url, access_token=...).blacklist` the way users do. The client
parses each returned timestamp with its own ISO 8601 reader, which fails on fractional seconds,
so every successful call that returns entries also checks that their timestamps are readable.
"""

import json
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from smsapi.blacklist.api import Blacklist
from smsapi.blacklist.models import BlacklistPhoneNumber
from smsapi.client import Client
from smsapi.exception import EndpointException

from tests.e2e.conftest import LiveServer

pytestmark = pytest.mark.e2e

UTC = timezone.utc
RFC3339_UTC_SECONDS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")

# Valid numbers, as E.164 digits without the '+'.
PL_500 = "48500000000"
PL_501 = "48500000001"
PL_502 = "48500000002"
PL_600 = "48600111222"
PL_790 = "48790123456"
UK = "447911123456"


@pytest.fixture
def live_server(isolated_server: LiveServer) -> LiveServer:
    """Every test here shares one server, each with accounts of its own."""
    return isolated_server


def blacklist_for(live_server: LiveServer, account: str = "default") -> Blacklist:
    client = Client(live_server.base_url + "/", access_token=live_server.create_token(account))
    return client.blacklist


@pytest.fixture
def blacklist(live_server: LiveServer) -> Blacklist:
    return blacklist_for(live_server)


def listed(bl: Blacklist, **params) -> tuple[int, list[BlacklistPhoneNumber]]:
    page = bl.list_phone_numbers(**params)
    return page.size, list(page.collection)


def numbers(entries: list[BlacklistPhoneNumber]) -> list[str]:
    return [entry.phone_number for entry in entries]


def is_utc(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def error_of(excinfo: pytest.ExceptionInfo[EndpointException]) -> dict:
    """The JSON error body: for a non-2xx answer the client puts the raw text in `.message`."""
    return json.loads(excinfo.value.message)


# --- adding -------------------------------------------------------------------------------------


def test_adding_a_number_without_expiry_returns_an_entry_in_e164_digits_that_never_expires(blacklist: Blacklist) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    entry = blacklist.add_phone_number(phone_number="+48 500 000 000")
    after = datetime.now(UTC)

    assert isinstance(entry, BlacklistPhoneNumber)
    assert isinstance(entry.id, str) and entry.id
    assert entry.phone_number == PL_500
    assert entry.expire_at is None
    assert isinstance(entry.created_at, datetime) and is_utc(entry.created_at)
    assert before - timedelta(seconds=1) <= entry.created_at <= after + timedelta(seconds=1)


def test_adding_a_number_with_a_date_expiry_expires_at_midnight_utc_that_day(blacklist: Blacklist) -> None:
    entry = blacklist.add_phone_number(phone_number="+48 500 000 000", expire_at="2030-12-01")

    assert entry.phone_number == PL_500
    assert is_utc(entry.expire_at)
    assert entry.expire_at == datetime(2030, 12, 1, 0, 0, 0, tzinfo=UTC)


def test_adding_a_number_with_an_rfc3339_utc_expiry_keeps_that_moment(blacklist: Blacklist) -> None:
    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01T10:00:00Z")

    assert is_utc(entry.expire_at)
    assert entry.expire_at == datetime(2030, 12, 1, 10, 0, 0, tzinfo=UTC)


def test_adding_a_number_with_an_rfc3339_offset_expiry_returns_the_same_moment_in_utc(blacklist: Blacklist) -> None:
    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01T12:30:00+02:00")

    assert is_utc(entry.expire_at)
    assert (entry.expire_at.hour, entry.expire_at.minute) == (10, 30)
    assert entry.expire_at == datetime(2030, 12, 1, 10, 30, 0, tzinfo=UTC)


def test_adding_a_number_with_a_python_datetime_expiry_uses_what_str_of_it_says(blacklist: Blacklist) -> None:
    moment = datetime(2030, 12, 1, 10, 0, 0, tzinfo=UTC)
    assert str(moment) == "2030-12-01 10:00:00+00:00"  # what the client sends

    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at=moment)

    assert is_utc(entry.expire_at)
    assert entry.expire_at == moment


def test_adding_a_number_with_a_python_datetime_in_another_zone_returns_it_in_utc(blacklist: Blacklist) -> None:
    warsaw_winter = timezone(timedelta(hours=1))
    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at=datetime(2030, 12, 1, 11, 0, 0, tzinfo=warsaw_winter))

    assert is_utc(entry.expire_at)
    assert entry.expire_at == datetime(2030, 12, 1, 10, 0, 0, tzinfo=UTC)


def test_adding_a_number_with_a_python_datetime_with_microseconds_returns_a_timestamp_the_client_can_read(
    blacklist: Blacklist,
) -> None:
    moment = datetime(2030, 12, 1, 10, 0, 0, 250000, tzinfo=UTC)
    assert str(moment) == "2030-12-01 10:00:00.250000+00:00"

    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at=moment)  # parsing would fail on fractions

    # whole seconds, the fraction rounded up: the entry blocks at least until the moment given
    assert entry.expire_at == datetime(2030, 12, 1, 10, 0, 1, tzinfo=UTC)
    [listed_entry] = listed(blacklist)[1]
    assert listed_entry.expire_at == datetime(2030, 12, 1, 10, 0, 1, tzinfo=UTC)


def test_every_timestamp_on_the_wire_is_rfc3339_utc_with_whole_seconds(live_server: LiveServer) -> None:
    token = live_server.create_token()
    bl = Client(live_server.base_url + "/", access_token=token).blacklist
    bl.add_phone_number(phone_number=PL_500)
    bl.add_phone_number(phone_number=PL_501, expire_at="2030-12-01")
    bl.add_phone_number(phone_number=PL_502, expire_at=datetime(2030, 12, 1, 10, 0, 0, 999999, tzinfo=UTC))

    body = httpx.get(f"{live_server.base_url}/blacklist/phone_numbers", headers={"Authorization": f"Bearer {token}"}).json()

    by_number = {entry["phone_number"]: entry for entry in body["collection"]}
    assert set(by_number) == {PL_500, PL_501, PL_502}
    assert by_number[PL_500]["expire_at"] is None
    assert by_number[PL_501]["expire_at"] == "2030-12-01T00:00:00Z"
    assert by_number[PL_502]["expire_at"] == "2030-12-01T10:00:01Z"  # the fraction rounded up
    for entry in body["collection"]:
        assert isinstance(entry["id"], str)
        assert RFC3339_UTC_SECONDS.match(entry["created_at"]), entry["created_at"]


def test_adding_the_same_number_in_another_spelling_returns_the_same_entry(blacklist: Blacklist) -> None:
    first = blacklist.add_phone_number(phone_number="+48 500 000 000")
    for spelling in ("48500000000", "0048 500-000-000", "+48 (500) 000 000", "+48.500.000.000"):
        again = blacklist.add_phone_number(phone_number=spelling)
        assert again.id == first.id, spelling
        assert again.phone_number == PL_500, spelling

    size, entries = listed(blacklist)
    assert size == 1
    assert [entry.id for entry in entries] == [first.id]


def test_adding_a_listed_number_with_an_expiry_replaces_its_never_expiring_entry(blacklist: Blacklist) -> None:
    first = blacklist.add_phone_number(phone_number=PL_500)

    again = blacklist.add_phone_number(phone_number="+48 500 000 000", expire_at="2030-12-01")

    assert again.id == first.id
    assert again.expire_at == datetime(2030, 12, 1, tzinfo=UTC)
    [entry] = listed(blacklist)[1]
    assert (entry.id, entry.expire_at) == (first.id, datetime(2030, 12, 1, tzinfo=UTC))


def test_adding_a_listed_number_with_another_expiry_replaces_the_old_expiry(blacklist: Blacklist) -> None:
    first = blacklist.add_phone_number(phone_number=PL_500, expire_at="2031-06-15T08:00:00Z")

    again = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01")

    assert again.id == first.id
    assert again.expire_at == datetime(2030, 12, 1, tzinfo=UTC)  # earlier than before: the latest instruction wins
    [entry] = listed(blacklist)[1]
    assert entry.expire_at == datetime(2030, 12, 1, tzinfo=UTC)


def test_adding_a_listed_number_without_expiry_makes_it_never_expire(blacklist: Blacklist) -> None:
    first = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01")

    again = blacklist.add_phone_number(phone_number="0048500000000")

    assert again.id == first.id
    assert again.expire_at is None
    [entry] = listed(blacklist)[1]
    assert (entry.id, entry.expire_at) == (first.id, None)


# --- listing ------------------------------------------------------------------------------------


def test_an_empty_list_has_size_zero_and_no_entries(blacklist: Blacklist) -> None:
    assert listed(blacklist) == (0, [])


def test_listing_returns_every_added_entry_as_it_was_added(blacklist: Blacklist) -> None:
    added = [
        blacklist.add_phone_number(phone_number="+48 500 000 000"),
        blacklist.add_phone_number(phone_number="+48 600 111 222", expire_at="2030-12-01"),
        blacklist.add_phone_number(phone_number="+44 7911 123456", expire_at="2031-01-02T03:04:05Z"),
    ]

    size, entries = listed(blacklist)

    assert size == 3
    by_id = {entry.id: entry for entry in entries}
    assert set(by_id) == {entry.id for entry in added}
    for entry in added:
        assert by_id[entry.id].phone_number == entry.phone_number
        assert by_id[entry.id].expire_at == entry.expire_at
        assert by_id[entry.id].created_at == entry.created_at
        assert is_utc(by_id[entry.id].created_at)
    assert sorted(numbers(entries)) == sorted([PL_500, PL_600, UK])


def test_q_lists_every_entry_whose_digits_contain_it(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_501, PL_502, PL_600, UK):
        blacklist.add_phone_number(phone_number="+" + number)

    size, entries = listed(blacklist, q="50000000")
    assert size == 3
    assert sorted(numbers(entries)) == [PL_500, PL_501, PL_502]

    size, entries = listed(blacklist, q="00111")  # in the middle of the number
    assert (size, numbers(entries)) == (1, [PL_600])

    size, entries = listed(blacklist, q="44")  # a country code is part of the digits too
    assert (size, numbers(entries)) == (1, [UK])

    size, entries = listed(blacklist, q=PL_502)  # a whole number
    assert (size, numbers(entries)) == (1, [PL_502])


def test_q_that_matches_nothing_lists_nothing(blacklist: Blacklist) -> None:
    blacklist.add_phone_number(phone_number=PL_500)

    assert listed(blacklist, q="999999") == (0, [])


def test_limit_and_offset_page_through_the_list_while_size_stays_the_total(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_501, PL_502, PL_600, PL_790):
        blacklist.add_phone_number(phone_number=number)
    _, everything = listed(blacklist)

    pages = [listed(blacklist, limit=2, offset=offset) for offset in (0, 2, 4)]

    assert [size for size, _ in pages] == [5, 5, 5]
    assert [len(entries) for _, entries in pages] == [2, 2, 1]
    paged_ids = [entry.id for _, entries in pages for entry in entries]
    assert paged_ids == [entry.id for entry in everything]
    assert len(set(paged_ids)) == 5


def test_an_offset_past_the_end_lists_nothing_but_still_reports_the_total(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_501, PL_502):
        blacklist.add_phone_number(phone_number=number)

    assert listed(blacklist, limit=10, offset=3) == (3, [])
    assert listed(blacklist, offset=50) == (3, [])


def test_limit_alone_returns_the_first_entries(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_501, PL_502):
        blacklist.add_phone_number(phone_number=number)

    size, entries = listed(blacklist, limit=1)

    assert size == 3
    assert numbers(entries) == [PL_502]  # newest first


def test_q_with_limit_and_offset_pages_through_the_matches_and_size_counts_all_matches(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_600, PL_501, PL_790, PL_502):
        blacklist.add_phone_number(phone_number=number)

    first_size, first = listed(blacklist, q="4850000", limit=2, offset=0)
    second_size, second = listed(blacklist, q="4850000", limit=2, offset=2)

    assert (first_size, second_size) == (3, 3)
    assert (len(first), len(second)) == (2, 1)
    assert sorted(numbers(first + second)) == [PL_500, PL_501, PL_502]


# --- ordering -----------------------------------------------------------------------------------


def test_the_default_order_is_newest_first(blacklist: Blacklist) -> None:
    for number in (PL_600, PL_500, UK, PL_790):
        blacklist.add_phone_number(phone_number=number)

    assert numbers(listed(blacklist)[1]) == [PL_790, UK, PL_500, PL_600]


def test_order_by_created_at_lists_oldest_first_and_minus_created_at_newest_first(blacklist: Blacklist) -> None:
    for number in (PL_600, PL_500, UK, PL_790):
        blacklist.add_phone_number(phone_number=number)

    assert numbers(listed(blacklist, orderBy="created_at")[1]) == [PL_600, PL_500, UK, PL_790]
    assert numbers(listed(blacklist, orderBy="-created_at")[1]) == [PL_790, UK, PL_500, PL_600]


def test_order_by_phone_number_sorts_by_the_digits_both_ways(blacklist: Blacklist) -> None:
    for number in (PL_600, UK, PL_790, PL_500):
        blacklist.add_phone_number(phone_number=number)

    assert numbers(listed(blacklist, orderBy="phone_number")[1]) == [UK, PL_500, PL_600, PL_790]
    assert numbers(listed(blacklist, orderBy="-phone_number")[1]) == [PL_790, PL_600, PL_500, UK]


def test_order_by_expire_at_sorts_by_the_expiry_both_ways(blacklist: Blacklist) -> None:
    blacklist.add_phone_number(phone_number=PL_500, expire_at="2031-01-01")
    blacklist.add_phone_number(phone_number=PL_600, expire_at="2030-06-01T12:00:00Z")
    blacklist.add_phone_number(phone_number=PL_790, expire_at="2032-03-03")

    ascending = listed(blacklist, orderBy="expire_at")[1]
    descending = listed(blacklist, orderBy="-expire_at")[1]

    assert numbers(ascending) == [PL_600, PL_500, PL_790]
    assert numbers(descending) == [PL_790, PL_500, PL_600]
    assert [entry.expire_at for entry in ascending] == sorted(entry.expire_at for entry in ascending)


def test_ordering_applies_before_paging(blacklist: Blacklist) -> None:
    for number in (PL_600, UK, PL_790, PL_500):
        blacklist.add_phone_number(phone_number=number)

    size, entries = listed(blacklist, orderBy="phone_number", limit=2, offset=1)

    assert size == 4
    assert numbers(entries) == [PL_500, PL_600]


# --- deleting -----------------------------------------------------------------------------------


def test_deleting_an_entry_by_id_removes_that_entry_and_only_that_entry(blacklist: Blacklist) -> None:
    keep = blacklist.add_phone_number(phone_number=PL_500)
    gone = blacklist.add_phone_number(phone_number=PL_600, expire_at="2030-12-01")

    blacklist.delete_phone_number(id=gone.id)

    size, entries = listed(blacklist)
    assert size == 1
    assert [entry.id for entry in entries] == [keep.id]
    assert listed(blacklist, q="600111") == (0, [])


def test_deleting_by_id_and_deleting_all_answer_204_with_no_body(live_server: LiveServer) -> None:
    token = live_server.create_token()
    bl = Client(live_server.base_url + "/", access_token=token).blacklist
    entry = bl.add_phone_number(phone_number=PL_500)
    bl.add_phone_number(phone_number=PL_600)
    headers = {"Authorization": f"Bearer {token}"}

    one = httpx.delete(f"{live_server.base_url}/blacklist/phone_numbers/{entry.id}", headers=headers)
    assert (one.status_code, one.content) == (204, b"")

    everything = httpx.delete(f"{live_server.base_url}/blacklist/phone_numbers", headers=headers)
    assert (everything.status_code, everything.content) == (204, b"")
    assert listed(bl) == (0, [])


def test_a_number_deleted_by_id_can_be_added_again(blacklist: Blacklist) -> None:
    first = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01")
    blacklist.delete_phone_number(id=first.id)

    again = blacklist.add_phone_number(phone_number=PL_500)

    assert again.phone_number == PL_500
    assert again.expire_at is None
    assert [entry.id for entry in listed(blacklist)[1]] == [again.id]


def test_deleting_an_unknown_id_raises_an_endpoint_exception_with_404(blacklist: Blacklist) -> None:
    blacklist.add_phone_number(phone_number=PL_500)

    for unknown in ("999999999", "not-an-id"):
        with pytest.raises(EndpointException) as excinfo:
            blacklist.delete_phone_number(id=unknown)
        assert excinfo.value.code == 404, unknown

    assert listed(blacklist)[0] == 1


def test_deleting_the_same_id_twice_raises_404_the_second_time(blacklist: Blacklist) -> None:
    entry = blacklist.add_phone_number(phone_number=PL_500)
    blacklist.delete_phone_number(id=entry.id)

    with pytest.raises(EndpointException) as excinfo:
        blacklist.delete_phone_number(id=entry.id)

    assert excinfo.value.code == 404


def test_deleting_all_numbers_empties_the_list(blacklist: Blacklist) -> None:
    for number in (PL_500, PL_501, PL_600):
        blacklist.add_phone_number(phone_number=number)
    blacklist.add_phone_number(phone_number=UK, expire_at="2030-12-01")
    assert listed(blacklist)[0] == 4

    blacklist.delete_all_phone_numbers()

    assert listed(blacklist) == (0, [])
    assert listed(blacklist, q="48") == (0, [])


def test_deleting_all_numbers_of_an_empty_list_succeeds(blacklist: Blacklist) -> None:
    blacklist.delete_all_phone_numbers()

    assert listed(blacklist) == (0, [])


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "hello",  # letters
        "+48 12",  # too short for Poland
        "+48 500 000 000 000 000",  # too long for Poland
        "+999 500 000 000",  # no such country code
        "0500 000 000",  # national form, and the server has no default region
        "+48+500000000",  # a '+' inside
        "",  # empty
    ],
)
def test_an_invalid_number_is_refused_with_400_invalid_phone_number_and_nothing_is_added(blacklist: Blacklist, raw: str) -> None:
    with pytest.raises(EndpointException) as excinfo:
        blacklist.add_phone_number(phone_number=raw)

    assert excinfo.value.code == 400
    body = error_of(excinfo)
    assert body["error"] == "invalid_phone_number"
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], list) and body["errors"]
    assert listed(blacklist) == (0, [])


def test_an_invalid_number_with_an_expiry_is_still_refused_as_an_invalid_number(blacklist: Blacklist) -> None:
    with pytest.raises(EndpointException) as excinfo:
        blacklist.add_phone_number(phone_number="+48 12", expire_at="2030-12-01")

    assert excinfo.value.code == 400
    assert error_of(excinfo)["error"] == "invalid_phone_number"
    assert listed(blacklist) == (0, [])


def test_a_refused_number_leaves_the_existing_list_untouched(blacklist: Blacklist) -> None:
    entry = blacklist.add_phone_number(phone_number=PL_500, expire_at="2030-12-01")

    with pytest.raises(EndpointException):
        blacklist.add_phone_number(phone_number="+48 50")

    [still] = listed(blacklist)[1]
    assert (still.id, still.phone_number, still.expire_at) == (entry.id, PL_500, datetime(2030, 12, 1, tzinfo=UTC))


# --- accounts -----------------------------------------------------------------------------------


def test_a_second_account_sees_none_of_the_first_accounts_entries(live_server: LiveServer) -> None:
    first = blacklist_for(live_server)
    other = blacklist_for(live_server, "other")
    for number in (PL_500, PL_600, UK):
        first.add_phone_number(phone_number=number)

    assert listed(other) == (0, [])
    assert listed(other, q="500") == (0, [])
    assert listed(other, orderBy="phone_number", limit=10, offset=0) == (0, [])
    assert listed(first)[0] == 3


def test_a_second_account_cannot_delete_the_first_accounts_entry_by_id(live_server: LiveServer) -> None:
    first = blacklist_for(live_server)
    other = blacklist_for(live_server, "other")
    entry = first.add_phone_number(phone_number=PL_500)

    with pytest.raises(EndpointException) as excinfo:
        other.delete_phone_number(id=entry.id)

    assert excinfo.value.code == 404
    assert [listed_entry.id for listed_entry in listed(first)[1]] == [entry.id]


def test_deleting_all_numbers_of_one_account_leaves_the_other_accounts_list_alone(live_server: LiveServer) -> None:
    first = blacklist_for(live_server)
    other = blacklist_for(live_server, "other")
    first.add_phone_number(phone_number=PL_500)
    other.add_phone_number(phone_number=PL_600)

    other.delete_all_phone_numbers()

    assert numbers(listed(first)[1]) == [PL_500]
    assert listed(other) == (0, [])


def test_the_same_number_on_two_accounts_is_two_separate_entries(live_server: LiveServer) -> None:
    first = blacklist_for(live_server)
    other = blacklist_for(live_server, "other")
    mine = first.add_phone_number(phone_number=PL_500, expire_at="2030-12-01")

    theirs = other.add_phone_number(phone_number="+48 500 000 000")

    assert theirs.id != mine.id
    assert theirs.expire_at is None
    [still_mine] = listed(first)[1]
    assert (still_mine.id, still_mine.expire_at) == (mine.id, datetime(2030, 12, 1, tzinfo=UTC))
    other.delete_phone_number(id=theirs.id)
    assert listed(first)[0] == 1


# --- the round trip the issue asks for ------------------------------------------------------------


def test_the_whole_round_trip_add_list_search_page_delete_one_delete_all(blacklist: Blacklist) -> None:
    forever = blacklist.add_phone_number(phone_number="+48 500 000 000")
    until = blacklist.add_phone_number(phone_number="+48 500 000 001", expire_at="2030-12-01")
    other = blacklist.add_phone_number(phone_number="+48 600 111 222", expire_at=datetime(2031, 1, 1, 9, 30, tzinfo=UTC))
    assert (forever.expire_at, until.expire_at) == (None, datetime(2030, 12, 1, tzinfo=UTC))
    assert other.expire_at == datetime(2031, 1, 1, 9, 30, tzinfo=UTC)

    assert listed(blacklist)[0] == 3
    size, found = listed(blacklist, q="500000")
    assert (size, sorted(entry.id for entry in found)) == (2, sorted([forever.id, until.id]))
    size, page = listed(blacklist, q="48", limit=1, offset=1)
    assert (size, [entry.id for entry in page]) == (3, [until.id])

    blacklist.delete_phone_number(id=until.id)
    size, rest = listed(blacklist)
    assert (size, [entry.id for entry in rest]) == (2, [other.id, forever.id])

    blacklist.delete_all_phone_numbers()
    assert listed(blacklist) == (0, [])
