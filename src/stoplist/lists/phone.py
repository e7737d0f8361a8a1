"""Phone numbers: from whatever a user typed to the one canonical E.164 form.

This is the only place that reads raw numbers; everything past it sees the
E.164 digits without the `+` (`48500000000`), as SMSAPI returns them.
"""

import re
from collections.abc import Callable

import phonenumbers

from stoplist.errors import InvalidPhoneNumber, InvalidSearch
from stoplist.declared import blank_characters, character_class, component, trimmed, trimmed_run
from stoplist.lists.folding import number_spellings, plain_number
from stoplist.lists.plans import ACCEPTS, PLUS_DIGITS, fast_e164, verdict_of

MAX_INPUT_LENGTH = 64
# Digits plus the punctuation people put between them. Letters are refused on
# purpose: phonenumbers would read "1-800-FLOWERS" as digits.
NUMBER_CHARACTERS = "0123456789+-.()/ \t"
_ALLOWED = re.compile(f"^[{re.escape(NUMBER_CHARACTERS)}]+$")
# Why a number of the schema's shape may still be refused (for the OpenAPI document's x-semantic-errors).
NOT_ON_PLAN = (
    "whether the digits are a number on its country's numbering plan (phonenumbers' metadata: its country code,"
    " length and ranges), with a '+' only before them, no schema can say"
)
_SEPARATORS = re.compile(r"[\-.()/ \t]")
# A spreadsheet's float: digits and ".0" exactly (".00" or ".000" may be a dotted group of zeros: `+48500000.000`).
_FLOAT_SPELLING = re.compile(r"(\+?[0-9]{7,})\.0")
# The full path's is_valid_number recompiles its patterns once numbers from many countries overflow
# re's cache; phonenumbers can keep them (a process-wide switch, present in recent releases).
getattr(phonenumbers, "enable_pattern_cache", lambda: None)()
_NO_PREFIX_HINT = " (read as an international number; write national numbers with their +country code, or set STOPLIST_DEFAULT_REGION)"


def normalize_phone_number(raw: object, *, default_region: str | None = None, path: str = "phone_number") -> str:
    """Return the E.164 digits of `raw`, or raise InvalidPhoneNumber saying why."""
    if type(raw) is str and raw.isascii() and 7 < len(raw) <= 16 and (raw[1:] if raw[0] == "+" else raw).isdigit():
        text = compact = raw  # already compact ('+48500000000', or bare digits): the clean-up would change nothing
    else:
        text, compact = _clean(raw, path)
    return fast_e164(compact, default_region) or _resolve(text, compact, default_region, path)


def phone_number_or_none(raw: str | int, *, default_region: str | None = None) -> str | None:
    """What normalize_phone_number returns for `raw`, or None where it refuses it: for the bulk check, which
    answers `valid: false` instead. A '+' and digits, nearly every input there, take the fast path in one call."""
    if type(raw) is str and PLUS_DIGITS(raw):
        verdict = verdict_of(raw[1:])
        if verdict is not False:
            return verdict
    try:
        return normalize_phone_number(raw, default_region=default_region)
    except InvalidPhoneNumber:
        return None


def international_reading(raw: object, key: str, default_region: str | None) -> str | None:
    """The other number that digits without a prefix name where a default region read them as national (`key`):
    the same digits read as international, when that is a valid number other than `key`; None otherwise (no
    region, a '+' or '00' that says which, or no valid second reading). With STOPLIST_DEFAULT_REGION=PL,
    `508412345` is +48 508 412 345 and +508 41 23 45 alike, and Stoplist answers the latter's digits bare."""
    if default_region is None:
        return None
    spelling = raw if type(raw) is str else number_input(raw)  # a JSON number: its digits, 508412345.0 too
    if spelling is None:
        return None
    text = plain_number(str(spelling)).strip()
    if whole := _FLOAT_SPELLING.fullmatch(text):
        text = whole[1]  # as _clean reads it
    if text.startswith(("+", "00")):
        return None
    compact = _SEPARATORS.sub("", text)
    if not compact.isdigit():
        return None
    other = phone_number_or_none("+" + compact)
    return other if other is not None and other != key else None


