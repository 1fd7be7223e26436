"""The rules of free visit times (domain/slots.py), with plain data only: no database, no clock."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.slots import (
    BLOCK,
    EnumeratorCalendar,
    SchedulePolicy,
    WorkWeek,
    blocks_between,
    booking_days,
    free_slots,
    slot_is_offered,
)

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
UTC = dt.timezone.utc

POLICY = SchedulePolicy()
MONDAY = dt.date(2026, 11, 23)
FRIDAY = dt.date(2026, 11, 27)
SUNDAY = dt.date(2026, 11, 29)
# The evening before the week we look at, so the lead time never hides a Monday morning.
SUNDAY_EVENING = dt.datetime(2026, 11, 22, 18, 0, tzinfo=WITA)


def at(day: dt.date, hour: int, minute: int = 0, tz: ZoneInfo = WITA) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tz)


def calendar(enumerator_id: int = 1, minutes: int = 30, busy=(), week: WorkWeek | None = None) -> EnumeratorCalendar:
    return EnumeratorCalendar(enumerator_id, week or WorkWeek.default(), minutes, frozenset(busy))


def local_starts(slots, tz: ZoneInfo = WITA) -> list[str]:
    return [s.start.astimezone(tz).strftime("%H:%M") for s in slots]


def slots_on(day: dt.date, calendars, now=SUNDAY_EVENING, tz=WITA, policy=POLICY, holidays=()):
    return free_slots(calendars, tz, now, policy, holidays, days=[day])


def visit_busy(start: dt.datetime, minutes: int) -> list[dt.datetime]:
    """The blocks a booked visit occupies, as the database stores them (UTC block starts)."""
    start = start.astimezone(UTC)
    return blocks_between(start, start + dt.timedelta(minutes=minutes))


# --- the working week -----------------------------------------------------------------------------

def test_default_week_is_monday_to_saturday_eight_to_four():
    week = WorkWeek.default()
    assert sorted(week.hours) == [0, 1, 2, 3, 4, 5]
    assert all(hours == ((dt.time(8), dt.time(16)),) for hours in week.hours.values())


def test_a_monday_offers_sixteen_half_hour_visits_from_eight_to_half_past_three():
    slots = slots_on(MONDAY, [calendar()])
    assert local_starts(slots) == [f"{h:02d}:{m:02d}" for h in range(8, 16) for m in (0, 30)]
    assert all(s.end - s.start == dt.timedelta(minutes=30) for s in slots)
    assert slots[-1].end == at(MONDAY, 16)  # the last visit ends when the working day does
    assert all(s.start.tzinfo is not None and s.start.utcoffset() == dt.timedelta(0) for s in slots)


def test_sunday_is_a_day_off():
    assert slots_on(SUNDAY, [calendar()]) == []


def test_a_custom_week_is_honoured():
    week = WorkWeek({6: (dt.time(9), dt.time(11))})  # Sundays only, 09.00 to 11.00
    assert slots_on(MONDAY, [calendar(week=week)]) == []
    assert local_starts(slots_on(SUNDAY, [calendar(week=week)])) == ["09:00", "09:30", "10:00", "10:30"]


def test_work_week_survives_json_and_empty_json_means_the_default():
    week = WorkWeek({0: (dt.time(7, 30), dt.time(15)), 4: (dt.time(8), dt.time(11))})
    assert WorkWeek.from_json(week.to_json()) == week
    assert WorkWeek.from_json(None) == WorkWeek.default()
    assert WorkWeek.from_json({}) == WorkWeek.default()


# --- Friday prayer break --------------------------------------------------------------------------

def test_friday_prayer_break_from_half_past_eleven_to_one_is_never_offered():
    starts = local_starts(slots_on(FRIDAY, [calendar()]))
    assert "11:00" in starts  # ends 11.30, just before the break
    assert not {"11:30", "12:00", "12:30"} & set(starts)
    assert "13:00" in starts
    assert len(starts) == 16 - 3


def test_a_visit_that_would_run_into_the_break_is_not_offered():
    # 60-minute visits: 11.00–12.00 overlaps the break, 13.00–14.00 is the first one after it.
    starts = local_starts(slots_on(FRIDAY, [calendar(minutes=60)]))
    assert starts == ["08:00", "09:00", "10:00", "13:00", "14:00", "15:00"]


def test_the_break_is_only_on_fridays_and_can_be_switched_off():
    thursday = FRIDAY - dt.timedelta(days=1)
    assert "12:00" in local_starts(slots_on(thursday, [calendar()]))
    no_break = SchedulePolicy(friday_break=None)
    assert len(slots_on(FRIDAY, [calendar()], policy=no_break)) == 16


# --- holidays, lead time, horizon -----------------------------------------------------------------

def test_holidays_are_excluded():
    christmas = dt.date(2026, 12, 25)
    now = at(dt.date(2026, 12, 20), 18)
    assert slots_on(christmas, [calendar()], now=now, holidays=[christmas]) == []
    assert slots_on(christmas, [calendar()], now=now) != []  # only because it was passed as a holiday
    whole = free_slots([calendar()], WITA, now, POLICY, [christmas])
    days = {s.start.astimezone(WITA).date() for s in whole}
    assert christmas not in days and dt.date(2026, 12, 24) in days


def test_lead_time_hides_times_that_are_too_soon():
    starts = local_starts(slots_on(MONDAY, [calendar()], now=at(MONDAY, 8)))
    assert starts[0] == "10:00"  # two hours ahead, the boundary itself included
    starts = local_starts(slots_on(MONDAY, [calendar()], now=at(MONDAY, 8, 1)))
    assert starts[0] == "10:30"
    assert slots_on(MONDAY, [calendar()], now=at(MONDAY, 14, 30)) == []  # 16.30 is after work


def test_a_longer_lead_time_policy():
    policy = SchedulePolicy(lead_time=dt.timedelta(hours=24))
    assert slots_on(MONDAY, [calendar()], now=at(MONDAY, 8), policy=policy) == []
    assert local_starts(slots_on(MONDAY + dt.timedelta(days=1), [calendar()], now=at(MONDAY, 8), policy=policy))[0] == "08:00"


def test_horizon_is_fourteen_days_including_today():
    now = at(MONDAY, 6)
    days = booking_days(now, WITA, POLICY)
    assert days[0] == MONDAY and len(days) == 14 and days[-1] == MONDAY + dt.timedelta(days=13)
    slot_days = {s.start.astimezone(WITA).date() for s in free_slots([calendar()], WITA, now, POLICY, [])}
    assert max(slot_days) == MONDAY + dt.timedelta(days=12)  # day 13 is a Sunday
    # Asking for a day beyond the horizon explicitly still gives nothing.
    assert slots_on(MONDAY + dt.timedelta(days=14), [calendar()], now=now) == []
    assert slots_on(MONDAY - dt.timedelta(days=1), [calendar()], now=now) == []


def test_today_is_the_local_date_not_the_utc_date():
    # 06.30 WIT on Monday is still Sunday in UTC.
    now = at(MONDAY, 6, 30, WIT)
    assert now.astimezone(UTC).date() == MONDAY - dt.timedelta(days=1)
    assert booking_days(now, WIT, POLICY)[0] == MONDAY


# --- busy blocks ----------------------------------------------------------------------------------

def test_a_booked_visit_removes_exactly_its_own_time():
    busy = visit_busy(at(MONDAY, 10), 30)
    starts = local_starts(slots_on(MONDAY, [calendar(busy=busy)]))
    assert "10:00" not in starts and "09:30" in starts and "10:30" in starts


def test_a_45_minute_visit_blocks_two_half_hour_slots():
    busy = visit_busy(at(MONDAY, 10), 45)
    assert len(busy) == 3
    starts = local_starts(slots_on(MONDAY, [calendar(busy=busy)]))
    assert "10:00" not in starts and "10:30" not in starts
    assert "09:30" in starts and "11:00" in starts


def test_a_block_that_is_not_on_the_quarter_hour_still_blocks_what_it_overlaps():
    # A visit from an older working week (08.10 start) left a block at 10.10–10.25.
    busy = [at(MONDAY, 10, 10).astimezone(UTC)]
    starts = local_starts(slots_on(MONDAY, [calendar(busy=busy)]))
    assert "10:00" not in starts and "09:30" in starts and "10:30" in starts


def test_blocks_between_covers_the_visit_in_quarter_hours():
    start = at(MONDAY, 10).astimezone(UTC)
    assert blocks_between(start, start + dt.timedelta(minutes=45)) == [start + BLOCK * i for i in range(3)]
    assert blocks_between(start, start) == []


def test_slot_is_offered_ignores_bookings_but_not_the_rules():
    busy_all_day = [b for h in range(8, 16) for b in visit_busy(at(MONDAY, h), 60)]
    cal = calendar(busy=busy_all_day)
    now = at(MONDAY, 8)
    assert slot_is_offered(cal, at(MONDAY, 10).astimezone(UTC), WITA, now, POLICY, [])
    assert not slot_is_offered(cal, at(MONDAY, 9, 30).astimezone(UTC), WITA, now, POLICY, [])  # lead time
    assert not slot_is_offered(cal, at(MONDAY, 10, 15).astimezone(UTC), WITA, now, POLICY, [])  # off the grid
    assert not slot_is_offered(cal, at(MONDAY, 10).astimezone(UTC), WITA, now, POLICY, [MONDAY])  # holiday
    assert not slot_is_offered(cal, at(FRIDAY, 12).astimezone(UTC), WITA, now, POLICY, [])  # prayer break


# --- several enumerators --------------------------------------------------------------------------

def test_enumerators_are_merged_per_time():
    rina = calendar(1, busy=visit_busy(at(MONDAY, 10), 30))
    agus = calendar(2, busy=visit_busy(at(MONDAY, 10), 30) + visit_busy(at(MONDAY, 11), 30))
    slots = {s.start.astimezone(WITA).strftime("%H:%M"): s.enumerator_ids for s in slots_on(MONDAY, [agus, rina])}
    assert "10:00" not in slots  # both busy
    assert slots["11:00"] == (1,)  # only Rina
    assert slots["09:00"] == (1, 2)  # both, listed in id order
    starts = list(slots)
    assert starts == sorted(starts)


def test_enumerators_with_different_weeks_add_up():
    early = calendar(1, week=WorkWeek({0: (dt.time(8), dt.time(10))}))
    late = calendar(2, week=WorkWeek({0: (dt.time(14), dt.time(16))}))
    assert local_starts(slots_on(MONDAY, [early, late])) == ["08:00", "08:30", "09:00", "09:30", "14:00", "14:30", "15:00", "15:30"]


def test_no_enumerators_means_no_slots():
    assert slots_on(MONDAY, []) == []


# --- time zones -----------------------------------------------------------------------------------

def test_each_zone_works_on_its_own_local_clock():
    expected_first_utc = {WIB: dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC),
                          WITA: dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
                          WIT: dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC)}
    for tz, first in expected_first_utc.items():
        now = dt.datetime.combine(MONDAY - dt.timedelta(days=1), dt.time(18), tz)
        slots = free_slots([calendar()], tz, now, POLICY, [], days=[MONDAY])
        assert slots[0].start == first, tz
        assert local_starts(slots, tz)[0] == "08:00" and local_starts(slots, tz)[-1] == "15:30"


def test_friday_break_is_local_in_every_zone():
    for tz in (WIB, WITA, WIT):
        now = dt.datetime.combine(FRIDAY - dt.timedelta(days=1), dt.time(18), tz)
        starts = local_starts(free_slots([calendar()], tz, now, POLICY, [], days=[FRIDAY]), tz)
        assert "12:00" not in starts and "11:00" in starts and "13:00" in starts, tz


def test_the_same_utc_instant_is_too_soon_in_one_zone_and_fine_in_another():
    # Monday 01.00 UTC is 08.00 WIB, 09.00 WITA and 10.00 WIT.
    now = dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    firsts = {tz.key: local_starts(free_slots([calendar()], tz, now, POLICY, [], days=[MONDAY]), tz)[0]
              for tz in (WIB, WITA, WIT)}
    assert firsts == {"Asia/Jakarta": "10:00", "Asia/Makassar": "11:00", "Asia/Jayapura": "12:00"}


# --- properties -----------------------------------------------------------------------------------

ZONES = st.sampled_from([WIB, WITA, WIT])
START = dt.datetime(2026, 11, 20, tzinfo=UTC)


@st.composite
def weeks(draw) -> WorkWeek:
    hours = {day: draw(windows()) for day in draw(st.sets(st.integers(0, 6), max_size=7))}
    # Dates worked whatever the calendar says (a holiday among them, often).
    dates = {START.date() + dt.timedelta(days=d): draw(windows()) for d in draw(st.sets(st.integers(0, 20), max_size=3))}
    return WorkWeek(hours, dates)


@st.composite
def windows(draw):
    """One or two windows of a day, apart: any minute, not only quarter hours."""
    start = draw(st.integers(5 * 60, 12 * 60))
    end = draw(st.integers(start + 15, 14 * 60))
    found = [(dt.time(start // 60, start % 60), dt.time(end // 60, end % 60))]
    if draw(st.booleans()):
        later = draw(st.integers(end, 18 * 60))
        last = draw(st.integers(later + 15, 22 * 60))
        found.append((dt.time(later // 60, later % 60), dt.time(last // 60, last % 60)))
    return tuple(found)


@st.composite
def calendars(draw, enumerator_id: int) -> EnumeratorCalendar:
    minutes = draw(st.sampled_from([15, 20, 30, 45, 60, 90]))
    busy = draw(st.lists(st.integers(0, 20 * 24 * 60), max_size=40))
    blocks = frozenset(START + dt.timedelta(minutes=m) for m in busy)
    return EnumeratorCalendar(enumerator_id, draw(weeks()), minutes, blocks)


@st.composite
def scenarios(draw):
    count = draw(st.integers(1, 3))
    cals = [draw(calendars(i + 1)) for i in range(count)]
    now = START + dt.timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
    policy = SchedulePolicy(
        horizon_days=draw(st.integers(1, 14)),
        lead_time=dt.timedelta(minutes=draw(st.integers(0, 48 * 60))),
        friday_break=draw(st.sampled_from([(dt.time(11, 30), dt.time(13)), None])),
    )
    holidays = {START.date() + dt.timedelta(days=d) for d in draw(st.sets(st.integers(0, 20), max_size=5))}
    return cals, draw(ZONES), now, policy, holidays


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_property_slots_obey_every_rule(scenario):
    cals, tz, now, policy, holidays = scenario
    by_id = {c.enumerator_id: c for c in cals}
    slots = free_slots(cals, tz, now, policy, holidays)
    assert [s.start for s in slots] == sorted(s.start for s in slots)
    horizon = set(booking_days(now, tz, policy))
    for slot in slots:
        start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
        assert slot.enumerator_ids and list(slot.enumerator_ids) == sorted(set(slot.enumerator_ids))
        assert start.date() in horizon
        assert slot.start >= now + policy.lead_time
        if policy.friday_break and start.weekday() == 4:
            break_start = start.replace(hour=policy.friday_break[0].hour, minute=policy.friday_break[0].minute)
            break_end = start.replace(hour=policy.friday_break[1].hour, minute=policy.friday_break[1].minute)
            assert end <= break_start or start >= break_end
        for enumerator_id in slot.enumerator_ids:
            cal = by_id[enumerator_id]
            assert end - start == dt.timedelta(minutes=cal.visit_minutes)
            opened = start.date() in cal.week.dates
            assert opened or start.date() not in holidays, "offered on a holiday the enumerator did not open"
            day_windows = cal.week.dates[start.date()] if opened else cal.week.hours.get(start.weekday())
            assert day_windows, "offered on a day off"
            assert end.date() == start.date()
            assert any(a <= start.time() and end.time() <= b for a, b in day_windows), "outside every window"
            for block in cal.busy_blocks:
                assert not (block < slot.end and block + BLOCK > slot.start), "overlaps a busy block"
