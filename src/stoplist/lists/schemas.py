"""What the native lists API reads and writes, and the values a list's scope and an entry's reason take."""

from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from stoplist.audit.origin import Evidence, ReceivedAt
from stoplist.db import RFC3339
from stoplist.declared import NO_NUL, any_case, component, nullable, printable, replaced_by, spaced_printable, trimmed, trimmed_run
from stoplist.lists.expiry import EXPIRE_AT_DESCRIPTION, expire_at_schema
from stoplist.lists.folding import folded
from stoplist.lists.phone import number_search_schema, phone_number_schema
from stoplist.lists.precedence import CHANNELS, KINDS
from stoplist.lists.senders import SCOPE_WORDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SENDER = 64
MAX_NOTE = 500
REASONS = ("unsubscribed", "stop_keyword", "complaint", "bounce", "gdpr_erasure", "legal", "manual", "other")
DEFAULT_REASON = "manual"
SOURCES = ("api", "import", "cli")
# A cursor carries its last entry's key: an e-mail address may take 320 characters of up to 4 bytes each.
MAX_CURSOR = 2048
# The alphabet of base64url without padding, in which lists.cursors.make_cursor writes a cursor.
CURSOR_PATTERN = "^[A-Za-z0-9_-]+$"


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z` and no fractions: SMSAPI's Python client cannot read fractions."""
    return moment.strftime(RFC3339)


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    Field(json_schema_extra={"type": "string", "format": "date-time", "example": "2026-11-22T10:00:00Z"}),
]


class EntryOrder(str, Enum):
    """Accepted values of `orderBy`; a leading '-' means descending. `phone_number` (SMSAPI's name) and `address` are one order."""

    created_at = "created_at"
    created_at_desc = "-created_at"
    updated_at = "updated_at"
    updated_at_desc = "-updated_at"
    id = "id"
    id_desc = "-id"
    address = "address"
    address_desc = "-address"
    phone_number = "phone_number"
    phone_number_desc = "-phone_number"
    expire_at = "expire_at"
    expire_at_desc = "-expire_at"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    def directed(self, descending: bool) -> "EntryOrder":
        """The same key in the given direction."""
        return EntryOrder(("-" if descending else "") + self.value.lstrip("-"))


# VoodooSMS's spelling of a direction (`sort`), in any case.
SORTS = ("asc", "desc")


# Written from the domain's tuples, so that the schema cannot drift from them.
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
ListKind = Literal[KINDS]  # type: ignore[valid-type]


# Where the schemas below and the code that reads the values part ways (for the OpenAPI document's marks).
SENDER_NOT_PRINTABLE = (
    "a sender holding a character str.isprintable refuses beyond the controls and white space the pattern names:"
    " format characters (U+200B), private-use and unassigned code points, a set each version of Unicode changes"
)
NOTE_NOT_STORABLE = "a note holding an unpaired surrogate (a JSON \\ud800 escape), which no pattern names"
CURSOR_NOT_GIVEN_OUT = (
    "a cursor of the right alphabet that this service did not give out, or gave out for another order or other filters,"
    " which only the service can tell"
)
FILTER_REQUIRED = ("a delete with no filter at all (an empty channel or sender alone counts as none: it would take whole lists), or a blank q,"
                   " every filter parameter being optional on its own, which a list of parameters cannot forbid")
BOOLEAN_ACCEPTED = "read as pydantic reads a boolean from text: 1, 0, yes, no, on, off, y, n, t, f in any case, besides true and false"


def declared_schemas() -> dict[str, dict]:
    """The schemas of the values the API reads in its own way (in any case, between white space), by
    their names among the document's components; each is referenced wherever the value is read."""
    edge, middle = printable()
    sender_edge, sender_middle = spaced_printable()
    return {
        "Channel": _spelled(CHANNELS, "A channel", blank="every channel"),
        "ListKind": _spelled(KINDS, "A kind of list"),
        "Reason": _spelled(REASONS, "A reason"),
        "Sort": _spelled(SORTS, "A direction (VoodooSMS's `sort`)"),
        "Sender": {
            "type": "string",
            "pattern": trimmed_run(sender_edge, sender_middle, MAX_SENDER, optional=True),
            "not": {"pattern": trimmed(any_case(sorted(SCOPE_WORDS), fold=folded))},
            "description": f"A sender name or id: at most {MAX_SENDER} printable characters once white space around them is"
            f" removed (white space inside, of any kind and length, is one space), and not {' or '.join(f'`{word}`' for word in sorted(SCOPE_WORDS))}"
            " in any case or width; empty or blank: every sender.",
        },
        "ExpireAt": expire_at_schema(),
        "PhoneNumber": phone_number_schema(),
        "NumberSearch": number_search_schema(),
        "EntryCursor": {"type": "string", "pattern": CURSOR_PATTERN, "maxLength": MAX_CURSOR, "description": "A `next_cursor` as given out."},
    }


def _spelled(values: tuple[str, ...], what: str, *, blank: str | None = None) -> dict:
    """One of `values` in any case with white space around it (the code lower-cases and strips it), or blank text if that means something."""
    meaning = f"; empty or blank: {blank}" if blank else ""
    return {
        "type": "string",
        "pattern": trimmed(any_case(values), optional=blank is not None),
        "description": f"{what}: {', '.join(values)}, in any case and with white space around it{meaning}.",
        "x-canonical": list(values),
    }


# Body fields and query parameters of these values, as the document declares them.
CHANNEL = replaced_by(component("Channel"))
CHANNEL_OR_NULL = replaced_by(nullable(component("Channel")))
SENDER = replaced_by(component("Sender"))
SENDER_OR_NULL = replaced_by(nullable(component("Sender")))
LIST_KIND = replaced_by(component("ListKind"))
REASON = replaced_by(component("Reason"))
EXPIRE_AT = replaced_by(component("ExpireAt"))
ENTRY_CURSOR = replaced_by(component("EntryCursor"))
SORT = replaced_by(component("Sort"))


class NativeEntryCreate(BaseModel):
    """The body of `POST /blacklist/entries`."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="A phone number in any common spelling (stored as E.164) or an e-mail address.", examples=["+48500000000"])
    channel: str | None = Field(
        default=None, examples=["whatsapp"], json_schema_extra=CHANNEL_OR_NULL,
        description=f"{', '.join(CHANNELS)} (any case); null, empty or absent: every channel (`every`, `all` and `*` are refused).",
    )
    sender: str | None = Field(
        default=None, examples=["ACME"], json_schema_extra=SENDER_OR_NULL,
        description=f"A sender name or id (at most {MAX_SENDER} characters; compared without regard to case and surrounding space, a phone number in any spelling); null, empty or absent: every sender (`every`, `all` and `*` are refused).",
    )
    list: str = Field(default="block", json_schema_extra=LIST_KIND, description="`block` (never message) or `allow` (may message, despite a less specific block); any case.")
    reason: str = Field(default=DEFAULT_REASON, json_schema_extra=REASON, description=f"One of {', '.join(REASONS)}; any case.", examples=["unsubscribed"])
    note: str | None = Field(
        default=None, description=f"Free text, at most {MAX_NOTE} characters.",
        json_schema_extra=replaced_by(nullable({"type": "string", "maxLength": MAX_NOTE, "pattern": NO_NUL})),
    )
    expire_at: str | None = Field(default=None, description=EXPIRE_AT_DESCRIPTION, examples=["2099-12-01T00:00:00Z"], json_schema_extra=EXPIRE_AT)
    evidence: Evidence = None
    received_at: ReceivedAt = None


class NativeEntry(BaseModel):
    """One entry of one of the account's lists."""

    id: str = Field(examples=["1"])
    address: str = Field(
        description="E.164 digits without '+', or the e-mail address with its domain lower-cased and IDNA-encoded and its local part as first given.",
        examples=["48500000000"],
    )
    address_kind: Literal["phone", "email"]
    channel: Channel | None = Field(description="Null: every channel.")
    sender: str | None = Field(description="As first given for the list; null: every sender.")
    list: ListKind
    reason: str = Field(examples=["unsubscribed"])
    note: str | None
    source: Literal["api", "import", "cli"]
    expire_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class NativeEntryPage(BaseModel):
    """A page of entries, how many match in all, and the cursor of the next page (null on the last)."""

    size: int = Field(description="How many entries match the filters, on all pages.")
    collection: list[NativeEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null when this is the last.")


class DeletedCount(BaseModel):
    """What a delete by filter did, or (dry_run) would do."""

    count: int = Field(description="How many live entries went (or would go); lapsed ones that matched went too, each with its `expire` event, uncounted.")
