"""Names people give accounts and tokens: what they may hold, and when two are one. Pure."""

import unicodedata

MAX_NAME = 100
# Invisible characters that would make two names look alike or reorder what a terminal shows: zero-width
# spaces and joiners' lookalikes, the byte order mark, and the direction marks, embeddings and isolates.
# (Zero-width joiners themselves stay: Persian words and emoji sequences need them.)
_INVISIBLE = frozenset("\u200b\u2060\ufeff\u200e\u200f\u061c") | frozenset(map(chr, range(0x202A, 0x202F))) | frozenset(map(chr, range(0x2066, 0x206A)))
# Controls (tabs, line breaks, escapes), line and paragraph separators, and lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
RULE = "control characters, line or paragraph separators, zero-width spaces or direction marks"


class InvalidName(ValueError):
    """A name that cannot be stored: its message says why."""


def valid_name(text: str, *, what: str = "a name") -> str:
    """`text` trimmed, if it is 1 to MAX_NAME characters of which none is refused; InvalidName otherwise."""
    name = text.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidName(f"{what} must have 1 to {MAX_NAME} characters")
    if any(character in _INVISIBLE or unicodedata.category(character) in _REFUSED_CATEGORIES for character in name):
        raise InvalidName(f"{what} must not hold {RULE}")
    return name


def name_key(name: str) -> str:
    """What account names are unique on: two names that differ only in case or in Unicode form are one."""
    return unicodedata.normalize("NFKC", name).casefold()


def shown(text: str) -> str:
    """`text` as a terminal may print it: every character a name may not hold written as its escape (`\\x1b`),
    for names stored before they were checked."""
    return "".join(
        character.encode("unicode_escape").decode("ascii") if character in _INVISIBLE or unicodedata.category(character) in _REFUSED_CATEGORIES else character
        for character in text
    )
