"""What the blacklist API reads and writes, in SMSAPI's shapes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stoplist.audit.origin import Evidence, ReceivedAt
from stoplist.declared import component, given_only, replaced_by
from stoplist.lists.expiry import EDITED_EXPIRY, EXPIRE_AT_DESCRIPTION
from stoplist.lists.phone import number_input, number_schema
from stoplist.lists.schemas import EXPIRE_AT, Timestamp


class _NumberBody(BaseModel):
    """A body whose `phone_number` may be spelled as text, or as a JSON integer of its digits."""

    @field_validator("phone_number", mode="before", check_fields=False)
    @classmethod
    def _text_or_integer(cls, value: object) -> object:
        # A JSON number with a fraction is no spelling of a number (its '.5' would read as digits).
        spelling = number_input(value)
        if spelling is None:
            raise ValueError("phone_number must be a string (or an integer of digits)")
        return spelling


class EntryCreate(_NumberBody):
    """The body of `POST /blacklist/phone_numbers`, as JSON or as a form."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    phone_number: str = Field(
        description="The number, in any common spelling (a JSON integer of its digits too); stored as E.164.",
        examples=["+48 500 000 000"],
        json_schema_extra=replaced_by(number_schema(integers=True)),
    )
    expire_at: str | None = Field(default=None, description=EXPIRE_AT_DESCRIPTION, examples=["2099-12-01T00:00:00Z"], json_schema_extra=EXPIRE_AT)
    evidence: Evidence = None
    received_at: ReceivedAt = None


class EntryUpdate(_NumberBody):
    """The body of `PUT /blacklist/phone_numbers/{id}`, as JSON or as a form: a new number, a new expiry, or both."""

    # One of the two at least: neither is a validation_error.
    model_config = ConfigDict(
        extra="forbid", coerce_numbers_to_str=True, json_schema_extra={"anyOf": [{"required": ["phone_number"]}, {"required": ["expire_at"]}]}
    )

    phone_number: str = Field(
        default=None,
        description="The number the entry moves to, in any common spelling (a JSON integer of its digits too): the entry is replaced by a new one, with a new id.",
        examples=["+48 500 000 002"],
        json_schema_extra=given_only(number_schema(integers=True)),
    )
    expire_at: str | None = Field(default=None, description=EDITED_EXPIRY, examples=["2099-12-01T00:00:00Z"], json_schema_extra=given_only(component("ExpireAt")))
    evidence: Evidence = None
    received_at: ReceivedAt = None


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
