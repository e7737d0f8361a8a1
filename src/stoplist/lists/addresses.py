"""Addresses: a phone number or an e-mail address, from what a user typed to the one stored form.

Phone numbers become E.164 digits (stoplist.lists.phone); e-mail addresses are validated
offline with email-validator and matched on a key, `folded-local-part@ascii-domain`, while the
spelling first given is kept for display where it differs from the key.
"""

import functools
import unicodedata

from email_validator import EmailNotValidError, validate_email

from stoplist.errors import InvalidAddress, InvalidPhoneNumber
from stoplist.lists.folding import folded
from stoplist.lists.phone import normalize_phone_number

PHONE = "phone"
EMAIL = "email"
ADDRESS_KINDS = (PHONE, EMAIL)

# RFC 5321 allows 64 characters of local part, '@' and 255 of domain; email-validator refuses
# anything over 254 itself. This bound only keeps huge inputs away from the parser.
MAX_EMAIL_INPUT_LENGTH = 320
_SHOWN = 64  # characters of a refused input quoted back in the error message
# The at signs East Asian keyboards and forms type (full-width U+FF20, small U+FE6B): each is '@', as
# Unicode's compatibility mappings say, so that `jan＠example.com` is an e-mail address, the one it spells.
_AT_SIGNS = str.maketrans({"\uff20": "@", "\ufe6b": "@"})
# Why an address the schema allows may still be refused (for the OpenAPI document's x-semantic-errors).
NOT_AN_ADDRESS = (
    "whether text is a phone number on its country's plan or an e-mail address (RFC 5322's syntax, a domain IDNA"
    " can encode) no schema can say"
)


def normalize_email(raw: str, *, path: str = "address") -> str:
    """The matching key of an e-mail address (see email_and_display), or raise InvalidAddress saying why."""
    return email_and_display(raw, path=path)[0]


def email_and_display(raw: str, *, path: str = "address") -> tuple[str, str | None]:
    """`(key, display)` of an e-mail address, or raise InvalidAddress saying why.

    The domain is lower-cased and IDNA-encoded (`xn--…`), so one domain has one spelling. The
    local part is read as email-validator normalises it (Unicode NFC, and lower case for the
    case-insensitive mailbox names such as `postmaster`): that spelling is the display, None when
    it is the key already. The key folds the local part's case (email_key): RFC 5321 lets a server
    tell `Jan` from `jan`, but the mailbox providers people use do not, and an opt-out given in one
    spelling must stop messages to the other.
    """
    if type(raw) is not str:
        raise InvalidAddress(_shown(raw), "an e-mail address must be text", path=path)
    if len(raw) > MAX_EMAIL_INPUT_LENGTH:
        raise InvalidAddress(_shown(raw), f"it is longer than {MAX_EMAIL_INPUT_LENGTH} characters", path=path)
    try:
        return _stored_email(with_ascii_at(raw).strip())
    except EmailNotValidError as error:
        raise InvalidAddress(_shown(raw), str(error), path=path) from None


def email_key(address: str) -> str:
    """The matching key of a normalised e-mail address: its local part folded (lists.folding: case and width, then NFC), its domain as it is.

    Pure and idempotent; migration 0012 folds stored addresses with it, so stored keys are what the code matches.
    Folding lengthens text (ß -> ss), but never past its UTF-8 octets, of which email-validator allows 254
    an address: a key fits an entry's 320 characters."""
    local, _at, domain = address.rpartition("@")
    return f"{folded(local)}@{domain}"


def case_folded_key(address: str) -> str:
    """The key migration 0012 gave an e-mail address, its local part folded in case only: events recorded before
    migration 0017 folded width too name a full-width address by it (`ｅｗａ@…`), and the trail keeps them as they are."""
    local, _at, domain = address.rpartition("@")
    return f"{unicodedata.normalize('NFC', local.casefold())}@{domain}"


