"""Unit tests for stoplist.lists.phone: raw input -> canonical E.164 digits."""

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from stoplist.lists.phone import normalize_phone_number, search_digits
from stoplist.errors import ErrorDetail, InvalidPhoneNumber, InvalidSearch

# Regions from every continent, with and without a national trunk prefix
# (GB/DE/FR write a leading 0, US/CA a leading 1, RU an 8, IT keeps its 0, ES/PL/PT have none).
REGIONS = [
    "PL", "GB", "US", "CA", "DE", "FR", "IT", "ES", "PT", "NL", "BE", "CH", "AT", "SE", "NO", "DK", "FI", "IE",
    "CZ", "UA", "RU", "TR", "IL", "IN", "CN", "JP", "KR", "AU", "NZ", "BR", "MX", "AR", "ZA", "NG", "EG", "SG", "AE",
]  # fmt: skip
NUMBER_TYPES = {"fixed_line": PhoneNumberType.FIXED_LINE, "mobile": PhoneNumberType.MOBILE}


def example(region: str, number_type: str) -> phonenumbers.PhoneNumber:
    """A number the phonenumbers library itself vouches for as valid in `region`."""
    number = phonenumbers.example_number_for_type(region, NUMBER_TYPES[number_type])
    assert number is not None and phonenumbers.is_valid_number(number), f"no valid {number_type} example for {region}"
    return number


def e164_digits(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164).removeprefix("+")


def other_region(region: str) -> str:
    """A default region that is not the number's own (US also has a different international prefix, 011)."""
    return "US" if region != "US" else "PL"


# How a user may spell `number` of `region`: (text, default_region).
SPELLINGS = {
    "national_with_its_region": lambda n, r: (phonenumbers.format_number(n, PhoneNumberFormat.NATIONAL), r),
    "international": lambda n, r: (phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL), None),
    "international_with_its_region": lambda n, r: (phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL), r),
    "international_with_another_region": lambda n, r: (
        phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL),
        other_region(r),
    ),
    "e164_with_plus": lambda n, r: ("+" + e164_digits(n), None),
    "bare_e164_digits": lambda n, r: (e164_digits(n), None),
    "00_prefix": lambda n, r: ("00" + e164_digits(n), None),
    "00_prefix_with_its_region": lambda n, r: ("00" + e164_digits(n), r),
    "00_prefix_with_another_region": lambda n, r: ("00" + e164_digits(n), other_region(r)),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("number_type", NUMBER_TYPES)
@pytest.mark.parametrize("region", REGIONS)
def test_every_spelling_of_a_valid_number_gives_its_e164_digits(region, number_type, spelling):
    number = example(region, number_type)
    text, default_region = SPELLINGS[spelling](number, region)

    result = normalize_phone_number(text, default_region=default_region)

    assert result == e164_digits(number)
    assert result.isdigit()
    assert phonenumbers.region_code_for_number(phonenumbers.parse("+" + result)) == region


