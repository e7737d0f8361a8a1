"""Reading dates (issue 25): a UNIX timestamp, ISO 8601 with or without an offset, English phrases relative to the
request, as a moment or a span; what a lower and an upper bound take of each; and every row of the README's table."""

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from stoplist.errors import InvalidMoment
from stoplist.lists.moments import ACCEPTED, AMBIGUOUS_ZONES, Period, Span, period, read

README = Path(__file__).resolve().parents[2] / "README.md"
# The README's table is for a request at this moment (a Sunday).
NOW = datetime(2026, 12, 6, 8, 30, tzinfo=timezone.utc)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def readme_examples() -> list[tuple[str, str, str]]:
    """(value, from, before) of each row of the README's table of date examples."""
    section = README.read_text().split("### Filter by date", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [tuple(re.findall(r"`([^`]*)`", line)) for line in rows]  # type: ignore[misc]


def test_the_readme_has_its_table_of_examples():
    assert len(readme_examples()) >= 15


@pytest.mark.parametrize(("value", "start", "end"), readme_examples())
def test_each_example_of_the_readme_means_what_its_row_says(value, start, end):
    span = read(value, name="created_after", now=NOW)

    assert (span.start.strftime("%Y-%m-%dT%H:%M:%SZ"), span.end.strftime("%Y-%m-%dT%H:%M:%SZ")) == (start, end)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("0", utc(1970, 1, 1)),
        ("1764547200", utc(2025, 12, 1)),
        (" 1796083200 ", utc(2026, 12, 1)),
        ("253402300799", utc(9999, 12, 31, 23, 59, 59)),
    ],
)
def test_a_unix_timestamp_is_a_moment_in_seconds(value, moment):
    assert read(value, name="start", now=NOW) == Span(moment, moment)


@pytest.mark.parametrize(
    ("value", "moment"),
    [
        ("2026-12-01T10:00:00Z", utc(2026, 12, 1, 10)),
        ("2026-12-01t10:00:00z", utc(2026, 12, 1, 10)),
        ("2026-12-01T10:00:00+02:00", utc(2026, 12, 1, 8)),
        ("2026-12-01T10:00:00-05:30", utc(2026, 12, 1, 15, 30)),
        ("2026-12-01T10:00:00", utc(2026, 12, 1, 10)),
        ("2026-12-01 10:00", utc(2026, 12, 1, 10)),
        ("2026-12-01T10:00:00.000001Z", utc(2026, 12, 1, 10, 0, 1)),
    ],
)
def test_an_iso_date_time_is_a_moment_in_utc_without_an_offset(value, moment):
    assert read(value, name="start", now=NOW) == Span(moment, moment)


def test_an_iso_date_is_the_whole_day():
    assert read("2026-02-28", name="end", now=NOW) == Span(utc(2026, 2, 28), utc(2026, 3, 1))
    assert read("9999-12-31", name="end", now=NOW) == Span(utc(9999, 12, 31), None)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        # Amounts of time before (or after) the request: moments.
        ("2 weeks", utc(2026, 11, 22, 8, 30), utc(2026, 11, 22, 8, 30)),
        ("2 weeks ago", utc(2026, 11, 22, 8, 30), utc(2026, 11, 22, 8, 30)),
        ("45 minutes ago", utc(2026, 12, 6, 7, 45), utc(2026, 12, 6, 7, 45)),
        ("1 year, 2 months ago", utc(2025, 10, 6, 8, 30), utc(2025, 10, 6, 8, 30)),
        ("in 3 days", utc(2026, 12, 9, 8, 30), utc(2026, 12, 9, 8, 30)),
        ("now", NOW, NOW),
        # Days, months and years: spans.
        ("Yesterday", utc(2026, 12, 5), utc(2026, 12, 6)),
        ("today", utc(2026, 12, 6), utc(2026, 12, 7)),
        ("tomorrow", utc(2026, 12, 7), utc(2026, 12, 8)),
        ("August 20", utc(2026, 8, 20), utc(2026, 8, 21)),
        ("may 11 2019", utc(2019, 5, 11), utc(2019, 5, 12)),
        ("25 December 2019", utc(2019, 12, 25), utc(2019, 12, 26)),
        ("march 2019", utc(2019, 3, 1), utc(2019, 4, 1)),
        ("february 2024", utc(2024, 2, 1), utc(2024, 3, 1)),
        # A time of day: a moment, in the zone the phrase names.
        ("25th December 2019 21:00", utc(2019, 12, 25, 21), utc(2019, 12, 25, 21)),
        ("25th December 2019 21:00 CET", utc(2019, 12, 25, 20), utc(2019, 12, 25, 20)),
        ("december 25 2019 9pm EST", utc(2019, 12, 26, 2), utc(2019, 12, 26, 2)),
        # Calendar rules: a weekday of a month, a weekday near the request (a Sunday).
        ("last friday of march 2019", utc(2019, 3, 29), utc(2019, 3, 30)),
        ("First Monday in May 2026", utc(2026, 5, 4), utc(2026, 5, 5)),
        ("second tuesday of march", utc(2026, 3, 10), utc(2026, 3, 11)),
        ("next saturday", utc(2026, 12, 12), utc(2026, 12, 13)),
        ("next sunday", utc(2026, 12, 13), utc(2026, 12, 14)),
        ("last sunday", utc(2026, 11, 29), utc(2026, 11, 30)),
        ("last friday", utc(2026, 12, 4), utc(2026, 12, 5)),
    ],
)
def test_an_english_phrase_is_read_relative_to_the_request(value, start, end):
    assert read(value, name="start", now=NOW) == Span(start, end)


