"""Unit tests for stoplist.lists.addresses: a phone number or an e-mail address -> its one stored form."""

import sys
import unicodedata

import pytest

from stoplist.errors import InvalidAddress, InvalidPhoneNumber
from stoplist.lists.addresses import (
    EMAIL, MAX_EMAIL_INPUT_LENGTH, PHONE, address_and_display, address_fits, classify, email_and_display, email_key, normalize_address,
    normalize_email,
)  # fmt: skip
from stoplist.lists.phone import normalize_phone_number

VALID_EMAILS = [
    # (typed, stored: the key, local part folded)
    ("jan@example.com", "jan@example.com"),
    ("jan@EXAMPLE.COM", "jan@example.com"),  # the domain is case-insensitive: lower-cased
    ("Jan.Kowalski@Żółw.PL", "jan.kowalski@xn--w-uga1v8h.pl"),  # IDN domain: IDNA-encoded; the local part folded
    ("Jan.Kowalski@żółw.pl", "jan.kowalski@xn--w-uga1v8h.pl"),
    ("jan@xn--w-uga1v8h.pl", "jan@xn--w-uga1v8h.pl"),  # already encoded: unchanged
    ("jan@XN--W-UGA1V8H.PL", "jan@xn--w-uga1v8h.pl"),  # an upper-case A-label too
    ("jan@bücher.example.de", "jan@xn--bcher-kva.example.de"),
    ("info@例え.jp", "info@xn--r8jz45g.jp"),
    ("  jan@example.com\t\n", "jan@example.com"),  # surrounding whitespace
    ("ÆØÅ@example.com", "æøå@example.com"),  # an internationalised (SMTPUTF8) local part, folded too
    ("用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"),
    ("e\u0301@example.com", "\u00e9@example.com"),  # NFC: a combining accent becomes one character
    ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ("o'neil_&-x@example.org", "o'neil_&-x@example.org"),
    ("POSTMASTER@example.com", "postmaster@example.com"),  # RFC 5321: the one case-insensitive local part
]


