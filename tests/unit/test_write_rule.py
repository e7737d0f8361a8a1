"""The one rule of a write (lists.writer.rule.decide), which the single-entry and the bulk paths both ask."""

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from stoplist.lists.schemas import DEFAULT_REASON, REASONS
from stoplist.lists.writer.rule import ADD, KEEP, UNCHANGED, UPDATE, State, Stored, decide

NOW = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
expiries = st.sampled_from([None, NOW - timedelta(days=1), NOW, NOW + timedelta(days=1), NOW + timedelta(days=2)])
reasons = st.sampled_from(REASONS)
notes = st.sampled_from([None, "a note", "another"])
stored_entries = st.one_of(st.none(), st.builds(Stored, st.integers(1, 9), expiries, reasons, notes))


@given(stored=stored_entries, expire_at=st.one_of(st.just(KEEP), expiries), reason=st.one_of(st.none(), reasons), note=st.one_of(st.just(KEEP), notes))
def test_the_latest_instruction_wins_and_what_it_leaves_unsaid_is_kept(stored, expire_at, reason, note):
    outcome = decide(stored, expire_at=expire_at, reason=reason, note=note, now=NOW)
    live = stored is not None and (stored.expire_at is None or stored.expire_at > NOW)
    if not live:
        # Absent or lapsed: a new entry, the lapsed one expired first; what is unsaid takes its default.
        assert outcome.op == ADD and outcome.before is None
        assert outcome.expires == (None if stored is None else stored.id)
        assert outcome.after == State(None if expire_at is KEEP else expire_at, reason or DEFAULT_REASON, None if note is KEEP else note)
        return
    assert outcome.expires is None and outcome.before == State(*stored[1:])
    assert outcome.after == State(
        stored.expire_at if expire_at is KEEP else expire_at, reason or stored.reason, stored.note if note is KEEP else note
    )
    assert outcome.op == (UNCHANGED if outcome.after == outcome.before else UPDATE)


def test_an_instruction_that_says_nothing_new_is_unchanged_and_one_that_clears_a_note_is_not():
    stored = Stored(1, None, "complaint", "by phone")
    assert decide(stored, expire_at=None, reason=None, note=KEEP, now=NOW).op == UNCHANGED
    assert decide(stored, expire_at=KEEP, reason="complaint", note="by phone", now=NOW).op == UNCHANGED
    cleared = decide(stored, expire_at=KEEP, reason=None, note=None, now=NOW)
    assert (cleared.op, cleared.after) == (UPDATE, State(None, "complaint", None))


@given(stored=stored_entries, expire_at=st.one_of(st.just(KEEP), expiries), note=st.one_of(st.just(KEEP), notes))
def test_a_reason_left_unsaid_is_kept_whichever_way_it_is_said(stored, expire_at, note):
    """KEEP (an edit, a batch item) and None (an import row) both keep the entry's reason, or give a new one the default."""
    assert decide(stored, expire_at=expire_at, reason=KEEP, note=note, now=NOW) == decide(stored, expire_at=expire_at, reason=None, note=note, now=NOW)
