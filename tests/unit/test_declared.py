"""The OpenAPI document's schemas accept what the code that reads each value accepts, and nothing else.

Each schema is checked, as a JSON Schema engine reads it (ECMA-262 patterns, formats asserted), against
the function that reads the value, over text made to find where the two could part: the values in
every case, every character str.strip() removes, characters that lower or fold to a letter of them
(the Kelvin sign is a k to str.lower), controls, and anything else. Where they part on purpose, the
test says which way, as the spec's marks do.
"""

import functools
import json
from datetime import datetime, timezone

import hypothesis
import jsonschema_rs
import pytest
from hypothesis import strategies as st

from stoplist.audit.origin import EARLIEST_RECEIVED, EVIDENCE_SCHEMA, RECEIVED_AT_SCHEMA, evidence_of, received_at_of
from stoplist.declared import any_case, blank_characters, character_class, component, linked, nullable, trimmed
from stoplist.errors import StoplistError
from stoplist.history.service import cursor_of
from stoplist.lists.expiry import parse_expire_at
from stoplist.lists.phone import normalize_phone_number, search_digits
from stoplist.lists.precedence import CHANNELS, KINDS
from stoplist.lists.schemas import MAX_SENDER, REASONS, declared_schemas
from stoplist.lists.senders import SCOPE_WORDS
from stoplist.lists.cursors import Cursor, make_cursor, read_cursor
from stoplist.lists.schemas import EntryOrder
from stoplist.lists.service import channel_of, kind_of, note_of, reason_of, sender_of

COMPONENTS = declared_schemas()
SETTINGS = hypothesis.settings(max_examples=400, deadline=None, database=None, derandomize=True)


def valid(schema: dict, value: object) -> bool:
    return _validator(json.dumps(schema, sort_keys=True)).is_valid(value)