def test_a_phrase_moves_with_the_request_and_a_date_does_not():
    later = utc(2027, 1, 1, 12)

    assert read("yesterday", name="start", now=later).start == utc(2026, 12, 31)
    assert read("2 weeks ago", name="start", now=later).start == utc(2026, 12, 18, 12)
    assert read("2026-12-01", name="start", now=later) == read("2026-12-01", name="start", now=NOW)


def test_months_ago_keep_the_day_of_the_month_and_a_month_named_is_whole_whatever_the_day():
    # dateparser's PREFER_DAY_OF_MONTH=first once moved "14 months ago" to the 1st; a month's day past its end is clamped.
    end_of_january = utc(2027, 1, 31, 8, 30)

    assert read("14 months ago", name="start", now=NOW).start == utc(2025, 10, 6, 8, 30)
    assert read("1 month ago", name="start", now=end_of_january).start == utc(2026, 12, 31, 8, 30)
    assert read("february 2024", name="start", now=end_of_january) == Span(utc(2024, 2, 1), utc(2024, 3, 1))


@pytest.mark.parametrize(
    "value",
    [
        "", "   ", "whenever", "soonish", "not a date", "2026-13-45", "2026-02-30", "2026-12-01T25:00:00Z", "12/34/5678",
        "fifth friday of february 2026", "x" * 65, "2 weeks" + " " * 60 + "ago", "99999999999999999999", "0999-12-31", "2000 years ago", "\x00",
    ],
)
def test_an_unreadable_value_is_invalid_date_naming_the_parameter_and_the_forms(value):
    with pytest.raises(InvalidMoment) as raised:
        read(value, name="created_before", now=NOW)

    error = raised.value
    assert error.code == "invalid_date" and error.status_code == 400
    assert error.errors[0].path == "created_before"
    assert error.message.startswith("created_before ")
    assert ACCEPTED in error.message or "years 1000 to 9999" in error.message


def test_a_period_takes_the_start_of_its_lower_bound_and_the_end_of_its_upper_bound():
    names = ("created_after", "created_before")

    assert period("2026-11-01", "2026-11-30", names=names, now=NOW) == Period(utc(2026, 11, 1), utc(2026, 12, 1))
    assert period("2026-11-01T10:00:00Z", None, names=names, now=NOW) == Period(utc(2026, 11, 1, 10), None)
    assert period(None, "yesterday", names=names, now=NOW) == Period(None, utc(2026, 12, 6))
    assert period(None, None, names=names, now=NOW) == Period()
    with pytest.raises(InvalidMoment) as raised:
        period("2026-11-01", "nonsense", names=names, now=NOW)
    assert raised.value.errors[0].path == "created_before"


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [
        # A day, month or weekday of a phrase that names a zone begins and ends in that zone.
        ("6 december 2026 CET", utc(2026, 12, 5, 23), utc(2026, 12, 6, 23)),
        ("2026-12-06 CET", utc(2026, 12, 5, 23), utc(2026, 12, 6, 23)),
        ("4 december 2026 AKST", utc(2026, 12, 4, 9), utc(2026, 12, 5, 9)),
        ("march 2019 CET", utc(2019, 2, 28, 23), utc(2019, 3, 31, 23)),
        ("last friday of march 2019 CET", utc(2019, 3, 28, 23), utc(2019, 3, 29, 23)),
    ],
)
def test_a_day_of_a_phrase_naming_a_zone_is_that_zone_s_day(value, start, end):
    assert read(value, name="start", now=NOW) == Span(start, end)


def test_today_in_a_zone_is_the_zone_s_today_when_utc_is_still_yesterday():
    late = utc(2026, 12, 6, 23, 30)  # already 7 December in CET

    assert read("today CET", name="start", now=late) == Span(utc(2026, 12, 6, 23), utc(2026, 12, 7, 23))


