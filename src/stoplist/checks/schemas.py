"""The shapes of the check endpoints (for the OpenAPI schema; answers are built by hand on the hot path)."""

from pydantic import BaseModel, Field

from stoplist.blacklist.schemas import EntryPublic

MAX_NUMBERS = 10_000  # per bulk check


class CheckResult(BaseModel):
    phone_number: str = Field(description="The number as E.164 digits without '+'.", examples=["48500000000"])
    blacklisted: bool = Field(description="On the account's list right now (not expired).")
    entry: EntryPublic | None


class BulkCheckRequest(BaseModel):
    phone_numbers: list[str | int | None] = Field(max_length=MAX_NUMBERS, description=f"Up to {MAX_NUMBERS:,} numbers, in any spelling.")


class BulkCheckItem(BaseModel):
    input: str | int | None = Field(description="The input, exactly as sent.")
    phone_number: str | None = Field(description="E.164 digits; null when the input is not a valid number.")
    valid: bool = Field(description="True exactly when POST /blacklist/phone_numbers would accept this input.")
    blacklisted: bool = Field(description="On the account's list right now; never true for an invalid input.")


class BulkCheckResult(BaseModel):
    results: list[BulkCheckItem]
