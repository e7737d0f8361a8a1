"""Unit tests for stoplist.lists.senders and the scope words of stoplist.lists.service: one key per sender, one rule for "every"."""

import pytest

from stoplist.errors import InvalidListScope
from stoplist.lists.senders import is_scope_word, other_sender_keys, sender_key
from stoplist.lists.service import EVERY_IN_QUERY, EVERY_SENDER, Sender, channel_of, scope_of, sender_of


@pytest.mark.parametrize(
    ("text", "region", "key"),
    [
        ("ACME", None, "acme"),
        (" Acme\t", None, "acme"),
        ("Straße", None, "strasse"),  # case folding, not lower(): ß and SS are one
        ("ΣΟΦΙΑ", None, "σοφια"),
        ("Shop, Inc.", None, "shop, inc."),
        ("+48 500 000 000", None, "48500000000"),  # a phone number: its E.164 digits, in any spelling
        ("48500000000", None, "48500000000"),
        ("0048-500-000-000", None, "48500000000"),
        ("(+48) 500.000.000", None, "48500000000"),
        ("500 000 000", "PL", "48500000000"),  # national, read with the region as addresses are
        ("500 000 000", None, "500 000 000"),  # without one it is no valid number: a name like any other
        ("7726", None, "7726"),  # a short code is no phone number
        ("1-800-FLOWERS", None, "1-800-flowers"),
        ("", None, ""),
        ("   ", None, ""),
    ],
)
def test_a_sender_key_is_its_e164_digits_or_its_folded_text(text: str, region: str | None, key: str) -> None:
    assert sender_key(text, region) == key
    assert sender_key(key, region) == key  # a key is its own key


@pytest.mark.parametrize("word", ["every", "EVERY", " Every ", "all", "All", "*", " * ", "\tall\n"])
def test_every_all_and_star_are_scope_words_in_any_case_and_space(word: str) -> None:
    assert is_scope_word(word)


@pytest.mark.parametrize("name", ["everyone", "all-in", "**", "ACME", "", "every sender"])
def test_other_names_are_no_scope_words(name: str) -> None:
    assert not is_scope_word(name)


def test_sender_of_gives_the_key_and_the_trimmed_spelling() -> None:
    assert sender_of(None, default_region=None) == sender_of("", default_region=None) == sender_of("  ", default_region=None) == EVERY_SENDER
    assert sender_of(" ACME ", default_region=None) == Sender("acme", "ACME")
    assert sender_of("ACME", default_region=None).shown == "ACME"
    assert sender_of("acme", default_region=None).shown is None  # given as its key: nothing else to show
    assert scope_of("block", "sms", sender_of("ACME", default_region=None)) == scope_of("block", "sms", Sender("acme", "ACME"))


@pytest.mark.parametrize("field", ["channel", "sender"])
def test_a_scope_word_is_refused_with_how_to_say_every(field: str) -> None:
    read = channel_of if field == "channel" else (lambda raw, **kw: sender_of(raw, default_region=None, **kw))
    with pytest.raises(InvalidListScope) as refused:
        read(" All ")
    assert refused.value.message == f"{field} 'All' is not a {field}: leave {field} out, or send null, for every {field}."
    with pytest.raises(InvalidListScope) as refused:
        read("*", every=EVERY_IN_QUERY, path="query.x")
    assert refused.value.message == f"{field} '*' is not a {field}: leave {field} out for every {field}."
    assert refused.value.errors[0].path == "query.x"


@pytest.mark.parametrize(
    ("text", "region", "others"),
    [
        ("500 000 000", "PL", ("500 000 000",)),  # keyed as text before the region was set
        ("508412345", "PL", ("508412345",)),  # +508 41 23 45's digits, read as international
        ("508 41 23 45", "PL", ("508412345",)),
        ("+508 41 23 45", "PL", ()),  # a '+' says which
        ("48500000000", "PL", ()),  # the same number either way
        ("ACME", "PL", ()),
        ("500 000 000", None, ()),  # no region: one reading
        ("", "PL", ()),  # every sender
    ],
)
def test_a_senders_other_keys_are_its_readings_without_the_region(text: str, region: str | None, others: tuple) -> None:
    assert other_sender_keys(text, region) == others
    assert sender_key(text, region) not in others
