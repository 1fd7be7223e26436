"""Reminder planning (domain/reminders.py): due times in the area's zone, stored as UTC instants."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.reminders import EVENING, HOUR, UNCONFIRMED, ReminderPolicy, parse_clock, plan_reminders

UTC = dt.timezone.utc
WIB, WITA, WIT = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar"), ZoneInfo("Asia/Jayapura")
DEFAULT = ReminderPolicy()


def local(day: int, hour: int, minute: int = 0, tz: ZoneInfo = WITA) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=tz).astimezone(UTC)


def plan(start, now, tz, policy=DEFAULT):
    return [(p.kind, p.due_at) for p in plan_reminders(start, now, tz, policy)]


@pytest.mark.parametrize("tz, offset", [(WIB, 7), (WITA, 8), (WIT, 9)])
def test_evening_before_deadline_and_hour_before_in_each_zone(tz, offset):
    start = local(24, 10, tz=tz)  # Tuesday 10.00 local
    planned = plan(start, local(22, 18, tz=tz), tz)
    assert planned == [
        (EVENING, dt.datetime(2026, 11, 23, 19 - offset, 0, tzinfo=UTC)),  # Monday 19.00 local
        (UNCONFIRMED, dt.datetime(2026, 11, 23, 21 - offset, 0, tzinfo=UTC)),  # Monday 21.00 local
        (HOUR, dt.datetime(2026, 11, 24, 9 - offset, 0, tzinfo=UTC)),  # Tuesday 09.00 local
    ]
    assert all(due.tzinfo is UTC for _, due in planned)


def test_the_same_wall_clock_is_a_different_instant_per_zone():
    wib = plan(local(24, 10, tz=WIB), local(22, 18, tz=WIB), WIB)[0][1]
    wit = plan(local(24, 10, tz=WIT), local(22, 18, tz=WIT), WIT)[0][1]
    assert wib - wit == dt.timedelta(hours=2)


def test_booked_after_the_evening_reminder_time_gets_only_the_hour_before():
    start = local(24, 8)  # Tuesday 08.00
    assert plan(start, local(23, 20), WITA) == [(HOUR, local(24, 7))]  # booked Monday 20.00
    assert plan(start, local(23, 19), WITA) == [(HOUR, local(24, 7))]  # exactly at 19.00: already due, not planned


def test_booked_the_same_day():
    start = local(24, 14)
    assert plan(start, local(24, 9), WITA) == [(HOUR, local(24, 13))]
    assert plan(start, local(24, 13, 30), WITA) == []  # inside the hour: nothing left to plan


def test_a_monday_visit_booked_on_sunday_evening():
    # The demo's clock: Sunday 18.00 WITA; a Monday 08.00 visit still gets the evening reminder at 19.00.
    assert [k for k, _ in plan(local(23, 8), local(22, 18), WITA)] == [EVENING, UNCONFIRMED, HOUR]


def test_custom_offsets():
    policy = ReminderPolicy(evening=dt.time(18, 30), before=dt.timedelta(minutes=120), confirm_by=dt.time(20, 0))
    assert plan(local(24, 10), local(22, 18), WITA, policy) == [
        (EVENING, local(23, 18, 30)), (UNCONFIRMED, local(23, 20)), (HOUR, local(24, 8))]


def test_an_offset_reaching_back_past_the_evening_drops_the_evening_reminder():
    policy = ReminderPolicy(before=dt.timedelta(hours=16))  # Tuesday 08.00 - 16 h = Monday 16.00
    assert plan(local(24, 8), local(22, 18), WITA, policy) == [(HOUR, local(23, 16))]


def test_a_deadline_after_the_visit_is_not_planned():
    policy = ReminderPolicy(evening=dt.time(22, 0), confirm_by=dt.time(21, 0))  # deadline before the reminder
    assert [k for k, _ in plan(local(24, 10), local(22, 18), WITA, policy)] == [EVENING, HOUR]


def test_moving_replans_from_the_new_start():
    now = local(22, 18)
    assert [k for k, _ in plan(local(24, 10), now, WITA)] == [EVENING, UNCONFIRMED, HOUR]
    assert plan(local(26, 14), now, WITA) == [(EVENING, local(25, 19)), (UNCONFIRMED, local(25, 21)), (HOUR, local(26, 13))]
    # Moved late on the evening before the new day: only the hour-before reminder is left.
    assert plan(local(26, 14), local(25, 20), WITA) == [(HOUR, local(26, 13))]


@pytest.mark.parametrize("text, expected", [("19:00", dt.time(19)), ("06.30", dt.time(6, 30)), ("7:05", dt.time(7, 5))])
def test_parse_clock(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["19", "25:00", "7:5", "ab:cd", ""])
def test_parse_clock_refuses(text):
    with pytest.raises(ValueError):
        parse_clock(text)


def test_a_visit_after_a_public_holiday_is_still_reminded_on_the_holiday_evening():
    # Saturday 26 Dec 2026, 09.00 WITA, booked a week ahead: Christmas evening is when families most need it.
    christmas_evening = dt.datetime(2026, 12, 25, 19, tzinfo=WITA).astimezone(UTC)
    start = dt.datetime(2026, 12, 26, 9, tzinfo=WITA).astimezone(UTC)
    planned = plan(start, dt.datetime(2026, 12, 18, 10, tzinfo=WITA).astimezone(UTC), WITA)
    assert planned[0] == (EVENING, christmas_evening) and [k for k, _ in planned] == [EVENING, UNCONFIRMED, HOUR]
