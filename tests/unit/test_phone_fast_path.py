"""The E.164 fast path of normalize_phone_number answers exactly as the full phonenumbers path.

Every check compares normalize_phone_number with _normalize_slow (the same function without the
fast path): both return the same digits, or both raise the same error; and phone_number_or_none and
e164_reader (the bulk check's) return those digits, or None for that error. Every input the fast path
accepts, and every one it refuses without phonenumbers (no country code starts it, or its country's one
region keeps it as it is and turns it down), is compared. Inputs are grouped by
country before the slow path runs, because phonenumbers recompiles its patterns once numbers from
many countries overflow re's cache, which would make this file take minutes instead of seconds.
"""

import random

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from stoplist.lists.phone import _normalize_slow, e164_reader, normalize_phone_number, phone_number_or_none
from stoplist.lists.plans import PLUS_DIGITS as _PLUS_DIGITS, country_of as _country, fast_e164 as _fast_e164, verdict_of as _verdict
from stoplist.errors import InvalidPhoneNumber

DEFAULT_REGIONS = [None, "PL", "US"]
RANDOM_STRINGS = 200_000
# One in this many inputs the fast path declines is also compared end to end (all of them would
# compare the full path with itself, slowly); every input it accepts is compared.
DECLINED_SAMPLE = 100


def outcome(function, text, default_region):
    """What a normalizer makes of `text`: the digits, or the error it raises with all its details."""
    try:
        return function(text, default_region=default_region)
    except InvalidPhoneNumber as error:
        return ("error", error.message, [detail.model_dump() for detail in error.errors])


def mismatches(inputs, *, sample_declined=1):
    """The (text, default_region, fast, slow) where both paths differ, over `inputs` of (text, default_region);
    and where phone_number_or_none or e164_reader (the bulk check's) is not the slow path's digits, or None for its error."""
    checked = [
        (text, region)
        for i, (text, region) in enumerate(inputs)
        if i % sample_declined == 0 or not text.lstrip("+").isdigit() or _fast_e164(text, region) is not None or refused_fast(text)
    ]
    checked.sort(key=lambda item: (item[1] or "", item[0].lstrip("+0")[:3]))  # by country, see the module docstring
    found = []
    readers = {region: e164_reader(region) for region in {region for _text, region in checked}}
    for text, region in checked:
        fast, slow = outcome(normalize_phone_number, text, region), outcome(_normalize_slow, text, region)
        if fast != slow:
            found.append((text, region, fast, slow))
        or_none = phone_number_or_none(text, default_region=region)
        if or_none != (slow if isinstance(slow, str) else None):
            found.append((text, region, ("or_none", or_none), slow))
        read = readers[region](text)
        if read != or_none:
            found.append((text, region, ("e164_reader", read), slow))
    return found