@pytest.mark.parametrize("value", ["-5", "+5", "-1", "06.12.2026", "06/12/2026", "12/31/9999 23:59:59.7", "1,5"])
def test_digits_in_another_spelling_than_unix_or_iso_are_refused_not_guessed(value):
    # dateparser reads 06/12/2026 as 12 June and -5 as May: a delete by filter must not act on a guess.
    with pytest.raises(InvalidMoment) as raised:
        read(value, name="created_before", now=NOW)

    assert "06/12/2026 could be 6 December or 12 June" in raised.value.message


@pytest.mark.parametrize(
    "value",
    ["a", "an", "one", "1st", "the 1st", "December 32", "Q1 2019", "last quarter", "1764547200 CET", "in 2 weeks ago",
     "1 year ago 2 months", "2 weeks ago ago", "2 weeks later ago", "7975 years", "in 7975 years ago", "december 320", "2026-13", "20261301",
     "2026-W54", "0000", "next blursday", "friday at 5", "monday 9", "at 10 friday", "december 5 at 10", "march 3 10", "yesterday at 5",
     "today 10", "2026 years", "2 years 2026", "last year 2019", "monday december", "9am noon", "now 2019", "friday the 13th",
     "friday, december 5 2026", "last fortnight", "yesterday & today", "today - yesterday", "202612", "12345", "1234567",
     "this monday 5", "this monday 25:00", "this week 10:00", "last friday 13pm", "5 december 10", "5th december, 10"],
)
def test_a_phrase_of_other_words_or_in_an_order_that_means_no_date_is_refused_not_guessed(value):
    # dateparser reads each of these as some date without a word of warning ('a' as this January, 'December 32' as 2032).
    with pytest.raises(InvalidMoment):
        read(value, name="created_after", now=NOW)


@pytest.mark.parametrize(
    ("value", "start", "end"),
    [("2026-W49-3", utc(2026, 12, 2), utc(2026, 12, 3)), ("2026w49", utc(2026, 11, 30), utc(2026, 12, 7)), ("2024", utc(2024, 1, 1), utc(2025, 1, 1)),
     ("2024-02", utc(2024, 2, 1), utc(2024, 3, 1)), ("this week", utc(2026, 11, 30), utc(2026, 12, 7)), ("next week", utc(2026, 12, 7), utc(2026, 12, 14)),
     ("in 10 years", utc(2036, 12, 6, 8, 30), utc(2036, 12, 6, 8, 30)), ("10 years later", utc(2036, 12, 6, 8, 30), utc(2036, 12, 6, 8, 30)),
     ("5 minutes from now", utc(2026, 12, 6, 8, 35), utc(2026, 12, 6, 8, 35)), ("10 years", utc(2016, 12, 6, 8, 30), utc(2016, 12, 6, 8, 30)),
     ("the 1st of march", utc(2026, 3, 1), utc(2026, 3, 2)), ("december 5th, 2019", utc(2019, 12, 5), utc(2019, 12, 6)),
     ("2026 CET", utc(2025, 12, 31, 23), utc(2026, 12, 31, 23)), ("20261201 CET", utc(2026, 11, 30, 23), utc(2026, 12, 1, 23)),
     ("2026-W49 CET", utc(2026, 11, 29, 23), utc(2026, 12, 6, 23)), ("three days ago", utc(2026, 12, 3, 8, 30), utc(2026, 12, 3, 8, 30)),
     ("in two weeks", utc(2026, 12, 20, 8, 30), utc(2026, 12, 20, 8, 30)), ("3h ago", utc(2026, 12, 6, 5, 30), utc(2026, 12, 6, 5, 30)),
     ("1y ago", utc(2025, 12, 6, 8, 30), utc(2025, 12, 6, 8, 30)), ("2 fortnights ago", utc(2026, 11, 8, 8, 30), utc(2026, 11, 8, 8, 30)),
     ("day after tomorrow", utc(2026, 12, 8), utc(2026, 12, 9)), ("2026-12-01T10:00:00 UTC", utc(2026, 12, 1, 10), utc(2026, 12, 1, 10)),
     ("friday, december 4 2026", utc(2026, 12, 4), utc(2026, 12, 5)), ("Mon, 07 Dec 2026 10:00:00 GMT", utc(2026, 12, 7, 10), utc(2026, 12, 7, 10)),
     ("1 Jan 2020 10:00 +0100", utc(2020, 1, 1, 9), utc(2020, 1, 1, 9)), ("tomorrow 9am", utc(2026, 12, 7, 9), utc(2026, 12, 7, 9)),
     # A weekday near now at a time of day is that day's (dateparser took 'this monday 10:00' a week later than 'this monday').
     ("this monday 10:00", utc(2026, 11, 30, 10), utc(2026, 11, 30, 10)), ("last friday at 5:30 pm", utc(2026, 12, 4, 17, 30), utc(2026, 12, 4, 17, 30)),
     ("next saturday 12am", utc(2026, 12, 12), utc(2026, 12, 12)), ("this monday 10:00 CET", utc(2026, 11, 30, 9), utc(2026, 11, 30, 9)),
     ("this monday noon", utc(2026, 11, 30, 12), utc(2026, 11, 30, 12)), ("last friday at midnight", utc(2026, 12, 4), utc(2026, 12, 4))],
)
def test_iso_spans_weeks_and_amounts_of_time_either_way_are_read_as_they_say(value, start, end):
    assert read(value, name="created_after", now=NOW) == Span(start, end)


