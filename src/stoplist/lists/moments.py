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
from datetime import date, datetime, time, timedelta, timezone, tzinfo
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

_UNIX = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Digits and separators alone that are not ISO 8601 (06/12/2026, 06.12.2026, -5, 1.5): dateparser makes a
# date of each (06/12/2026 is 12 June to it), which a European reads otherwise; a delete must not guess.
_NUMERIC = re.compile(r"[0-9\s.,/:+-]+")
# "2026-12-06T10:43:09 01:00": a + of an offset that a query string read as a space.
_SPACED_OFFSET = re.compile(r".*[0-9] [0-9]{2}:?[0-9]{2}")
# ISO 8601's spans: a year, a month, a week, a day (extended or basic, a day of a week too).
_YEAR = re.compile(r"[0-9]{4}")
_ISO_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_ISO_WEEK = re.compile(r"[0-9]{4}-?[Ww][0-9]{2}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}|[0-9]{4}-?[Ww][0-9]{2}-?[1-7]")
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
_UNITS = frozenset(f"{unit}{plural}" for unit in ("second", "sec", "minute", "min", "hour", "hr", "day", "week", "fortnight", "month", "year")
                   for plural in ("", "s"))
# Words that name a date or a time by themselves; a phrase needs one of them (or a year, or a time of day).
_ANCHORS = frozenset(
    [*_MONTHS, *(month[:3] for month in _MONTHS), "sept", *_WEEKDAYS, *(day[:3] for day in _WEEKDAYS), "tues", "thur", "thurs",
     "today", "yesterday", "tomorrow", "now", "noon", "midnight", *_UNITS]
)
_WORDS = _ANCHORS | {"ago", "in", "later", "from", "of", "on", "at", "the", "and", "last", "next", "this", "am", "pm", "a", "an", "one",
                     "st", "nd", "rd", "th"}
# A time of day: 21:00, 21:00:05, 10am, 10 pm.
_CLOCK = re.compile(r"\b[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\b|\b[0-9]{1,2}\s*(?:am|pm)\b")
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
    try:
        # The length as given (white space too), as the document's maxLength counts it.
        span = _read(stripped, now) if stripped and len(text) <= MAX_TEXT else None
    except OverflowError:  # a moment at the calendar's very end, rounded up to the next second
        raise InvalidMoment(name, f"{name} {stripped!r} is outside the years 1000 to 9999.") from None
    if span is None:
        shown = text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"
        raise InvalidMoment(name, f"{name} {shown!r} is not a date we can read: give {ACCEPTED}.{_hint(stripped)}")
    if span.start < EARLIEST or span.start > LATEST or (span.end is not None and span.end < EARLIEST):
        raise InvalidMoment(name, f"{name} {text.strip()!r} is outside the years 1000 to 9999.")
    return span


def _hint(text: str) -> str:
    """What to change in a value that looks like a date of another spelling."""
    if _SPACED_OFFSET.fullmatch(text):
        return " (A + in a query string reads as a space: write an offset's + as %2B.)"
    if _NUMERIC.fullmatch(text):
        return " (Digits alone are read as a UNIX timestamp or as ISO 8601 only: 06/12/2026 could be 6 December or 12 June.)"
    return ""


