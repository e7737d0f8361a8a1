"""StrictRequests reads parameter names by hand (it runs before every check): exactly as parse_qsl would."""

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings, strategies as st

from stoplist.errors import ValidationFailed
from stoplist.web import query_names, query_values

PIECES = st.sampled_from(["a", "phone_number", "=", "&", "%2B", "%", "+", "%3D", "%26", "", "é", "%C3%A9", "%ZZ", ";", " ", "==", "%aa", "%C3"])


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_names_are_those_parse_qsl_reads(text: str):
    query = text.encode("latin-1", errors="replace")

    assert query_names(query) == [name for name, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)]


@settings(max_examples=2000, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join))
def test_the_values_are_those_parse_qsl_reads(text: str):
    query = text.encode("latin-1", errors="replace")
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        # Escapes that spell no UTF-8 text are refused, where parse_qsl would read them as U+FFFD.
        with pytest.raises(ValidationFailed, match="not UTF-8"):
            query_values(query)
        return

    # Names given twice are refused before this is read; with one of each, the value is parse_qsl's.
    if len({name for name, _ in pairs}) == len(pairs):
        assert query_values(query) == dict(pairs)


def test_names_without_values_and_empty_pairs():
    assert query_names(b"phone_number=%2B48&&flag&x=1=2") == ["phone_number", "flag", "x"]