def refused_fast(text: str) -> bool:
    """Whether the bulk check's reader refuses `text` without asking phonenumbers: each of these is compared too."""
    return _PLUS_DIGITS(text) is not None and _verdict(text[1:]) is None


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def example_numbers() -> list[phonenumbers.PhoneNumber]:
    """Every example number phonenumbers has: each region and type, and the non-geographic codes."""
    numbers = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in PhoneNumberType.values()
    ]
    numbers += [phonenumbers.example_number_for_non_geo_entity(c) for c in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    return [n for n in numbers if n is not None]


EXAMPLES = example_numbers()


def spellings(digits: str) -> list[str]:
    """'+cc…', '00cc…' and bare 'cc…' of the international `digits`."""
    return ["+" + digits, "00" + digits, digits]


def test_every_country_code_has_fast_rules():
    assert [code for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if _country(code) is None] == []


@pytest.mark.parametrize("default_region", DEFAULT_REGIONS)
def test_example_numbers_of_every_region_and_type(default_region):
    inputs = [(text, default_region) for n in EXAMPLES for text in spellings(e164(n)[1:])]
    assert len(inputs) > 3000
    assert mismatches(inputs) == []


def test_the_fast_path_answers_nearly_all_example_numbers():
    declined = [e164(n) for n in EXAMPLES if _fast_e164(e164(n), None) is None]
    # Only RU/KZ/BY/LT numbers starting with their national prefix 8, and IR's 4-digit numbers.
    assert len(declined) <= 15, declined
    for text in ["+48500000000", "48500000000", "0048500000000", "+447400123456", "+16502530000", "+390212345678"]:
        assert _fast_e164(text, None) == text.lstrip("+0")


@pytest.mark.parametrize("default_region", ["PL", "US", "GB"])
def test_with_a_default_region_only_plus_numbers_take_the_fast_path(default_region):
    assert _fast_e164("+48500000000", default_region) == "48500000000"
    assert _fast_e164("48500000000", default_region) is None  # read as national first, by the full path
    assert _fast_e164("0048500000000", default_region) is None


def random_digits(rnd: random.Random, count: int) -> list[str]:
    lengths = [rnd.randint(7, 16) for _ in range(count)]
    return [f"{rnd.randrange(10**length):0{length}d}" for length in lengths]


def test_random_digit_strings_with_and_without_plus():
    rnd = random.Random(20261125)
    inputs = [(text, None) for digits in random_digits(rnd, RANDOM_STRINGS) for text in ("+" + digits, digits)]
    accepted = sum(_fast_e164(text, None) is not None for text, _ in inputs)
    assert accepted > 10_000  # random strings do hit real numbering plans often enough to test something
    assert mismatches(inputs, sample_declined=DECLINED_SAMPLE) == []


@pytest.mark.parametrize("default_region", DEFAULT_REGIONS)
def test_random_digit_strings_with_a_default_region(default_region):
    rnd = random.Random(f"default region {default_region}")
    inputs = [(text, default_region) for digits in random_digits(rnd, 20_000) for text in ("+" + digits, "00" + digits, digits)]
    assert mismatches(inputs, sample_declined=DECLINED_SAMPLE) == []


def test_random_subscriber_digits_of_every_example_number():
    """Mostly valid numbers, some a digit short or long: the inputs the fast path is for."""
    rnd = random.Random(7)
    inputs = []
    for number in EXAMPLES:
        digits = e164(number)[1:]
        for _ in range(10):
            k = rnd.randint(1, min(6, len(digits) - 4))
            width = k + rnd.choice((-1, 0, 0, 0, 1))  # now and then a digit short or long
            tail = f"{rnd.randrange(10**width):0{width}d}" if width else ""
            inputs.append(("+" + digits[:-k] + tail, None))
            inputs.append((digits[:-k] + tail, rnd.choice(DEFAULT_REGIONS)))
    assert mismatches(inputs) == []


def national_prefixes(number: phonenumbers.PhoneNumber) -> set[str]:
    """What people put after the country code by habit: 0, or the national prefix of the number's region."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(phonenumbers.region_code_for_number(number) or "")
    return {"0"} | ({metadata.national_prefix} if metadata is not None and metadata.national_prefix else set())


@pytest.mark.parametrize("default_region", DEFAULT_REGIONS)
def test_a_national_prefix_after_the_country_code(default_region):
    inputs = []
    for number in EXAMPLES:
        code, national = str(number.country_code), phonenumbers.national_significant_number(number)
        for prefix in national_prefixes(number):
            texts = [f"+{code}{prefix}{national}", f"+{code} ({prefix}) {national}", *spellings(code + prefix + national)[1:]]
            inputs += [(text, default_region) for text in texts]
    assert mismatches(inputs) == []


HANDPICKED = [
    # A national prefix after the country code.
    "+44 0 7400 123456", "+44 (0) 7400 123456", "+4407400123456", "+7 8 912 345 67 89", "+78001234567",
    "+7 800 555 35 35", "+1 1 650 253 0000", "+116502530000", "+33 0 6 12 34 56 78", "+49 0 30 123456",
    "+370 8 612 34567", "+375 8 029 123 45 67", "+36 06 1 234 5678", "+98 0 912 345 6789", "+86 0 10 1234 5678",
    # Italy and San Marino/Vatican keep a leading 0 that is part of the number; so do CI and CG.
    "+39 02 1234 5678", "+39 06 698 12345", "+39 0 6 698 12345", "+39 3 12 345 6789", "+39 312 345 6789",
    "+39 0 312 345 6789", "+39 00 1234 5678", "+390000000000", "+39 06698", "+379 06 698 12345",
    "+378 0549 886377", "+378 812345", "+378 886377", "+225 01 23 45 67 89", "+225 1 23 45 67 89",
    "+242 06 123 4567", "+242 6 123 4567",
    # Argentina: the international mobile form with 9, and national forms with 15 that parse rewrites.
    "+54 9 11 2345 6789", "+54 11 2345 6789", "+54 11 15 2345 6789", "+54 011 15 2345 6789", "+54 9 011 2345 6789",
    "+54 15 2345 6789", "+54 0 11 2345 6789", "+54 9 351 234 5678", "+54 351 15 234 5678", "+54 9 2221 23 4567",
    # Mexico: the old mobile 1 after +52, and the current form.
    "+52 1 55 1234 5678", "+52 55 1234 5678", "+52 1 222 123 4567", "+52 222 123 4567", "+52 044 55 1234 5678",
    # Brazil: carrier codes (0 + two digits) and 90 before the area code.
    "+55 11 96123 4567", "+55 0 11 96123 4567", "+55 0 21 11 96123 4567", "+55 90 21 11 96123 4567",
    "+55 015 11 96123 4567", "+55 11 2345 6789",
    # Transform rules: MG 7-digit, SM 6-digit and NF 5-digit national forms, JP's 000 numbers.
    "+261 2123456", "+261 20 21 234 56", "+261 0 20 21 234 56", "+672 3 10 6609", "+672 10 6609", "+672 32123",
    "+81 000 2 1234", "+81 0 90 1234 5678", "+81 90 1234 5678", "+81 003768 0 90 1234 5678",
    # Colombia and China: carrier codes in the national prefix pattern.
    "+57 03 321 1234567", "+57 321 1234567", "+86 17951 138 0013 8000", "+86 138 0013 8000", "+86 1795 1 138 0013 8000",
    # Shared country codes: NANPA, +7, +44 and +590 spread over several regions.
    "+1 268 464 1234", "+1 204 234 5678", "+1 809 234 5678", "+7 701 234 5678", "+44 1624 756789", "+44 7781 123456",
    "+590 690 00 12 34", "+599 9 518 1234", "+47 79 12 34 56", "+61 8 9162 1234", "+358 18 1234567", "+262 269 61 23 45",
    # Non-geographic codes, and lengths at the edges of E.164.
    "+800 1234 5678", "+882 3 4123 4567", "+979 1 2345 6789", "+290 22158", "+683 7290", "+690 3010",
    "+49 1234 5678 9012 345", "+49123456789012345", "+1 234", "+12345678901234567",
]  # fmt: skip


@pytest.mark.parametrize("default_region", [*DEFAULT_REGIONS, "IT", "AR", "MX", "BR"])
def test_handpicked_numbers_where_parse_rewrites_or_keeps_the_national_part(default_region):
    inputs = []
    for text in HANDPICKED:
        digits = text.replace(" ", "").replace("(", "").replace(")", "").lstrip("+")
        inputs += [(text, default_region)] + [(spelling, default_region) for spelling in spellings(digits)]
    assert mismatches(inputs) == []


@pytest.mark.parametrize(
    "text",
    ["+54 11 15 2345 6789", "+378 812345", "+261 2123456", "+44 0 7400 123456", "+1 1 650 253 0000", "+7 8 912 345 67 89"],
)
def test_numbers_parse_would_rewrite_are_left_to_the_full_path(text):
    compact = text.replace(" ", "")
    assert _fast_e164(compact, None) is None
    assert outcome(normalize_phone_number, text, None) == outcome(_normalize_slow, text, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+54 9 11 2345 6789", "5491123456789"),
        ("+39 02 1234 5678", "390212345678"),
        ("+225 01 23 45 67 89", "2250123456789"),
        ("+1 268 464 1234", "12684641234"),
        ("+44 1624 756789", "441624756789"),
    ],
)
def test_leading_zeros_and_shared_country_codes_stay_on_the_fast_path(text, expected):
    assert _fast_e164(text.replace(" ", ""), None) == expected
    assert normalize_phone_number(text) == _normalize_slow(text) == expected


@pytest.mark.parametrize("default_region", DEFAULT_REGIONS)
@pytest.mark.parametrize("text", [
    "+990123456789",  # no country code starts it
    "+2801234567",  # nor this one
    "+48100000000",  # Poland (one region, no national prefix): no number of Poland starts with 1
    "+4912",  # too short for the fast path's 7 digits: left to phonenumbers (below)
])
def test_the_bulk_check_refuses_what_the_fast_rules_rule_out_without_phonenumbers(monkeypatch, text, default_region):
    """What costs the most in a bulk check is the invalid number sent through phonenumbers (30 us against 0.7 us):
    where the fast rules already know the answer, phonenumbers is not asked."""
    assert outcome(_normalize_slow, text, default_region)[0] == "error"

    def asked(*_args, **_kwargs):
        raise AssertionError("phonenumbers was asked")

    monkeypatch.setattr(phonenumbers, "parse", asked)
    monkeypatch.setattr(phonenumbers, "is_valid_number", asked)
    if _PLUS_DIGITS(text) is None:
        with pytest.raises(AssertionError, match="phonenumbers was asked"):
            phone_number_or_none(text, default_region=default_region)
        return
    assert phone_number_or_none(text, default_region=default_region) is None
    assert e164_reader(default_region)(text) is None