def e164_reader(default_region: str | None) -> Callable[[object], str | None]:
    """phone_number_or_none of any JSON value (number_input's), for one default region: the bulk
    check's, called 10,000 times a request. A '+' and digits, nearly every input there, cost two
    look-ups and two pattern matches, with no call between them (what verdict_of does for them)."""
    plus_digits, accepts_of = PLUS_DIGITS, ACCEPTS.get

    def read(item: object) -> str | None:
        if type(item) is str and plus_digits(item):
            digits = item[1:]
            accepts = accepts_of(digits[:3])
            if accepts is None:
                return None  # no country code starts it
            verdict = accepts(digits)
            if verdict:
                return digits
            if verdict is None:
                return None  # refused by the rules phonenumbers would apply
        spelling = item if type(item) is str else number_input(item)
        return None if spelling is None else phone_number_or_none(spelling, default_region=default_region)

    return read


def _normalize_slow(raw: object, *, default_region: str | None = None, path: str = "phone_number") -> str:
    """normalize_phone_number without the fast path: always through phonenumbers.parse."""
    text, compact = _clean(raw, path)
    return _resolve(text, compact, default_region, path)


def _clean(raw: object, path: str) -> tuple[str, str]:
    """The trimmed input and its digits with an optional leading '+', or raise if it cannot be a number."""
    if raw is None:
        raise InvalidPhoneNumber("", "it is empty", path=path)
    text = str(raw).strip()
    if not text:
        raise InvalidPhoneNumber(text, "it is empty", path=path)
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(text[:MAX_INPUT_LENGTH] + "…", f"it is longer than {MAX_INPUT_LENGTH} characters", path=path)
    if not text.isascii():
        # Pasted or typed otherwise (a no-break space, an en dash, a left-to-right mark, full-width digits): what each
        # stands for, so that the spelling is the number it spells (a check of it must find the entry).
        text = plain_number(text).strip()
        if not text:
            raise InvalidPhoneNumber(text, "it is empty", path=path)
    if whole := _FLOAT_SPELLING.fullmatch(text):
        # A spreadsheet's number column saved as floats (4930123456.0): the number, as JSON's 4930123456.0 is read;
        # joined as a separator, the 0 would make another number (49301234560), listed while this one is not.
        text = whole[1]
    if not _ALLOWED.match(text):
        raise InvalidPhoneNumber(text, "only digits, '+', spaces and - . ( ) / are allowed", path=path)
    compact = _SEPARATORS.sub("", text)
    if compact.count("+") > 1 or ("+" in compact and not compact.startswith("+")):
        raise InvalidPhoneNumber(text, "'+' may only start the number", path=path)
    if not compact.lstrip("+"):
        raise InvalidPhoneNumber(text, "it has no digits", path=path)
    return text, compact


def _resolve(text: str, compact: str, default_region: str | None, path: str) -> str:
    """The full path: parse with phonenumbers, national first when a default region is set."""
    number = None
    if default_region and not compact.startswith("+"):
        number = _parse(text, default_region)
    if number is None or not phonenumbers.is_valid_number(number):
        international = _international_form(compact, national_allowed=default_region is not None)
        if international is None:
            raise InvalidPhoneNumber(
                text, "it has no country code; write it as +<country code><number> or set STOPLIST_DEFAULT_REGION", path=path
            )
        number = _parse(international, None)
    hint = "" if compact.startswith(("+", "00")) or default_region else _NO_PREFIX_HINT
    if number is None:
        raise InvalidPhoneNumber(text, "it does not start with a known country code" + hint, path=path)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(text, _invalid_reason(number) + hint, path=path)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _international_form(compact: str, *, national_allowed: bool) -> str | None:
    """Read `+48…`, `0048…` and bare `48…` as international numbers."""
    if compact.startswith("+"):
        return compact
    if compact.startswith("00"):
        return "+" + compact[2:]
    if compact.startswith("0") and not national_allowed:
        # A single leading 0 is a national trunk prefix: without a region we cannot know the country.
        return None
    return "+" + compact


