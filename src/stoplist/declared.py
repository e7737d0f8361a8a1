"""How the OpenAPI document declares what the API reads: patterns derived from the Python that reads
the values, and references to the document's components. Pure.

The API reads some values loosely: in any case (`str.lower`, `str.casefold`) and with white space
around them (`str.strip`). A pattern hand-written from memory would drift from what the code
accepts; these are built from those very methods, over every code point, so that each accepts
exactly what the code does. They are spelled for every engine a JSON Schema may meet (ECMA-262,
Python's `re`, Rust's): explicit classes of `\\uXXXX` escapes, never `\\s` or `\\d`, whose
meaning differs between them. The scans take a fraction of a second, once, when the document is
first made.
"""

import copy
import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

# Free text as note_of and evidence_of take it: without NUL, which PostgreSQL cannot store. (Nor with an
# unpaired surrogate, which only a JSON escape can send and no engine's pattern can name.)
NO_NUL = "^[^\\u0000]*$"


# Of every query parameter that is a number (for the OpenAPI document's x-accepted-beyond-schema).
QUERY_NUMBER_ACCEPTED = (
    "read as pydantic reads a number from text: with white space around it, a '+', leading zeros and '_' between"
    " digits (' +0_10' is 10), none of which the text of a JSON number has"
)

# Marks a value that is one of the document's components. pydantic would take a `$ref` in a field's
# schema for one of its own definitions, so fields carry this mark, and linked() writes the references.
_COMPONENT = "x-stoplist-component"


