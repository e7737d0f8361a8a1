"""`/blacklist/check`: the send-time gate, one number (GET) or up to 10,000 at once (POST)."""

import csv
import io
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from stoplist.auth.repository import AuthRepository
from stoplist.accounts.service import revoke_operator_token
from stoplist.auth.service import hash_token
from stoplist.lists.models import Entry
from stoplist.config import Settings
from stoplist.db import transaction, utcnow
from stoplist.composition import create_worker, purge_expired_entries
from tests.api.helpers import URL, add, assert_error, set_expiry

CHECK = "/blacklist/check"
TOKEN_TTL = 0.5
# How long past the cache bound a revoked token may still pass (scheduling, slow machines). Set against
# the wrong behaviours, not a quiet machine's timing: a cache that keeps tokens for the default 5 s
# instead of the configured TTL answers after about 5 s, one that never forgets them not at all.
SLACK = 2.0
# The longest any polling test waits.
POLL_FOR = 6.0


@pytest.fixture
def settings(database_url):
    # No background worker: whatever the checks leave out, they leave out without any purge running.
    return Settings(database_url=database_url, token_cache_seconds=TOKEN_TTL, serve_worker=False)


def smsapi_fields(body: dict) -> dict:
    """The fields a check had before lists had scopes (what existing callers read), after checking
    that the newer ones agree with them: the address is the number, and a block decided it exactly when blacklisted."""
    assert set(body) == {"address", "phone_number", "blacklisted", "entry", "decision"}, body
    assert body["address"] == body["phone_number"]
    assert (body["decision"] is not None and body["decision"]["list"] == "block") is body["blacklisted"], body
    if body["blacklisted"]:
        assert body["decision"]["entry"]["id"] == body["entry"]["id"]
    return {key: body[key] for key in ("phone_number", "blacklisted", "entry")}


def check(client, auth, phone_number: str) -> dict:
    response = client.get(CHECK, params={"phone_number": phone_number}, headers=auth)
    assert response.status_code == 200, response.text
    return smsapi_fields(response.json())


def bulk_fields(result: dict) -> dict:
    """A bulk result's fields from before scopes, after checking the newer ones agree with them."""
    assert set(result) == {"input", "address", "phone_number", "valid", "blacklisted", "decision"}, result
    assert result["address"] == result["phone_number"]
    assert (result["decision"] is not None and result["decision"]["list"] == "block") is result["blacklisted"], result
    return {key: result[key] for key in ("input", "phone_number", "valid", "blacklisted")}


def bulk(client, auth, phone_numbers: list) -> list[dict]:
    response = client.post(CHECK, json={"phone_numbers": phone_numbers}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"results"}
    return [bulk_fields(result) for result in body["results"]]


def is_blacklisted(client, auth, phone_number: str) -> bool:
    """What the single check says; the bulk check must say the same."""
    single = check(client, auth, phone_number)["blacklisted"]
    [result] = bulk(client, auth, [phone_number])
    assert result["blacklisted"] is single, (single, result)
    return single


def listed_numbers(client, auth) -> tuple[int, set[str]]:
    """The JSON list's size and the numbers on its page."""
    response = client.get(URL, params={"limit": 1000}, headers=auth)
    assert response.status_code == 200, response.text
    page = response.json()
    return page["size"], {entry["phone_number"] for entry in page["collection"]}


def exported_numbers(client, auth) -> set[str]:
    """The numbers in the CSV export (204: nothing to export)."""
    response = client.get(URL, headers={**auth, "Accept": "text/csv"})
    if response.status_code == 204:
        return set()
    assert response.status_code == 200, response.text
    return {row["phone_number"] for row in csv.DictReader(io.StringIO(response.text))}


def this_second() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def sleep_until(moment: datetime) -> None:
    remaining = (moment - datetime.now(timezone.utc)).total_seconds()
    if remaining > 0:
        time.sleep(remaining)


def revoke(app, secret: str) -> None:
    with transaction(app.state.session_factory) as session:
        repository = AuthRepository(session)
        revoke_operator_token(session, token_id=repository.live_token(hash_token(secret), utcnow()).token_id, now=utcnow())


