"""Dates as the listings, their exports, delete-by-filter and the trail's proof read them: a UNIX
timestamp, ISO 8601, or an English phrase; read once, at the boundary.

    read(text, name=, now=)   -> Span: a moment, or a whole day, month or year of the calendar
    Period(after, before)     a range of moments: from `after` (included) to `before` (excluded)

A value names a moment (`1764547200`, `2026-12-01T10:00:00+01:00`, `2 weeks ago`, `25th December 2019
21:00`) or a span of the calendar (`2026-12-01`, `yesterday`, `august 20`, `last friday of march 2019`,
`march 2019`). A lower bound (`created_after`, `start`, `since`) takes in the span from its start; an
upper bound (`created_before`, `end`, `until`) stops at its end, excluded, so that `end=2026-11-30`
takes in the whole of the 30th. A moment starts and ends at itself. Phrases are read relative to
`now` (the request's time), in UTC unless they name a zone.
"""

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple

from stoplist.errors import InvalidMoment
from stoplist.lists.expiry import parse_moment

MAX_TEXT = 64
# Timestamps are compared as text on SQLite ('2026-11-25T10:00:00Z'): a year of four digits sorts as its moment.
EARLIEST = datetime(1000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
ACCEPTED = (
    "a UNIX timestamp in seconds (1764547200), an ISO 8601 date or date-time (2026-12-01, 2026-12-01T10:00:00Z;"
    " UTC without an offset), or an English phrase (yesterday, 2 weeks ago, last friday of march 2019)"
)
DESCRIPTION = f"A date: {ACCEPTED}."

_UNIX = re.compile(r"[0-9]+")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIT = r"(?:second|sec|minute|min|hour|hr|day|week|fortnight|month|year)s?"
# An amount of time before (or after) now: "2 weeks", "2 weeks ago", "in 3 days", "1 year, 2 months ago".
_DURATION = re.compile(rf"(?:in\s+)?(?:(?:[0-9]+|an?|one)\s*{_UNIT}(?:\s*,\s*|\s+and\s+|\s+)?)+(?:ago|later|from\s+now)?", re.IGNORECASE)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1}
# "last friday of march 2019", "first monday in may": the calendar rule dateparser does not read.
_NTH_WEEKDAY = re.compile(
    rf"(?P<nth>{'|'.join(_ORDINALS)})\s+(?P<day>{'|'.join(_WEEKDAYS)})\s+(?:of|in)\s+(?P<month>{'|'.join(_MONTHS)})(?:,?\s+(?P<year>[0-9]{{4}}))?",
    re.IGNORECASE,
)
# "next saturday", "last friday", "this monday": a weekday near now.
_NEAR_WEEKDAY = re.compile(rf"(?P<which>next|last|this)\s+(?P<day>{'|'.join(_WEEKDAYS)})", re.IGNORECASE)


class Span(NamedTuple):
    """What a value names: from `start` (included) to `end` (excluded; None past the calendar's end). A moment is both."""

    start: datetime
    end: datetime | None


class Period(NamedTuple):
    """Moments from `after` (included) to `before` (excluded); None: no bound on that side."""

    after: datetime | None = None
    before: datetime | None = None


EVER = Period()


def period(after: str | None, before: str | None, *, names: tuple[str, str], now: datetime) -> Period:
    """The period between a lower and an upper bound as given (either may be None), read relative to `now`."""
    return Period(
        None if after is None else read(after, name=names[0], now=now).start,
        None if before is None else read(before, name=names[1], now=now).end,
    )


def read(text: str, *, name: str, now: datetime) -> Span:
    """What `text` names, relative to `now`; InvalidMoment naming `name` and the accepted forms when it names nothing."""
    stripped = text.strip()
    # The length as given (white space too), as the document's maxLength counts it.
    span = _read(stripped, now) if stripped and len(text) <= MAX_TEXT else None
    if span is None:
        shown = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
        raise InvalidMoment(name, f"{name} {shown!r} is not a date we can read: give {ACCEPTED}.")
    if span.start < EARLIEST or span.start > LATEST or (span.end is not None and span.end < EARLIEST):
        raise InvalidMoment(name, f"{name} {text.strip()!r} is outside the years 1000 to 9999.")
    return span