@pytest.mark.parametrize(
    ("text", "default_region", "expected"),
    [
        # The spellings from the issue.
        ("+48 500 000 000", None, "48500000000"),
        ("+48-500-000-000", None, "48500000000"),
        ("0048500000000", None, "48500000000"),
        ("48500000000", None, "48500000000"),
        ("(+48) 500.000.000", None, "48500000000"),
        ("500 000 000", "PL", "48500000000"),
        # More punctuation and whitespace around the same number.
        ("+48500000000", None, "48500000000"),
        ("+48 500/000/000", None, "48500000000"),
        ("+48\t500\t000\t000", None, "48500000000"),
        ("   +48 500 000 000   ", None, "48500000000"),
        ("+ 48 500 000 000", None, "48500000000"),
        ("0048 500 000 000", "PL", "48500000000"),
        ("500-000-000", "PL", "48500000000"),
        ("(500) 000 000", "PL", "48500000000"),
        ("48500000000", "PL", "48500000000"),
        ("+48 500 000 000", "PL", "48500000000"),
        # GB mobile, with its trunk 0 and the common "(0)" spelling.
        ("07400 123456", "GB", "447400123456"),
        ("07400-123-456", "GB", "447400123456"),
        ("+44 7400 123456", None, "447400123456"),
        ("+44 (0) 7400 123456", None, "447400123456"),
        ("0044 7400 123456", None, "447400123456"),
        ("447400123456", None, "447400123456"),
        # US: national forms need the region; with 1, +1, 001 or 011 they do not.
        ("+1 650 253 0000", None, "16502530000"),
        ("+1-650-253-0000", None, "16502530000"),
        ("(650) 253-0000", "US", "16502530000"),
        ("650.253.0000", "US", "16502530000"),
        ("1 650 253 0000", None, "16502530000"),
        ("001 650 253 0000", None, "16502530000"),
        ("011 1 650 253 0000", "US", "16502530000"),
        # DE, FR, IT, ES.
        ("+49 30 123456", None, "4930123456"),
        ("030 123456", "DE", "4930123456"),
        ("0049 30 123456", None, "4930123456"),
        ("+33 1 23 45 67 89", None, "33123456789"),
        ("01 23 45 67 89", "FR", "33123456789"),
        ("06.12.34.56.78", "FR", "33612345678"),
        ("+39 02 1234 5678", None, "390212345678"),
        ("02 1234 5678", "IT", "390212345678"),  # Italy keeps its leading 0
        ("+34 612 34 56 78", None, "34612345678"),
        ("612 34 56 78", "ES", "34612345678"),
    ],
)
def test_known_spellings_give_the_canonical_e164_digits(text, default_region, expected):
    assert phonenumbers.is_valid_number(phonenumbers.parse("+" + expected))  # the expectation itself is a real number
    assert normalize_phone_number(text, default_region=default_region) == expected


@pytest.mark.parametrize(
    ("text", "default_region", "expected"),
    [
        ("+44 7400 123456", "PL", "447400123456"),
        ("0044 7400 123456", "PL", "447400123456"),
        ("+48 500 000 000", "GB", "48500000000"),
        ("+48 500 000 000", "US", "48500000000"),
        ("0048 500 000 000", "US", "48500000000"),  # 00 is not the US international prefix, yet is understood
        ("+1 650 253 0000", "DE", "16502530000"),
        ("+33 6 12 34 56 78", "IT", "33612345678"),
    ],
)
def test_an_international_number_keeps_its_own_country_when_a_default_region_is_set(text, default_region, expected):
    assert normalize_phone_number(text, default_region=default_region) == expected


def test_all_spellings_of_one_number_collapse_to_a_single_form():
    spellings = [
        ("+48 500 000 000", None),
        ("+48-500-000-000", None),
        ("0048500000000", None),
        ("48500000000", None),
        ("(+48) 500.000.000", None),
        ("500 000 000", "PL"),
        ("+48 500 000 000", "GB"),
        ("0048 500 000 000", "US"),
    ]
    assert {normalize_phone_number(text, default_region=region) for text, region in spellings} == {"48500000000"}


@pytest.mark.parametrize(
    "text",
    ["500 000 000", "500-000-000", "07400 123456", "030 123456", "01 23 45 67 89", "(650) 253-0000", "612 34 56 78"],
)
def test_national_numbers_need_a_default_region(text):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(text)


@pytest.mark.parametrize("number_type", NUMBER_TYPES)
@pytest.mark.parametrize("region", ["GB", "DE", "FR", "NL", "CH", "AT", "SE", "IE", "AU", "NZ", "JP", "IN", "ZA", "TR", "UA", "KR"])
def test_national_numbers_with_a_trunk_prefix_are_rejected_without_a_default_region(region, number_type):
    national = phonenumbers.format_number(example(region, number_type), PhoneNumberFormat.NATIONAL)
    assert national.lstrip("(").startswith("0")  # the trunk prefix that betrays a national spelling

    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(national)


@pytest.mark.parametrize(
    ("text", "default_region"),
    [
        ("500 000 00", "PL"),  # too short for Poland
        ("500 000 0000", "PL"),  # too long for Poland
        ("07400 123456", "PL"),  # a GB national number is not a Polish one
        ("500 000 000", "GB"),
        ("500 000 000", "US"),
    ],
)
def test_a_national_number_must_be_valid_in_the_default_region(text, default_region):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(text, default_region=default_region)