def stored_numbers(app) -> set[str]:
    """Every number in the entries table, expired or not, of every account."""
    with transaction(app.state.session_factory) as session:
        return set(session.scalars(select(Entry.phone_number)))


def seconds_until_refused(send) -> float | None:
    """Poll `send()` until it answers 401; seconds it took, or None if it never did within POLL_FOR."""
    start = time.monotonic()
    while time.monotonic() - start < POLL_FOR:
        response = send()
        if response.status_code == 401:
            assert response.json()["error"] == "unauthorized"
            return time.monotonic() - start
        assert response.status_code == 200, response.text
        time.sleep(0.02)
    return None


# --- GET /blacklist/check -------------------------------------------------------------------------


def test_a_listed_number_is_blacklisted_with_its_entry_as_get_by_id_shows_it(client, auth):
    entry = add(client, auth, "+48500000001", expire_at="2099-01-01T00:00:00Z")

    body = check(client, auth, "+48500000001")

    shown = client.get(f"{URL}/{entry['id']}", headers=auth)
    assert shown.status_code == 200
    assert body == {"phone_number": "48500000001", "blacklisted": True, "entry": shown.json()}


def test_a_number_not_on_the_list_is_not_blacklisted_and_has_no_entry(client, auth):
    add(client, auth, "+48500000001")

    assert check(client, auth, "+48 500 000 002") == {"phone_number": "48500000002", "blacklisted": False, "entry": None}


@pytest.mark.parametrize("spelling", ["48500000001", "+48500000001", "+48 500 000 001", "0048500000001", "+48-500-000-001", "(+48) 500.000.001", " +48 500/000/001 "])
def test_any_spelling_of_a_listed_number_finds_its_entry(client, auth, spelling):
    entry = add(client, auth, "+48 500 000 001")

    assert check(client, auth, spelling) == {"phone_number": "48500000001", "blacklisted": True, "entry": entry}


@pytest.mark.parametrize("garbage", ["", "   ", "abc", "1-800-FLOWERS", "+48 500", "0500000001", "+48+500000001", "9" * 70])
def test_an_invalid_number_is_refused_with_invalid_phone_number(client, auth, garbage):
    body = assert_error(client.get(CHECK, params={"phone_number": garbage}, headers=auth), 400, "invalid_phone_number")

    assert body["errors"][0]["path"] == "phone_number"


def test_a_check_without_a_phone_number_is_a_validation_error(client, auth):
    body = assert_error(client.get(CHECK, headers=auth), 400, "validation_error")

    assert body["errors"][0]["path"] == "phone_number"


def test_the_trailing_slash_form_answers_directly_without_a_redirect(client, auth):
    entry = add(client, auth, "+48500000001")

    response = client.get(f"{CHECK}/", params={"phone_number": "+48500000001"}, headers=auth, follow_redirects=False)

    assert response.status_code == 200, response.text
    assert smsapi_fields(response.json()) == {"phone_number": "48500000001", "blacklisted": True, "entry": entry}


def test_the_trailing_slash_form_of_the_bulk_check_answers_directly_too(client, auth):
    add(client, auth, "+48500000001")

    response = client.post(f"{CHECK}/", json={"phone_numbers": ["+48500000001"]}, headers=auth, follow_redirects=False)

    assert response.status_code == 200, response.text
    assert response.json()["results"][0]["blacklisted"] is True


# --- POST /blacklist/check ------------------------------------------------------------------------


def test_the_bulk_check_answers_one_result_per_input_in_order_with_duplicates(client, auth):
    add(client, auth, "+48500000001")
    inputs = ["+48500000002", "48 500 000 001", "nonsense", "+48500000002", "0048500000001", None, "+48500000001"]

    results = bulk(client, auth, inputs)

    assert results == [
        {"input": "+48500000002", "phone_number": "48500000002", "valid": True, "blacklisted": False},
        {"input": "48 500 000 001", "phone_number": "48500000001", "valid": True, "blacklisted": True},
        {"input": "nonsense", "phone_number": None, "valid": False, "blacklisted": False},
        {"input": "+48500000002", "phone_number": "48500000002", "valid": True, "blacklisted": False},
        {"input": "0048500000001", "phone_number": "48500000001", "valid": True, "blacklisted": True},
        {"input": None, "phone_number": None, "valid": False, "blacklisted": False},
        {"input": "+48500000001", "phone_number": "48500000001", "valid": True, "blacklisted": True},
    ]


