"""Reading `expire_at`: a date, an RFC 3339 date-time, or nothing (forever)."""

from datetime import date, datetime, time, timezone

from stoplist.errors import InvalidExpiry


def parse_expire_at(raw: object, *, now: datetime) -> datetime | None:
    """The UTC moment an entry stops applying, truncated to the second; None means never.

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
    if moment is None:
        raise InvalidExpiry(
            f"expire_at {raw!r} is neither a date (2026-12-01) nor an RFC 3339 date-time (2026-12-01T10:00:00Z)."
        )
    moment = moment.replace(microsecond=0)
    if moment <= now:
        raise InvalidExpiry(f"expire_at {raw!r} is not in the future; delete the entry instead.")
    return moment


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
