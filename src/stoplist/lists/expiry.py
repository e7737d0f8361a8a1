"""Reading `expire_at`: a date, an RFC 3339 date-time, or nothing (forever)."""

from datetime import date, datetime, time, timedelta, timezone

from stoplist.errors import InvalidExpiry
from stoplist.declared import any_case, plus_hint, trimmed

EXPIRE_AT_DESCRIPTION = "When the entry stops applying: a date (midnight UTC) or an RFC 3339 date-time; null, empty or absent means never."
# The same, of an edit, where a field left out changes nothing.
EDITED_EXPIRY = "When the entry stops applying: a date (midnight UTC) or an RFC 3339 date-time; null or empty: never; left out: as it is."
# A date-time without an offset, read as UTC: RFC 3339's date and partial time, a calendar's ranges.
_NO_OFFSET = "^[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]+)?$"


# Where parse_expire_at and the schema part ways (for the OpenAPI document's marks).
EXPIRE_AT_BEYOND_SCHEMA = (
    "a moment that is not in the future; a day its month does not have (2099-02-30T10:00:00, without an offset),"
    " a leap second, or a moment past the end of the calendar in UTC (9999-12-31T23:59:59-01:00)"
)
EXPIRE_AT_ACCEPTED = (
    "read by Python's date.fromisoformat and datetime.fromisoformat once stripped of white space, which take more of"
    " ISO 8601 than a date or RFC 3339's date-time: any character for the T, no seconds, week dates, the basic format"
)


def expire_at_schema() -> dict:
    """What parse_expire_at reads, as JSON Schema: a date, a date-time with or without an offset, or nothing (never)."""
    return {
        "anyOf": [
            {"type": "string", "format": "date", "description": "Midnight UTC at the start of that day."},
            {"type": "string", "format": "date-time"},
            {"type": "string", "pattern": _NO_OFFSET, "description": "A date-time without an offset, read as UTC (SMSAPI's Python client sends `str(datetime)`)."},
            {"type": "string", "pattern": trimmed(any_case(["null"]), optional=True), "description": "Never: empty, blank or `null` in any case (a form has no null)."},
            {"type": "null", "description": "Never."},
        ],
        "description": "A moment in the future, to the second; or never.",
    }

_LAST_SECOND = datetime.max.replace(microsecond=0, tzinfo=timezone.utc)


def parse_expire_at(raw: object, *, now: datetime) -> datetime | None:
    """The UTC moment an entry stops applying, to the second; None means never.

    A fraction of a second is the next whole second: stored times are whole seconds, and an
    entry blocks until at least the moment asked (as a date filter's bound rounds up too).

    A bare date means midnight UTC at the start of that day; a date-time without an
    offset is read as UTC (SMSAPI's Python client sends `str(datetime)`).
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidExpiry(f"expire_at must be a date or an RFC 3339 date-time string, not {type(raw).__name__}.")
    text = raw.strip()
    if not text or text.lower() == "null":
        return None
    moment = parse_moment(text)
    if moment is None and _past_the_calendar(text):
        raise InvalidExpiry(f"expire_at {raw!r} is past the calendar's last day in UTC (9999-12-31T23:59:59Z).")
    if moment is None:
        raise InvalidExpiry(
            f"expire_at {raw!r} is neither a date (2026-12-01) nor an RFC 3339 date-time (2026-12-01T10:00:00Z).{plus_hint(text)}"
        )
    if moment.microsecond:
        moment = moment.replace(microsecond=0)
        if moment < _LAST_SECOND:  # the calendar's last second stays itself: no later one to round to
            moment += timedelta(seconds=1)
    if moment <= now:
        raise InvalidExpiry(f"expire_at {raw!r} is not in the future; delete the entry instead.")
    return moment


def _past_the_calendar(text: str) -> bool:
    """Whether `text` is a date-time that reads, but lies past 9999-12-31 once in UTC (9999-12-31T23:59:59-05:00)."""
    try:
        datetime.fromisoformat(text.replace("z", "Z")).astimezone(timezone.utc)
    except ValueError:
        return False
    except OverflowError:
        return True
    return False


def parse_moment(text: str) -> datetime | None:
    """A date (midnight UTC) or an RFC 3339 date-time (UTC without an offset) as an aware UTC moment; None if unreadable."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=timezone.utc)
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00 is past the end of the calendar in UTC
        return None