@pytest.mark.parametrize("invalid", ["", "   ", "garbage", None, {"phone_number": "+48500000001"}, ["+48500000001"], True, False, "+48 500", "0500000001", "x" * 100])
def test_an_invalid_input_is_echoed_and_never_blacklisted(client, auth, invalid):
    add(client, auth, "+48500000001")
    add(client, auth, "+48500000000")

    [result] = bulk(client, auth, [invalid])

    assert result == {"input": invalid, "phone_number": None, "valid": False, "blacklisted": False}


def test_valid_is_true_exactly_when_adding_the_same_input_would_be_accepted(client, auth, make_token):
    inputs = [
        "+48500000001", "48500000002", "0048 500 000 003", "+48 (500) 000-004", " \t+48.500.000.005 ", "-48500000006", "+1 650 253 0000",
        48500000007, -48500000008, 4850000000, 0, 1, 10**20, 4850000002.0, 48500000003.0, 1.5,
        "", " ", "+", "++48500000009", "48+500000010", "0500000011", "+48 500", "+48 500 000 000 0", "1-800-FLOWERS", "+48 500 000 012 ext 3",
        "+999 500 000 013", "٤٨٥٠٠٠٠٠٠١٤", "9" * 65, None, True, False, {"phone_number": "+48500000015"}, ["+48500000016"], [],
    ]  # fmt: skip
    results = bulk(client, auth, inputs)
    # Adding goes to an account of its own, so the check above saw an empty list.
    adder = {"Authorization": f"Bearer {make_token('adder')}"}

    for item, result in zip(inputs, results, strict=True):
        added = client.post(URL, json={"phone_number": item}, headers=adder)
        assert added.status_code in (200, 201, 400), added.text
        assert result["valid"] is (added.status_code != 400), (item, result, added.json())
        assert result["phone_number"] == (added.json()["phone_number"] if result["valid"] else None), (item, result, added.json())
        assert result["input"] == item


@pytest.mark.parametrize("spelling", ["\t48500000001", "\x1f48500000001", "\u200948500000001", " 48500000001"])
def test_an_input_with_one_leading_blank_or_control_character_is_echoed_as_sent_in_valid_json(client, auth, spelling):
    add(client, auth, "+48500000001")

    [result] = bulk(client, auth, [spelling])

    assert result == {"input": spelling, "phone_number": "48500000001", "valid": True, "blacklisted": True}


def test_a_whole_json_float_is_its_integer_never_its_text(client, auth):
    # str(4850000002.0) is '4850000002.0', whose '.' reads as a separator: it would be the number 48500000020.
    [short, whole] = bulk(client, auth, [4850000002.0, 48500000001.0])

    added = client.post(URL, json={"phone_number": 4850000002.0}, headers=auth)

    assert short == {"input": 4850000002.0, "phone_number": None, "valid": False, "blacklisted": False}
    assert_error(added, 400, "invalid_phone_number")
    assert whole == {"input": 48500000001.0, "phone_number": "48500000001", "valid": True, "blacklisted": False}


def test_ten_thousand_numbers_are_checked_at_once(client, auth):
    numbers = [f"+48500{i:06d}" for i in range(10_000)]
    # Around the 1,000-address probes (SQLite) and at both ends.
    listed = {0, 499, 500, 501, 999, 1_000, 1_001, 8_999, 9_000, 9_999}
    for index in listed:
        add(client, auth, numbers[index])

    results = bulk(client, auth, numbers)

    assert [result["input"] for result in results] == numbers
    assert all(result["valid"] for result in results)
    assert {index for index, result in enumerate(results) if result["blacklisted"]} == listed


def test_ten_thousand_and_one_numbers_are_too_many(client, auth):
    numbers = [f"+48500{i:06d}" for i in range(10_001)]

    assert_error(client.post(CHECK, json={"phone_numbers": numbers}, headers=auth), 413, "too_many_numbers")


def test_an_empty_list_gets_no_results(client, auth):
    assert bulk(client, auth, []) == []