def test_a_unix_timestamp_with_a_fraction_is_the_next_whole_second():
    assert read("1764547200.5", name="start", now=NOW) == Span(utc(2025, 12, 1, 0, 0, 1), utc(2025, 12, 1, 0, 0, 1))
    assert read("1764547200.000", name="start", now=NOW) == Span(utc(2025, 12, 1), utc(2025, 12, 1))


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59.5Z", "253402300799.5", "9999-12-31T23:59:59.999999+00:00"])
def test_a_moment_rounded_past_the_calendar_s_end_is_invalid_date_not_an_error(value):
    with pytest.raises(InvalidMoment) as raised:
        read(value, name="created_after", now=NOW)

    assert "years 1000 to 9999" in raised.value.message


def test_an_offset_whose_plus_a_query_string_made_a_space_gets_a_hint():
    with pytest.raises(InvalidMoment) as raised:
        read("2026-12-06T10:43:09 01:00", name="created_after", now=NOW)

    assert "write an offset's + as %2B" in raised.value.message


def test_periods_meeting_at_a_moment_share_nothing_and_a_day_given_as_both_bounds_is_in_both():
    names = ("created_after", "created_before")
    november = period(None, "2026-11-30", names=names, now=NOW)
    december = period("2026-11-30", None, names=names, now=NOW)
    moment = utc(2026, 11, 30, 12)

    def within(p: Period, at: datetime) -> bool:
        return (p.after is None or at >= p.after) and (p.before is None or at < p.before)

    assert within(november, moment) and within(december, moment)
    by_moment = (period(None, "2026-12-01T00:00:00Z", names=names, now=NOW), period("2026-12-01T00:00:00Z", None, names=names, now=NOW))
    for at in (utc(2026, 11, 30, 23, 59, 59), utc(2026, 12, 1), utc(2026, 12, 1, 0, 0, 1)):
        assert within(by_moment[0], at) != within(by_moment[1], at)
    by_days = (period(None, "2026-11-30", names=names, now=NOW), period("2026-12-01", None, names=names, now=NOW))
    for at in (utc(2026, 11, 30, 23, 59, 59), utc(2026, 12, 1)):
        assert within(by_days[0], at) != within(by_days[1], at)


@pytest.mark.parametrize(
    ("value", "zone"),
    [("2026-12-01T10:00:00 IST", "IST"), ("25th December 2019 21:00 cst", "CST"), ("6 december 2026 BST", "BST"), ("today Ist", "IST"),
     ("2026-12-01 AST", "AST"), ("march 2019 SST", "SST"), ("2026-12-01T10:00:00 PST", "PST")],
)
def test_a_zone_abbreviation_of_several_zones_is_refused_not_guessed(value, zone):
    """IST is India's, Ireland's and Israel's time: dateparser reads it as Israel's, three and a half hours off India's."""
    with pytest.raises(InvalidMoment) as raised:
        read(value, name="since", now=NOW)
    assert f"({zone} names more than one zone" in raised.value.message and "give the offset instead" in raised.value.message


@pytest.mark.parametrize(("value", "start"), [("2026-12-01T10:00:00 CET", utc(2026, 12, 1, 9)), ("2026-12-01T10:00:00 EST", utc(2026, 12, 1, 15)),
                                              ("2026-12-01T10:00:00 JST", utc(2026, 12, 1, 1)), ("2026-12-01T10:00:00 UTC", utc(2026, 12, 1, 10))])
def test_a_zone_abbreviation_of_one_zone_is_read_as_that_zone(value, start):
    assert read(value, name="since", now=NOW).start == start


def test_the_readme_names_every_zone_abbreviation_refused():
    readme = README.read_text()
    said = readme[readme.index("So is a zone abbreviation that names several zones") :].split("the error says", 1)[0]
    assert set(re.findall(r"`([A-Z]{2,5})`", said)) == set(AMBIGUOUS_ZONES)
