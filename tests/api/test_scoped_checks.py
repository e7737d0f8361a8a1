"""Scoped checks end to end: entries put on lists through the API, then checked for a channel and
a sender, one at a time (GET) and in bulk (POST); every row of the README's precedence table."""

from datetime import datetime, timezone

import pytest

from tests.api.helpers import add, assert_error, set_expiry

CHECK = "/blacklist/check"
ENTRIES = "/blacklist/entries"
NUMBER = "+48500000001"
STORED = "48500000001"
PAST = datetime(2020, 1, 1, tzinfo=timezone.utc)


def put(client, auth, kind: str, channel: str | None, sender: str | None, address: str = NUMBER) -> dict:
    body = {"address": address, "list": kind, **({"channel": channel} if channel else {}), **({"sender": sender} if sender else {})}
    response = client.post(ENTRIES, json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def check(client, auth, address: str = NUMBER, channel: str | None = None, sender: str | None = None) -> dict:
    params = {"address": address, **({"channel": channel} if channel else {}), **({"sender": sender} if sender else {})}
    response = client.get(CHECK, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()


def bulk(client, auth, addresses: list, channel: str | None = None, sender: str | None = None, key: str = "addresses") -> list[dict]:
    body = {key: addresses, **({"channel": channel} if channel else {}), **({"sender": sender} if sender else {})}
    response = client.post(CHECK, json=body, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["results"]


# The README's table: (entries as (kind, channel, sender)), the check, and which entry decides (index) and whether blocked.
TABLE = [
    ([("block", None, None)], ("whatsapp", "ACME"), 0, True),
    ([("block", None, None), ("allow", "whatsapp", "ACME")], ("whatsapp", "ACME"), 1, False),
    ([("block", None, None), ("allow", "whatsapp", "ACME")], ("sms", "ACME"), 0, True),
    ([("allow", "whatsapp", None), ("block", None, "ACME")], ("whatsapp", "ACME"), 1, True),
    ([("allow", "sms", None), ("block", "sms", None)], ("sms", "ACME"), 1, True),
    ([("allow", "whatsapp", None)], ("whatsapp", "ACME"), 0, False),
    ([], ("sms", "ACME"), None, False),
]


@pytest.mark.parametrize(("entries", "asked", "decider", "blocked"), TABLE)
def test_every_row_of_the_precedence_table_one_at_a_time(client, auth, entries, asked, decider, blocked):
    made = [put(client, auth, *scope) for scope in entries]

    answer = check(client, auth, channel=asked[0], sender=asked[1])

    assert (answer["address"], answer["phone_number"], answer["blacklisted"]) == (STORED, STORED, blocked)
    if decider is None:
        assert answer["decision"] is None and answer["entry"] is None
        return
    assert answer["decision"] == {"list": made[decider]["list"], "entry": made[decider]}
    # SMSAPI's field: the blocking entry in SMSAPI's shape when it is on the default list (one
    # SMSAPI's GET /blacklist/phone_numbers/{id} finds); none when allowed or blocked by another list.
    on_default_list = made[decider]["list"] == "block" and made[decider]["channel"] is None and made[decider]["sender"] is None
    if blocked and on_default_list:
        assert answer["entry"] == {key: made[decider][key] for key in ("id", "expire_at", "created_at")} | {"phone_number": STORED}
    else:
        assert answer["entry"] is None


@pytest.mark.parametrize(("entries", "asked", "decider", "blocked"), TABLE)
def test_every_row_of_the_precedence_table_in_bulk(client, auth, entries, asked, decider, blocked):
    made = [put(client, auth, *scope) for scope in entries]

    (result,) = bulk(client, auth, [NUMBER], *asked)
    (by_phone,) = bulk(client, auth, [NUMBER], *asked, key="phone_numbers")

    expected_decision = None if decider is None else {"list": made[decider]["list"], "entry_id": made[decider]["id"]}
    assert result == {"input": NUMBER, "address": STORED, "phone_number": STORED, "valid": True, "blacklisted": blocked, "decision": expected_decision}
    assert by_phone == result


def test_phone_number_parameter_gives_the_same_scoped_answer(client, auth):
    put(client, auth, "block", None, None)
    allow = put(client, auth, "allow", "whatsapp", "ACME")

    response = client.get(CHECK, params={"phone_number": "+48 500 000 001", "channel": "whatsapp", "sender": "ACME"}, headers=auth)

    assert response.json()["decision"]["entry"]["id"] == allow["id"]
    assert response.json()["blacklisted"] is False


def test_an_expired_more_specific_allow_does_not_hide_a_block(client, app, auth):
    block = put(client, auth, "block", None, None)
    allow = put(client, auth, "allow", "whatsapp", "ACME")
    assert check(client, auth, channel="whatsapp", sender="ACME")["blacklisted"] is False

    set_expiry(app, allow["id"], PAST)

    answer = check(client, auth, channel="whatsapp", sender="ACME")
    assert answer["blacklisted"] is True
    assert answer["decision"]["entry"]["id"] == block["id"]
    assert bulk(client, auth, [NUMBER], "whatsapp", "ACME")[0]["decision"] == {"list": "block", "entry_id": block["id"]}


def test_an_expired_block_blocks_nothing(client, app, auth):
    block = put(client, auth, "block", "sms", None)
    set_expiry(app, block["id"], PAST)

    assert check(client, auth, channel="sms", sender="ACME")["decision"] is None
    assert bulk(client, auth, [NUMBER], "sms", "ACME")[0]["blacklisted"] is False


def test_without_a_channel_or_sender_only_lists_of_every_channel_or_sender_answer(client, auth):
    put(client, auth, "block", "whatsapp", None)
    put(client, auth, "block", None, "ACME")

    assert check(client, auth)["decision"] is None
    assert check(client, auth, channel="whatsapp")["blacklisted"] is True
    assert check(client, auth, sender="ACME")["blacklisted"] is True
    assert check(client, auth, channel="sms")["decision"] is None
    assert [result["blacklisted"] for result in bulk(client, auth, [NUMBER])] == [False]
    # SMSAPI's check (no channel, no sender) sees the default list only.
    assert client.get(CHECK, params={"phone_number": NUMBER}, headers=auth).json()["blacklisted"] is False

    default = put(client, auth, "block", None, None)
    answer = check(client, auth)
    assert answer["decision"]["entry"]["id"] == default["id"]


def test_an_email_address_is_checked_on_email_and_every_channel_lists(client, auth):
    on_email = put(client, auth, "block", "email", None, address="Jan.Kowalski@Example.COM")

    answer = check(client, auth, address="Jan.Kowalski@EXAMPLE.com", channel="email", sender="ACME")

    # `address` is what was matched: the key, its local part folded; the entry shows the spelling first given.
    assert (answer["address"], answer["phone_number"], answer["blacklisted"], answer["entry"]) == ("jan.kowalski@example.com", None, True, None)
    assert answer["decision"] == {"list": "block", "entry": on_email}
    assert on_email["address"] == "Jan.Kowalski@example.com"
    # The part before the '@' is compared without regard to case.
    assert check(client, auth, address="jan.kowalski@example.com", channel="email")["decision"] == {"list": "block", "entry": on_email}
    assert check(client, auth, address="Jan.Kowalski@example.com")["decision"] is None


def test_a_bulk_check_mixes_emails_numbers_and_invalid_inputs_in_input_order(client, auth):
    email = put(client, auth, "block", "email", "ACME", address="Jan@Example.com")
    phone = put(client, auth, "block", None, None)
    allow = put(client, auth, "allow", None, None, address="ewa@example.com")
    inputs = ["Jan@EXAMPLE.com", "+48 500 000 001", "ewa@example.com", "jan@", "nonsense", 48500000001, None, "+48600111222", "jan@example.com"]

    results = bulk(client, auth, inputs, "email", "ACME")

    assert [result["input"] for result in results] == inputs
    assert [(result["address"], result["valid"], result["blacklisted"], result["decision"]) for result in results] == [
        ("jan@example.com", True, True, {"list": "block", "entry_id": email["id"]}),
        (STORED, True, True, {"list": "block", "entry_id": phone["id"]}),
        ("ewa@example.com", True, False, {"list": "allow", "entry_id": allow["id"]}),
        (None, False, False, None),
        (None, False, False, None),
        (STORED, True, True, {"list": "block", "entry_id": phone["id"]}),
        (None, False, False, None),
        ("48600111222", True, False, None),
        ("jan@example.com", True, True, {"list": "block", "entry_id": email["id"]}),
    ]
    assert [result["phone_number"] for result in results] == [None, STORED, None, None, None, STORED, None, "48600111222", None]


def test_a_bulk_check_answers_an_address_beyond_ascii_as_it_is_stored(client, auth):
    # The probes' rows come back from SQLite as JSON text: the address must survive the trip.
    email = put(client, auth, "block", None, None, address="Zażółć.Jaźń@Przykład.PL")

    [result] = bulk(client, auth, ["Zażółć.Jaźń@przykład.pl"])

    assert (result["address"], result["blacklisted"]) == ("zażółć.jaźń@xn--przykad-rjb.pl", True)
    assert result["decision"] == {"list": "block", "entry_id": email["id"]}


def test_a_bulk_check_sees_every_write_committed_before_it(client, auth):
    # Bulk probes keep a connection of their own between requests: it must never answer from an old snapshot.
    assert bulk(client, auth, [NUMBER])[0]["blacklisted"] is False
    entry = put(client, auth, "block", None, None)

    assert bulk(client, auth, [NUMBER])[0]["decision"] == {"list": "block", "entry_id": entry["id"]}

    assert client.delete(f"{ENTRIES}/{entry['id']}", headers=auth).status_code == 204
    assert bulk(client, auth, [NUMBER])[0]["blacklisted"] is False


def test_phone_numbers_in_bulk_take_no_email_addresses(client, auth):
    put(client, auth, "block", None, None, address="jan@example.com")

    (result,) = bulk(client, auth, ["jan@example.com"], key="phone_numbers")

    assert (result["valid"], result["blacklisted"]) == (False, False)


def test_another_accounts_entries_never_decide(client, auth, make_token):
    other = {"Authorization": f"Bearer {make_token('other')}"}
    put(client, other, "block", "sms", "ACME")
    add(client, other, NUMBER)

    assert check(client, auth, channel="sms", sender="ACME")["decision"] is None
    assert bulk(client, auth, [NUMBER], "sms", "ACME")[0]["decision"] is None


def test_phone_number_and_address_together_conflict(client, auth):
    response = client.get(CHECK, params={"phone_number": NUMBER, "address": NUMBER}, headers=auth)

    assert_error(response, 400, "conflicting_parameters")


def test_phone_numbers_and_addresses_together_conflict(client, auth):
    response = client.post(CHECK, json={"phone_numbers": [NUMBER], "addresses": [NUMBER]}, headers=auth)

    assert_error(response, 400, "conflicting_parameters")


@pytest.mark.parametrize("channel", ["fax", "whats app", "EMAIL2"])
def test_an_invalid_channel_in_a_check_is_invalid_scope(client, auth, channel):
    assert_error(client.get(CHECK, params={"address": NUMBER, "channel": channel}, headers=auth), 400, "invalid_scope")
    assert_error(client.post(CHECK, json={"addresses": [NUMBER], "channel": channel}, headers=auth), 400, "invalid_scope")


def test_a_sender_too_long_in_a_check_is_invalid_scope(client, auth):
    assert_error(client.get(CHECK, params={"address": NUMBER, "sender": "S" * 65}, headers=auth), 400, "invalid_scope")
    assert_error(client.post(CHECK, json={"addresses": [NUMBER], "sender": "S" * 65}, headers=auth), 400, "invalid_scope")


def test_a_channel_in_any_case_is_that_channel(client, auth):
    block = put(client, auth, "block", "whatsapp", None)

    assert check(client, auth, channel="WhatsApp")["decision"]["entry"]["id"] == block["id"]
    assert bulk(client, auth, [NUMBER], "WHATSAPP")[0]["blacklisted"] is True


def test_a_garbage_address_in_a_single_check_is_invalid_address(client, auth):
    assert_error(client.get(CHECK, params={"address": "jan@"}, headers=auth), 400, "invalid_address")
    assert_error(client.get(CHECK, params={"phone_number": "jan@example.com"}, headers=auth), 400, "invalid_phone_number")
