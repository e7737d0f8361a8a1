"""reconcile, pure: entries against their events, merged by id, each rule named."""

import json

import pytest

from stoplist.history.reconcile import EntryEvent, LiveEntry, reconcile

STATE = {"expire_at": None, "reason": "manual", "note": None}
BLOCK = {"kind": "block", "channel": None, "sender": None}


def event(entry_id: int, seq: int, op: str, before: dict | None, after: dict | None, address: str = "48500000001", scope: dict = BLOCK) -> EntryEvent:
    body = {"op": op, "before": before, "after": after, "address": address, "address_kind": "email" if "@" in address else "phone", "list": scope}
    return EntryEvent(entry_id, seq, op, json.dumps(body, ensure_ascii=True))


def listed(entry_id: int, state: dict = STATE, address: str = "48500000001", scope: tuple = ("block", "", "")) -> LiveEntry:
    return LiveEntry(entry_id, state, address, "email" if "@" in address else "phone", scope)


def test_histories_and_rows_are_merged_by_id_and_only_listed_entries_counted():
    noted = {**STATE, "note": "a\ud800b"}  # an unpaired surrogate: what orjson refuses and json reads
    events = [
        event(1, 1, "add", None, STATE), event(1, 4, "remove", STATE, None),
        event(2, 2, "add", None, STATE), event(2, 5, "update", STATE, noted),
        event(3, 3, "add", None, STATE),
    ]
    entries = [listed(2, noted), listed(3, STATE)]

    assert reconcile(7, events, entries, whole=True) == (2, None)


def test_each_rule_names_the_entry_it_breaks():
    cases = [
        ([event(1, 1, "add", None, STATE)], [], "leaves it listed, but it is not"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "expire", STATE, None)], [listed(1, STATE)], "it was put back"),
        ([event(1, 1, "add", None, STATE)], [listed(1, {**STATE, "reason": "bounce"})], "it was changed behind"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "update", {**STATE, "note": "x"}, STATE)], [listed(1, STATE)], "a change between them"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "remove", STATE, None), event(1, 3, "update", STATE, STATE)], [listed(1, STATE)], "an entry that ended"),
        ([event(1, 1, "add", None, STATE)], [listed(1, STATE, address="48999999999")], "it holds the address '48999999999'"),
        ([event(1, 1, "add", None, STATE)], [listed(1, STATE, scope=("allow", "", ""))], "it is on the list allow (channel every, sender every)"),
        ([event(1, 1, "add", None, STATE)], [listed(1, STATE, scope=("block", "sms", ""))], "it is on the list block (channel sms"),
        ([event(1, 1, "add", None, STATE, scope={**BLOCK, "sender": "Shop"})], [listed(1, STATE, scope=("block", "", "other"))], "sender other"),
        ([event(1, 2, "update", STATE, STATE)], [listed(1, STATE)], "its first event (2) is an update, not its add"),
        ([], [listed(1, STATE)], "no event records it"),
    ]
    for events, entries, said in cases:
        checked, found = reconcile(7, events, entries, whole=True)
        assert found is not None and (found.account_id, found.entry_id) == (7, 1) and said in found.problem, (said, found)


def test_spellings_migrations_folded_since_the_event_and_ids_given_out_again_are_no_alarm():
    events = [
        event(1, 1, "add", None, STATE, address="Jane.Doe@example.com", scope={**BLOCK, "sender": "ACME"}),
        event(2, 2, "add", None, STATE, scope={"kind": "block", "channel": "sms", "sender": "500 000 000"}),
        event(3, 3, "add", None, STATE), event(3, 4, "remove", STATE, None), event(3, 5, "add", None, STATE),
    ]
    entries = [
        listed(1, address="jane.doe@example.com", scope=("block", "", "acme")),
        listed(2, scope=("block", "sms", "48500000000")),  # keyed under a region, which verify need not share
        listed(3),
    ]

    assert reconcile(7, events, entries, whole=True) == (3, None)


@pytest.mark.parametrize(
    ("named", "key"),
    [("030 12345678", "493012345678"), ("06 12 34 56 78", "33612345678"), ("020 7946 0000", "442079460000"),
     ("５００ ０００ ０００", "48500000000"), ("＋４８ ５００ ０００ ０００", "48500000000"), ("0048500000000", "48500000000")],
)
def test_a_sender_in_digits_that_migration_0012_keyed_under_a_region_is_the_same_sender(named, key):
    """A review's false alarms: a national number with its trunk 0 (DE, FR, GB) and full-width digits (PL), keyed
    under the region the migration ran with, were read without it and taken for another list."""
    events = [event(1, 1, "add", None, STATE, scope={**BLOCK, "sender": named})]

    assert reconcile(7, events, [listed(1, scope=("block", "", key))], whole=True) == (1, None)
    other = key[:-1] + ("1" if key[-1] != "1" else "2")
    assert "it is on the list" in reconcile(7, events, [listed(1, scope=("block", "", other))], whole=True)[1].problem


def test_with_events_dropped_by_retention_an_entry_without_its_add_is_no_alarm():
    entries = [listed(1, STATE), listed(2, {**STATE, "note": "kept"})]
    events = [event(2, 9, "update", STATE, {**STATE, "note": "kept"})]

    assert reconcile(7, events, entries, whole=False) == (2, None)
    assert reconcile(7, events, entries, whole=True)[1].entry_id == 1
