"""The Recurrence trigger's schedule: validation, slots around DST changes, and properties."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from automate.recurrence import (
    FREQUENCIES,
    WEEK_DAYS,
    RecurrenceError,
    describe,
    latest_slot,
    next_slot,
    recurrence_errors,
)

UTC = dt.UTC
MICROSECOND = dt.timedelta(microseconds=1)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def recurrence(**fields) -> dict:
    return {"type": "recurrence", **fields}


def slots(trigger: dict, after: dt.datetime, count: int) -> list[dt.datetime]:
    found = []
    for _ in range(count):
        after = next_slot(trigger, after)
        found.append(after)
    return found


# --- Validation ------------------------------------------------------------------------------


def test_a_full_schedule_is_valid():
    trigger = recurrence(
        frequency="week",
        interval=2,
        timeZone="Europe/Berlin",
        startTime="2026-05-01T09:00:30",
        hours=[9, 17],
        minutes=[0, 30],
        weekDays=["Monday", "Friday"],
    )
    assert recurrence_errors(trigger) == []


def test_optional_fields_may_be_absent_null_or_empty():
    assert recurrence_errors(recurrence(frequency="minute")) == []
    assert (
        recurrence_errors(
            recurrence(frequency="day", interval=None, timeZone=None, startTime=None, hours=[])
        )
        == []
    )


def test_it_leaves_type_and_conditions_to_the_trigger_check():
    assert recurrence_errors({"type": "nope", "frequency": "day", "conditions": "x"}) == []


@pytest.mark.parametrize("frequency", [None, "month", "Day", 1])
def test_it_requires_a_known_frequency(frequency):
    trigger = recurrence(frequency=frequency) if frequency else recurrence()
    assert recurrence_errors(trigger) == [
        "Recurrence: the frequency must be one of minute, hour, day, week."
    ]


@pytest.mark.parametrize("interval", [0, 1001, -1, 1.5, 2.0, "5", True, False, [1]])
def test_it_refuses_an_interval_out_of_range_or_not_a_whole_number(interval):
    assert recurrence_errors(recurrence(frequency="hour", interval=interval)) == [
        "Recurrence: the interval must be a whole number from 1 to 1000."
    ]


@pytest.mark.parametrize("interval", [1, 1000])
def test_it_accepts_the_interval_bounds(interval):
    assert recurrence_errors(recurrence(frequency="hour", interval=interval)) == []


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "utc", "Europe/Berlin ", "", "localtime", "/etc/passwd", "../x", 1]
)
def test_it_refuses_a_time_zone_that_is_not_an_iana_name(zone):
    assert recurrence_errors(recurrence(frequency="day", timeZone=zone)) == [
        "Recurrence: the time zone must be an IANA name such as Europe/Berlin or UTC."
    ]


@pytest.mark.parametrize(
    "start",
    [
        "2026-05-01T09:00+02:00",
        "2026-05-01T09:00Z",
        "2026-05-01",
        "2026-05-01 09:00",
        "2026-05-01T09:00:00.5",
        "2026-02-30T09:00",
        "2026-05-01T24:00",
        "2026-5-1T9:00",
        20260501,
    ],
)
def test_it_refuses_a_start_time_that_is_not_a_plain_local_date_and_time(start):
    assert recurrence_errors(recurrence(frequency="day", startTime=start)) == [
        "Recurrence: the start time must be a local date and time such as 2026-05-01T09:00 "
        "(seconds optional, no offset: the time zone says where)."
    ]


@pytest.mark.parametrize("start", ["2026-05-01T09:00", "2026-05-01T09:00:59"])
def test_it_accepts_a_start_time_with_or_without_seconds(start):
    assert recurrence_errors(recurrence(frequency="day", startTime=start)) == []


@pytest.mark.parametrize("hours", [[24], [-1], [True], [9.0], ["9"], 9])
def test_it_refuses_hours_outside_the_day(hours):
    assert recurrence_errors(recurrence(frequency="day", hours=hours)) == [
        "Recurrence: the hours must be a list of whole numbers from 0 to 23."
    ]


@pytest.mark.parametrize("minutes", [[60], [-1], [False], "30"])
def test_it_refuses_minutes_outside_the_hour(minutes):
    assert recurrence_errors(recurrence(frequency="day", minutes=minutes)) == [
        "Recurrence: the minutes must be a list of whole numbers from 0 to 59."
    ]


@pytest.mark.parametrize("days", [["monday"], ["Mon"], [0], "Monday"])
def test_it_refuses_week_days_that_are_not_day_names(days):
    assert recurrence_errors(recurrence(frequency="week", weekDays=days)) == [
        "Recurrence: the week days must be a list of names from Monday to Sunday."
    ]


def test_it_refuses_duplicates():
    trigger = recurrence(frequency="week", hours=[9, 9], minutes=[0, 0], weekDays=["Monday"] * 2)
    assert recurrence_errors(trigger) == [
        "Recurrence: each hour may be listed only once.",
        "Recurrence: each minute may be listed only once.",
        "Recurrence: each week day may be listed only once.",
    ]


def test_it_refuses_longer_lists_than_a_day_hour_or_week_has():
    trigger = recurrence(
        frequency="week", hours=list(range(25)), minutes=[0] * 61, weekDays=[*WEEK_DAYS, "Monday"]
    )
    assert recurrence_errors(trigger) == [
        "Recurrence: at most 24 hours.",
        "Recurrence: at most 60 minutes.",
        "Recurrence: at most 7 week days.",
    ]


def test_it_accepts_every_hour_minute_and_day():
    trigger = recurrence(
        frequency="week", hours=list(range(24)), minutes=list(range(60)), weekDays=list(WEEK_DAYS)
    )
    assert recurrence_errors(trigger) == []


@pytest.mark.parametrize("frequency", ["minute", "hour"])
def test_hours_and_minutes_need_day_or_week(frequency):
    message = "Recurrence: hours and minutes can be set only when the frequency is day or week."
    assert recurrence_errors(recurrence(frequency=frequency, hours=[9])) == [message]
    assert recurrence_errors(recurrence(frequency=frequency, minutes=[0])) == [message]


@pytest.mark.parametrize("frequency", ["minute", "hour", "day"])
def test_week_days_need_week(frequency):
    assert recurrence_errors(recurrence(frequency=frequency, weekDays=["Monday"])) == [
        "Recurrence: week days can be set only when the frequency is week."
    ]


def test_it_lists_every_problem_at_once():
    trigger = recurrence(frequency="hour", interval=0, timeZone="Nowhere", hours=[9])
    assert len(recurrence_errors(trigger)) == 3


def test_slots_of_an_invalid_schedule_raise_with_the_problems():
    with pytest.raises(RecurrenceError) as raised:
        next_slot(recurrence(frequency="fortnight"), utc(2026, 1, 1))
    assert raised.value.args[0] == [
        "Recurrence: the frequency must be one of minute, hour, day, week."
    ]
    with pytest.raises(RecurrenceError):
        latest_slot(recurrence(frequency="day", interval=0), utc(2026, 1, 1))


def test_slots_need_an_aware_instant():
    with pytest.raises(ValueError, match="aware"):
        next_slot(recurrence(frequency="day"), dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        latest_slot(recurrence(frequency="day"), dt.datetime(2026, 1, 1))


# --- Minutes and hours -------------------------------------------------------------------------


def test_every_15_minutes_falls_on_the_quarter_hours():
    trigger = recurrence(frequency="minute", interval=15)
    assert next_slot(trigger, utc(2026, 5, 1, 10, 7, 42)) == utc(2026, 5, 1, 10, 15)
    assert next_slot(trigger, utc(2026, 5, 1, 10, 15)) == utc(2026, 5, 1, 10, 30)
    assert next_slot(trigger, utc(2026, 5, 1, 10, 14, 59, 999999)) == utc(2026, 5, 1, 10, 15)
    assert latest_slot(trigger, utc(2026, 5, 1, 10, 15)) == utc(2026, 5, 1, 10, 15)
    assert latest_slot(trigger, utc(2026, 5, 1, 10, 29, 59)) == utc(2026, 5, 1, 10, 15)


def test_every_minute():
    trigger = recurrence(frequency="minute")
    assert slots(trigger, utc(2026, 5, 1, 23, 58, 30), 3) == [
        utc(2026, 5, 1, 23, 59),
        utc(2026, 5, 2, 0, 0),
        utc(2026, 5, 2, 0, 1),
    ]


def test_slots_are_returned_in_utc_whatever_the_zone_of_the_instant():
    trigger = recurrence(frequency="hour")
    after = dt.datetime(2026, 5, 1, 10, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    slot = next_slot(trigger, after)
    assert slot == utc(2026, 5, 1, 9) and slot.tzinfo is UTC
    assert latest_slot(trigger, after).tzinfo is UTC


def test_minutes_count_from_the_start_time_in_its_time_zone():
    trigger = recurrence(
        frequency="minute", interval=10, timeZone="Europe/Berlin", startTime="2026-05-01T09:07"
    )
    anchor = utc(2026, 5, 1, 7, 7)  # 09:07 CEST
    assert next_slot(trigger, utc(2020, 1, 1)) == anchor
    assert next_slot(trigger, anchor - MICROSECOND) == anchor
    assert next_slot(trigger, anchor) == utc(2026, 5, 1, 7, 17)
    assert latest_slot(trigger, anchor - MICROSECOND) is None
    assert latest_slot(trigger, anchor) == anchor
    assert latest_slot(trigger, utc(2026, 5, 2, 7, 16)) == utc(2026, 5, 2, 7, 7)


def test_every_2_hours_falls_on_even_hours_from_midnight():
    trigger = recurrence(frequency="hour", interval=2)
    assert next_slot(trigger, utc(2026, 5, 1, 9, 0)) == utc(2026, 5, 1, 10)
    assert next_slot(trigger, utc(2026, 5, 1, 10, 0)) == utc(2026, 5, 1, 12)
    assert latest_slot(trigger, utc(2026, 5, 1, 11, 59)) == utc(2026, 5, 1, 10)


def test_hours_count_in_absolute_time_across_dst():
    # The default anchor is midnight in January (CET); every 2 hours keeps its rhythm in
    # absolute time, so in summer (CEST) the slots fall on odd local hours.
    trigger = recurrence(frequency="hour", interval=2, timeZone="Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    winter = next_slot(trigger, utc(2026, 1, 15, 8, 30)).astimezone(berlin)
    summer = next_slot(trigger, utc(2026, 7, 15, 8, 30)).astimezone(berlin)
    assert (winter.hour, summer.hour) == (10, 11)


def test_hourly_fires_at_each_instant_of_a_repeated_hour():
    trigger = recurrence(
        frequency="hour", timeZone="America/New_York", startTime="2026-11-01T00:00"
    )
    new_york = ZoneInfo("America/New_York")
    fired = slots(trigger, utc(2026, 11, 1), 4)
    assert fired == [
        utc(2026, 11, 1, 4),
        utc(2026, 11, 1, 5),
        utc(2026, 11, 1, 6),
        utc(2026, 11, 1, 7),
    ]
    assert [slot.astimezone(new_york).hour for slot in fired] == [0, 1, 1, 2]


def test_hourly_skips_no_hour_in_spring():
    trigger = recurrence(frequency="hour", timeZone="Europe/Berlin", startTime="2026-03-29T00:00")
    fired = slots(trigger, utc(2026, 3, 28, 22, 30), 3)
    assert fired == [utc(2026, 3, 28, 23), utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)]


# --- Days --------------------------------------------------------------------------------------


def test_daily_without_anything_else_is_midnight_utc():
    trigger = recurrence(frequency="day")
    assert next_slot(trigger, utc(2026, 5, 1, 0, 0)) == utc(2026, 5, 2)
    assert latest_slot(trigger, utc(2026, 5, 1, 23, 59)) == utc(2026, 5, 1)


def test_every_3_days_from_the_start_time():
    trigger = recurrence(frequency="day", interval=3, startTime="2026-05-01T09:30")
    assert next_slot(trigger, utc(2026, 4, 1)) == utc(2026, 5, 1, 9, 30)
    assert slots(trigger, utc(2026, 5, 1, 9, 30), 3) == [
        utc(2026, 5, 4, 9, 30),
        utc(2026, 5, 7, 9, 30),
        utc(2026, 5, 10, 9, 30),
    ]
    assert latest_slot(trigger, utc(2026, 5, 6, 23)) == utc(2026, 5, 4, 9, 30)
    assert latest_slot(trigger, utc(2026, 5, 1, 9, 29)) is None


def test_the_start_times_seconds_are_kept_when_no_times_are_given():
    trigger = recurrence(frequency="day", startTime="2026-05-01T09:30:15")
    assert next_slot(trigger, utc(2026, 5, 1, 9, 30, 15)) == utc(2026, 5, 2, 9, 30, 15)


def test_each_combination_of_hours_and_minutes():
    trigger = recurrence(frequency="day", hours=[17, 9], minutes=[30, 0])
    assert slots(trigger, utc(2026, 5, 1), 5) == [
        utc(2026, 5, 1, 9, 0),
        utc(2026, 5, 1, 9, 30),
        utc(2026, 5, 1, 17, 0),
        utc(2026, 5, 1, 17, 30),
        utc(2026, 5, 2, 9, 0),
    ]
    assert latest_slot(trigger, utc(2026, 5, 2, 8)) == utc(2026, 5, 1, 17, 30)


def test_hours_alone_take_the_start_times_minute():
    trigger = recurrence(frequency="day", startTime="2026-05-01T06:15:40", hours=[9, 17])
    assert slots(trigger, utc(2026, 5, 1), 3) == [
        utc(2026, 5, 1, 9, 15),
        utc(2026, 5, 1, 17, 15),
        utc(2026, 5, 2, 9, 15),
    ]


def test_hours_alone_without_a_start_time_are_on_the_hour():
    trigger = recurrence(frequency="day", hours=[9, 17])
    assert slots(trigger, utc(2026, 5, 1), 2) == [utc(2026, 5, 1, 9), utc(2026, 5, 1, 17)]


def test_minutes_alone_take_the_start_times_hour():
    trigger = recurrence(frequency="day", startTime="2026-05-01T08:00", minutes=[0, 45])
    assert slots(trigger, utc(2026, 5, 1), 3) == [
        utc(2026, 5, 1, 8, 0),
        utc(2026, 5, 1, 8, 45),
        utc(2026, 5, 2, 8, 0),
    ]


def test_times_before_the_start_time_on_its_day_are_not_slots():
    trigger = recurrence(frequency="day", startTime="2026-05-01T12:00", hours=[9, 17])
    assert next_slot(trigger, utc(2026, 1, 1)) == utc(2026, 5, 1, 17)
    assert latest_slot(trigger, utc(2026, 5, 1, 16, 59)) is None
    assert next_slot(trigger, utc(2026, 5, 1, 17)) == utc(2026, 5, 2, 9)


def test_daily_keeps_its_local_time_across_dst_in_berlin():
    trigger = recurrence(frequency="day", timeZone="Europe/Berlin", hours=[9])
    assert slots(trigger, utc(2026, 3, 28, 12), 2) == [utc(2026, 3, 29, 7), utc(2026, 3, 30, 7)]
    assert next_slot(trigger, utc(2026, 3, 28)) == utc(2026, 3, 28, 8)
    assert slots(trigger, utc(2026, 10, 24, 12), 2) == [utc(2026, 10, 25, 8), utc(2026, 10, 26, 8)]


def test_a_time_skipped_in_spring_fires_just_after_the_gap_in_berlin():
    # 02:30 does not exist on 29 March 2026 in Berlin: it is read as 03:30 CEST.
    trigger = recurrence(frequency="day", timeZone="Europe/Berlin", hours=[2], minutes=[30])
    assert slots(trigger, utc(2026, 3, 27, 12), 3) == [
        utc(2026, 3, 28, 1, 30),  # 02:30 CET
        utc(2026, 3, 29, 1, 30),  # 03:30 CEST
        utc(2026, 3, 30, 0, 30),  # 02:30 CEST
    ]
    assert latest_slot(trigger, utc(2026, 3, 30, 0, 29)) == utc(2026, 3, 29, 1, 30)


def test_a_time_repeated_in_autumn_fires_once_in_berlin():
    trigger = recurrence(frequency="day", timeZone="Europe/Berlin", hours=[2], minutes=[30])
    assert slots(trigger, utc(2026, 10, 24, 12), 2) == [
        utc(2026, 10, 25, 0, 30),  # the first 02:30, CEST
        utc(2026, 10, 26, 1, 30),  # 02:30 CET the next day
    ]
    # The second 02:30 (01:30 UTC on the 25th) is no slot.
    assert latest_slot(trigger, utc(2026, 10, 25, 1, 45)) == utc(2026, 10, 25, 0, 30)


def test_a_time_skipped_in_spring_fires_just_after_the_gap_in_new_york():
    trigger = recurrence(frequency="day", timeZone="America/New_York", hours=[2], minutes=[15])
    assert slots(trigger, utc(2026, 3, 7, 12), 2) == [
        utc(2026, 3, 8, 7, 15),  # 03:15 EDT
        utc(2026, 3, 9, 6, 15),  # 02:15 EDT
    ]


def test_a_time_repeated_in_autumn_fires_once_in_new_york():
    trigger = recurrence(frequency="day", timeZone="America/New_York", hours=[1], minutes=[30])
    assert slots(trigger, utc(2026, 10, 31, 12), 2) == [
        utc(2026, 11, 1, 5, 30),  # the first 01:30, EDT
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
    ]


def test_slots_either_side_of_a_gap_keep_their_order_of_instants():
    # 02:30 in the gap and 03:00 after it: 03:00 CEST (01:00 UTC) comes first in time.
    trigger = recurrence(frequency="day", timeZone="Europe/Berlin", hours=[2, 3], minutes=[0, 30])
    assert slots(trigger, utc(2026, 3, 28, 23), 4) == [
        utc(2026, 3, 29, 1, 0),  # 02:00 -> 03:00 CEST, and 03:00 CEST itself: one slot
        utc(2026, 3, 29, 1, 30),  # 02:30 -> 03:30 CEST, and 03:30 CEST itself
        utc(2026, 3, 30, 0, 0),
        utc(2026, 3, 30, 0, 30),
    ]


def test_a_day_that_a_time_zone_skipped_has_its_slots_after_the_jump():
    # Samoa skipped 30 December 2011, moving from UTC-10 to UTC+14.
    trigger = recurrence(frequency="day", timeZone="Pacific/Apia", hours=[9])
    assert slots(trigger, utc(2011, 12, 29, 0), 2) == [
        utc(2011, 12, 29, 19),  # 29 Dec 09:00 at UTC-10
        utc(2011, 12, 30, 19),  # 31 Dec 09:00 at UTC+14 (the 30th reads as the same instant)
    ]


# --- Weeks -------------------------------------------------------------------------------------


def test_every_2_weeks_on_monday_and_friday():
    # 6 May 2026 is a Wednesday: the anchor's week starts on Monday 4 May, which is before it.
    trigger = recurrence(
        frequency="week",
        interval=2,
        startTime="2026-05-06T00:00",
        weekDays=["Friday", "Monday"],
        hours=[8],
        minutes=[30],
    )
    assert slots(trigger, utc(2026, 1, 1), 5) == [
        utc(2026, 5, 8, 8, 30),
        utc(2026, 5, 18, 8, 30),
        utc(2026, 5, 22, 8, 30),
        utc(2026, 6, 1, 8, 30),
        utc(2026, 6, 5, 8, 30),
    ]
    assert latest_slot(trigger, utc(2026, 5, 31)) == utc(2026, 5, 22, 8, 30)
    assert latest_slot(trigger, utc(2026, 5, 8, 8, 29)) is None


def test_weekly_without_days_is_on_the_start_times_weekday():
    trigger = recurrence(frequency="week", startTime="2026-05-06T07:45")  # a Wednesday
    assert slots(trigger, utc(2026, 5, 6, 7, 45), 2) == [
        utc(2026, 5, 13, 7, 45),
        utc(2026, 5, 20, 7, 45),
    ]


def test_weekly_without_a_start_time_is_on_saturday_at_midnight():
    trigger = recurrence(frequency="week")  # 1 January 2000 was a Saturday
    assert next_slot(trigger, utc(2026, 5, 1)) == utc(2026, 5, 2)


def test_weekly_keeps_its_local_time_across_dst_in_new_york():
    trigger = recurrence(
        frequency="week", timeZone="America/New_York", weekDays=["Sunday"], hours=[9]
    )
    assert slots(trigger, utc(2026, 3, 1, 15), 2) == [utc(2026, 3, 8, 13), utc(2026, 3, 15, 13)]
    assert slots(trigger, utc(2026, 10, 25, 14), 2) == [utc(2026, 11, 1, 14), utc(2026, 11, 8, 14)]
    assert next_slot(trigger, utc(2026, 3, 1)) == utc(2026, 3, 1, 14)


def test_slots_are_found_arithmetically_far_from_the_anchor():
    minutes = recurrence(frequency="minute", interval=7)
    after = utc(2999, 6, 1, 12, 0, 0, 1)
    slot = next_slot(minutes, after)
    assert slot > after and slot - after <= dt.timedelta(minutes=7)
    assert (slot - utc(2000, 1, 1)) % dt.timedelta(minutes=7) == dt.timedelta(0)

    weeks = recurrence(frequency="week", interval=1000, weekDays=["Tuesday"], hours=[6])
    slot = next_slot(weeks, utc(2500, 1, 1))
    anchor_week = dt.date(1999, 12, 27)  # the Monday of 1 January 2000's week
    assert slot.weekday() == 1 and slot.hour == 6
    assert (slot.date() - anchor_week).days // 7 % 1000 == 0
    assert latest_slot(weeks, slot) == slot
    assert latest_slot(weeks, slot - MICROSECOND) == slot - dt.timedelta(weeks=1000)


# --- Describing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trigger", "text"),
    [
        (recurrence(frequency="minute", interval=5), "Every 5 minutes"),
        (recurrence(frequency="minute"), "Every minute"),
        (recurrence(frequency="hour", interval=1), "Every hour"),
        (
            recurrence(
                frequency="hour", interval=3, timeZone="Asia/Tokyo", startTime="2026-05-01T08:00"
            ),
            "Every 3 hours from 2026-05-01 08:00 (Asia/Tokyo)",
        ),
        (
            recurrence(frequency="day", timeZone="Europe/Berlin", hours=[17, 9], minutes=[0]),
            "Every day at 09:00, 17:00 (Europe/Berlin)",
        ),
        (recurrence(frequency="day"), "Every day at 00:00 (UTC)"),
        (
            recurrence(frequency="day", interval=2, startTime="2026-05-01T07:30:15"),
            "Every 2 days at 07:30:15 from 2026-05-01 (UTC)",
        ),
        (
            recurrence(
                frequency="week", interval=2, weekDays=["Friday", "Monday"], hours=[8], minutes=[30]
            ),
            "Every 2 weeks on Monday, Friday at 08:30 (UTC)",
        ),
        (recurrence(frequency="week"), "Every week on Saturday at 00:00 (UTC)"),
        (
            recurrence(frequency="day", hours=[*range(8, 18), 20, 22], minutes=[0, 30]),
            "Every day at minutes 00, 30 of hours 8-17, 20, 22 (UTC)",
        ),
        (recurrence(frequency="month"), "Recurrence (not a valid schedule)"),
    ],
)
def test_it_describes_the_schedule(trigger, text):
    assert describe(trigger) == text


# --- Properties --------------------------------------------------------------------------------

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",  # changes at midnight: some days have no 00:00
    "America/Nuuk",  # skips 23:00-24:00: a gap that ends the day
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Asia/Kathmandu",
    "Pacific/Apia",  # skipped a whole day
]
QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

instants = st.datetimes(
    min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2045, 1, 1), timezones=st.just(UTC)
)


@st.composite
def triggers(draw, frequencies=FREQUENCIES, max_interval=1000, max_times=4):
    frequency = draw(st.sampled_from(frequencies))
    trigger = recurrence(frequency=frequency)
    if draw(st.booleans()):
        trigger["interval"] = draw(
            st.integers(1, max_interval) | st.integers(1, min(max_interval, 10))
        )
    trigger["timeZone"] = draw(st.sampled_from(ZONES))
    start = draw(
        st.none()
        | st.datetimes(min_value=dt.datetime(1995, 1, 1), max_value=dt.datetime(2040, 1, 1))
    )
    if start is not None:
        trigger["startTime"] = start.strftime(
            "%Y-%m-%dT%H:%M:%S" if draw(st.booleans()) else "%Y-%m-%dT%H:%M"
        )
    if frequency in ("day", "week"):
        for key, values in (("hours", range(24)), ("minutes", range(60))):
            chosen = draw(st.lists(st.sampled_from(values), max_size=max_times, unique=True))
            if chosen:
                trigger[key] = chosen
    if frequency == "week":
        days = draw(st.lists(st.sampled_from(WEEK_DAYS), max_size=7, unique=True))
        if days:
            trigger["weekDays"] = days
    assert recurrence_errors(trigger) == []
    return trigger


@QUICK
@given(triggers(), instants)
def test_next_slot_is_a_slot_after_the_instant_with_none_in_between(trigger, after):
    slot = next_slot(trigger, after)
    assert slot > after
    assert slot.tzinfo is UTC
    assert latest_slot(trigger, slot) == slot
    earlier = latest_slot(trigger, slot - MICROSECOND)
    assert earlier is None or earlier <= after


@QUICK
@given(triggers(), instants)
def test_latest_slot_is_a_slot_at_or_before_the_instant(trigger, at):
    slot = latest_slot(trigger, at)
    if slot is None:
        assert latest_slot(trigger, next_slot(trigger, at) - MICROSECOND) is None
    else:
        assert slot <= at
        assert next_slot(trigger, slot - MICROSECOND) == slot
        assert next_slot(trigger, slot) > at


@QUICK
@given(triggers(), instants, instants)
def test_next_slot_is_monotone(trigger, first, second):
    first, second = sorted([first, second])
    assert next_slot(trigger, first) <= next_slot(trigger, second)


def reference_slots(trigger: dict, first_day: dt.date, last_day: dt.date) -> list[dt.datetime]:
    """Every slot of a day or week schedule on local days in the range, day by day."""
    zone = ZoneInfo(trigger.get("timeZone", "UTC"))
    anchor = dt.datetime.fromisoformat(trigger.get("startTime", "2000-01-01T00:00"))
    anchor_utc = anchor.replace(tzinfo=zone).astimezone(UTC)
    interval = trigger.get("interval", 1)
    if "hours" in trigger or "minutes" in trigger:
        times = [
            dt.time(hour, minute)
            for hour in trigger.get("hours", [anchor.hour])
            for minute in trigger.get("minutes", [anchor.minute])
        ]
    else:
        times = [anchor.time()]
    days = [
        WEEK_DAYS.index(name) for name in trigger.get("weekDays", [WEEK_DAYS[anchor.weekday()]])
    ]
    anchor_monday = anchor.date() - dt.timedelta(days=anchor.weekday())
    found = set()
    day = first_day
    while day <= last_day:
        if trigger["frequency"] == "day":
            counted = (day - anchor.date()).days
            matches = counted >= 0 and counted % interval == 0
        else:
            weeks = (day - dt.timedelta(days=day.weekday()) - anchor_monday).days // 7
            matches = day.weekday() in days and weeks >= 0 and weeks % interval == 0
        if matches:
            for time in times:
                slot = dt.datetime.combine(day, time, zone).astimezone(UTC)
                if slot >= anchor_utc:
                    found.add(slot)
        day += dt.timedelta(days=1)
    return sorted(found)


@settings(QUICK, max_examples=100)
@given(
    triggers(frequencies=("day", "week"), max_interval=6, max_times=3),
    instants,
)
def test_day_and_week_slots_match_a_day_by_day_reference(trigger, at):
    # Slots are never further apart than the interval in weeks (and a day for the zone),
    # so a window one week wider on each side holds the slots either side of an instant.
    window = dt.timedelta(weeks=trigger.get("interval", 1) + 1)
    around = reference_slots(trigger, (at - window).date(), (at + window).date())
    earlier = [slot for slot in around if slot <= at]
    assert latest_slot(trigger, at) == (earlier[-1] if earlier else None)
    start = max(at, next_slot(trigger, utc(1990, 1, 1)))
    later = reference_slots(trigger, (start - window).date(), (start + window).date())
    assert next_slot(trigger, at) == next(slot for slot in later if slot > at)