def test_a_body_that_is_not_json_is_malformed(client, auth):
    response = client.post(CHECK, content=b'{"phone_numbers": ["+4850', headers={**auth, "Content-Type": "application/json"})

    assert_error(response, 400, "malformed_body")


@pytest.mark.parametrize("document", ["{}", "[]", "null", '"+48500000001"', '{"phone_numbers": "+48500000001"}', '{"phone_numbers": {"0": "+48500000001"}}', '{"phone_number": ["+48500000001"]}'])
def test_a_body_without_a_phone_numbers_list_is_a_validation_error(client, auth, document):
    response = client.post(CHECK, content=document.encode(), headers={**auth, "Content-Type": "application/json"})

    assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "text/csv"])
def test_a_body_that_is_not_sent_as_json_is_an_unsupported_media_type(client, auth, content_type):
    headers = {**auth} if content_type is None else {**auth, "Content-Type": content_type}

    response = client.post(CHECK, content=b'{"phone_numbers": ["+48500000001"]}', headers=headers)

    assert_error(response, 415, "unsupported_media_type")


# --- Expiry, to the second ------------------------------------------------------------------------


def assert_off_the_list_everywhere(client, auth, phone_number: str) -> None:
    assert check(client, auth, phone_number) == {"phone_number": phone_number, "blacklisted": False, "entry": None}
    assert bulk(client, auth, [phone_number])[0]["blacklisted"] is False
    size, numbers = listed_numbers(client, auth)
    assert phone_number not in numbers
    assert size == len(numbers)
    assert phone_number not in exported_numbers(client, auth)


def assert_on_the_list_everywhere(client, auth, phone_number: str) -> None:
    assert check(client, auth, phone_number)["blacklisted"] is True
    assert bulk(client, auth, [phone_number])[0]["blacklisted"] is True
    assert phone_number in listed_numbers(client, auth)[1]
    assert phone_number in exported_numbers(client, auth)


def test_an_entry_is_blacklisted_until_its_expiry_second_and_nowhere_from_then_on(app, client, auth):
    add(client, auth, "+48500000009")  # a neighbour that never expires, so the export is never empty
    entry = add(client, auth, "+48500000001")
    # Between one and two seconds away, however close to a second boundary this starts.
    expiry = this_second() + timedelta(seconds=2)
    set_expiry(app, entry["id"], expiry)

    assert_on_the_list_everywhere(client, auth, "48500000001")
    assert check(client, auth, "+48500000001")["entry"]["expire_at"] == expiry.strftime("%Y-%m-%dT%H:%M:%SZ")

    # In the last second before the expiry, the entry still applies.
    sleep_until(expiry - timedelta(seconds=1) + timedelta(milliseconds=50))
    assert check(client, auth, "+48500000001")["blacklisted"] is True
    assert bulk(client, auth, ["+48500000001"])[0]["blacklisted"] is True
    assert datetime.now(timezone.utc) < expiry, "the checks above took too long to prove anything"

    # From the expiry second on, it is gone at once, with no purge having run.
    sleep_until(expiry + timedelta(milliseconds=20))
    assert_off_the_list_everywhere(client, auth, "48500000001")
    assert "48500000001" in stored_numbers(app)
    assert is_blacklisted(client, auth, "+48500000009")


def test_an_entry_expiring_this_very_second_is_not_blacklisted(app, client, auth):
    add(client, auth, "+48500000009")
    entry = add(client, auth, "+48500000001")

    set_expiry(app, entry["id"], this_second())

    assert_off_the_list_everywhere(client, auth, "48500000001")


def test_an_entry_that_expired_a_second_ago_is_not_blacklisted(app, client, auth):
    add(client, auth, "+48500000009")
    entry = add(client, auth, "+48500000001")

    set_expiry(app, entry["id"], this_second() - timedelta(seconds=1))

    assert_off_the_list_everywhere(client, auth, "48500000001")


def test_an_entry_expiring_later_is_blacklisted_everywhere(app, client, auth):
    entry = add(client, auth, "+48500000001")

    set_expiry(app, entry["id"], this_second() + timedelta(hours=1))

    assert_on_the_list_everywhere(client, auth, "48500000001")


