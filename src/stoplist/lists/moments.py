"""Dates as the listings, their exports, delete-by-filter and the trail's proof read them: a UNIX
timestamp, ISO 8601, or an English phrase; read once, at the boundary.

    read(text, name=, now=)   -> Span: a moment, or a whole day, week, month or year of the calendar
    Period(after, before)     a range of moments: from `after` (included) to `before` (excluded)

A value names a moment (`1764547200`, `2026-12-01T10:00:00+01:00`, `2 weeks ago`, `25th December 2019
21:00`) or a span of the calendar (`2026-12-01`, `2026`, `2026-W49`, `yesterday`, `august 20`, `last
friday of march 2019`, `march 2019`). A lower bound (`created_after`, `start`, `since`) takes in the
span from its start; an upper bound (`created_before`, `end`, `until`) stops at its end, excluded, so
that `end=2026-11-30` takes in the whole of the 30th. A moment starts and ends at itself. Phrases
(lists.phrases) are read relative to `now` (the request's time), in UTC unless they name a zone.
"""

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import NamedTuple

from stoplist.errors import ErrorDetail, InvalidMoment
from stoplist.declared import spaced_offset
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
# Five to seven digits: seconds into 1970 that nobody means (a month as 202612 is no ISO 8601 spelling).
_UNLIKELY_SECONDS = re.compile(r"[0-9]{5,7}")
# Digits and separators alone that are not ISO 8601 (06/12/2026, 06.12.2026, -5, 1.5): dateparser makes a
# date of each (06/12/2026 is 12 June to it), which a European reads otherwise; a delete must not guess.
_NUMERIC = re.compile(r"[0-9\s.,/:+-]+")
# ISO 8601's spans: a year, a month, a week, a day (extended or basic, a day of a week too).
_YEAR = re.compile(r"[0-9]{4}")
_ISO_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")
_ISO_WEEK = re.compile(r"[0-9]{4}-?[Ww][0-9]{2}")
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}|[0-9]{4}-?[Ww][0-9]{2}-?[1-7]")


# Zone abbreviations in common use for more than one zone, which dateparser would read as one of them (IST as Israel's):
# refused, as 06/12/2026 is, rather than guessed by hours. Each with the zones it names, for the message.
AMBIGUOUS_ZONES = {
    "ACT": "Acre, ASEAN or Australian Central", "AMST": "Amazon or Armenia summer", "AMT": "Amazon or Armenia",
    "AST": "Atlantic or Arabia", "BDT": "Bangladesh or Brunei", "BST": "British summer or Bangladesh", "CCT": "Cocos or China coast",
    "CDT": "North American Central daylight or Cuba daylight", "CST": "North American Central, China or Cuba", "ECT": "Ecuador or Eastern Caribbean",
    "GST": "Gulf or South Georgia", "IST": "India, Ireland or Israel", "LMT": "any place's local mean", "MMT": "Myanmar or Malé",
    "PST": "North American Pacific or Philippine", "SST": "Samoa or Singapore",
}
_WORD = re.compile(r"[A-Za-z]+")


class Span(NamedTuple):
    """What a value names: from `start` (included) to `end` (excluded; None past the calendar's end). A moment is both."""

    start: datetime
    end: datetime | None

    @classmethod
    def at(cls, moment: datetime) -> "Span":
        """A moment, to the second: stored times are whole seconds, so a fraction is the next whole second for either bound."""
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
            return RoundedUp(moment, moment)
        return cls(moment, moment)

    @classmethod
    def days(cls, first: date, count: int, zone: tzinfo = timezone.utc) -> "Span":
        """`count` days of the calendar from `first`, as they begin and end in `zone`."""
        start = datetime.combine(first, time(0), tzinfo=zone)
        try:
            return cls(start.astimezone(timezone.utc), (start + timedelta(days=count)).astimezone(timezone.utc))
        except OverflowError:  # the calendar's last day: it has no end before the calendar's
            return cls(start.astimezone(timezone.utc), None)

    @classmethod
    def month(cls, year: int, month: int, zone: tzinfo = timezone.utc) -> "Span":
        return cls.days(date(year, month, 1), calendar.monthrange(year, month)[1], zone)

    @classmethod
    def year(cls, year: int, zone: tzinfo = timezone.utc) -> "Span":
        return cls.days(date(year, 1, 1), 366 if calendar.isleap(year) else 365, zone)


class RoundedUp(Span):
    """A moment that had a fraction of a second, as the next whole second: a lower bound that so reaches an upper
    bound's end meets it (`…T23:59:59.5Z` and the day it is in), rather than comes after it."""


class Period(NamedTuple):
    """Moments from `after` (included) to `before` (excluded); None: no bound on that side."""

    after: datetime | None = None
    before: datetime | None = None


EVER = Period()


