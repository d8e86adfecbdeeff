"""The Recurrence trigger's schedule (docs/flows.md, "Triggers"): which instants are slots.

A schedule is the trigger's dict. ``recurrence_errors`` says what is wrong with one;
``next_slot`` and ``latest_slot`` find slots around an instant, and ``describe`` sums it
up for the flow list. Everything here is arithmetic on the schedule: no database.

As in Power Automate, the anchor is ``startTime`` read in ``timeZone`` (2000-01-01 00:00
local without one). Minutes and hours count from the anchor in absolute time, so "every
2 hours" keeps its rhythm across a DST change; days and weeks count local calendar days
from the anchor, at local times of day. A local time that a DST change skips is read
with zoneinfo's ``fold=0``: it lands just after the gap (02:30 in Berlin on the spring
day is 03:30 CEST). A local time that happens twice fires once, the first time.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

WEEK_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FREQUENCIES = ("minute", "hour", "day", "week")
MAX_INTERVAL = 1000
DEFAULT_TIME_ZONE = "UTC"
DEFAULT_ANCHOR = dt.datetime(2000, 1, 1)
START_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?")

# A local wall-clock time and the UTC instant it names differ by one of the zone's real
# offsets (even a time a DST change skips is read with the offset before the change), and
# those stay within -12 h and +14 h. Scans use this bound to know when no later (or
# earlier) day can hold a closer slot, so slots that a DST change puts out of their
# day's order are never missed.
OFFSET_BOUND = dt.timedelta(days=2)


class RecurrenceError(ValueError):
    """The trigger is not a valid recurrence; ``args[0]`` lists the problems."""


@dataclass(frozen=True)
class Schedule:
    frequency: str
    interval: int
    zone: ZoneInfo
    anchor: dt.datetime  # naive, local to ``zone``
    anchor_utc: dt.datetime
    times: tuple[dt.time, ...]  # times of day, for day and week
    week_days: tuple[int, ...]  # 0 = Monday, for week


def recurrence_errors(trigger: dict) -> list[str]:
    """Every problem with a recurrence trigger's schedule, as sentences for the user.

    ``type`` and ``conditions`` are checked with the other triggers' keys, not here.
    An optional key that is absent, null or an empty list takes its default.
    """
    errors = []
    frequency = trigger.get("frequency")
    if frequency not in FREQUENCIES:
        errors.append(f"Recurrence: the frequency must be one of {', '.join(FREQUENCIES)}.")
    interval = trigger.get("interval")
    if interval is not None and not _is_int(interval, 1, MAX_INTERVAL):
        errors.append(f"Recurrence: the interval must be a whole number from 1 to {MAX_INTERVAL}.")
    zone = trigger.get("timeZone")
    if zone is not None and not _is_time_zone(zone):
        errors.append(
            "Recurrence: the time zone must be an IANA name such as Europe/Berlin or UTC."
        )
    start = trigger.get("startTime")
    if start is not None and _parse_start(start) is None:
        errors.append(
            "Recurrence: the start time must be a local date and time such as "
            "2026-05-01T09:00 (seconds optional, no offset: the time zone says where)."
        )
    errors += _list_errors(trigger, "hours", "hour", range(24))
    errors += _list_errors(trigger, "minutes", "minute", range(60))
    errors += _list_errors(trigger, "weekDays", "week day", WEEK_DAYS)
    if frequency in ("minute", "hour") and (_given(trigger, "hours") or _given(trigger, "minutes")):
        errors.append(
            "Recurrence: hours and minutes can be set only when the frequency is day or week."
        )
    if frequency in FREQUENCIES and frequency != "week" and _given(trigger, "weekDays"):
        errors.append("Recurrence: week days can be set only when the frequency is week.")
    return errors


def next_slot(trigger: dict, after: dt.datetime) -> dt.datetime:
    """The first slot strictly after ``after`` (aware), as an aware UTC datetime.

    Minutes and hours: the next multiple of the step after the anchor. Days and weeks:
    1. walk the days that have slots, from two days before ``after`` (a local day's
       slots may fall on the UTC day before or after);
    2. keep the earliest slot after ``after``;
    3. stop at the first day that starts, in any zone, after that slot.
    """
    schedule = _schedule(trigger)
    after = _utc(after)
    if schedule.frequency in ("minute", "hour"):
        if after < schedule.anchor_utc:
            return schedule.anchor_utc
        step = _step(schedule)
        return schedule.anchor_utc + ((after - schedule.anchor_utc) // step + 1) * step
    best = None
    for day in _days_from(schedule, (after - OFFSET_BOUND).date()):
        if best is not None and _day_start(day) - OFFSET_BOUND > best:
            break
        for slot in _day_slots(schedule, day):
            if slot > after and (best is None or slot < best):
                best = slot
    return best


def latest_slot(trigger: dict, at_or_before: dt.datetime) -> dt.datetime | None:
    """The last slot at or before ``at_or_before`` (aware), or None if there is none yet.

    The mirror of ``next_slot``: days are walked backwards, back to the anchor at most.
    """
    schedule = _schedule(trigger)
    at = _utc(at_or_before)
    if at < schedule.anchor_utc:
        return None
    if schedule.frequency in ("minute", "hour"):
        step = _step(schedule)
        return schedule.anchor_utc + ((at - schedule.anchor_utc) // step) * step
    best = None
    for day in _days_until(schedule, (at + OFFSET_BOUND).date()):
        if best is not None and _day_start(day) + dt.timedelta(days=1) + OFFSET_BOUND < best:
            break
        for slot in _day_slots(schedule, day):
            if slot <= at and (best is None or slot > best):
                best = slot
    return best


def describe(trigger: dict) -> str:
    """A short summary for the flow list: "Every day at 09:00, 17:00 (Europe/Berlin)"."""
    if recurrence_errors(trigger):
        return "Recurrence (not a valid schedule)"
    schedule = _schedule(trigger)
    unit = schedule.frequency
    every = f"Every {unit}" if schedule.interval == 1 else f"Every {schedule.interval} {unit}s"
    zone = f"({schedule.zone.key})"
    start = trigger.get("startTime")
    if unit in ("minute", "hour"):
        if not start:
            return every
        return f"{every} from {schedule.anchor:%Y-%m-%d %H:%M} {zone}"
    parts = [every]
    if unit == "week":
        parts.append("on " + ", ".join(WEEK_DAYS[day] for day in schedule.week_days))
    parts.append(_describe_times(schedule))
    if start:
        parts.append(f"from {schedule.anchor:%Y-%m-%d}")
    parts.append(zone)
    return " ".join(parts)


# --- Reading the trigger -----------------------------------------------------------------


def _is_int(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _given(trigger: dict, key: str) -> bool:
    return trigger.get(key) not in (None, [])


@functools.cache
def _time_zones() -> frozenset[str]:
    # "localtime" is this machine's zone, not an IANA name: a flow must mean the same
    # everywhere it runs.
    return frozenset(available_timezones() - {"localtime"})


def _is_time_zone(value) -> bool:
    return isinstance(value, str) and value in _time_zones()


def _parse_start(value) -> dt.datetime | None:
    if not isinstance(value, str) or not START_TIME.fullmatch(value):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _list_errors(trigger: dict, key: str, noun: str, allowed: range | tuple) -> list[str]:
    values = trigger.get(key)
    if values is None:
        return []
    if isinstance(values, list) and len(values) > len(allowed):
        return [f"Recurrence: at most {len(allowed)} {noun}s."]
    if not isinstance(values, list) or not all(_is_item(value, allowed) for value in values):
        if isinstance(allowed, range):
            wording = f"whole numbers from {allowed.start} to {allowed.stop - 1}"
        else:
            wording = f"names from {allowed[0]} to {allowed[-1]}"
        return [f"Recurrence: the {noun}s must be a list of {wording}."]
    if len(set(values)) != len(values):
        return [f"Recurrence: each {noun} may be listed only once."]
    return []


def _is_item(value, allowed: range | tuple) -> bool:
    if isinstance(allowed, range):
        return _is_int(value, allowed.start, allowed.stop - 1)
    return isinstance(value, str) and value in allowed


def _schedule(trigger: dict) -> Schedule:
    errors = recurrence_errors(trigger)
    if errors:
        raise RecurrenceError(errors)
    frequency = trigger["frequency"]
    zone = ZoneInfo(trigger.get("timeZone") or DEFAULT_TIME_ZONE)
    anchor = _parse_start(trigger.get("startTime")) or DEFAULT_ANCHOR
    times = ()
    if _given(trigger, "hours") or _given(trigger, "minutes"):
        # Power Automate's rule: whichever of the two is missing comes from the start time.
        hours = trigger.get("hours") or [anchor.hour]
        minutes = trigger.get("minutes") or [anchor.minute]
        times = tuple(dt.time(hour, minute) for hour in sorted(hours) for minute in sorted(minutes))
    elif frequency in ("day", "week"):
        times = (anchor.time(),)
    week_days = ()
    if frequency == "week":
        names = trigger.get("weekDays") or [WEEK_DAYS[anchor.weekday()]]
        week_days = tuple(sorted(WEEK_DAYS.index(name) for name in names))
    return Schedule(
        frequency=frequency,
        interval=trigger.get("interval") or 1,
        zone=zone,
        anchor=anchor,
        anchor_utc=_to_utc(anchor, zone),
        times=times,
        week_days=week_days,
    )


# --- Instants ----------------------------------------------------------------------------


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Recurrence slots are computed from aware datetimes.")
    return moment.astimezone(dt.UTC)


def _to_utc(local: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    # fold=0 (the default): a skipped time lands after the gap, a repeated one is the first.
    return local.replace(tzinfo=zone).astimezone(dt.UTC)


def _day_start(day: dt.date) -> dt.datetime:
    """The day's midnight read as UTC: within OFFSET_BOUND of its real instant."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def _step(schedule: Schedule) -> dt.timedelta:
    seconds = 60 if schedule.frequency == "minute" else 3600
    return dt.timedelta(seconds=seconds * schedule.interval)


