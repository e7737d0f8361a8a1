"""The grounds of an API write, read at the boundary: its token, its request id, and the client's
`evidence` and `received_at`, which every write route takes and every event it writes carries."""

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated

from fastapi import Query, Request
from pydantic import Field

from stoplist.audit.trail import Origin
from stoplist.auth.principal import Principal
from stoplist.declared import NO_NUL, nullable, plus_hint, replaced_by
from stoplist.errors import InvalidEvidence

MAX_EVIDENCE = 1000  # characters
MAX_REQUEST_ID = 128
# A client's clock may run a little ahead of ours; further ahead is a mistake, not a receipt.
CLOCK_SKEW = timedelta(minutes=5)
REQUEST_ID_HEADER = "x-request-id"

EVIDENCE_DESCRIPTION = (
    f"Free text kept on the audit trail with this change, up to {MAX_EVIDENCE:,} characters "
    "(e.g. \"SMS 'STOP' received 2026-11-30T10:00:00Z, message id 123\")."
)
RECEIVED_AT_DESCRIPTION = (
    "When the opt-out reached you, if before this request (RFC 3339 with an offset, e.g. 2026-11-30T10:00:00Z): "
    "kept on the audit trail; not in the future, nor before 1970."
)
EARLIEST_RECEIVED = datetime(1970, 1, 1, tzinfo=timezone.utc)


def api_origin(request: Request, principal: Principal, *, evidence: str | None, received_at: str | None, now: datetime, source: str = "api") -> Origin:
    return Origin(
        source, token_id=principal.token_id, actor_account_id=principal.actor_account_id, request_id=request_id(request),
        evidence=evidence_of(evidence), received_at=received_at_of(received_at, now=now),
    )


def request_id(request: Request) -> str:
    """The client's X-Request-Id when it is a sensible one (visible ASCII, at most 128), else a new one."""
    given = request.headers.get(REQUEST_ID_HEADER)
    if given and len(given) <= MAX_REQUEST_ID and given.isascii() and given.isprintable() and " " not in given:
        return given
    return uuid.uuid4().hex


def evidence_of(text: str | None) -> str | None:
    """Evidence as recorded: None for none, and for an empty or blank one (as a blank note is none), so that no
    event holds evidence nobody can read. Its length is checked first, as a note's is."""
    if text is None:
        return None
    if len(text) > MAX_EVIDENCE:
        raise InvalidEvidence("evidence", f"evidence is {len(text):,} characters long; at most {MAX_EVIDENCE:,} are kept.")
    if "\x00" in text or any(0xD800 <= ord(character) <= 0xDFFF for character in text):
        raise InvalidEvidence("evidence", "evidence holds a NUL character or an unpaired surrogate; send plain text.")
    return text if text.strip() else None


def received_at_of(text: str | None, *, now: datetime) -> datetime | None:
    """An RFC 3339 moment with its offset, to the second, not in the future."""
    if text is None:
        return None
    if len(text) > RECEIVED_AT_SCHEMA["maxLength"]:
        raise InvalidEvidence("received_at", f"received_at is {len(text):,} characters long: an RFC 3339 date and time, such as 2026-11-30T10:00:00Z, has at most 40.")
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEvidence("received_at", f"received_at {text!r} is not an RFC 3339 date and time, such as 2026-11-30T10:00:00Z.{plus_hint(text)}") from None
    if moment.tzinfo is None:
        raise InvalidEvidence("received_at", f"received_at {text!r} has no offset: add Z for UTC, or +01:00 and the like.")
    try:
        moment = moment.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the calendar's first day in UTC
        raise InvalidEvidence("received_at", f"received_at {text!r} is outside the calendar in UTC.") from None
    if moment > now + CLOCK_SKEW:
        raise InvalidEvidence("received_at", f"received_at {text!r} is in the future.")
    if moment < EARLIEST_RECEIVED:
        # No opt-out reached anyone before 1970: a typo or a placeholder (0001-01-01), which would stand on the trail
        # as proof and count as an opt-out honoured two thousand years late.
        raise InvalidEvidence("received_at", f"received_at {text!r} is before 1970: give the moment the opt-out reached you.")
    return moment


# How the two are declared, in a body or a query: the schema states their bounds, and evidence_of and
# received_at_of enforce them, so that a request over them answers invalid_evidence as documented
# (a validator of the framework's would answer validation_error first).
EVIDENCE_SCHEMA = {"type": "string", "maxLength": MAX_EVIDENCE, "pattern": NO_NUL}
RECEIVED_AT_SCHEMA = {"type": "string", "format": "date-time", "maxLength": 40}
# What a schema-valid request may still be refused for, and what the server reads beyond the schema.
EVIDENCE_BEYOND_SCHEMA = (
    "received_at in the future (by more than five minutes: a clock's skew) or before 1970, or on a leap second or past the end of"
    " the calendar in UTC; evidence holding an unpaired surrogate (a JSON \\ud800 escape), which no pattern names"
)
RECEIVED_AT_ACCEPTED = (
    "read by Python's datetime.fromisoformat, which takes more of ISO 8601 than RFC 3339's date-time: white space around"
    " it, any character for the T, no seconds, week dates, the basic format (20261130T100000Z)"
)

# The same two, as query parameters of the write routes that take no body (deletes, uploads).
EvidenceQuery = Annotated[str | None, Query(description=EVIDENCE_DESCRIPTION, json_schema_extra=replaced_by(EVIDENCE_SCHEMA))]
ReceivedAtQuery = Annotated[str | None, Query(description=RECEIVED_AT_DESCRIPTION, json_schema_extra=replaced_by(RECEIVED_AT_SCHEMA))]
# And as fields of a body, where null is absent.
EVIDENCE_FIELD = replaced_by(nullable(EVIDENCE_SCHEMA))
RECEIVED_AT_FIELD = replaced_by(nullable(RECEIVED_AT_SCHEMA))
# The two fields every write's body takes (give them `= None`): text only (no number read as text), checked by api_origin.
Evidence = Annotated[str | None, Field(strict=True, description=EVIDENCE_DESCRIPTION, json_schema_extra=EVIDENCE_FIELD)]
ReceivedAt = Annotated[
    str | None, Field(strict=True, description=RECEIVED_AT_DESCRIPTION, json_schema_extra=RECEIVED_AT_FIELD, examples=["2026-11-22T09:30:00Z"])
]
