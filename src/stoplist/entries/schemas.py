"""What the native API's edits read and answer: PATCH of an entry, a replacement, a batch of adds."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from stoplist.audit.origin import Evidence, ReceivedAt
from stoplist.declared import NO_NUL, component, given_only, nullable
from stoplist.errors import ErrorBody
from stoplist.lists.batch import MAX_ITEMS
from stoplist.lists.expiry import EDITED_EXPIRY, EXPIRE_AT_DESCRIPTION
from stoplist.lists.precedence import CHANNELS
from stoplist.lists.schemas import CHANNEL_OR_NULL, EXPIRE_AT, LIST_KIND, MAX_NOTE, MAX_SENDER, REASONS, SENDER_OR_NULL, NativeEntry

NOTE_SCHEMA = nullable({"type": "string", "maxLength": MAX_NOTE, "pattern": NO_NUL})
CHANNEL_WORDS = ", ".join(CHANNELS)
REASON_WORDS = ", ".join(REASONS)



class NativeEntryUpdate(BaseModel):
    """The body of `PATCH /blacklist/entries/{id}`: only what changes. `list`, `channel` or `sender`
    naming another list moves the entry there (a new entry, with a new id)."""

    model_config = ConfigDict(extra="forbid")

    list: str = Field(default=None, json_schema_extra=given_only(component("ListKind")), description="Move to a list of this kind: `block` or `allow`; any case.")
    channel: str | None = Field(
        default=None, examples=["sms"], json_schema_extra=given_only(nullable(component("Channel"))),
        description=f"Move to a list of this channel ({CHANNEL_WORDS}; any case); null or empty: of every channel.",
    )
    sender: str | None = Field(
        default=None, examples=["ACME"], json_schema_extra=given_only(nullable(component("Sender"))),
        description=f"Move to a list of this sender (at most {MAX_SENDER} characters, any case); null or empty: of every sender.",
    )
    reason: str = Field(default=None, json_schema_extra=given_only(component("Reason")), description=f"One of {REASON_WORDS}; any case.", examples=["complaint"])
    note: str | None = Field(default=None, json_schema_extra=given_only(NOTE_SCHEMA), description=f"Free text, at most {MAX_NOTE} characters; null: no note.")
    expire_at: str | None = Field(
        default=None, json_schema_extra=given_only(component("ExpireAt")), examples=["2099-12-01T00:00:00Z"],
        description=EDITED_EXPIRY,
    )
    evidence: Evidence = None
    received_at: ReceivedAt = None


class EntryReplace(BaseModel):
    """The body of `POST /blacklist/entries/replace`."""

    model_config = ConfigDict(extra="forbid")

    old: str = Field(description="The address listed now (any spelling).", examples=["+48500000001"])
    new: str = Field(description="The address its entries move to (any spelling).", examples=["+48500000002"])
    list: str = Field(
        default=None, json_schema_extra=given_only(component("ListKind")),
        description="With `channel` and `sender`, names the one list to replace on, as `POST /blacklist/entries` names a list (`block` when left out); none of the three: every list.",
    )
    channel: str | None = Field(
        default=None, json_schema_extra=given_only(nullable(component("Channel"))),
        description=f"The list's channel ({CHANNEL_WORDS}; any case); null, empty or left out while `list` or `sender` is given: every channel.",
    )
    sender: str | None = Field(
        default=None, json_schema_extra=given_only(nullable(component("Sender"))),
        description="The list's sender; null, empty or left out while `list` or `channel` is given: every sender.",
    )
    evidence: Evidence = None
    received_at: ReceivedAt = None


class ReplaceResult(BaseModel):
    """The entries `new` now has in place of those of `old`, one per list, new ids."""

    old: str = Field(description="The replaced address, as matched (its key).")
    new: str = Field(description="The address now listed, as matched (its key).")
    entries: list[NativeEntry]


class BatchItem(BaseModel):
    """An item of a batch as an object: its address, and what it sets other than the batch's defaults.
    Its values are read as in `POST /blacklist/entries`; one that is not valid makes the item `invalid`."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(description="A phone number in any common spelling or an e-mail address.")
    list: str = Field(default=None, json_schema_extra=given_only({"type": "string"}), description="`block` or `allow`.")
    channel: str | None = Field(default=None, json_schema_extra=given_only(nullable({"type": "string"})), description="A channel; null or empty: every channel.")
    sender: str | None = Field(default=None, json_schema_extra=given_only(nullable({"type": "string"})), description="A sender; null or empty: every sender.")
    reason: str = Field(default=None, json_schema_extra=given_only({"type": "string"}), description="A reason.")
    note: str | None = Field(default=None, json_schema_extra=given_only(nullable({"type": "string"})), description="A note; null: none.")
    expire_at: str | None = Field(default=None, json_schema_extra=given_only(nullable({"type": "string"})), description="An expiry; null: never.")


class BatchCreate(BaseModel):
    """The body of `POST /blacklist/entries/batch`: the items, and the defaults they share."""

    model_config = ConfigDict(extra="forbid")

    items: list[str | BatchItem] = Field(
        min_length=1, max_length=MAX_ITEMS, examples=[["+48500000003", {"address": "ewa@example.com", "channel": "email"}]],
        description=f"1 to {MAX_ITEMS:,} items, each an address or an object of an address and what it sets beyond the defaults below"
        " (more is `413 too_many_items`). A value of an item that is not valid makes that item `invalid`; the others are written.",
    )
    list: str = Field(default="block", json_schema_extra=LIST_KIND, description="`block` or `allow` (any case).")
    channel: str | None = Field(default=None, json_schema_extra=CHANNEL_OR_NULL, description=f"{CHANNEL_WORDS} (any case); null, empty or absent: every channel.")
    sender: str | None = Field(default=None, json_schema_extra=SENDER_OR_NULL, description="A sender; null, empty or absent: every sender.")
    reason: str = Field(
        default=None, json_schema_extra=given_only(component("Reason")),
        description=f"One of {REASON_WORDS} (any case); left out: a listed address keeps its own, a new one is `manual`.",
    )
    note: str | None = Field(
        default=None, json_schema_extra=given_only(NOTE_SCHEMA),
        description=f"Free text, at most {MAX_NOTE} characters (null: none); left out: a listed address keeps its own.",
    )
    expire_at: str | None = Field(default=None, json_schema_extra=EXPIRE_AT, description=EXPIRE_AT_DESCRIPTION, examples=["2099-12-01T00:00:00Z"])
    evidence: Evidence = None
    received_at: ReceivedAt = None


class BatchResultItem(BaseModel):
    """What became of one item."""

    input: Any = Field(description="The item, as sent.")
    outcome: Literal["created", "updated", "unchanged", "invalid"] = Field(
        description="`created`: a new entry; `updated`: an entry that was listed took what the item sets; `unchanged`: it had it already; `invalid`: not written (see `error`)."
    )
    entry: NativeEntry | None = Field(description="The entry as it now is; null for an invalid item.")
    error: ErrorBody | None = Field(description="Why the item is invalid, as an error answer would say; null otherwise.")


class BatchResult(BaseModel):
    """One result per item, in the items' order."""

    results: list[BatchResultItem]
