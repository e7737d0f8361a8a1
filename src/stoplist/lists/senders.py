"""Senders as lists are matched on them: one key per sender, whatever its spelling. Pure.

A sender is an identifier (an alphanumeric sender id, a short code, a number, an e-mail
sender's name), not text in a language: `ACME`, `acme`, ` Acme ` and full-width `ＡＣＭＥ` are one
sender (and `ACME  Bank` is `ACME Bank`: white space inside is one space), and so is a phone number in any spelling (`+48 500 000 000`, `0048500000000`, `＋４８…`). Lists store this key and are
matched on it; the spelling first given is kept beside it for display.
"""

import functools

from stoplist.lists.folding import folded, unwidened
from stoplist.lists.phone import international_reading, phone_number_or_none

# Words that mean "every sender" (or channel) to people but are no sender: refused, so that
# nobody ends up with a list of a sender literally named "every" that blocks nothing else.
SCOPE_WORDS = frozenset({"every", "all", "*"})


def is_scope_word(text: str) -> bool:
    """Whether `text`, in any case or width and with surrounding space, is one of SCOPE_WORDS."""
    return folded(text).strip() in SCOPE_WORDS


# Checks ask for the same few senders all day: each is folded (and tried as a phone number) once.
@functools.lru_cache(maxsize=4096)
def sender_key(text: str, default_region: str | None) -> str:
    """The key of a sender: the E.164 digits when it is a valid phone number (read as addresses are,
    with `default_region`, its full-width digits as digits), otherwise its text folded (lists.folding:
    case and width, then NFC, as e-mail keys are), its white space one space. '' stays '' (every sender)."""
    text = " ".join(unwidened(text).split())
    if not text:
        return ""
    # phone_number_or_none refuses letters and any other character no number has.
    digits = phone_number_or_none(text, default_region=default_region)
    return digits if digits is not None else folded(text)


@functools.lru_cache(maxsize=4096)
def other_sender_keys(text: str, default_region: str | None) -> tuple[str, ...]:
    """The keys a sender may also have, besides sender_key(text, default_region): with a default region, digits it
    reads as a national number are also the sender as read without it (the key of a list made before the region was
    set: `500 000 000` as text, `0048…` as typed) and the international number they may be (`508412345`: +508 41 23 45,
    which Stoplist keys as its bare digits), as a check reads an address's digits both ways. () without a region, for
    every sender, and for a sender that reads the same either way."""
    key = sender_key(text, default_region)
    if default_region is None or not key:
        return ()
    others = dict.fromkeys((sender_key(text, None), international_reading(text, key, default_region) if key.isdigit() else None))
    return tuple(other for other in others if other is not None and other != key)
