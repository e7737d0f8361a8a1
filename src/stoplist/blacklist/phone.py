"""Phone numbers: from whatever a user typed to the one canonical E.164 form.

This is the only place that reads raw numbers; everything past it sees the
E.164 digits without the `+` (`48500000000`), as SMSAPI returns them.
"""

import re

import phonenumbers

from stoplist.errors import InvalidPhoneNumber, InvalidSearch

MAX_INPUT_LENGTH = 64
# Digits plus the punctuation people put between them. Letters are refused on
# purpose: phonenumbers would read "1-800-FLOWERS" as digits.
_ALLOWED = re.compile(r"^[0-9+\-.()/ \t]+$")
_SEPARATORS = re.compile(r"[\-.()/ \t]")
_NO_PREFIX_HINT = " (read as an international number; write national numbers with their +country code, or set STOPLIST_DEFAULT_REGION)"


def normalize_phone_number(raw: object, *, default_region: str | None = None, path: str = "phone_number") -> str:
    """Return the E.164 digits of `raw`, or raise InvalidPhoneNumber saying why."""
    if raw is None:
        raise InvalidPhoneNumber("", "it is empty", path=path)
    text = str(raw).strip()
    if not text:
        raise InvalidPhoneNumber(text, "it is empty", path=path)
    if len(text) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber(text[:MAX_INPUT_LENGTH] + "…", f"it is longer than {MAX_INPUT_LENGTH} characters", path=path)
    if not _ALLOWED.match(text):
        raise InvalidPhoneNumber(text, "only digits, '+', spaces and - . ( ) / are allowed", path=path)
    compact = _SEPARATORS.sub("", text)
    if compact.count("+") > 1 or ("+" in compact and not compact.startswith("+")):
        raise InvalidPhoneNumber(text, "'+' may only start the number", path=path)
    if not compact.lstrip("+"):
        raise InvalidPhoneNumber(text, "it has no digits", path=path)

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


def search_digits(q: str | None) -> str | None:
    """The digits to look for in numbers, from a `q` like `500 00` or `+48500`; None for no filter."""
    if q is None or not q.strip():
        return None
    text = q.strip()
    if not _ALLOWED.match(text) or "+" in text[1:]:
        raise InvalidSearch(q)
    digits = _SEPARATORS.sub("", text).lstrip("+")
    return digits or None