def component(name: str) -> dict[str, str]:
    """The schema of a value that is the component `name` (one of declared_schemas'), as a reference once linked."""
    return {_COMPONENT: name}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def linked(document: dict[str, Any], components: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A copy of the document with `components` added and each value marked by component() written as a `$ref` to it.

    A copy: the marks are in module-level schemas that FastAPI and pydantic put in the document by reference.
    """

    def link(node: Any) -> Any:
        if isinstance(node, dict):
            copied = {key: link(value) for key, value in node.items() if key != _COMPONENT}
            if _COMPONENT in node:
                if node[_COMPONENT] not in components:
                    raise ValueError(f"no component {node[_COMPONENT]!r} is declared")
                copied["$ref"] = f"#/components/schemas/{node[_COMPONENT]}"
            return copied
        if isinstance(node, list):
            return [link(value) for value in node]
        return node

    copied = link(document)
    copied.setdefault("components", {}).setdefault("schemas", {}).update(link(components))
    return copied


def replaced_by(schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """A json_schema_extra that puts `schema` in place of the type the framework derives from the annotation."""

    def replace(field_schema: dict[str, Any]) -> None:
        for key in ("type", "anyOf", "maxLength", "minLength", "pattern", "enum"):
            field_schema.pop(key, None)
        field_schema.update(copy.deepcopy(schema))

    return replace


def given_only(schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """replaced_by(schema), without a default: a field of an edit that is left out changes nothing, so it has none."""
    replace = replaced_by(schema)

    def extra(field_schema: dict[str, Any]) -> None:
        replace(field_schema)
        field_schema.pop("default", None)

    return extra


# Written with a backslash: ECMA-262's syntax characters, and '-' in a class (in Unicode mode it refuses any other escape).
_SYNTAX = set("^$\\.*+?()[]{}|/")


def _escaped(character: str, *, in_class: bool = True) -> str:
    """`character` as a pattern spells it, inside a class or out of one, for every engine."""
    if character in _SYNTAX or (in_class and character == "-"):
        return "\\" + character
    if character.isascii() and character.isprintable() and character != " ":
        return character
    code = ord(character)
    if code > 0xFFFF:
        raise ValueError(f"U+{code:04X} has no spelling every regex engine reads")
    return f"\\u{code:04x}"


def character_class(characters: Iterable[str], *, negated: bool = False) -> str:
    """A bracket expression of `characters`, runs of code points written as ranges."""
    codes = sorted({ord(character) for character in characters})
    runs: list[list[int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])
    parts = (_escaped(chr(first)) + ("" if first == last else "-" + _escaped(chr(last))) for first, last in runs)
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


@functools.cache
def blank_characters() -> frozenset[str]:
    """Every character `str.strip()` removes."""
    return frozenset(character for character in map(chr, range(sys.maxunicode + 1)) if character.isspace())


@functools.cache
def control_characters() -> frozenset[str]:
    """Unicode's control characters (category Cc), which Unicode has promised never to change."""
    return frozenset(character for character in map(chr, range(sys.maxunicode + 1)) if unicodedata.category(character) == "Cc")


def blank() -> str:
    """One character `str.strip()` removes."""
    return character_class(blank_characters())


@functools.cache
def _spellings(fold: Callable[[str], str], words: tuple[str, ...]) -> dict[str, frozenset[str]]:
    """For each character of `words`, every character that `fold` turns into it."""
    letters = set("".join(words))
    found: dict[str, set[str]] = {letter: {letter} for letter in letters}
    for character in map(chr, range(sys.maxunicode + 1)):
        folded = fold(character)
        if folded in found:
            found[folded].add(character)
        elif len(folded) > 1 and any(folded in word for word in words):
            # 'ß' folds to 'ss': one character for two letters, which a class per letter cannot say.
            raise ValueError(f"{character!r} folds to {folded!r}, part of one of {words}: no pattern of one class per letter matches it")
    return {letter: frozenset(characters) for letter, characters in found.items()}


def any_case(words: Iterable[str], *, fold: Callable[[str], str] = str.lower) -> str:
    """A group matching any of `words` in any spelling that `fold` turns into it (`[kK\\u212a]` for `k`: the Kelvin sign lowers to k)."""
    words = tuple(words)
    spellings = _spellings(fold, words)

    def letter(character: str) -> str:
        options = spellings[character]
        return _escaped(character, in_class=False) if len(options) == 1 else character_class(options)

    return "(?:" + "|".join("".join(map(letter, word)) for word in words) + ")"


def trimmed(inner: str, *, optional: bool = False) -> str:
    """A whole-text pattern: `inner` with any white space `str.strip()` removes around it (or only white space, if `optional`)."""
    space = blank() + "*"
    if not inner:
        return f"^{space}$"
    return f"^{space}{inner}{'?' if optional else ''}{space}$"


def trimmed_run(edge: str, middle: str, max_length: int, *, optional: bool = False) -> str:
    """A whole-text pattern for text that, stripped, is 1 to `max_length` characters: `edge` first and last, `middle` between."""
    if max_length < 2:
        raise ValueError("a run of at most one character is `edge` alone: write trimmed(edge)")
    return trimmed(f"(?:{edge}(?:{middle}{{0,{max_length - 2}}}{edge})?)", optional=optional)


def spaced_printable() -> tuple[str, str]:
    """printable()'s classes, but white space of any kind inside: text whose runs of white space are read as one space."""
    excluded = control_characters() | blank_characters()
    return character_class(excluded, negated=True), character_class(control_characters() - blank_characters(), negated=True)


def printable() -> tuple[str, str]:
    """Classes of the characters of stripped, printable text: (at its ends, inside it).

    They leave out what `str.isprintable` refuses in every version of Unicode: control characters
    and white space (but the space, inside). The format, private-use and unassigned characters it
    refuses too change with each version, so no pattern of a committed document can name them.
    """
    excluded = control_characters() | blank_characters()
    return character_class(excluded, negated=True), character_class(excluded - {" "}, negated=True)


# "2026-12-06T10:43:09 01:00": an offset's + that a query string or a form body read as a space (here, where the
# date filters, expire_at and the trail's received_at all find it).
_SPACED_OFFSET = re.compile(r".*[0-9] [0-9]{2}:?[0-9]{2}")
_PLUS_IN_A_FORM = " (A + in a form body or a query string reads as a space: write an offset's + as %2B.)"


def spaced_offset(text: str) -> bool:
    """Whether `text` reads as a date-time whose offset's + became a space on the way."""
    return _SPACED_OFFSET.fullmatch(text.strip()) is not None


def plus_hint(text: str) -> str:
    """The hint for a body field's date-time whose offset's + became a space, or nothing."""
    return _PLUS_IN_A_FORM if spaced_offset(text) else ""
