"""Unit tests for stoplist.lists.expiry: reading `expire_at`."""

from datetime import date, datetime, timedelta, timezone

import pytest

from stoplist.lists.expiry import parse_expire_at
from stoplist.errors import ErrorDetail, InvalidExpiry

NOW = datetime(2026, 3, 15, 12, 30, 45, tzinfo=timezone.utc)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("raw", [None, "", "   ", "null", "NULL", "Null", " null "])
def test_nothing_means_the_entry_never_expires(raw):
    assert parse_expire_at(raw, now=NOW) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # a bare date is midnight UTC at the start of that day
        ("2030-12-01", utc(2030, 12, 1)),
        ("2026-03-16", utc(2026, 3, 16)),
        ("2028-02-29", utc(2028, 2, 29)),
        # RFC 3339 with Z (either case, as RFC 3339 allows)
        ("2030-12-01T10:00:00Z", utc(2030, 12, 1, 10)),
        ("2030-12-01t10:00:00z", utc(2030, 12, 1, 10)),
        ("2030-12-01T23:59:59Z", utc(2030, 12, 1, 23, 59, 59)),
        # offsets are converted to UTC
        ("2030-12-01T10:00:00+02:00", utc(2030, 12, 1, 8)),
        ("2030-12-01T10:00:00-05:30", utc(2030, 12, 1, 15, 30)),
        ("2030-12-01T10:00:00+00:00", utc(2030, 12, 1, 10)),
        ("2030-12-01T01:00:00+02:00", utc(2030, 11, 30, 23)),  # crosses back a day
        ("2030-12-31T22:00:00-03:00", utc(2031, 1, 1, 1)),  # crosses into a new year
        # no offset: read as UTC
        ("2030-12-01T10:00:00", utc(2030, 12, 1, 10)),
        # str(datetime), as SMSAPI's Python client sends it
        ("2030-12-01 10:00:00", utc(2030, 12, 1, 10)),
        (str(datetime(2030, 12, 1, 10, 0, 0)), utc(2030, 12, 1, 10)),
        (str(datetime(2030, 12, 1, 10, 0, 0, 123456)), utc(2030, 12, 1, 10, 0, 1)),  # a fraction: the next second
        (str(datetime(2030, 12, 1, 10, tzinfo=timezone(timedelta(hours=2)))), utc(2030, 12, 1, 8)),
        # surrounding whitespace is ignored
        ("  2030-12-01T10:00:00Z ", utc(2030, 12, 1, 10)),
    ],
)
def test_dates_and_date_times_become_the_utc_moment(raw, expected):
    assert parse_expire_at(raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2030-12-01T10:00:00.999Z", utc(2030, 12, 1, 10, 0, 1)),
        ("2030-12-01T10:00:00.5+02:00", utc(2030, 12, 1, 8, 0, 1)),
        ("2030-12-01T10:00:59.999999Z", utc(2030, 12, 1, 10, 1)),
        ("2030-12-01 10:00:00.000001", utc(2030, 12, 1, 10, 0, 1)),
        ("2030-12-31T23:59:59.1Z", utc(2031, 1, 1)),
        ("2030-12-01T10:00:00.000Z", utc(2030, 12, 1, 10)),  # no fraction, only its digits
    ],
)
def test_a_fraction_of_a_second_rounds_up_to_the_next_second(raw, expected):
    """An entry blocks until at least the moment asked: stored times are whole seconds, so a
    fraction is the next one (as a date filter's bound is), never the second before."""
    result = parse_expire_at(raw, now=NOW)
    assert result == expected
    assert result.microsecond == 0


def test_the_calendars_last_second_keeps_its_fraction_off():
    assert parse_expire_at("9999-12-31T23:59:59.5Z", now=NOW) == utc(9999, 12, 31, 23, 59, 59)


@pytest.mark.parametrize(
    "raw",
    [
        "2030-12-01",
        "2030-12-01T10:00:00Z",
        "2030-12-01T10:00:00+02:00",
        "2030-12-01T10:00:00-11:00",
        "2030-12-01T10:00:00",
        "2030-12-01 10:00:00",
        "2030-12-01T10:00:00.75+05:45",
    ],
)
def test_results_are_timezone_aware_utc(raw):
    result = parse_expire_at(raw, now=NOW)
    assert result.tzinfo is not None
    assert result.utcoffset() == timedelta(0)
    assert result.tzinfo == timezone.utc


