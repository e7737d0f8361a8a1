"""English phrases of dates, read for lists.moments: relative to the request's `now`, in the zone they name.

    phrase(text, now, zone) -> Span | None

An amount of time is counted here ("2 weeks", "3 hours ago", "in two days", "15m ago"); a calendar rule is read
here (a weekday of a month, a weekday near now, this week, the day before yesterday); any other phrase goes to
dateparser, but only when each of its words is a word of dates and it names a date: dateparser makes a date of
nearly anything ('a' is this January, 'December 32' December 2032, 'friday at 5' the whole of May), and a date
read wrongly selects the wrong entries, for a delete too.
"""

import calendar
import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from dateutil.relativedelta import relativedelta

from stoplist.lists.moments import Span

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december")
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1}
# "last friday of march 2019", "first monday in may": the calendar rule dateparser does not read.
_NTH_WEEKDAY = re.compile(
    rf"(?P<nth>{'|'.join(_ORDINALS)})\s+(?P<day>{'|'.join(_WEEKDAYS)})\s+(?:of|in)\s+(?P<month>{'|'.join(_MONTHS)})(?:,?\s+(?P<year>[0-9]{{4}}))?",
    re.IGNORECASE,
)
# "next saturday", "last friday", "this monday 10:00": a weekday near now (at a time of day); "last week": Monday to Sunday.
_NEAR_WEEKDAY = re.compile(
    rf"(?P<which>next|last|this)\s+(?P<day>{'|'.join(_WEEKDAYS)}|week)"
    r"(?:\s+(?:at\s+)?(?:(?P<hour>[0-9]{1,2})(?::(?P<minute>[0-9]{2}))?\s*(?P<half>am|pm)?|(?P<named>noon|midnight)))?",
    re.IGNORECASE,
)
# "the day before yesterday", "day after tomorrow".
_DAY_BESIDE = re.compile(r"(?:the\s+)?day\s+(?P<way>before\s+yesterday|after\s+tomorrow)", re.IGNORECASE)

# An amount of time: each unit's spellings (compact ones too: 3h, 15m, 2d) and what it counts.
_UNITS = {
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), ("seconds", 1)),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), ("minutes", 1)),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), ("hours", 1)),
    **dict.fromkeys(("days", "day", "d"), ("days", 1)),
    **dict.fromkeys(("weeks", "week", "wks", "wk", "w"), ("weeks", 1)),
    **dict.fromkeys(("fortnights", "fortnight"), ("weeks", 2)),
    **dict.fromkeys(("months", "month", "mos", "mo"), ("months", 1)),
    **dict.fromkeys(("years", "year", "yrs", "yr", "y"), ("years", 1)),
}
_AMOUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
            "eleven": 11, "twelve": 12}
_PART = re.compile(
    rf"\s*(?:,\s*|and\s+|,\s*and\s+)?(?P<amount>[0-9]{{1,6}}|{'|'.join(_AMOUNTS)})\s*(?P<unit>{'|'.join(sorted(_UNITS, key=len, reverse=True))})\b",
    re.IGNORECASE,
)
_AMOUNT_OF_TIME = re.compile(r"(?P<ahead>in\s+)?(?P<parts>.+?)(?:\s+(?P<way>ago|later|from\s+now))?", re.IGNORECASE)

# Words that name a date or a time by themselves; a phrase needs one of them (or a year, or a time of day).
_MONTH_WORDS = frozenset([*_MONTHS, *(month[:3] for month in _MONTHS), "sept"])
_WEEKDAY_WORDS = frozenset([*_WEEKDAYS, *(day[:3] for day in _WEEKDAYS), "tues", "thur", "thurs"])
_ANCHORS = _MONTH_WORDS | _WEEKDAY_WORDS | {"today", "yesterday", "tomorrow", "noon", "midnight", "month", "year"}
_WORDS = _ANCHORS | {"of", "on", "at", "the", "last", "next", "this", "am", "pm", "st", "nd", "rd", "th"}
# A time of day: 21:00, 21:00:05, 10am, 10 pm.
_CLOCK = re.compile(r"\b[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\b|\b[0-9]{1,2}\s*(?:am|pm)\b")
_CHARACTERS = re.compile(r"[a-z0-9\s,.:'/+]*")


