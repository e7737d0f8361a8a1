"""The shapes of the check endpoints (for the OpenAPI schema; answers are built by hand on the hot path)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stoplist.blacklist.schemas import EntryPublic
from stoplist.lists.precedence import CHANNELS
from stoplist.lists.schemas import CHANNEL_OR_NULL, SENDER_OR_NULL, ListKind, NativeEntry

MAX_NUMBERS = 10_000  # per bulk check


class Decision(BaseModel):
    """The entry that decided a check, and the kind of its list."""

    list: ListKind = Field(description="`block`: may not be messaged; `allow`: may, despite a less specific block.")
    entry: NativeEntry


class CheckResult(BaseModel):
    address: str = Field(description="The address as matched: E.164 digits without '+', or the e-mail address's key (domain lower-cased and IDNA-encoded, local part case-folded).", examples=["48500000000"])
    phone_number: str | None = Field(description="The number as E.164 digits without '+'; null for an e-mail address.", examples=["48500000000"])
    blacklisted: bool = Field(description="True when the deciding entry is on a block list (live right now).")
    entry: EntryPublic | None = Field(description="SMSAPI's field: the blocking entry of a phone number when it is on SMSAPI's list (the default list: block, every channel, every sender), in SMSAPI's shape; null otherwise, even when another list blocks it (see `decision`).")
    decision: Decision | None = Field(description="Which entry decided (see the precedence table in the README); null when none applies.")


class BulkCheckRequest(BaseModel):
    # Exactly one of the two lists: both is conflicting_parameters, neither validation_error.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [{"required": ["phone_numbers"]}, {"required": ["addresses"]}]})

    # Any JSON value is answered: one that is no spelling of an address is `valid: false`, echoed as sent.
    phone_numbers: list[Any] = Field(  # type: ignore[assignment]
        default=None, max_length=MAX_NUMBERS,
        description=f"Up to {MAX_NUMBERS:,} phone numbers, in any spelling (strings or integers; anything else is answered as invalid). Give this or `addresses`.",
    )
    addresses: list[Any] = Field(  # type: ignore[assignment]
        default=None, max_length=MAX_NUMBERS, description=f"Up to {MAX_NUMBERS:,} phone numbers or e-mail addresses. Give this or `phone_numbers`."
    )
    channel: str | None = Field(
        default=None, json_schema_extra=CHANNEL_OR_NULL,
        description=f"The channel of the messages ({', '.join(CHANNELS)}; any case); absent, null or empty: lists of every channel only.",
    )
    sender: str | None = Field(
        default=None, json_schema_extra=SENDER_OR_NULL,
        description="The sender of the messages (compared without regard to case and surrounding space; a phone number in any spelling); absent, null or empty: lists of every sender only.",
    )


class BulkDecision(BaseModel):
    list: ListKind
    entry_id: str


class BulkCheckItem(BaseModel):
    input: Any = Field(description="The input, exactly as sent (any JSON value).")
    address: str | None = Field(description="The address as matched (see CheckResult.address); null when the input is not valid.")
    phone_number: str | None = Field(description="E.164 digits; null when the input is not a valid number (or is an e-mail address).")
    valid: bool = Field(description="True exactly when POST /blacklist/phone_numbers (POST /blacklist/entries for `addresses`) would accept this input.")
    blacklisted: bool = Field(description="True when the deciding entry is on a block list; never true for an invalid input.")
    decision: BulkDecision | None = Field(description="The kind of list and the id of the entry that decided; null when none applies.")


class BulkCheckResult(BaseModel):
    results: list[BulkCheckItem]


