"""lists.folding: when two spellings of a sender or an e-mail local part are one (case and width)."""

import sys
import unicodedata

import hypothesis
from hypothesis import strategies as st

from stoplist.lists.folding import WIDTH, folded, unwidened


def test_every_wide_or_narrow_character_of_unicode_is_folded():
    expected = {}
    for code in range(sys.maxunicode + 1):
        tag, _space, target = unicodedata.decomposition(chr(code)).partition(" ")
        if tag in ("<wide>", "<narrow>"):
            expected[code] = "".join(chr(int(point, 16)) for point in target.split())
    assert WIDTH == expected
    assert all(len(target) == 1 for target in WIDTH.values())  # one for one: no key grows


def test_the_spellings_people_type_are_one():
    assert folded("ＡＣＭＥ") == folded("acme") == folded("ACME") == "acme"
    assert unwidened("＋４８ ５００") == "+48 500"
    assert folded("ｊｏｓé") == folded("JOSÉ") == "josé"
    assert folded("ｶﾞ") == "ガ"  # half-width katakana and its voiced mark compose (NFC)
    assert unwidened("\u3000x\u3000") == " x "  # the ideographic space is a space


@hypothesis.settings(max_examples=3000, deadline=None)
@hypothesis.given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_folding_a_key_changes_nothing_and_it_grows_no_more_than_case_folding(text):
    key = folded(text)
    assert folded(key) == key
    assert len(key) <= len(unicodedata.normalize("NFC", text.casefold()))  # what case folding alone made: the columns hold it
    assert len(unwidened(text)) == len(text)


def test_a_number_pasted_or_typed_otherwise_reads_as_the_ascii_it_stands_for():
    from stoplist.lists.folding import plain_number

    assert plain_number("\u200e+44\u00a020\u20137946\u202f0958\u200f") == "+44 20-7946 0958"
    assert plain_number("＋４８（５００）．０００／０００") == "+48(500).000/000"
    assert plain_number("٤٨٥٠٠\u2212١") == "48500-1"
    assert plain_number("+48 500") == "+48 500"  # ASCII as it is