@pytest.mark.parametrize("default_region", [None, "PL"])
@pytest.mark.parametrize(
    "text",
    [
        # too short / too long for the country
        "+48 500 000 00",
        "+48 500 000 0000",
        "+44 7400 12345",
        "+44 7400 1234567",
        "+1 650 253 000",
        "+1 650 253 00000",
        "+48",
        "+4",
        # unknown country codes
        "+999 123 456 789",
        "+0 500 000 000",
        "00999 123 456 789",
        # letters, including vanity numbers
        "1-800-FLOWERS",
        "+1 800 FLOWERS",
        "+48 500 000 00O",
        "+48 five hundred",
        "phone",
        "tel:+48-500-000-000",
        "+48 500 000 000 ext. 12",
        # '+' anywhere but at the very start
        "48+500000000",
        "+48 500 + 000 000",
        "++48500000000",
        "+48500000000+",
        # punctuation without digits
        "+",
        "()",
        "---",
        "+ - . / ( )",
    ],
)
def test_invalid_numbers_are_rejected(text, default_region):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(text, default_region=default_region)


@pytest.mark.parametrize("default_region", [None, "PL"])
@pytest.mark.parametrize("raw", [None, "", " ", "   ", "\t", " \t \n "])
def test_empty_input_is_rejected(raw, default_region):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(raw, default_region=default_region)


def test_input_of_64_characters_is_still_read():
    text = "+48" + "-" * 52 + "500000000"
    assert len(text) == 64
    assert normalize_phone_number(text) == "48500000000"


@pytest.mark.parametrize(
    "text",
    [
        "+48" + "-" * 53 + "500000000",  # 65 characters, digits valid
        "+48 500 000 000" + " " * 60 + "1",
        "+48 " + "5" * 70,
        "1" * 1000,
    ],
)
def test_input_longer_than_64_characters_is_rejected(text):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone_number(text)
    assert text[:40] in caught.value.message


@pytest.mark.parametrize(
    ("text", "default_region"),
    [
        ("+48 500 000 00", None),
        ("+999 123 456 789", None),
        ("1-800-FLOWERS", None),
        ("48+500000000", None),
        ("500 000 000", None),
        ("07400 123456", None),
        ("500 000 00", "PL"),
        ("()", None),
    ],
)
def test_the_error_quotes_the_input_and_has_the_api_shape(text, default_region):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone_number(text, default_region=default_region)
    error = caught.value

    assert text in error.message
    assert error.code == "invalid_phone_number"
    assert error.status_code == 400
    assert len(error.errors) == 1
    detail = error.errors[0]
    assert isinstance(detail, ErrorDetail)
    assert detail.path == "phone_number"
    assert detail.error == "invalid_phone_number"
    assert text in detail.message


def test_the_quoted_input_is_trimmed_of_surrounding_whitespace():
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone_number("   +48 500 000 00  ")
    assert "+48 500 000 00" in caught.value.message


@pytest.mark.parametrize("path", ["phone_number", "phone_numbers.3", "entries[0].number", "q"])
@pytest.mark.parametrize("raw", ["+48 500 000 00", "1-800-FLOWERS", "", None, "+48" + "0" * 70])
def test_the_path_argument_lands_in_the_error_detail(raw, path):
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalize_phone_number(raw, path=path)
    assert caught.value.errors[0].path == path


def test_a_valid_number_is_not_affected_by_the_path_argument():
    assert normalize_phone_number("+48 500 000 000", path="somewhere.else") == "48500000000"


# --- search_digits -------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [None, "", " ", "   ", "\t"])
def test_an_empty_search_means_no_filter(q):
    assert search_digits(q) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("500", "500"),
        ("+48 500", "48500"),
        ("500-00", "50000"),
        ("  500  ", "500"),
        ("(500) 000.000", "500000000"),
        ("500/000", "500000"),
        ("+48500000000", "48500000000"),
        ("0", "0"),
    ],
)
def test_a_search_keeps_only_the_digits(q, expected):
    assert search_digits(q) == expected


@pytest.mark.parametrize("q", ["abc", "500a", "48 50O", "1-800-FLOWERS", "5+00", "500+", "++48", "500%", "500*"])
def test_a_search_for_anything_but_part_of_a_number_is_rejected(q):
    with pytest.raises(InvalidSearch) as caught:
        search_digits(q)
    error = caught.value
    assert q in error.message
    assert error.code == "invalid_query"
    assert error.status_code == 400
    assert error.errors[0].path == "q"
