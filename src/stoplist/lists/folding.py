"""When two spellings of a sender or of an e-mail address's local part are one: the fold their keys are made with. Pure.

Case is folded (`ACME`, `acme`), and so is width: the full-width and half-width forms that East Asian
keyboards type (`ＡＣＭＥ`, `＋４８５００…`, `ｊｏｓé`) are the characters they stand for, as Unicode's
compatibility mappings `<wide>` and `<narrow>` say. Those map one character to one, so a key is never
longer than case folding alone makes it (the columns' lengths hold). The other compatibility forms
(ligatures, superscripts, circled letters) are left as they are: they are not how anyone types a name.
Then NFC, as email-validator gives local parts. Idempotent: folding a key changes nothing.
"""

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