@pytest.mark.parametrize(
    "raw",
    [
        "tomorrow",
        "0",
        "garbage",
        "2030-13-01",
        "2030-02-30",
        "2030-00-10",
        "2030-12-32",
        "2030-12-01T25:00:00Z",
        "2030-12-01T10:61:00Z",
        "2030-12-01T10:00:00+25:00",
        "01.12.2030",
        "12/01/2030",
        "2030/12/01",
        "1 Dec 2030",
        "Sun, 01 Dec 2030 10:00:00 GMT",
        "2030-12-01T10:00:00 UTC",
        "2030-12-01Z",
        "2030-12-01T",
    ],
)
def test_unreadable_strings_are_rejected(raw):
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at(raw, now=NOW)
    assert caught.value.code == "invalid_expire_at"


@pytest.mark.parametrize(
    "raw",
    [
        1893456000,
        1893456000.0,
        True,
        False,
        0,
        ["2030-12-01"],
        {"date": "2030-12-01"},
        b"2030-12-01",
        datetime(2030, 12, 1, tzinfo=timezone.utc),
        date(2030, 12, 1),
    ],
)
def test_values_that_are_not_strings_are_rejected(raw):
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at(raw, now=NOW)
    assert caught.value.code == "invalid_expire_at"


@pytest.mark.parametrize(
    "raw",
    [
        "2026-03-15T12:30:45Z",  # exactly now
        "2026-03-15T14:30:45+02:00",  # exactly now, spelled with an offset
        "2026-03-15 12:30:45",  # exactly now, str(datetime) form
        "2026-03-15T12:30:44Z",  # one second ago
        "2026-03-15",  # today started at midnight, already past
        "2026-03-14",
        "2020-01-01T00:00:00Z",
        "1970-01-01",
    ],
)
def test_a_moment_not_after_now_is_rejected(raw):
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at(raw, now=NOW)
    assert caught.value.code == "invalid_expire_at"


@pytest.mark.parametrize(
    "raw",
    ["2026-03-15T12:30:46Z", "2026-03-15T14:30:46+02:00", "2026-03-15 12:30:46"],
)
def test_one_second_after_now_is_accepted(raw):
    assert parse_expire_at(raw, now=NOW) == NOW + timedelta(seconds=1)


def test_a_fraction_after_now_within_its_second_is_the_next_second():
    assert parse_expire_at("2026-03-15T12:30:45.001Z", now=NOW) == NOW + timedelta(seconds=1)


def test_tomorrow_as_a_date_is_accepted():
    assert parse_expire_at("2026-03-16", now=NOW) == utc(2026, 3, 16)


def test_now_with_fractional_seconds_is_compared_exactly():
    now = NOW + timedelta(microseconds=500_000)
    assert parse_expire_at("2026-03-15T12:30:46Z", now=now) == utc(2026, 3, 15, 12, 30, 46)
    with pytest.raises(InvalidExpiry):
        parse_expire_at("2026-03-15T12:30:45Z", now=now)


def test_now_decides_what_is_past():
    raw = "2030-12-01T10:00:00Z"
    assert parse_expire_at(raw, now=utc(2030, 12, 1, 9, 59, 59)) == utc(2030, 12, 1, 10)
    with pytest.raises(InvalidExpiry):
        parse_expire_at(raw, now=utc(2030, 12, 1, 10, 0, 1))


@pytest.mark.parametrize("raw", ["garbage", 42, "2020-01-01"])
def test_the_error_has_the_api_shape(raw):
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at(raw, now=NOW)
    error = caught.value

    assert error.code == "invalid_expire_at"
    assert error.status_code == 400
    assert error.message
    assert len(error.errors) == 1
    detail = error.errors[0]
    assert isinstance(detail, ErrorDetail)
    assert detail.path == "expire_at"
    assert detail.error == "invalid_expire_at"
    assert detail.message == error.message


@pytest.mark.parametrize("raw", ["garbage", "2030-13-01", "2020-01-01"])
def test_the_error_quotes_a_rejected_string(raw):
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at(raw, now=NOW)
    assert raw in caught.value.message


def test_a_moment_past_the_calendar_in_utc_is_refused_as_such():
    with pytest.raises(InvalidExpiry) as caught:
        parse_expire_at("9999-12-31T23:59:59-05:00", now=NOW)
    assert "past the calendar's last day in UTC" in caught.value.message
    with pytest.raises(InvalidExpiry) as unreadable:
        parse_expire_at("9999-12-31T25:00:00Z", now=NOW)
    assert "neither a date" in unreadable.value.message
