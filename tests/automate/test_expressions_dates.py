"""Date and time functions, and .NET format strings."""

import datetime as dt

import pytest

from automate.expressions import ExpressionContext, ExpressionError, evaluate

NOW = dt.datetime(2026, 11, 26, 10, 21, 13, tzinfo=dt.UTC)


@pytest.fixture
def context():
    return ExpressionContext(now=NOW)


def value(expression, context):
    return evaluate(expression, context)


def error_of(expression, context):
    with pytest.raises(ExpressionError) as caught:
        evaluate(expression, context)
    return caught.value


def test_utc_now_is_the_context_time_in_iso_8601(context):
    assert value("utcNow()", context) == "2026-11-26T10:21:13.0000000Z"
    assert value("utcNow('yyyy-MM-dd')", context) == "2026-11-26"


def test_utc_now_treats_a_naive_context_time_as_utc():
    context = ExpressionContext(now=dt.datetime(2026, 1, 2, 3, 4, 5, 123456))
    assert value("utcNow()", context) == "2026-01-02T03:04:05.1234560Z"


def test_utc_now_converts_an_aware_context_time_to_utc():
    offset = dt.timezone(dt.timedelta(hours=2))
    context = ExpressionContext(now=dt.datetime(2026, 1, 2, 3, 0, tzinfo=offset))
    assert value("utcNow('s')", context) == "2026-01-02T01:00:00"


def test_utc_now_without_a_context_time_is_the_current_time():
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = dt.datetime.fromisoformat(evaluate("utcNow('s')", ExpressionContext()))
    assert before <= result.replace(tzinfo=dt.UTC) <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy", "2026"),
        ("yy", "26"),
        ("MM", "03"),
        ("%M", "3"),
        ("MMM", "Mar"),
        ("MMMM", "March"),
        ("dd", "05"),
        ("%d", "5"),
        ("ddd", "Thu"),
        ("dddd", "Thursday"),
        ("HH", "14"),
        ("hh", "02"),
        ("h:mm tt", "2:07 PM"),
        ("mm", "07"),
        ("ss", "09"),
        ("fff", "123"),
        ("fffffff", "1234560"),
        ("FFFF", "1234"),
        ("yyyy-MM-dd", "2026-03-05"),
        ("dd/MM/yyyy", "05/03/2026"),
        ("dd.MM.yyyy HH:mm", "05.03.2026 14:07"),
        ("'Week of' MMMM d", "Week of March 5"),
        ('"at" HH\\h', "at 14h"),
        ("yyyyMMddTHHmmss", "20260305T140709"),
        ("d", "3/5/2026"),
        ("D", "Thursday, March 5, 2026"),
        ("s", "2026-03-05T14:07:09"),
        ("o", "2026-03-05T14:07:09.1234560Z"),
        ("u", "2026-03-05 14:07:09Z"),
        ("r", "Thu, 05 Mar 2026 14:07:09 GMT"),
        ("t", "2:07 PM"),
        ("g", "3/5/2026 2:07 PM"),
        ("M", "March 5"),
        ("y", "March 2026"),
    ],
)
def test_format_date_time_patterns(pattern, expected, context):
    expression = "formatDateTime('2026-03-05T14:07:09.123456Z', '{}')".format(
        pattern.replace("'", "''")
    )
    assert value(expression, context) == expected


def test_morning_hours_on_the_twelve_hour_clock(context):
    assert value("formatDateTime('2026-03-05T00:30:00Z', 'hh:mm tt')", context) == "12:30 AM"
    assert value("formatDateTime('2026-03-05T12:30:00Z', 'h:mm t')", context) == "12:30 P"


def test_an_empty_f_fraction_drops_its_decimal_point(context):
    assert value("formatDateTime('2026-03-05T14:07:09Z', 'ss.FFF')", context) == "09"
    assert value("formatDateTime('2026-03-05T14:07:09.5Z', 'ss.FFF')", context) == "09.5"


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-11-26", "2026-11-26T00:00:00.0000000"),
        ("2026-11-26T10:21:13Z", "2026-11-26T10:21:13.0000000Z"),
        ("2026-11-26T10:21:13.0000000Z", "2026-11-26T10:21:13.0000000Z"),
        ("2026-11-26T10:21:13.1234567Z", "2026-11-26T10:21:13.1234560Z"),
        ("2026-11-26T10:21", "2026-11-26T10:21:00.0000000"),
        ("2026-11-26 10:21:13", "2026-11-26T10:21:13.0000000"),
        ("2026-11-26T10:21:13+02:00", "2026-11-26T08:21:13.0000000Z"),
        ("2026-11-26T01:00:00-0500", "2026-11-26T06:00:00.0000000Z"),
    ],
)
def test_timestamps_in_iso_8601(timestamp, expected, context):
    assert value(f"formatDateTime('{timestamp}')", context) == expected


