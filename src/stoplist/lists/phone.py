"""Phone numbers: from whatever a user typed to the one canonical E.164 form.

This is the only place that reads raw numbers; everything past it sees the
E.164 digits without the `+` (`48500000000`), as SMSAPI returns them.
"""

import functools
import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneMetadata

from stoplist.errors import InvalidPhoneNumber, InvalidSearch
from stoplist.declared import blank_characters, character_class, component, trimmed, trimmed_run
from stoplist.lists.folding import number_spellings, plain_number

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
    return _fast_e164(compact, default_region) or _resolve(text, compact, default_region, path)


def phone_number_or_none(raw: str | int, *, default_region: str | None = None) -> str | None:
    """What normalize_phone_number returns for `raw`, or None where it refuses it: for the bulk check, which
    answers `valid: false` instead. A '+' and digits, nearly every input there, take the fast path in one call."""
    if type(raw) is str and _PLUS_DIGITS(raw):
        verdict = _verdict(raw[1:])
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
    look-ups and two pattern matches, with no call between them (what _verdict does for them)."""
    plus_digits, accepts_of = _PLUS_DIGITS, _ACCEPTS.get

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


# --- fast path -------------------------------------------------------------------------------------
# Most numbers on the hot paths (CSV imports, the send-time check) are already E.164. For those,
# _resolve's answer is known without phonenumbers.parse: the country code is the one prefix of
# the digits in COUNTRY_CODE_TO_REGION_CODE (codes are prefix-free), parse keeps the rest as the
# national significant number unless a national prefix rule rewrites it, and E.164 formatting gives
# the digits back. Validity is phonenumbers.is_valid_number's own rule on patterns compiled once:
# the library recompiles them on every call once numbers from many countries overflow re's cache.

_COUNTRY_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
# Compiled on first use, then kept: compiling all of +1's 25 regions up front takes 0.4 s.
_pattern = functools.cache(re.compile)
# The descriptions phonenumbers' _number_type_helper tries; a number is valid if one of them matches,
# so the order is free: mobile first, as most numbers sent SMS are.
_NUMBER_TYPES = (
    "mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
)  # fmt: skip


def _fast_e164(compact: str, default_region: str | None) -> str | None:
    """The digits of an already international `compact` that _resolve would return, else None."""
    if compact[0] == "+":
        digits = compact[1:]
    elif default_region:
        return None  # with a default region, bare digits are read as a national number first
    elif compact[:2] == "00":
        digits = compact[2:]
    else:
        digits = compact
    if not 7 <= len(digits) <= 15 or digits[0] == "0":
        return None
    accepts = _ACCEPTS.get(digits[:3])
    return digits if accepts is not None and accepts(digits) else None


def _verdict(digits: str) -> str | None | bool:
    """For 7 to 15 ASCII digits not starting with 0 (an international number without its '+'): the digits where
    _resolve would return them, None where it would refuse them, and False where only phonenumbers can tell.

    Refusals are known here in two cases: no country code starts the digits (parse refuses them), or the
    code's one region keeps the national number as it is and its rule turns it down (is_valid_number does)."""
    accepts = _ACCEPTS.get(digits[:3])
    if accepts is None:
        return None
    verdict = accepts(digits)
    return digits if verdict else verdict


def _first_use(code: int) -> Callable[[str], object]:
    """A stand-in for the acceptor of `code` that builds the real one on its first call and puts it in its place."""

    def build_then_accept(digits: str) -> object:
        country = _country(code)
        accepts = _never if country is None else country.acceptor(len(str(code)))
        for first_three in _starting_with(str(code)):
            _ACCEPTS[first_three] = accepts
        return accepts(digits)

    return build_then_accept


def _never(digits: str) -> bool:
    return False


def _starting_with(code: str) -> list[str]:
    """The three-digit strings that begin with `code` (of one to three digits)."""
    free = 3 - len(code)
    return [code + (f"{rest:0{free}d}" if free else "") for rest in range(10**free)]


# The first three digits of an international number -> whether the whole digits are a number that parse keeps
# and is_valid_number accepts (absent: no country code starts them). Country codes are prefix-free and at most
# three digits long, so the first three digits name at most one, and one look-up finds it.
_ACCEPTS: dict[str, Callable[[str], object]] = {
    first_three: stand_in
    for code in _COUNTRY_CODES.values()
    for stand_in in (_first_use(code),)
    for first_three in _starting_with(str(code))
}
# A '+' and 7 to 15 ASCII digits, not starting with 0: what phone_number_or_none sends down the fast path at once.
_PLUS_DIGITS = re.compile(r"\+[1-9][0-9]{6,14}").fullmatch