@functools.cache
def _validator(schema: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator({**json.loads(schema), "components": {"schemas": COMPONENTS}}, validate_formats=True)


def accepts(read, value: object) -> bool:
    try:
        read(value)
    except StoplistError:
        return False
    return True


# Characters where a schema and the code could disagree: every one str.strip() removes, some it
# does not (U+FEFF, U+200B, U+180E), controls, and characters that lower or fold to ASCII letters.
ODD = sorted(blank_characters()) + ["\ufeff", "\u200b", "\u180e", "\x00", "\x7f", "\x85", "\u212a", "\u017f", "\u0130", "\u0131", "ß", "*", "_", "-", "é"]


def spellings(words) -> st.SearchStrategy[str]:
    """One of `words` with each letter in either case or swapped for an odd character, white space around it, or other text."""

    def spell(word: str, cases: list[int], before: str, after: str) -> str:
        letters = [(letter.upper(), letter, ODD[case % len(ODD)])[case % 3] if case % 7 else letter for letter, case in zip(word, cases)]
        return before + "".join(letters) + after

    spaced = st.text(alphabet=st.sampled_from(ODD[:12] + [" ", "\t", "\ufeff"]), max_size=3)
    word = st.sampled_from(list(words)).flatmap(lambda w: st.builds(spell, st.just(w), st.lists(st.integers(0, 60), min_size=len(w), max_size=len(w)), spaced, spaced))
    return st.one_of(word, st.text(alphabet=st.sampled_from(ODD + list("abcdeklmnorsuvwy+0189 ")), max_size=12), st.text(max_size=20))


@pytest.mark.parametrize(
    ("name", "read", "words"),
    [("Channel", channel_of, CHANNELS), ("ListKind", kind_of, KINDS), ("Reason", reason_of, REASONS)],
)
def test_a_value_read_in_any_case_is_declared_exactly(name, read, words) -> None:
    @SETTINGS
    @hypothesis.given(spellings(words))
    def agree(text: str) -> None:
        assert valid(COMPONENTS[name], text) == accepts(read, text), text

    agree()
    assert COMPONENTS[name]["x-canonical"] == list(words)


def test_the_kelvin_sign_is_a_k_to_the_code_and_to_the_schema() -> None:
    assert kind_of("BLOC\u212a") == "block"
    assert valid(COMPONENTS["ListKind"], "BLOC\u212a")
    assert "\\u212a" in any_case(["k"])


def test_a_channel_left_empty_or_blank_means_every_channel() -> None:
    assert channel_of("") == channel_of(" \t") == channel_of(None) == ""
    assert valid(COMPONENTS["Channel"], " \t")


def test_a_sender_is_declared_exactly_but_for_the_characters_unicode_adds() -> None:
    @SETTINGS
    @hypothesis.given(st.one_of(spellings(sorted(SCOPE_WORDS) + ["ACME", "Shop, Inc."]), st.text(min_size=60, max_size=70)))
    def agree(text: str) -> None:
        accepted = accepts(lambda raw: sender_of(raw, default_region=None), text)
        if accepted:
            assert valid(COMPONENTS["Sender"], text), text
        elif valid(COMPONENTS["Sender"], text):
            # SENDER_NOT_PRINTABLE: format, private-use and unassigned characters.
            assert not text.strip().isprintable(), text

    agree()
    assert valid(COMPONENTS["Sender"], " " + "x" * MAX_SENDER + "\u3000")
    assert not valid(COMPONENTS["Sender"], "x" * (MAX_SENDER + 1))


def test_a_search_for_part_of_a_number_is_declared_exactly() -> None:
    @SETTINGS
    @hypothesis.given(st.one_of(spellings(["+48 500", "(500) 00-1", "5.0/1"]), st.text(alphabet=st.sampled_from(ODD + list("+0123 -./()")), max_size=70)))
    def agree(text: str) -> None:
        assert valid(COMPONENTS["NumberSearch"], text) == accepts(search_digits, text), text

    agree()


def test_every_number_the_server_takes_is_of_the_declared_shape() -> None:
    """Whether the digits make a number on its plan is beyond the schema (NOT_ON_PLAN); the converse holds."""

    @SETTINGS
    @hypothesis.given(spellings(["+48 500 000 000", "0048-500-000-000", "(+48) 500.000.000", "+1 202 555 0123"]))
    def agree(text: str) -> None:
        if accepts(normalize_phone_number, text):
            assert valid(COMPONENTS["PhoneNumber"], text), text

    agree()
    assert not valid(COMPONENTS["PhoneNumber"], "1-800-FLOWERS") and not valid(COMPONENTS["PhoneNumber"], " ")


def test_a_cursor_given_out_is_declared_and_one_out_of_its_alphabet_refused() -> None:
    moment = datetime(2026, 11, 22, 10, tzinfo=timezone.utc)
    cursor = make_cursor(Cursor(EntryOrder.address, "0123456789abcdef", moment, ("jan.kowalski+ż@example.com", 123456789012345678)))
    assert read_cursor(cursor) == Cursor(EntryOrder.address, "0123456789abcdef", moment, ("jan.kowalski+ż@example.com", 123456789012345678))
    assert valid(COMPONENTS["EntryCursor"], cursor) and accepts(read_cursor, cursor)
    # The decoder skips characters outside its alphabet; the server does not.
    for spoilt in (cursor[:4] + "!" + cursor[4:], cursor + "=", cursor + "\n", " " + cursor):
        assert not valid(COMPONENTS["EntryCursor"], spoilt) and not accepts(read_cursor, spoilt), spoilt


def test_a_feed_cursor_is_declared_exactly() -> None:
    from stoplist.app import create_app
    from stoplist.config import Settings

    operation = create_app(Settings(database_url="sqlite:///:memory:")).openapi()["paths"]["/blacklist/changes"]["get"]
    after = next(parameter["schema"] for parameter in operation["parameters"] if parameter["name"] == "after")
    cursors = st.builds(lambda seq, check: f"{seq}-{check}" if check is not None else str(seq), st.integers(0, 10**18), st.one_of(st.none(), st.text("0123456789abcdef", min_size=16, max_size=16)))

    @SETTINGS
    @hypothesis.given(st.one_of(
        cursors, cursors.map(lambda cursor: cursor + "\n"), st.text(alphabet=st.sampled_from("0123456789abcdefA٣ \n+-"), max_size=40), st.text(max_size=20),
    ))
    def agree(text: str) -> None:
        assert valid(after, text) == accepts(cursor_of, text), text

    agree()


def test_free_text_is_declared_exactly() -> None:
    note = nullable({"type": "string", "maxLength": 500, "pattern": "^[^\\u0000]*$"})

    @SETTINGS
    @hypothesis.given(st.one_of(st.none(), st.text(max_size=5), st.text(min_size=495, max_size=505), st.text(min_size=995, max_size=1005)))
    def agree(text: str | None) -> None:
        assert valid(note, text) == accepts(note_of, text), text
        if text is not None:
            assert valid(EVIDENCE_SCHEMA, text) == accepts(evidence_of, text), text

    agree()


EPOCH = datetime(1, 1, 1, tzinfo=timezone.utc)
MOMENTS = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9998, 12, 31))


def rfc3339(moment: datetime, offset: int, *, fraction: bool, t: str, z: str) -> str:
    text = moment.strftime(f"%Y-%m-%d{t}%H:%M:%S") + (f".{moment.microsecond:06d}" if fraction else "")
    return text + (z if offset == 0 else f"{'+' if offset > 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}")


