"""When two spellings of a sender or of an e-mail address's local part are one: the fold their keys are made with. Pure.

Case is folded (`ACME`, `acme`), and so is width: the full-width and half-width forms that East Asian
keyboards type (`ＡＣＭＥ`, `＋４８５００…`, `ｊｏｓé`) are the characters they stand for, as Unicode's
compatibility mappings `<wide>` and `<narrow>` say. Those map one character to one, so a key is never
longer than case folding alone makes it (the columns' lengths hold). The other compatibility forms
(ligatures, superscripts, circled letters) are left as they are: they are not how anyone types a name.
Then NFC, as email-validator gives local parts. Idempotent: folding a key changes nothing.
"""

import functools
import unicodedata

# The ideographic space and the Halfwidth and Fullwidth Forms block: every character of Unicode whose
# decomposition is <wide> or <narrow> lies there (checked by tests/unit/test_folding.py over all of Unicode).
_WIDTH_RANGES = ((0x3000, 0x3001), (0xFF00, 0xFFF0))


def _width_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for start, end in _WIDTH_RANGES:
        for code in range(start, end):
            tag, _space, target = unicodedata.decomposition(chr(code)).partition(" ")
            if tag in ("<wide>", "<narrow>"):
                table[code] = "".join(chr(int(point, 16)) for point in target.split())
    return table


WIDTH = _width_table()


def unwidened(text: str) -> str:
    """`text` with its full-width and half-width characters as the ones they stand for (`＋４８` -> `+48`)."""
    return text if text.isascii() else text.translate(WIDTH)


def folded(text: str) -> str:
    """The key of `text` as senders and e-mail local parts are matched: width and case folded, then NFC."""
    return unicodedata.normalize("NFC", unwidened(text).casefold())


# A phone number as it comes pasted from a word processor or a web page, or typed on another keyboard:
# digits of any script (`＋４８`, `٤٨`), spaces that do not break (U+00A0, U+202F), dashes that are no
# hyphen-minus (en dash, minus sign), and the invisible marks around them (left-to-right marks, zero-width
# spaces, a byte order mark). Each is what it stands for, so that such a spelling is the number it spells.
_INVISIBLE_MARKS = "\u200b\u200c\u200d\u200e\u200f\u2060\ufeff\u061c" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A)))


@functools.cache
def number_spellings() -> dict[int, str]:
    """The translation plain_number applies: every non-ASCII character it reads, and what it reads it as."""
    table: dict[int, str] = {}
    # The Basic Multilingual Plane: its digits are every script's in use (beyond it, historic ones, and the
    # mathematical alphabets), and the document's patterns can spell it in every regex engine.
    for code in range(0x80, 0x10000):
        character = chr(code)
        category = unicodedata.category(character)
        if category == "Nd":
            table[code] = str(unicodedata.decimal(character))
        elif category == "Zs":
            table[code] = " "
        elif category == "Pd" or character == "\u2212":  # dashes, and the minus sign people type for one
            table[code] = "-"
    table.update({code: target for code, target in WIDTH.items() if target in "+.()/"})
    table.update({ord(mark): "" for mark in _INVISIBLE_MARKS})
    return table


def plain_number(text: str) -> str:
    """`text` with the characters of number_spellings as the ASCII they stand for (ASCII text as it is)."""
    return text if text.isascii() else text.translate(number_spellings())