def period(after: str | None, before: str | None, *, names: tuple[str, str], now: datetime) -> Period:
    """The period between a lower and an upper bound as given (either may be None), read relative to `now`.

    Bounds the wrong way round are refused: the lower one begins after the upper one's moment, or at or after the
    end of its span (`since=2030&until=2020`, `start=today&end=yesterday`), so that no moment is from the one and
    before the other. An empty answer would read as "nothing happened then" to a compliance officer who swapped
    them. A lower bound inside the upper one's span (`since=2026-12-01T09:00:00Z&until=2026-12-01`: the rest of
    that day) is in order, as are bounds that take in no whole second (10:00:00.2 to 10:00:00.5: entries hold
    seconds), which answer nothing."""
    lower = None if after is None else read(after, name=names[0], now=now)
    upper = None if before is None else read(before, name=names[1], now=now)
    # A moment whose fraction rounded it up to the upper bound's very end (`…T23:59:59.5Z` and its day) meets it: it was inside.
    meets = isinstance(lower, RoundedUp) and upper is not None and lower.start == upper.end
    if lower is not None and upper is not None and lower.start > upper.start and upper.end is not None and lower.start >= upper.end and not meets:
        message = (
            f"{names[0]} {after.strip()!r} (from {lower.start:%Y-%m-%dT%H:%M:%SZ}) is not before {names[1]} {before.strip()!r}"
            f" (before {upper.end:%Y-%m-%dT%H:%M:%SZ}): no moment is from the one and before the other. Swapped?"
        )
        error = InvalidMoment(names[0], message)
        error.errors.append(ErrorDetail(path=names[1], message=message, error=error.code))
        raise error
    # From the calendar's first second (`1000`), as to its end (`9999`), is no bound: no stored time lies beyond either.
    return Period(None if lower is None or lower.start <= EARLIEST else lower.start, None if upper is None else upper.end)


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
    zone = _ambiguous_zone(text)
    if zone is not None:
        return f" ({zone} names more than one zone, {AMBIGUOUS_ZONES[zone]} time: give the offset instead, as in 2026-12-01T10:00:00+05:30.)"
    if spaced_offset(text):
        return " (A + in a query string reads as a space: write an offset's + as %2B.)"
    if _NUMERIC.fullmatch(text):
        return (" (Digits alone are read as a UNIX timestamp, 9 or 10 digits, or as ISO 8601 only: a year 2026, a day"
                " 20261201 or 2026-12-01; 06/12/2026 could be 6 December or 12 June.)")
    return ""


def _read(text: str, now: datetime) -> Span | None:
    iso = _iso_span(text, timezone.utc)
    if iso is not _NOT_ISO:
        return iso
    if _UNIX.fullmatch(text):
        if _UNLIKELY_SECONDS.fullmatch(text):
            return None
        whole, _dot, fraction = text.partition(".")
        try:
            moment = datetime.fromtimestamp(int(whole), timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
        return Span.at(moment + timedelta(seconds=1) if fraction.strip("0") else moment)
    moment = parse_moment(text)
    if moment is not None:
        return Span.at(moment)
    if _NUMERIC.fullmatch(text):
        return None
    # A zone the value names ("6 december 2026 CET", "2026-12-01T10:00:00 UTC") is where its days begin and end; UTC otherwise.
    from dateparser.timezone_parser import pop_tz_offset_from_string

    from stoplist.lists.phrases import phrase

    if _ambiguous_zone(text) is not None:
        return None
    rest, zone = pop_tz_offset_from_string(text)
    if zone is None or not rest.strip():
        return phrase(text, now, timezone.utc)
    rest = rest.strip()
    iso = _iso_span(rest, zone)
    if iso is not _NOT_ISO:
        return iso
    if _UNIX.fullmatch(rest):  # "1764547200 CET": a timestamp has no zone
        return None
    wall = _wall_clock(rest, zone)
    return phrase(rest, now.astimezone(zone), zone) if wall is _NOT_ISO else wall


_NOT_ISO = object()


def _ambiguous_zone(text: str) -> str | None:
    """The first word of `text` that is one of AMBIGUOUS_ZONES (in any case), or None."""
    return next((word.upper() for word in _WORD.findall(text) if word.upper() in AMBIGUOUS_ZONES), None)


def _iso_span(text: str, zone: tzinfo):
    """ISO 8601's spans, which digits alone would otherwise be a UNIX timestamp of 1970 (2026, 20261201) or which
    datetime reads as one moment (2026-W49), as they are in `zone`: a year, a month, a week (Monday to Sunday) or a
    day; None for one that is no date of the calendar; _NOT_ISO for other text."""
    try:
        if _YEAR.fullmatch(text):
            return Span.year(int(text), zone)
        if _ISO_MONTH.fullmatch(text):
            return Span.month(int(text[:4]), int(text[5:]), zone)
        if _ISO_WEEK.fullmatch(text):
            return Span.days(date.fromisoformat(text.upper()), 7, zone)
        if _ISO_DAY.fullmatch(text):
            return Span.days(date.fromisoformat(text.upper()), 1, zone)
    except ValueError:  # no such day, week, month or year
        return None
    return _NOT_ISO


def _wall_clock(text: str, zone: tzinfo):
    """An ISO 8601 date-time without an offset, on `zone`'s clock ("2026-12-01T10:00:00 UTC"): its moment; None for one
    with an offset of its own too; _NOT_ISO for other text."""
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return _NOT_ISO
    if moment.tzinfo is not None:
        return None
    try:
        return Span.at(moment.replace(tzinfo=zone).astimezone(timezone.utc))
    except OverflowError:
        return None
