"""Dates and times: ISO 8601 text in, ISO 8601 (or the given format) out."""

import calendar
import datetime as dt
from typing import Any

from automate.expressions.datetimes import DateFormatError, format_timestamp, parse_timestamp
from automate.expressions.functions.registry import function
from automate.expressions.limits import WORK_PER_ITEM
from automate.expressions.runtime import CallSite, ordinal

_UNITS = {
    "second": dt.timedelta(seconds=1),
    "minute": dt.timedelta(minutes=1),
    "hour": dt.timedelta(hours=1),
    "day": dt.timedelta(days=1),
    "week": dt.timedelta(weeks=1),
}
_MONTH_UNITS = {"month": 1, "year": 12}


def _moment(site: CallSite, value: Any, index: int = 0) -> dt.datetime:
    try:
        return parse_timestamp(value)
    except DateFormatError as error:
        shown = f"'{value[:40]}'" if isinstance(value, str) else "the value"
        raise site.fail(
            f"expects a timestamp as its {ordinal(index)} argument: {shown} {error}"
        ) from None


def _formatted(site: CallSite, moment: dt.datetime, pattern: Any, index: int) -> str:
    if pattern is not None:
        pattern = site.text(pattern, index)
        # Formats are applied one character at a time.
        site.charge(len(pattern) * WORK_PER_ITEM)
    try:
        return format_timestamp(moment, pattern)
    except DateFormatError as error:
        raise site.fail(f"format '{pattern[:40]}' {error}") from None


def _now(site: CallSite) -> dt.datetime:
    now = site.context.now or dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _shifted(
    site: CallSite, moment: dt.datetime, amount: Any, unit: str, index: int = 1
) -> dt.datetime:
    """``moment`` moved by ``amount`` units; months and years keep the day where it exists."""
    try:
        if unit in _MONTH_UNITS:
            months = moment.month - 1 + site.integer(amount, index) * _MONTH_UNITS[unit]
            year, month = moment.year + months // 12, months % 12 + 1
            if not 1 <= year <= 9999:
                raise OverflowError
            day = min(moment.day, calendar.monthrange(year, month)[1])
            return moment.replace(year=year, month=month, day=day)
        return moment + site.number(amount, index) * _UNITS[unit]
    except (OverflowError, ValueError):
        raise site.fail("would move the date outside the years 1 to 9999") from None


@function("utcNow", 0, 1)
def utc_now(site: CallSite, pattern: Any = None) -> str:
    return _formatted(site, _now(site), pattern, 0)


@function("formatDateTime", 1, 2)
def format_date_time(site: CallSite, value: Any, pattern: Any = None) -> str:
    return _formatted(site, _moment(site, value), pattern, 1)


def _adder(name: str, unit: str) -> None:
    @function(name, 2, 3)
    def add(site: CallSite, value: Any, amount: Any, pattern: Any = None) -> str:
        return _formatted(site, _shifted(site, _moment(site, value), amount, unit), pattern, 2)


_adder("addDays", "day")
_adder("addHours", "hour")
_adder("addMinutes", "minute")
_adder("addSeconds", "second")


def _unit(site: CallSite, value: Any, index: int) -> str:
    unit = site.text(value, index).lower().removesuffix("s")
    if unit not in _UNITS and unit not in _MONTH_UNITS:
        raise site.fail(
            f"does not know the time unit '{value[:20]}'; use Second, Minute, Hour, Day, Week, "
            "Month or Year"
        )
    return unit


@function("addToTime", 3, 4)
def add_to_time(site: CallSite, value: Any, amount: Any, unit: Any, pattern: Any = None) -> str:
    moment = _shifted(site, _moment(site, value), amount, _unit(site, unit, 2))
    return _formatted(site, moment, pattern, 3)


@function("subtractFromTime", 3, 4)
def subtract_from_time(
    site: CallSite, value: Any, amount: Any, unit: Any, pattern: Any = None
) -> str:
    unit = _unit(site, unit, 2)
    moment = _shifted(site, _moment(site, value), -site.number(amount, 1), unit)
    return _formatted(site, moment, pattern, 3)


@function("getFutureTime", 2, 3)
def get_future_time(site: CallSite, amount: Any, unit: Any, pattern: Any = None) -> str:
    moment = _shifted(site, _now(site), amount, _unit(site, unit, 1), index=0)
    return _formatted(site, moment, pattern, 2)


@function("getPastTime", 2, 3)
def get_past_time(site: CallSite, amount: Any, unit: Any, pattern: Any = None) -> str:
    moment = _shifted(site, _now(site), -site.number(amount, 0), _unit(site, unit, 1), index=0)
    return _formatted(site, moment, pattern, 2)


@function("startOfDay", 1, 2)
def start_of_day(site: CallSite, value: Any, pattern: Any = None) -> str:
    moment = _moment(site, value).replace(hour=0, minute=0, second=0, microsecond=0)
    return _formatted(site, moment, pattern, 1)


@function("startOfHour", 1, 2)
def start_of_hour(site: CallSite, value: Any, pattern: Any = None) -> str:
    moment = _moment(site, value).replace(minute=0, second=0, microsecond=0)
    return _formatted(site, moment, pattern, 1)


@function("startOfMonth", 1, 2)
def start_of_month(site: CallSite, value: Any, pattern: Any = None) -> str:
    moment = _moment(site, value).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return _formatted(site, moment, pattern, 1)


@function("dayOfWeek", 1)
def day_of_week(site: CallSite, value: Any) -> int:
    # 0 is Sunday, as in .NET's DayOfWeek.
    return _moment(site, value).isoweekday() % 7


@function("dayOfMonth", 1)
def day_of_month(site: CallSite, value: Any) -> int:
    return _moment(site, value).day


@function("dayOfYear", 1)
def day_of_year(site: CallSite, value: Any) -> int:
    return _moment(site, value).timetuple().tm_yday