@pytest.mark.parametrize(("typed", "stored"), VALID_EMAILS)
def test_valid_emails_are_stored_in_one_form(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored
    assert normalize_address(typed, default_region=None) == (EMAIL, stored)
    assert normalize_address(typed, default_region="PL", kind=EMAIL) == (EMAIL, stored)
    assert normalize_email(stored) == stored  # the stored form reads back as itself


def test_the_local_part_is_matched_folded_and_shown_as_given() -> None:
    """Jan@ and jan@ reach one person at every provider people use: one key, the spelling kept for display."""
    assert normalize_email("Jan@Example.com") == normalize_email("jan@example.com") == normalize_email("JAN@example.com") == "jan@example.com"
    assert email_and_display("Jan@Example.com") == ("jan@example.com", "Jan@example.com")
    assert email_and_display("jan@Example.com") == ("jan@example.com", None)  # given in folded form: no display
    assert address_and_display(" Jane.Doe@Example.COM ", default_region=None) == (EMAIL, "jane.doe@example.com", "Jane.Doe@example.com")
    assert address_and_display("+48 500 000 001", default_region=None) == (PHONE, "48500000001", None)


@pytest.mark.parametrize(
    ("stored", "key"),
    [
        ("Jane.Doe@example.com", "jane.doe@example.com"),
        ("STRASSE@example.com", "strasse@example.com"),
        ("Straße@example.com", "strasse@example.com"),  # case folding, not lower(): ß and SS are one
        ("ΣΟΦΙΑ@example.com", "σοφια@example.com"),
        ("ΐ@example.com", "ΐ@example.com"),  # NFC again after folding
        ("jan@EXAMPLE.COM", "jan@EXAMPLE.COM"),  # the domain is left as it is: it was normalised already
    ],
)
def test_email_key_folds_the_local_part_and_is_idempotent(stored: str, key: str) -> None:
    assert email_key(stored) == key
    assert email_key(key) == key


def test_no_character_folds_to_more_characters_than_its_utf8_octets() -> None:
    """Why a key fits an entry's 320 characters: email-validator allows an address 254 UTF-8 octets."""
    for code in range(sys.maxunicode + 1):
        if not 0xD800 <= code < 0xE000 and not chr(code).isascii():
            character = chr(code)
            assert len(unicodedata.normalize("NFC", character.casefold())) <= len(character.encode()), hex(code)


def test_unicode_and_encoded_domains_are_one_address() -> None:
    assert normalize_email("a@żółw.pl") == normalize_email("a@ŻÓŁW.pl") == normalize_email("a@xn--w-uga1v8h.pl")


INVALID_EMAILS = [
    # (typed, part of the reason)
    ("jan.example.com", "must have an @-sign"),
    ("jan@@example.com", "invalid characters"),
    ("jan@kowalski@example.com", "invalid characters"),
    ("@example.com", "something before the @-sign"),
    ("jan@", "something after the @-sign"),
    ('"jan kowalski"@example.com', "Quoting the part before the @-sign is not allowed"),
    ('"jan"@example.com', "Quoting the part before the @-sign is not allowed"),
    ("jan@[192.0.2.1]", "bracketed IP address"),
    ("jan@[IPv6:2001:db8::1]", "bracketed IP address"),
    ("jan@example.com.", "cannot end with a period"),
    ("jan.@example.com", "period"),
    ("jan..kowalski@example.com", "two periods"),
    ("jan kowalski@example.com", "invalid characters"),
    ("jan@localhost", "should have a period"),
    ("jan@example", "should have a period"),
    ("jan@xn--zz.pl", "not valid IDNA"),
    ("Jan <jan@example.com>", "display name"),
    ("jan@exa_mple.com", "invalid characters"),
    ("", "must have an @-sign"),
    ("   ", "must have an @-sign"),
    ("x" * 250 + "@example.com", "too long"),  # under our bound, over the library's (254)
    ("x" * 309 + "@example.com", f"longer than {MAX_EMAIL_INPUT_LENGTH} characters"),  # 321 characters
]


@pytest.mark.parametrize(("typed", "reason"), INVALID_EMAILS)
def test_invalid_emails_are_refused_saying_why(typed: str, reason: str) -> None:
    with pytest.raises(InvalidAddress) as raised:
        normalize_email(typed, path="addresses.2")
    error = raised.value
    assert reason in error.message
    assert error.code == "invalid_address" and error.status_code == 400
    assert [(detail.path, detail.error) for detail in error.errors] == [("addresses.2", "invalid_address")]


def test_the_input_bound_is_320_characters() -> None:
    padded = " " * (MAX_EMAIL_INPUT_LENGTH - len("jan@example.com")) + "jan@example.com"
    assert len(padded) == MAX_EMAIL_INPUT_LENGTH and normalize_email(padded) == "jan@example.com"
    with pytest.raises(InvalidAddress, match="longer than 320"):
        normalize_email(" " + padded)


def test_a_long_input_is_quoted_back_cut_short() -> None:
    with pytest.raises(InvalidAddress) as raised:
        normalize_email("x" * 10_000 + "@example.com")
    assert len(raised.value.message) < 200 and "…" in raised.value.message


def test_an_email_must_be_text() -> None:
    with pytest.raises(InvalidAddress, match="must be text"):
        normalize_email(48500000001)  # type: ignore[arg-type]


def test_classify_looks_for_the_at_sign() -> None:
    assert classify("jan@example.com") == EMAIL
    assert classify("  jan@example.com ") == EMAIL
    assert classify("@") == EMAIL
    assert classify("+48 500 000 001") == PHONE
    assert classify("jan.example.com") == PHONE  # then refused as a phone number
    assert classify("jan＠example.com") == EMAIL  # the full-width at sign
    assert classify("jan﹫example.com") == EMAIL  # the small one


def test_a_full_width_or_small_at_sign_is_the_at_sign() -> None:
    for spelling in ("jan＠example.com", "jan﹫example.com", "ｊａｎ＠ｅｘａｍｐｌｅ．ｃｏｍ"):
        assert address_and_display(spelling, default_region=None) == (EMAIL, "jan@example.com", None if spelling.startswith("jan") else "ｊａｎ@example.com")
        assert normalize_address(spelling, default_region=None) == (EMAIL, "jan@example.com")
    assert classify("") == PHONE


PHONES = [
    # (typed, default region, stored)
    ("+48500000001", None, "48500000001"),
    ("+48 500 000 001", None, "48500000001"),
    ("0048500000001", None, "48500000001"),
    ("48500000001", None, "48500000001"),
    ("500 000 001", "PL", "48500000001"),
    ("+44 20 7946 0958", "PL", "442079460958"),
    ("020 7946 0958", "GB", "442079460958"),
    ("(202) 555-0143", "US", "12025550143"),
]


@pytest.mark.parametrize(("typed", "region", "stored"), PHONES)
def test_phone_numbers_are_stored_as_e164_digits(typed: str, region: str | None, stored: str) -> None:
    assert normalize_address(typed, default_region=region) == (PHONE, stored)
    assert normalize_address(typed, default_region=region, kind=PHONE) == (PHONE, stored)
    assert normalize_phone_number(typed, default_region=region) == stored  # exactly as SMSAPI's routes read it


INVALID_PHONES = [
    # (typed, default region)
    ("500 000 001", None),  # national without a region: +500 is the Falklands, and too long for them
    ("0500000001", None),  # a trunk prefix and no region
    ("+48 123", None),
    ("+48 500 000 001", "XX"),
    ("1-800-FLOWERS", "US"),
    ("", "PL"),
    ("+999 500 000 001", None),
    ("12++34", "PL"),
]


@pytest.mark.parametrize(("typed", "region"), INVALID_PHONES)
def test_a_bad_phone_number_is_an_invalid_address_with_the_phone_reason(typed: str, region: str | None) -> None:
    if region == "XX":
        # An unknown region only matters for national numbers; an international one still reads.
        assert normalize_address(typed, default_region=region) == (PHONE, "48500000001")
        return
    with pytest.raises(InvalidPhoneNumber) as phone_error:
        normalize_phone_number(typed, default_region=region)
    reason = phone_error.value.message.split(" is not a valid phone number: ", 1)[1]
    with pytest.raises(InvalidAddress) as raised:
        normalize_address(typed, default_region=region, path="addresses.7")
    error = raised.value
    assert not isinstance(error, InvalidPhoneNumber)
    assert error.code == "invalid_address"
    assert error.message.endswith("is not a valid address: " + reason)
    assert [(detail.path, detail.error) for detail in error.errors] == [("addresses.7", "invalid_address")]
    assert error.body().model_dump()["error"] == "invalid_address"


def test_the_path_defaults_to_address() -> None:
    for typed in ("nope", "jan@"):
        with pytest.raises(InvalidAddress) as raised:
            normalize_address(typed, default_region=None)
        assert raised.value.errors[0].path == "address"


def test_a_given_kind_is_insisted_on() -> None:
    with pytest.raises(InvalidAddress, match="must have an @-sign"):
        normalize_address("+48500000001", default_region=None, kind=EMAIL)
    with pytest.raises(InvalidAddress, match="only digits"):
        normalize_address("jan@example.com", default_region=None, kind=PHONE)
    with pytest.raises(ValueError):
        normalize_address("+48500000001", default_region=None, kind="fax")


FITS = [
    # (address kind, list channel, fits)
    (EMAIL, "", True),
    (EMAIL, None, True),
    (EMAIL, "email", True),
    (EMAIL, "sms", False),
    (EMAIL, "rcs", False),
    (EMAIL, "whatsapp", False),
    (EMAIL, "voice", False),
    (PHONE, "", True),
    (PHONE, None, True),
    (PHONE, "sms", True),
    (PHONE, "rcs", True),
    (PHONE, "whatsapp", True),
    (PHONE, "voice", True),
    (PHONE, "email", False),
    ("fax", "", False),
]


@pytest.mark.parametrize(("kind", "channel", "fits"), FITS)
def test_address_fits(kind: str, channel: str | None, fits: bool) -> None:
    assert address_fits(kind, channel) is fits