@pytest.mark.parametrize(
    "timestamp", ["", "yesterday", "26/11/2026", "2026-13-01", "2026-02-30", "2026-11-26T25:00"]
)
def test_invalid_timestamps_are_refused(timestamp, context):
    error = error_of(f"concat('x', formatDateTime('{timestamp}'))", context)
    assert error.position == 12
    assert "'formatDateTime' expects a timestamp as its first argument" in error.message


def test_invalid_formats_are_refused(context):
    assert (
        "'x' is not a standard date format"
        in error_of("formatDateTime('2026-11-26', 'x')", context).message
    )
    assert "unclosed quote" in error_of("utcNow('yyyy ''at')", context).message
    assert "seven" in error_of("utcNow('ffffffff')", context).message
    assert "a string" in error_of("utcNow(1)", context).message
    long_format = "yyyy" * 251
    assert "longer than 1,000 characters" in error_of(f"utcNow('{long_format}')", context).message


def test_overlong_timestamps_are_refused(context):
    padded = " " * 100 + "2026-11-26"
    assert "is not an ISO 8601 timestamp" in error_of(f"dayOfMonth('{padded}')", context).message
    assert value(f"dayOfMonth('{padded[-20:]}')", context) == 26


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("addDays('2026-11-26T10:00:00Z', 10)", "2026-12-06T10:00:00.0000000Z"),
        ("addDays('2026-11-26', -30, 'yyyy-MM-dd')", "2026-10-27"),
        ("addDays('2026-11-26', 1.5, 's')", "2026-11-27T12:00:00"),
        ("addHours('2026-11-26T23:00:00Z', 2)", "2026-11-27T01:00:00.0000000Z"),
        ("addMinutes('2026-11-26T10:00:00Z', -90, 'HH:mm')", "08:30"),
        ("addSeconds('2026-11-26T10:00:00Z', 61, 'HH:mm:ss')", "10:01:01"),
        ("addToTime('2026-01-31', 1, 'Month', 'yyyy-MM-dd')", "2026-02-28"),
        ("addToTime('2024-02-29', 1, 'year', 'yyyy-MM-dd')", "2025-02-28"),
        ("addToTime('2026-11-26', 2, 'Week', 'yyyy-MM-dd')", "2026-12-10"),
        ("subtractFromTime('2026-03-31', 1, 'Month', 'yyyy-MM-dd')", "2026-02-28"),
        ("subtractFromTime('2026-11-26T10:00:00Z', 3, 'Hour', 'HH')", "07"),
        ("getFutureTime(2, 'Day', 'yyyy-MM-dd')", "2026-11-28"),
        ("getPastTime(1, 'Year', 'yyyy-MM-dd')", "2025-11-26"),
        ("startOfDay('2026-11-26T10:21:13Z')", "2026-11-26T00:00:00.0000000Z"),
        ("startOfHour('2026-11-26T10:21:13Z', 'HH:mm')", "10:00"),
        ("startOfMonth('2026-11-26T10:21:13Z', 'yyyy-MM-dd HH')", "2026-11-01 00"),
        ("dayOfWeek('2026-11-29')", 0),
        ("dayOfWeek('2026-11-26')", 4),
        ("dayOfMonth('2026-11-26')", 26),
        ("dayOfYear('2026-02-01')", 32),
    ],
)
def test_date_arithmetic(expression, expected, context):
    assert value(expression, context) == expected


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("addDays('9999-12-31', 1)", "outside the years 1 to 9999"),
        ("addDays('2026-01-01', 9223372036854775807)", "outside the years 1 to 9999"),
        ("addToTime('9999-12-01', 1, 'Month')", "outside the years 1 to 9999"),
        ("addToTime('2026-01-01', 1, 'Fortnight')", "does not know the time unit 'Fortnight'"),
        ("addToTime('2026-01-01', 0.5, 'Month')", "a whole number as its second argument"),
        ("addDays('2026-01-01', 'one')", "expects a number as its second argument"),
        ("addDays(null, 1)", "expects a timestamp as its first argument"),
    ],
)
def test_date_arithmetic_errors(expression, words, context):
    error = error_of(expression, context)
    assert words in error.message
    assert error.position == 0