def phrase(text: str, now: datetime, zone: tzinfo) -> Span | None:
    """What an English phrase (its zone taken off) names, relative to `now` (in `zone`): a moment for a time or an
    amount of time, else the day, week, month or year it names, in `zone`; None for one it does not plainly name."""
    if text.lower() == "now":
        return Span.at(now.astimezone(timezone.utc))
    counted = _amount_of_time(text, now)
    if counted is not _NO_RULE:
        return counted
    rule = _calendar_rule(text, now, zone)
    return _dateparser(text, now, zone) if rule is _NO_RULE else rule


_NO_RULE = object()


def _amount_of_time(text: str, now: datetime):
    """An amount of time before now ("2 weeks", "3 hours ago", "1 year, 2 months ago"), or after it ("in two days",
    "3 days later", "5 minutes from now"), counted on the calendar: its moment; None for one past the calendar or said
    both ways ("in 2 weeks ago"); _NO_RULE for text that is no amount of time."""
    found = _AMOUNT_OF_TIME.fullmatch(text.strip())
    parts = list(_PART.finditer(found["parts"])) if found else []
    if not parts or "".join(part.group(0) for part in parts).strip() != found["parts"].strip():
        return _NO_RULE
    way = (found["way"] or "").lower()
    if found["ahead"] and way == "ago":
        return None
    amounts: dict[str, int] = {}
    for part in parts:
        amount = part["amount"].lower()
        unit, times = _UNITS[part["unit"].lower()]
        amounts[unit] = amounts.get(unit, 0) + times * (int(amount) if amount.isdigit() else _AMOUNTS[amount])
    try:
        delta = relativedelta(**amounts)
        moment = now + delta if found["ahead"] or way == "later" or way.startswith("from") else now - delta
    except (OverflowError, ValueError):  # past the calendar's ends ('7975 years' ago)
        return None
    return Span.at(moment.astimezone(timezone.utc))


def _calendar_rule(text: str, now: datetime, zone: tzinfo):
    """The phrases of a calendar rule that dateparser does not read, or reads otherwise (a test pins each): a weekday of a
    month, a weekday or week near now, the day before yesterday. The span it names, None when it names none (the fifth
    Friday of a month of four), or _NO_RULE."""
    today = now.date()
    found = _NTH_WEEKDAY.fullmatch(text)
    if found:
        year = int(found["year"]) if found["year"] else now.year
        month = _MONTHS.index(found["month"].lower()) + 1
        weekday = _WEEKDAYS.index(found["day"].lower())
        days = [day for day in range(1, calendar.monthrange(year, month)[1] + 1) if date(year, month, day).weekday() == weekday]
        nth = _ORDINALS[found["nth"].lower()]
        if nth > len(days):
            return None
        return Span.days(date(year, month, days[nth if nth < 0 else nth - 1]), 1, zone)
    found = _NEAR_WEEKDAY.fullmatch(text)
    if found:
        which = found["which"].lower()
        if found["day"].lower() == "week":
            monday = today - timedelta(days=today.weekday())
            return None if found["hour"] or found["named"] else Span.days(monday + timedelta(days={"last": -7, "this": 0, "next": 7}[which]), 7, zone)
        weekday = _WEEKDAYS.index(found["day"].lower())
        ahead = (weekday - today.weekday()) % 7
        if which == "next":
            day = today + timedelta(days=ahead or 7)
        elif which == "last":
            day = today - timedelta(days=(today.weekday() - weekday) % 7 or 7)
        else:
            day = today - timedelta(days=today.weekday() - weekday)
        return Span.days(day, 1, zone) if found["hour"] is None and found["named"] is None else _at_time(day, found, zone)
    found = _DAY_BESIDE.fullmatch(text)
    if found:
        return Span.days(today + timedelta(days=2 if found["way"].lower().startswith("after") else -2), 1, zone)
    return _NO_RULE


