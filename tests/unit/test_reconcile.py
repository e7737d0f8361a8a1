"""reconcile, pure: entries against their events, merged by id, each rule named."""

import json

from stoplist.audit.reconcile import EntryEvent, LiveEntry, reconcile

STATE = {"expire_at": None, "reason": "manual", "note": None}


def event(entry_id: int, seq: int, op: str, before: dict | None, after: dict | None) -> EntryEvent:
    return EntryEvent(entry_id, seq, op, json.dumps({"op": op, "before": before, "after": after}, ensure_ascii=True))


def test_histories_and_rows_are_merged_by_id_and_only_listed_entries_counted():
    noted = {**STATE, "note": "a\ud800b"}  # an unpaired surrogate: what orjson refuses and json reads
    events = [
        event(1, 1, "add", None, STATE), event(1, 4, "remove", STATE, None),
        event(2, 2, "add", None, STATE), event(2, 5, "update", STATE, noted),
        event(3, 3, "add", None, STATE),
    ]
    entries = [LiveEntry(2, noted), LiveEntry(3, STATE)]

    assert reconcile(7, events, entries, whole=True) == (2, None)


def test_each_rule_names_the_entry_it_breaks():
    cases = [
        ([event(1, 1, "add", None, STATE)], [], "leaves it listed, but it is not"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "expire", STATE, None)], [LiveEntry(1, STATE)], "it was put back"),
        ([event(1, 1, "add", None, STATE)], [LiveEntry(1, {**STATE, "reason": "bounce"})], "it was changed behind"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "update", {**STATE, "note": "x"}, STATE)], [LiveEntry(1, STATE)], "a change between them"),
        ([event(1, 1, "add", None, STATE), event(1, 2, "remove", STATE, None), event(1, 3, "add", None, STATE)], [LiveEntry(1, STATE)], "an entry that ended"),
        ([event(1, 2, "update", STATE, STATE)], [LiveEntry(1, STATE)], "its first event (2) is an update, not its add"),
        ([], [LiveEntry(1, STATE)], "no event records it"),
    ]
    for events, entries, said in cases:
        checked, found = reconcile(7, events, entries, whole=True)
        assert found is not None and (found.account_id, found.entry_id) == (7, 1) and said in found.problem, (said, found)


def test_with_events_dropped_by_retention_an_entry_without_its_add_is_no_alarm():
    entries = [LiveEntry(1, STATE), LiveEntry(2, {**STATE, "note": "kept"})]
    events = [event(2, 9, "update", STATE, {**STATE, "note": "kept"})]

    assert reconcile(7, events, entries, whole=False) == (2, None)
    assert reconcile(7, events, entries, whole=True)[1].entry_id == 1