def _read(text: str, now: datetime) -> Span | None:
    if _UNIX.fullmatch(text):
        try:
            return _moment(datetime.fromtimestamp(int(text), timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    if _DATE.fullmatch(text):
        day = parse_moment(text)
        return None if day is None else _days(day.date(), 1)
    moment = parse_moment(text)
    if moment is not None:
        return _moment(moment)
    rule = _calendar_rule(text, now)
    return _phrase(text, now) if rule is _NO_RULE else rule


def _moment(moment: datetime) -> Span:
    """A moment, to the second: stored times are whole seconds, so a fraction is the next whole second for either bound."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return Span(moment, moment)


def _days(first: date, count: int) -> Span:
    start = datetime.combine(first, time(0), tzinfo=timezone.utc)
    try:
        return Span(start, start + timedelta(days=count))
    except OverflowError:  # the calendar's last day: it has no end before the calendar's
        return Span(start, None)


def _month(year: int, month: int) -> Span:
    return _days(date(year, month, 1), calendar.monthrange(year, month)[1])


_NO_RULE = object()


def _calendar_rule(text: str, now: datetime):
    """The phrases of a calendar rule that dateparser does not read (a test pins each): a weekday of a month, a weekday
    near now. The day it names, None when it names none (the fifth Friday of a month of four), or _NO_RULE."""
    found = _NTH_WEEKDAY.fullmatch(text)
    if found:
        year = int(found["year"]) if found["year"] else now.year
        month = _MONTHS.index(found["month"].lower()) + 1
        weekday = _WEEKDAYS.index(found["day"].lower())
        days = [day for day in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, day).weekday() == weekday]
        nth = _ORDINALS[found["nth"].lower()]
        if nth > len(days):
            return None
        return _days(date(year, month, days[nth if nth < 0 else nth - 1]), 1)
    found = _NEAR_WEEKDAY.fullmatch(text)
    if found:
        today = now.date()
        weekday = _WEEKDAYS.index(found["day"].lower())
        ahead = (weekday - today.weekday()) % 7
        if found["which"].lower() == "next":
            return _days(today + timedelta(days=ahead or 7), 1)
        if found["which"].lower() == "last":
            return _days(today - timedelta(days=(today.weekday() - weekday) % 7 or 7), 1)
        return _days(today - timedelta(days=today.weekday() - weekday), 1)
    return _NO_RULE


def _phrase(text: str, now: datetime) -> Span | None:
    """An English phrase, read by dateparser relative to `now`: a moment when it says a time or an
    amount of time ago, else the day, month or year it names."""
    # Imported on first use: only phrases need it, and it takes a moment to load.
    from dateparser.date import DateDataParser

    parser = DateDataParser(languages=["en"], settings=_settings(now))
    try:
        found = parser.get_date_data(text)
    except (ValueError, OverflowError, TypeError, AttributeError, IndexError, KeyError):
        # dateparser raises on some text it cannot make a date of, rather than answering none.
        return None
    moment = found.date_obj
    if moment is None:
        return None
    moment = moment.astimezone(timezone.utc)
    if found.period == "time" or _DURATION.fullmatch(text) or text.lower() == "now":
        return _moment(moment)
    if found.period == "month":
        return _month(moment.year, moment.month)
    if found.period == "year":
        return _days(date(moment.year, 1, 1), 366 if calendar.isleap(moment.year) else 365)
    return _days(moment.date(), 1)


def _settings(now: datetime) -> dict:
    return {
        "RELATIVE_BASE": now.astimezone(timezone.utc).replace(tzinfo=None),
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RETURN_TIME_AS_PERIOD": True,
    }