def test_a_list_of_expired_entries_is_empty_in_every_view(app, client, auth):
    for number in ("+48500000001", "+48500000002"):
        set_expiry(app, add(client, auth, number)["id"], this_second() - timedelta(days=1))

    assert [result["blacklisted"] for result in bulk(client, auth, ["+48500000001", "+48500000002"])] == [False, False]
    assert listed_numbers(client, auth) == (0, set())
    assert client.get(URL, headers={**auth, "Accept": "text/csv"}).status_code == 204


# --- Accounts -------------------------------------------------------------------------------------


def test_another_accounts_numbers_are_not_blacklisted_for_you(client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, other, "+48500000001")
    add(client, other, "+48500000002")

    assert check(client, auth, "+48500000001") == {"phone_number": "48500000001", "blacklisted": False, "entry": None}
    assert [result["blacklisted"] for result in bulk(client, auth, ["+48500000001", "+48500000002"])] == [False, False]
    assert check(client, other, "+48500000001")["blacklisted"] is True


def test_a_number_both_accounts_list_shows_each_account_its_own_entry(client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    theirs = add(client, other, "+48500000001", expire_at="2099-01-01T00:00:00Z")
    mine = add(client, auth, "+48500000001")

    assert check(client, auth, "+48500000001")["entry"] == mine
    assert check(client, other, "+48500000001")["entry"] == theirs
    assert mine["id"] != theirs["id"]


# --- Tokens ---------------------------------------------------------------------------------------


def get_check(client, headers):
    return client.get(CHECK, params={"phone_number": "+48500000001"}, headers=headers)


def post_check(client, headers):
    return client.post(CHECK, json={"phone_numbers": ["+48500000001"]}, headers=headers)


ROUTES = [pytest.param(get_check, id="GET"), pytest.param(post_check, id="POST")]


@pytest.mark.parametrize("send", ROUTES)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer sl_unknown"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}], ids=["none", "unknown", "empty", "basic"])
def test_a_check_without_a_known_token_is_unauthorized(client, send, headers):
    assert_error(send(client, headers), 401, "unauthorized")


@pytest.mark.parametrize("send", ROUTES)
def test_a_check_with_a_token_without_the_blacklist_scope_is_forbidden(client, make_token, send):
    token = make_token(scopes=["sms"])

    assert_error(send(client, {"Authorization": f"Bearer {token}"}), 403, "forbidden")


@pytest.mark.parametrize("send", ROUTES)
def test_a_revoked_token_is_refused_by_the_checks_within_the_token_cache_bound(app, client, make_token, send):
    secret = make_token()
    headers = {"Authorization": f"Bearer {secret}"}
    assert send(client, headers).status_code == 200  # now remembered

    revoke(app, secret)
    waited = seconds_until_refused(lambda: send(client, headers))

    assert waited is not None, f"still accepted {POLL_FOR} s after being revoked"
    assert waited <= TOKEN_TTL + SLACK


@pytest.mark.parametrize("send", ROUTES)
def test_a_token_refused_as_unknown_works_as_soon_as_it_exists(app, client, send):
    secret = "sl_created-right-after-being-refused"
    headers = {"Authorization": f"Bearer {secret}"}
    assert_error(send(client, headers), 401, "unauthorized")

    with transaction(app.state.session_factory) as session:
        repository = AuthRepository(session)
        account = repository.account_by_name("default") or repository.add_account("default", created_at=this_second())
        repository.add_token(account, token_hash=hash_token(secret), prefix=secret[:10], scopes=["blacklist"], created_at=this_second())

    assert send(client, headers).status_code == 200


def test_a_freshly_created_token_works_at_once(client, make_token):
    assert_error(get_check(client, {"Authorization": "Bearer sl_nobody"}), 401, "unauthorized")

    headers = {"Authorization": f"Bearer {make_token('newcomer')}"}

    assert get_check(client, headers).status_code == 200
    assert post_check(client, headers).status_code == 200


# --- Freshness ------------------------------------------------------------------------------------


def test_an_added_number_is_blacklisted_by_the_very_next_check(client, auth):
    assert is_blacklisted(client, auth, "+48500000001") is False

    add(client, auth, "+48 500 000 001")

    assert is_blacklisted(client, auth, "+48500000001") is True


def test_a_number_deleted_by_number_is_not_blacklisted_at_once(client, auth):
    add(client, auth, "+48500000001")
    assert is_blacklisted(client, auth, "+48500000001") is True

    assert client.delete(URL, params={"phone_number": "0048 500 000 001"}, headers=auth).status_code == 204

    assert is_blacklisted(client, auth, "+48500000001") is False


def test_a_number_deleted_by_id_is_not_blacklisted_at_once_and_is_again_once_re_added(client, auth):
    entry = add(client, auth, "+48500000001")
    assert is_blacklisted(client, auth, "+48500000001") is True

    assert client.delete(f"{URL}/{entry['id']}", headers=auth).status_code == 204
    assert is_blacklisted(client, auth, "+48500000001") is False

    add(client, auth, "+48500000001")
    assert is_blacklisted(client, auth, "+48500000001") is True


def test_after_deleting_the_whole_list_no_number_is_blacklisted(client, auth):
    numbers = [f"+4850000000{i}" for i in range(5)]
    for number in numbers:
        add(client, auth, number)
    assert all(result["blacklisted"] for result in bulk(client, auth, numbers))

    assert client.delete(URL, headers=auth).status_code == 204

    assert not any(result["blacklisted"] for result in bulk(client, auth, numbers))
    assert check(client, auth, numbers[0])["blacklisted"] is False


def test_a_re_added_expired_number_is_blacklisted_again_at_once(app, client, auth):
    entry = add(client, auth, "+48500000001")
    set_expiry(app, entry["id"], this_second() - timedelta(seconds=1))
    assert is_blacklisted(client, auth, "+48500000001") is False

    add(client, auth, "+48500000001", status=201)

    assert is_blacklisted(client, auth, "+48500000001") is True


# --- Purging expired entries ----------------------------------------------------------------------


def test_purging_deletes_exactly_the_expired_entries_and_counts_them(app, client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    add(client, auth, "+48500000001")  # never expires
    add(client, auth, "+48500000002", expire_at="2099-01-01T00:00:00Z")
    later = add(client, auth, "+48500000003")
    set_expiry(app, later["id"], this_second() + timedelta(hours=1))
    set_expiry(app, add(client, auth, "+48500000004")["id"], this_second() - timedelta(seconds=1))
    set_expiry(app, add(client, auth, "+48500000005")["id"], this_second())
    set_expiry(app, add(client, other, "+48500000006")["id"], this_second() - timedelta(days=30))
    add(client, other, "+48500000007")

    removed = purge_expired_entries(app.state.session_factory)

    assert removed == 3
    assert stored_numbers(app) == {"48500000001", "48500000002", "48500000003", "48500000007"}
    assert purge_expired_entries(app.state.session_factory) == 0


def test_purging_changes_nothing_the_checks_report(app, client, auth):
    add(client, auth, "+48500000001")
    set_expiry(app, add(client, auth, "+48500000002")["id"], this_second() - timedelta(seconds=1))
    before = bulk(client, auth, ["+48500000001", "+48500000002"])

    purge_expired_entries(app.state.session_factory)

    assert bulk(client, auth, ["+48500000001", "+48500000002"]) == before
    assert [result["blacklisted"] for result in before] == [True, False]


def test_purging_an_empty_table_removes_nothing(app):
    assert purge_expired_entries(app.state.session_factory) == 0


def test_a_worker_purges_expired_entries_when_purge_interval_is_set(app, client, auth, database_url):
    add(client, auth, "+48500000001")
    set_expiry(app, add(client, auth, "+48500000002")["id"], this_second() - timedelta(seconds=1))

    create_worker(app.state.session_factory, Settings(database_url=database_url, purge_interval=0.01)).maintain()

    assert stored_numbers(app) == {"48500000001"}


def test_a_worker_leaves_expired_entries_alone_when_purge_interval_is_zero(app, client, auth, database_url):
    add(client, auth, "+48500000001")
    set_expiry(app, add(client, auth, "+48500000002")["id"], this_second() - timedelta(seconds=1))

    create_worker(app.state.session_factory, Settings(database_url=database_url, purge_interval=0)).maintain()

    assert stored_numbers(app) == {"48500000001", "48500000002"}
    assert is_blacklisted(client, auth, "+48500000002") is False