def _day_slots(schedule: Schedule, day: dt.date) -> Iterator[dt.datetime]:
    """The day's slots as UTC instants; none before the anchor."""
    for time in schedule.times:
        slot = _to_utc(dt.datetime.combine(day, time), schedule.zone)
        if slot >= schedule.anchor_utc:
            yield slot


# --- Days that have slots ----------------------------------------------------------------


def _days_from(schedule: Schedule, first_day: dt.date) -> Iterator[dt.date]:
    """The days with slots, from ``first_day`` on, in order (endless)."""
    anchor_day = schedule.anchor.date()
    if schedule.frequency == "day":
        k = max(0, -(-(first_day - anchor_day).days // schedule.interval))
        while True:
            yield anchor_day + dt.timedelta(days=k * schedule.interval)
            k += 1
    period = 7 * schedule.interval
    anchor_week = anchor_day - dt.timedelta(days=anchor_day.weekday())
    k = max(0, (first_day - anchor_week).days // period)
    while True:
        week = anchor_week + dt.timedelta(days=k * period)
        for weekday in schedule.week_days:
            day = week + dt.timedelta(days=weekday)
            if day >= first_day:
                yield day
        k += 1


def _days_until(schedule: Schedule, last_day: dt.date) -> Iterator[dt.date]:
    """The days with slots, up to ``last_day``, latest first, back to the anchor's day or week."""
    anchor_day = schedule.anchor.date()
    if schedule.frequency == "day":
        for k in range((last_day - anchor_day).days // schedule.interval, -1, -1):
            yield anchor_day + dt.timedelta(days=k * schedule.interval)
        return
    period = 7 * schedule.interval
    anchor_week = anchor_day - dt.timedelta(days=anchor_day.weekday())
    for k in range((last_day - anchor_week).days // period, -1, -1):
        week = anchor_week + dt.timedelta(days=k * period)
        for weekday in reversed(schedule.week_days):
            day = week + dt.timedelta(days=weekday)
            if day <= last_day:
                yield day


# --- Describing ----------------------------------------------------------------------------

MAX_LISTED_TIMES = 6


def _describe_times(schedule: Schedule) -> str:
    if len(schedule.times) <= MAX_LISTED_TIMES:
        fmt = "%H:%M:%S" if any(time.second for time in schedule.times) else "%H:%M"
        return "at " + ", ".join(time.strftime(fmt) for time in schedule.times)
    hours = sorted({time.hour for time in schedule.times})
    minutes = sorted({time.minute for time in schedule.times})
    return f"at minutes {', '.join(f'{m:02d}' for m in minutes)} of hours {_ranges(hours)}"


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 3, 9] -> "0-3, 9": runs of three or more as ranges."""
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ", ".join(
        f"{run[0]}-{run[-1]}" if len(run) >= 3 else ", ".join(map(str, run)) for run in runs
    )