def _read(text: str, now: datetime) -> Span | None:
    iso = _iso_span(text)
    if iso is not _NO_RULE:
        return iso
    if _UNIX.fullmatch(text):
        whole, _dot, fraction = text.partition(".")
        try:
            moment = datetime.fromtimestamp(int(whole), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
        return _moment(moment + timedelta(seconds=1) if fraction.strip("0") else moment)
    moment = parse_moment(text)
    if moment is not None:
        return _moment(moment)
    if _NUMERIC.fullmatch(text):
        return None
    # A zone the phrase names ("6 december 2026 CET") is where its days begin and end; UTC otherwise.
    from dateparser.timezone_parser import pop_tz_offset_from_string

    rest, zone = pop_tz_offset_from_string(text)
    rest, zone = (rest.strip(), zone) if zone is not None and rest.strip() else (text, timezone.utc)
    if rest is not text and _UNIX.fullmatch(rest) and not _YEAR.fullmatch(rest):  # "1764547200 CET": a timestamp has no zone
        return None
    local_now = now.astimezone(zone)
    rule = _calendar_rule(rest, local_now, zone)
    return _phrase(rest, local_now, zone) if rule is _NO_RULE else rule


def _iso_span(text: str):
    """ISO 8601's spans, which digits alone would otherwise be a UNIX timestamp of 1970 (2026, 20261201) or which
    datetime reads as one moment (2026-W49): a year, a month, a week (Monday to Sunday) or a day; None for one
    that is no date of the calendar; _NO_RULE for other text."""
    try:
        if _YEAR.fullmatch(text):
            return _year(int(text), timezone.utc)
        if _ISO_MONTH.fullmatch(text):
            return _month(int(text[:4]), int(text[5:]), timezone.utc)
        if _ISO_WEEK.fullmatch(text):
            return _days(date.fromisoformat(text.upper()), 7)
        if _ISO_DAY.fullmatch(text):
            return _days(date.fromisoformat(text.upper()), 1)
    except ValueError:  # no such day, week, month or year
        return None
    return _NO_RULE


def _year(year: int, zone: tzinfo) -> Span:
    return _days(date(year, 1, 1), 366 if calendar.isleap(year) else 365, zone)


def _plausible(text: str) -> bool:
    """Whether an English phrase is made of words of dates only and names a date, in an order that means one: what
    dateparser reads without a word of warning otherwise ('a' or '1st' as this January, 'December 32' as December 2032,
    'Q1 2019' as a day in March, '1 year ago 2 months', '2 weeks ago ago', 'in 2 weeks ago')."""
    lowered = text.lower()
    anchored = bool(_CLOCK.search(lowered))
    words = re.findall(r"[a-z]+|[0-9]+", _CLOCK.sub(" ", lowered))
    if any(not word.isdigit() and word not in _WORDS for word in words):
        return False
    for place, word in enumerate(words):
        following = words[place + 1] if place + 1 < len(words) else ""
        if word.isdigit() and following not in _UNITS:
            if len(word) == 4:
                anchored = True  # a year
            elif len(word) > 2 or int(word) > 31:
                return False  # no day of a month, and no amount of time without its unit
        anchored = anchored or word in _ANCHORS
    agos = words.count("ago")
    if agos and (agos > 1 or words[-1] != "ago" or words[0] == "in" or "later" in words or "from" in words):
        return False
    return anchored


def _moment(moment: datetime) -> Span:
    """A moment, to the second: stored times are whole seconds, so a fraction is the next whole second for either bound."""
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return Span(moment, moment)


def _days(first: date, count: int, zone: tzinfo = timezone.utc) -> Span:
    """`count` days of the calendar from `first`, as they begin and end in `zone`."""
    start = datetime.combine(first, time(0), tzinfo=zone)
    try:
        return Span(start.astimezone(timezone.utc), (start + timedelta(days=count)).astimezone(timezone.utc))
    except OverflowError:  # the calendar's last day: it has no end before the calendar's
        return Span(start.astimezone(timezone.utc), None)


def _month(year: int, month: int, zone: tzinfo) -> Span:
    return _days(date(year, month, 1), calendar.monthrange(year, month)[1], zone)


_NO_RULE = object()


def _calendar_rule(text: str, now: datetime, zone: tzinfo):
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
        return _days(date(year, month, days[nth if nth < 0 else nth - 1]), 1, zone)
    found = _NEAR_WEEKDAY.fullmatch(text)
    if found:
        today = now.date()
        weekday = _WEEKDAYS.index(found["day"].lower())
        ahead = (weekday - today.weekday()) % 7
        if found["which"].lower() == "next":
            return _days(today + timedelta(days=ahead or 7), 1, zone)
        if found["which"].lower() == "last":
            return _days(today - timedelta(days=(today.weekday() - weekday) % 7 or 7), 1, zone)
        return _days(today - timedelta(days=today.weekday() - weekday), 1, zone)
    return _NO_RULE


def _phrase(text: str, now: datetime, zone: tzinfo) -> Span | None:
    """An English phrase (its zone taken off), read by dateparser relative to `now` (in `zone`): a moment
    when it says a time or an amount of time ago, else the day, month or year it names, in `zone`."""
    # Imported on first use: only phrases need it, and it takes a moment to load.
    from dateparser.date import DateDataParser

    if not _plausible(text):
        return None
    parser = DateDataParser(languages=["en"], settings=_settings(now))
    try:
        found = parser.get_date_data(text)
    except (ValueError, OverflowError, TypeError, AttributeError, IndexError, KeyError):
        # dateparser raises on some text it cannot make a date of, rather than answering none.
        return None
    moment = found.date_obj
    if moment is None:
        return None
    # Read as if `zone`'s wall clock were UTC: the date and time it names are the zone's.
    moment = moment.replace(tzinfo=zone)
    if _DURATION.fullmatch(text):
        # An amount of time goes back from now, or forward with "in", "later" or "from now": else it was read as
        # something else ('7975 years' as the year 7975).
        ahead = text.lower().startswith("in") or text.lower().endswith(("later", "now"))
        return _moment(moment.astimezone(timezone.utc)) if (moment > now) == ahead or moment == now else None
    if found.period == "time" or text.lower() == "now":
        return _moment(moment.astimezone(timezone.utc))
    if found.period == "week":  # last week, this week, next week: Monday to Sunday
        return _days(moment.date() - timedelta(days=moment.weekday()), 7, zone)
    if found.period == "month":
        return _month(moment.year, moment.month, zone)
    if found.period == "year":
        return _year(moment.year, zone)
    return _days(moment.date(), 1, zone)


def _settings(now: datetime) -> dict:
    return {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RETURN_TIME_AS_PERIOD": True,
    }
