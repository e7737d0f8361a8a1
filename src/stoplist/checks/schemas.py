"""The shapes of the check endpoints (for the OpenAPI schema; answers are built by hand on the hot path)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stoplist.blacklist.schemas import EntryPublic

MAX_NUMBERS = 10_000  # per bulk check


class CheckResult(BaseModel):
    phone_number: str = Field(description="The number as E.164 digits without '+'.", examples=["48500000000"])
    blacklisted: bool = Field(description="On the account's list right now (not expired).")
    entry: EntryPublic | None


class BulkCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Any JSON value is answered: one that is no spelling of a number is `valid: false`, echoed as sent.
    phone_numbers: list[Any] = Field(max_length=MAX_NUMBERS, description=f"Up to {MAX_NUMBERS:,} numbers, in any spelling (strings or integers; anything else is answered as invalid).")


class BulkCheckItem(BaseModel):
    input: Any = Field(description="The input, exactly as sent (any JSON value).")
    phone_number: str | None = Field(description="E.164 digits; null when the input is not a valid number.")
    valid: bool = Field(description="True exactly when POST /blacklist/phone_numbers would accept this input.")
    blacklisted: bool = Field(description="On the account's list right now; never true for an invalid input.")


class BulkCheckResult(BaseModel):
    results: list[BulkCheckItem]
