"""What the native lists API reads and writes, and the values a list's scope and an entry's reason take."""

from datetime import datetime
from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from stoplist.audit.origin import EVIDENCE_DESCRIPTION, EVIDENCE_SCHEMA, RECEIVED_AT_DESCRIPTION, RECEIVED_AT_SCHEMA
from stoplist.db import RFC3339
from stoplist.lists.precedence import CHANNELS, KINDS

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_SENDER = 64
MAX_NOTE = 500
REASONS = ("unsubscribed", "stop_keyword", "complaint", "bounce", "gdpr_erasure", "legal", "manual", "other")
DEFAULT_REASON = "manual"
SOURCES = ("api", "import", "cli")


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z` and no fractions: SMSAPI's Python client cannot read fractions."""
    return moment.strftime(RFC3339)


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    Field(json_schema_extra={"type": "string", "format": "date-time", "example": "2026-11-22T10:00:00Z"}),
]


class EntryOrder(str, Enum):
    """Accepted values of `orderBy`; a leading '-' means descending."""

    created_at = "created_at"
    created_at_desc = "-created_at"
    phone_number = "phone_number"
    phone_number_desc = "-phone_number"
    expire_at = "expire_at"
    expire_at_desc = "-expire_at"


# Written from the domain's tuples, so that the schema cannot drift from them.
Channel = Literal[CHANNELS]  # type: ignore[valid-type]
ListKind = Literal[KINDS]  # type: ignore[valid-type]


class NativeEntryCreate(BaseModel):
    """The body of `POST /blacklist/entries`."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="A phone number in any common spelling (stored as E.164) or an e-mail address.", examples=["+48500000000"])
    channel: str | None = Field(default=None, description="`sms`, `rcs`, `whatsapp`, `voice` or `email`; null or absent: every channel (`every`, `all` and `*` are refused).", examples=["whatsapp"])
    sender: str | None = Field(
        default=None, examples=["ACME"],
        description=f"A sender name or id (at most {MAX_SENDER} characters; compared without regard to case and surrounding space, a phone number in any spelling); null or absent: every sender (`every`, `all` and `*` are refused).",
    )
    list: str = Field(default="block", description="`block` (never message) or `allow` (may message, despite a less specific block).")
    reason: str = Field(default=DEFAULT_REASON, description=f"One of {', '.join(REASONS)}; any case.", examples=["unsubscribed"])
    note: str | None = Field(default=None, description=f"Free text, at most {MAX_NOTE} characters.")
    expire_at: str | None = Field(
        default=None,
        description="When the entry stops applying: a date (midnight UTC) or an RFC 3339 date-time; null or absent means never.",
        examples=["2099-12-01T00:00:00Z"],
    )
    evidence: str | None = Field(default=None, description=EVIDENCE_DESCRIPTION, json_schema_extra=EVIDENCE_SCHEMA)
    received_at: str | None = Field(default=None, description=RECEIVED_AT_DESCRIPTION, json_schema_extra=RECEIVED_AT_SCHEMA, examples=["2026-11-22T09:30:00Z"])


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