def test_every_date_and_date_time_of_the_schema_is_read() -> None:
    """RFC 3339's date and date-time, and the same without an offset, are read as the schema says; a
    moment not in the future is refused beyond it (EXPIRE_AT_BEYOND_SCHEMA), so `now` is the first day."""
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59)
    spelled = st.one_of(
        st.builds(rfc3339, MOMENTS, offsets, fraction=st.booleans(), t=st.sampled_from("Tt"), z=st.sampled_from("Zz")),
        MOMENTS.map(lambda moment: moment.strftime("%Y-%m-%d")),
        MOMENTS.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S")),
    )

    @SETTINGS
    @hypothesis.given(spelled)
    def agree(text: str) -> None:
        assert valid(COMPONENTS["ExpireAt"], text), text
        assert accepts(lambda raw: parse_expire_at(raw, now=EPOCH), text), text
        if len(text) > 10 and (text[-1] in "Zz" or text[-6] in "+-"):
            # A moment before 1970 is refused beyond the schema (EVIDENCE_BEYOND_SCHEMA), as one in the future is.
            moment = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
            try:
                since_1970 = moment.astimezone(timezone.utc) >= EARLIEST_RECEIVED
            except OverflowError:  # outside the calendar in UTC: refused too
                since_1970 = False
            assert valid(RECEIVED_AT_SCHEMA, text)
            assert accepts(lambda raw: received_at_of(raw, now=datetime(9999, 12, 31, tzinfo=timezone.utc)), text) == since_1970, text

    agree()


@pytest.mark.parametrize("never", [None, "", "  ", "null", " NULL\t", "Null"])
def test_never_is_declared_as_the_code_reads_it(never) -> None:
    assert valid(COMPONENTS["ExpireAt"], never) and parse_expire_at(never, now=EPOCH) is None


@pytest.mark.parametrize("text", ["tomorrow", "2099-13-01", "2099-12-01T", "nulll", "2099-12-01T25:00:00Z", 20991201])
def test_what_is_no_date_is_refused_by_both(text) -> None:
    assert not valid(COMPONENTS["ExpireAt"], text) and not accepts(lambda raw: parse_expire_at(raw, now=EPOCH), text)


@pytest.mark.parametrize("text", [" 2099-12-01 ", "2099-W48-2", "2099-12-01 10:00:00Z", "20991201T100000Z", "2099-12-01T10Z", "2099-12-01T10:00"])
def test_the_spellings_read_beyond_the_schema_are_the_ones_the_spec_lists(text) -> None:
    """EXPIRE_AT_ACCEPTED and RECEIVED_AT_ACCEPTED: ISO 8601 that Python reads beyond RFC 3339."""
    assert not valid(COMPONENTS["ExpireAt"], text) and accepts(lambda raw: parse_expire_at(raw, now=EPOCH), text)
    if text.strip()[-1] == "Z":
        assert not valid(RECEIVED_AT_SCHEMA, text) and accepts(lambda raw: received_at_of(raw, now=datetime(9999, 12, 31, tzinfo=timezone.utc)), text)


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_moment_outside_the_calendar_in_utc_is_refused_not_a_crash(text) -> None:
    assert not accepts(lambda raw: received_at_of(raw, now=datetime(2026, 1, 1, tzinfo=timezone.utc)), text)
    assert not accepts(lambda raw: parse_expire_at(raw, now=EPOCH), text)


def test_a_class_spells_ranges_for_every_engine() -> None:
    assert character_class("abcx-") == "[\\-a-cx]"
    assert character_class([" ", "\t"], negated=True) == "[^\\u0009\\u0020]"
    with pytest.raises(ValueError):
        character_class(["\U0001f600"])


def test_a_fold_that_turns_one_character_into_two_letters_cannot_be_declared() -> None:
    with pytest.raises(ValueError, match="ß"):
        any_case(["strasse"], fold=str.casefold)


def test_trimmed_takes_exactly_the_white_space_strip_removes() -> None:
    pattern = {"type": "string", "pattern": trimmed("x")}
    assert all(valid(pattern, f"{space}x{space}") for space in blank_characters())
    assert not valid(pattern, "\ufeffx") and "\ufeffx".strip() != "x"


def test_linking_writes_references_and_refuses_an_unknown_component() -> None:
    document = {"paths": {"/x": {"get": {"parameters": [{"schema": component("Channel")}]}}}}
    assert linked(document, {"Channel": {"type": "string"}}) == {
        "paths": {"/x": {"get": {"parameters": [{"schema": {"$ref": "#/components/schemas/Channel"}}]}}},
        "components": {"schemas": {"Channel": {"type": "string"}}},
    }
    assert document["paths"]["/x"]["get"]["parameters"][0]["schema"] == component("Channel")  # the marked schema is left as it was
    with pytest.raises(ValueError):
        linked({"x": component("Nothing")}, {})
