"""What the blacklist API reads and writes, in SMSAPI's shapes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stoplist.audit.origin import EVIDENCE_DESCRIPTION, EVIDENCE_SCHEMA, RECEIVED_AT_DESCRIPTION, RECEIVED_AT_SCHEMA
from stoplist.lists.phone import number_input, number_schema
from stoplist.lists.schemas import Timestamp


def _replace_schema(schema: dict):
    """A json_schema_extra that puts `schema` in place of the one pydantic derives from the type."""

    def replace(field_schema: dict) -> None:
        for key in ("type", "anyOf"):
            field_schema.pop(key, None)
        field_schema.update(schema)

    return replace


class EntryCreate(BaseModel):
    """The body of `POST /blacklist/phone_numbers`, as JSON or as a form."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    phone_number: str = Field(
        description="The number, in any common spelling (a JSON integer of its digits too); stored as E.164.",
        examples=["+48 500 000 000"],
        json_schema_extra=_replace_schema(number_schema(integers=True)),
    )
    expire_at: str | None = Field(
        default=None,
        description="When the entry stops applying: a date (midnight UTC) or an RFC 3339 date-time; null or absent means never.",
        examples=["2099-12-01T00:00:00Z"],
    )
    evidence: str | None = Field(default=None, strict=True, description=EVIDENCE_DESCRIPTION, json_schema_extra=EVIDENCE_SCHEMA)
    received_at: str | None = Field(default=None, strict=True, description=RECEIVED_AT_DESCRIPTION, json_schema_extra=RECEIVED_AT_SCHEMA, examples=["2026-11-22T09:30:00Z"])

    @field_validator("phone_number", mode="before")
    @classmethod
    def _text_or_integer(cls, value: object) -> object:
        # A JSON number with a fraction is no spelling of a number (its '.5' would read as digits).
        spelling = number_input(value)
        if spelling is None:
            raise ValueError("phone_number must be a string (or an integer of digits)")
        return spelling


class EntryPublic(BaseModel):
    """One blacklist entry."""

    model_config = ConfigDict(from_attributes=True)

    id: Annotated[str, Field(examples=["1"])]
    phone_number: Annotated[str, Field(description="E.164 without the '+'.", examples=["48500000000"])]
    expire_at: Timestamp | None
    created_at: Timestamp


class EntryPage(BaseModel):
    """A page of entries and how many match in all."""

    size: int = Field(description="How many entries match the query, on all pages.")
    collection: list[EntryPublic]
