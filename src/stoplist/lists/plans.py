"""The fast path of phone numbers (lists.phone): numbering plans compiled once.

Most numbers on the hot paths (CSV imports, the send-time check) are already E.164. For those,
lists.phone._resolve's answer is known without phonenumbers.parse: the country code is the one prefix of
the digits in COUNTRY_CODE_TO_REGION_CODE (codes are prefix-free), parse keeps the rest as the
national significant number unless a national prefix rule rewrites it, and E.164 formatting gives
the digits back. Validity is phonenumbers.is_valid_number's own rule on patterns compiled once:
the library recompiles them on every call once numbers from many countries overflow re's cache.
"""

import functools
import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneMetadata

_COUNTRY_CODES = {str(code): code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE}
# Compiled on first use, then kept: compiling all of +1's 25 regions up front takes 0.4 s.
_pattern = functools.cache(re.compile)
# The descriptions phonenumbers' _number_type_helper tries; a number is valid if one of them matches,
# so the order is free: mobile first, as most numbers sent SMS are.
_NUMBER_TYPES = (
    "mobile", "fixed_line", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail",
)  # fmt: skip


def fast_e164(compact: str, default_region: str | None) -> str | None:
    """The digits of an already international `compact` that lists.phone._resolve would return, else None."""
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
    accepts = ACCEPTS.get(digits[:3])
    return digits if accepts is not None and accepts(digits) else None


def verdict_of(digits: str) -> str | None | bool:
    """For 7 to 15 ASCII digits not starting with 0 (an international number without its '+'): the digits where
    _resolve would return them, None where it would refuse them, and False where only phonenumbers can tell.

    Refusals are known here in two cases: no country code starts the digits (parse refuses them), or the
    code's one region keeps the national number as it is and its rule turns it down (is_valid_number does)."""
    accepts = ACCEPTS.get(digits[:3])
    if accepts is None:
        return None
    verdict = accepts(digits)
    return digits if verdict else verdict


def _first_use(code: int) -> Callable[[str], object]:
    """A stand-in for the acceptor of `code` that builds the real one on its first call and puts it in its place."""

    def build_then_accept(digits: str) -> object:
        country = country_of(code)
        accepts = _never if country is None else country.acceptor(len(str(code)))
        for first_three in _starting_with(str(code)):
            ACCEPTS[first_three] = accepts
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
ACCEPTS: dict[str, Callable[[str], object]] = {
    first_three: stand_in
    for code in _COUNTRY_CODES.values()
    for stand_in in (_first_use(code),)
    for first_three in _starting_with(str(code))
}
# A '+' and 7 to 15 ASCII digits, not starting with 0: what phone_number_or_none sends down the fast path at once.
PLUS_DIGITS = re.compile(r"\+[1-9][0-9]{6,14}").fullmatch


@functools.cache
def country_of(code: int) -> "_Country | None":
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