@functools.cache
def _country(code: int) -> "_Country | None":
    """The rules of one country calling code; None if its metadata is not what the fast path expects."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
    metadata = [PhoneMetadata.metadata_for_region_or_calling_code(code, region) for region in regions]
    if any(m is None or m.country_code != code for m in metadata):
        return None
    return _Country(metadata)


class _Country:
    """What parse and is_valid_number do with the national number of one country calling code."""

    def __init__(self, metadata: list[PhoneMetadata]) -> None:
        # parse reads national prefixes with the metadata of the code's main region, the first one.
        prefix = metadata[0].national_prefix_for_parsing
        self.national_prefix = _pattern(prefix).match if prefix else None
        self.national_prefix_pattern = prefix
        self.regions = [_Region(m) for m in metadata]

    def acceptor(self, size: int) -> Callable[[str], object]:
        """accepts() of the whole digits, after a country code of `size` digits, in as few calls as can be:
        the hot path's. A code of one region, nearly all of them, goes straight to that region's pattern.

        What it returns is truthy where phonenumbers keeps the number as it is and accepts it; None where it keeps
        it as it is and refuses it (one region's pattern is is_valid_number's whole rule); False where parse
        would rewrite it, or the code has several regions, and only phonenumbers can tell."""
        region = self.regions[0]
        if len(self.regions) > 1 or region.pattern is None:
            accepts = self.accepts
            return lambda digits: accepts(digits[size:])
        literal = self.national_prefix_pattern
        if self.national_prefix is None:
            fullmatch = _pattern(region.pattern).fullmatch
            return lambda digits: fullmatch(digits, size)
        if literal.isdigit():
            # A prefix of plain digits rewrites exactly the numbers that start with it: a lookahead of the same pattern.
            fullmatch = _pattern(f"(?!{literal}){region.pattern}").fullmatch
            return lambda digits: fullmatch(digits, size) or (False if digits.startswith(literal, size) else None)
        fullmatch, prefix = _pattern(region.pattern).fullmatch, self.national_prefix

        def accepts_one_region(digits: str) -> object:
            national = digits[size:]
            return not _rewritten(prefix(national)) and fullmatch(national)

        return accepts_one_region

    def accepts(self, national: str) -> bool:
        """Whether parse keeps `national` as it is and is_valid_number accepts the result."""
        if self.national_prefix is not None and _rewritten(self.national_prefix(national)):
            return False
        if len(self.regions) == 1:
            return self.regions[0].is_valid(national)
        # region_code_for_number: the first region whose leading digits match, or that validates it.
        for region in self.regions:
            if region.leading_digits is None:
                if region.is_valid(national):
                    return True
            elif _pattern(region.leading_digits).match(national):
                return region.is_valid(national)
        return False


def _rewritten(match: "re.Match | None") -> bool:
    """Whether parse changes a national number on which the national prefix pattern gave `match`: it strips what
    the pattern matched, or rewrites it with the transform rule when a group matched; only an empty match without
    groups (or none) leaves the number alone."""
    return match is not None and (match.end() > 0 or match.lastindex is not None)


class _Region:
    """phonenumbers' `_number_type_helper(national, metadata) != UNKNOWN` for one region, as one regex.

    The helper checks the general description, then each type's, each as "possible length, then
    full pattern". Here the general one is a lookahead and the types are alternatives: one
    fullmatch answers what a dozen calls would. (The metadata's patterns have no anchors, flags,
    named groups or back-references, so wrapping them changes nothing; the property tests prove
    the whole fast path equal to phonenumbers' own.)
    """

    def __init__(self, metadata: PhoneMetadata) -> None:
        self.leading_digits = metadata.leading_digits
        general = _desc_pattern(metadata.general_desc)
        # With equal patterns the helper never tries mobile: it could differ only in possible lengths.
        names = [n for n in _NUMBER_TYPES if not (n == "mobile" and metadata.same_mobile_and_fixed_line_pattern)]
        types = [t for t in (_desc_pattern(getattr(metadata, n)) for n in names) if t is not None]
        self.pattern = None if general is None or not types else f"(?={general}\\Z)(?:{'|'.join(types)})"
        self._fullmatch = None  # compiled on first use, then kept on the region itself

    def is_valid(self, national: str) -> bool:
        if self._fullmatch is None:
            if self.pattern is None:
                return False
            self._fullmatch = _pattern(self.pattern).fullmatch
        return self._fullmatch(national) is not None


def _desc_pattern(desc: phonenumbers.PhoneNumberDesc | None) -> str | None:
    """A PhoneNumberDesc as _is_number_matching_desc reads it (possible lengths, then the full
    pattern), as a regex to be matched up to the end; None for one that matches nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    body = f"(?:{desc.national_number_pattern})"
    if not desc.possible_length:
        return body
    lengths = sorted({n for n in desc.possible_length if n > 0})
    if not lengths:
        return None  # only impossible lengths (-1): no number has this type
    return "(?=(?:" + "|".join(f".{{{n}}}" for n in lengths) + ")\\Z)" + body


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
    """What search_digits reads: blank text (no filter), or at most MAX_QUERY_CHARS that, stripped, are NUMBER_CHARACTERS with '+' first if at all."""
    after_plus = character_class(set(NUMBER_CHARACTERS) - {"+"})
    return {"anyOf": [{"type": "string", "pattern": trimmed("")}, {"type": "string", "maxLength": MAX_QUERY_CHARS, "pattern": trimmed(f"\\+?{after_plus}*")}]}


def search_digits(q: str | None) -> str | None:
    """The digits to look for in numbers, from a `q` like `500 00` or `+48500`; None for no filter."""
    if q is None or not q.strip():
        return None
    if len(q) > MAX_QUERY_CHARS:
        raise InvalidSearch(q, too_long=MAX_QUERY_CHARS)
    text = q.strip()
    if not _ALLOWED.match(text) or "+" in text[1:]:
        raise InvalidSearch(q)
    digits = _SEPARATORS.sub("", text).lstrip("+")
    return digits or None