# Validation costs some 30 us an address (240 us with a non-ASCII domain): a bulk check of
# 10,000 addresses would spend most of its time here. Senders check the same addresses again
# and again, so valid ones are remembered (a few MB at most); invalid ones are not cached.
@functools.lru_cache(maxsize=65_536)
def _stored_email(text: str) -> tuple[str, str | None]:
    """(key, display or None) of a stripped e-mail address; EmailNotValidError when it is none."""
    email = validate_email(
        text,
        # No DNS: a check must not wait on the network, and an address we cannot deliver to
        # may still be one a user asks never to message.
        check_deliverability=False,
        allow_smtputf8=True,
        # Quoted local parts ("a b"@x) and IP-literal domains (a@[192.0.2.1]) are legal but
        # no sending service addresses mail to them; refusing them keeps one address one
        # spelling and keeps typos (a stray quote or bracket) from being stored.
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=False,
        allow_empty_local=False,
    )
    # ascii_domain is already lower case: IDNA (UTS #46) maps case as it encodes.
    display = f"{email.local_part}@{email.ascii_domain}"
    key = email_key(display)
    return key, (None if display == key else display)


def with_ascii_at(text: str) -> str:
    """`text` with its full-width and small at signs as '@' (ASCII text as it is)."""
    return text if text.isascii() else text.translate(_AT_SIGNS)


def classify(raw: str) -> str:
    """EMAIL if the text contains an at sign ('@', or its full-width or small form), else PHONE."""
    return EMAIL if "@" in raw or not raw.isascii() and "@" in raw.translate(_AT_SIGNS) else PHONE


def normalize_address(raw: str, *, default_region: str | None, kind: str | None = None, path: str = "address") -> tuple[str, str]:
    """`(address_kind, key)` of `raw` (see address_and_display), or raise InvalidAddress saying why. A bulk check
    reads 10,000 addresses with it: the spelling shown is not made here."""
    if kind is None:
        kind = classify(raw) if type(raw) is str else PHONE
    if kind == PHONE:
        return PHONE, _phone_key(raw, default_region, path)
    if kind == EMAIL:
        return EMAIL, email_and_display(raw, path=path)[0]
    raise ValueError(f"address kind must be one of {ADDRESS_KINDS}, not {kind!r}")


def address_and_display(
    raw: str, *, default_region: str | None, kind: str | None = None, path: str = "address"
) -> tuple[str, str, str | None]:
    """`(address_kind, key, display)` of `raw`, or raise InvalidAddress saying why: the key is what
    entries are stored and matched on, the display the spelling to show where it differs (else None).

    `kind` None reads the kind from the text (classify); PHONE or EMAIL insists on it. A phone
    number that does not parse raises InvalidAddress, not InvalidPhoneNumber: on the native API
    the field is `address`. (SMSAPI's routes call normalize_phone_number and keep theirs.)
    """
    if kind is None:
        kind = classify(raw) if type(raw) is str else PHONE
    if kind == PHONE:
        return PHONE, _phone_key(raw, default_region, path), None
    if kind == EMAIL:
        return (EMAIL, *email_and_display(raw, path=path))
    raise ValueError(f"address kind must be one of {ADDRESS_KINDS}, not {kind!r}")


def _phone_key(raw: str, default_region: str | None, path: str) -> str:
    try:
        return normalize_phone_number(raw, default_region=default_region, path=path)
    except InvalidPhoneNumber as error:
        raise InvalidAddress(_shown(raw), error.reason, path=path) from None


def address_fits(address_kind: str, channel: str | None) -> bool:
    """Whether an address of this kind may go on a list of `channel` ('' or None: every channel).

    An e-mail address only on e-mail or every-channel lists; a phone number on any but e-mail.
    """
    if address_kind == EMAIL:
        return not channel or channel == "email"
    return address_kind == PHONE and channel != "email"


def _shown(raw: object) -> str:
    """The refused input as quoted back to the user: as text, cut short if long."""
    text = "" if raw is None else str(raw).strip()
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "…"