def _at_time(day: date, found: re.Match, zone: tzinfo) -> Span | None:
    """The moment of a day at the time of day a phrase gives (10:00, 5pm, 5:30 pm, noon); None for none (an hour alone, 25:00)."""
    if found["named"]:
        return Span.at(datetime.combine(day, time(12 if found["named"].lower() == "noon" else 0), tzinfo=zone).astimezone(timezone.utc))
    hour, minute, half = int(found["hour"]), int(found["minute"] or 0), (found["half"] or "").lower()
    if found["minute"] is None and not half:
        return None  # "this monday 5": five o'clock, or the 5th?
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return Span.at(datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(timezone.utc))


def _plausible(text: str) -> bool:
    """Whether a phrase is made of words of dates only and names one plainly: a day's number beside its month (25th
    December, march 3, the 1st of march), a year of four digits, a time of day, once; a weekday, a month or a day."""
    lowered = text.lower()
    clocks = len(_CLOCK.findall(lowered))
    words = re.findall(r"[a-z]+|[0-9]+", _CLOCK.sub(" ", lowered))
    if not _CHARACTERS.fullmatch(lowered) or any(not word.isdigit() and word not in _WORDS for word in words):
        return False
    if clocks + words.count("noon") + words.count("midnight") > 1:
        return False
    years = [word for word in words if word.isdigit() and len(word) == 4]
    for place, word in enumerate(words):
        if word.isdigit() and len(word) != 4 and not (len(word) <= 2 and 1 <= int(word) <= 31 and _beside_a_month(words, place)):
            return False  # no day of a month: an hour without its minutes, an amount without its unit
    if len(years) > 1 or (years and {"last", "next", "this", "month", "year"} & set(words)):
        return False  # "last year 2019", "2019 2020"
    if sum(word.isdigit() and len(word) <= 2 for word in words) > 1:
        return False  # "5 december 10": the 5th at ten, or in 2010?
    if _WEEKDAY_WORDS & set(words) and _MONTH_WORDS & set(words) and not any(word.isdigit() and len(word) <= 2 for word in words):
        return False  # "monday december": which Monday?
    return bool(clocks or years or _ANCHORS & set(words))


def _beside_a_month(words: list[str], place: int) -> bool:
    """Whether the number at `place` is beside a month's name, across 'the', 'of' and its ordinal's ending."""
    before = [word for word in words[:place] if word not in ("the", "of")]
    after = [word for word in words[place + 1 :] if word not in ("the", "of", "st", "nd", "rd", "th")]
    return bool(before and before[-1] in _MONTH_WORDS) or bool(after and after[0] in _MONTH_WORDS)


def _dateparser(text: str, now: datetime, zone: tzinfo) -> Span | None:
    """A phrase dateparser reads, if it is plausible: a moment when it says a time, else the day, month or year it
    names, in `zone`; a named weekday must be the day's."""
    if not _plausible(text):
        return None
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
    # Read as if `zone`'s wall clock were UTC: the date and time it names are the zone's.
    moment = moment.replace(tzinfo=zone)
    named = [_WEEKDAYS.index(day) for day in _WEEKDAYS for word in re.findall(r"[a-z]+", text.lower()) if word in (day, day[:3])]
    if named and moment.weekday() not in named:
        return None  # "friday, december 5 2026": the 5th is a Saturday
    if found.period == "time":
        return Span.at(moment.astimezone(timezone.utc))
    if found.period == "month":
        return Span.month(moment.year, moment.month, zone)
    if found.period == "year":
        return Span.year(moment.year, zone)
    if found.period == "day":
        return Span.days(moment.date(), 1, zone)
    return None  # a week or a quarter dateparser guessed at


def _settings(now: datetime) -> dict:
    return {
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "RETURN_TIME_AS_PERIOD": True,
    }