def _invalid_reason(number: phonenumbers.PhoneNumber) -> str:
    reason = phonenumbers.is_possible_number_with_reason(number)
    region = phonenumbers.region_code_for_country_code(number.country_code)
    region = f"+{number.country_code}" if region == phonenumbers.UNKNOWN_REGION else f"{region} (+{number.country_code})"
    if reason == phonenumbers.ValidationResult.TOO_SHORT:
        return f"it is too short for {region}"
    if reason in (phonenumbers.ValidationResult.TOO_LONG, phonenumbers.ValidationResult.INVALID_LENGTH):
        return f"its length does not fit {region}" if reason != phonenumbers.ValidationResult.TOO_LONG else f"it is too long for {region}"
    if reason == phonenumbers.ValidationResult.INVALID_COUNTRY_CODE:
        return "it does not start with a known country code"
    return f"it is not a valid number on the numbering plan of {region}"


# A number has at most 15 digits; this leaves room for every separator a spelling may have.
MAX_QUERY_CHARS = 64


def number_schema(*, integers: bool = False) -> dict:
    """A phone number as input, by reference to phone_number_schema; with `integers`, a JSON integer of its digits too."""
    text = component("PhoneNumber")
    return {"anyOf": [text, {"type": "integer", "minimum": 0}]} if integers else text


def phone_number_schema() -> dict:
    """What _clean lets through to phonenumbers: 1 to MAX_INPUT_LENGTH of NUMBER_CHARACTERS, or characters it reads as
    them (folding.number_spellings), once stripped (validity is beyond a schema)."""
    characters = set(NUMBER_CHARACTERS) | set(map(chr, number_spellings()))
    edge = character_class(characters - blank_characters())
    return {"type": "string", "pattern": trimmed_run(edge, character_class(characters), MAX_INPUT_LENGTH)}


def number_input(value: object) -> str | int | None:
    """The spelling of a number a JSON value gives: text, or a whole number (48500000001.0 too, an
    integer to JSON Schema); None for anything else (booleans, fractions, objects...)."""
    kind = type(value)
    if kind is str or kind is int:
        return value  # type: ignore[return-value]
    if kind is float and value.is_integer():  # type: ignore[union-attr]
        return int(value)  # type: ignore[arg-type]
    return None


def number_search_schema() -> dict:
    """What search_digits reads: blank text (no filter), or at most MAX_QUERY_CHARS that, stripped, are NUMBER_CHARACTERS
    or characters it reads as them (folding.number_spellings), with a '+' (or a full-width one) first if at all."""
    spellings = number_spellings()
    plus = {"+"} | {chr(code) for code, target in spellings.items() if target == "+"}
    after_plus = character_class((set(NUMBER_CHARACTERS) | set(map(chr, spellings))) - plus)
    # Around it all: what reads as nothing or as a space (a direction mark, a byte order mark), which strip() then removes.
    around = character_class({chr(code) for code, target in spellings.items() if target in ("", " ")} | blank_characters())
    searched = trimmed(f"{around}*{character_class(plus)}?{after_plus}*{around}*")
    return {"anyOf": [{"type": "string", "pattern": trimmed("")}, {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": searched}]}


def search_digits(q: str | None) -> str | None:
    """The digits to look for in numbers, from a `q` like `500 00`, `+48500` or `５００`; None for no filter."""
    if q is None or not q.strip():
        return None
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidSearch(q, too_long=MAX_QUERY_CHARS)
    text = plain_number(q).strip()  # as numbers are read: full-width or Arabic-Indic digits, no-break spaces, dashes
    if not text:
        return None  # only marks that read as nothing, and white space
    if not _ALLOWED.match(text) or "+" in text[1:]:
        raise InvalidSearch(q)
    digits = _SEPARATORS.sub("", text).lstrip("+")
    return digits or None
