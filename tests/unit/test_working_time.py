"""Working time (domain/slots.py, domain/working_time.py, domain/holidays_id.py): several windows a day,
any weekday, dates opened on purpose, cuti bersama, and the area's limits. The dates are hand-checked
against the SKB 3 Menteri calendars of 2026 and 2027."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from domain.booking import BookingRules, family_free_slots
from domain.holidays_id import closed_dates, cuti_bersama_dates, holiday_dates, holiday_name
from domain.slots import EnumeratorCalendar, SchedulePolicy, WorkWeek, free_slots
from domain.working_time import (AreaHours, HoursError, area_hours, check_windows, close_date, open_date,
                                 parse_weekdays, parse_windows, set_area_hours, set_day_windows)
from tests.unit.flows.helpers import make_world

WITA = ZoneInfo("Asia/Makassar")
T = dt.time
NO_LEAD = SchedulePolicy(horizon_days=800, lead_time=dt.timedelta(0))
LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SPLIT = ((T(8), T(12)), (T(16), T(20)))  # morning and evening


def starts(week: WorkWeek, day: dt.date, minutes: int = 60, closed=(), enumerator_id: int = 1) -> list[str]:
    calendar = EnumeratorCalendar(enumerator_id, week, minutes)
    return [s.start.astimezone(WITA).strftime("%H:%M")
            for s in free_slots([calendar], WITA, LONG_AGO, NO_LEAD, closed, [day])]


# --- several windows, any day ----------------------------------------------------------------------

def test_a_day_with_a_morning_and_an_evening_window_offers_both_and_nothing_between():
    week = WorkWeek({0: SPLIT})
    assert starts(week, dt.date(2026, 11, 23)) == ["08:00", "09:00", "10:00", "11:00",
                                                   "16:00", "17:00", "18:00", "19:00"]


def test_each_window_has_its_own_grid_from_its_start():
    week = WorkWeek({0: ((T(8), T(9, 30)), (T(16, 15), T(17, 45)))})
    assert starts(week, dt.date(2026, 11, 23), minutes=45) == ["08:00", "08:45", "16:15", "17:00"]


def test_sunday_can_be_a_working_day_and_saturday_a_day_off():
    week = WorkWeek({6: ((T(9), T(11)),)})
    assert starts(week, dt.date(2026, 11, 29)) == ["09:00", "10:00"]  # Sunday
    assert starts(week, dt.date(2026, 11, 28)) == []  # Saturday


def test_the_friday_prayer_break_still_holds_in_every_window():
    week = WorkWeek({4: ((T(10), T(14)), (T(16), T(18)))})
    assert starts(week, dt.date(2026, 11, 27)) == ["10:00", "13:00", "16:00", "17:00"]  # 11.00 and 12.00 overlap 11.30–13.00


def test_the_stored_week_keeps_its_windows_and_dates_and_the_old_shape_is_still_read():
    week = WorkWeek({0: SPLIT, 6: ((T(9), T(11)),)}, {dt.date(2026, 3, 20): ((T(16), T(20)),)})
    assert WorkWeek.from_json(week.to_json()) == week
    old = {"0": ["07:30", "15:00"], "5": ["08:00", "12:00"]}  # one window a day, before 0030_hours
    assert WorkWeek.from_json(old) == WorkWeek({0: ((T(7, 30), T(15)),), 5: ((T(8), T(12)),)})


# --- holidays and cuti bersama --------------------------------------------------------------------

def test_idul_fitri_2026_closes_18_to_24_march_with_its_cuti_bersama():
    first, last = dt.date(2026, 3, 16), dt.date(2026, 3, 27)
    assert holiday_dates(first, last) == {dt.date(2026, 3, 19), dt.date(2026, 3, 21), dt.date(2026, 3, 22)}
    assert cuti_bersama_dates(first, last) == {dt.date(2026, 3, d) for d in (18, 20, 23, 24)}
    assert closed_dates(first, last) == {dt.date(2026, 3, d) for d in range(18, 25)}
    assert closed_dates(first, last, cuti_bersama_closed=False) == holiday_dates(first, last)
    assert holiday_name(dt.date(2026, 3, 20)) == "Cuti Bersama Hari Raya Idul Fitri"


def test_2026_has_eight_cuti_bersama_days():
    assert sorted(cuti_bersama_dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31))) == [
        dt.date(2026, 2, 16), dt.date(2026, 3, 18), dt.date(2026, 3, 20), dt.date(2026, 3, 23),
        dt.date(2026, 3, 24), dt.date(2026, 5, 15), dt.date(2026, 5, 28), dt.date(2026, 12, 24)]


def test_idul_fitri_2027_closes_8_to_12_and_15_march():
    closed = closed_dates(dt.date(2027, 3, 6), dt.date(2027, 3, 17))
    assert closed == {dt.date(2027, 3, d) for d in (8, 9, 10, 11, 12, 15)}
    week = WorkWeek.default()
    assert starts(week, dt.date(2027, 3, 12), closed=closed) == []  # Friday, cuti bersama
    assert starts(week, dt.date(2027, 3, 13), closed=closed)  # Saturday after: a working day


def test_a_date_opened_by_the_enumerator_is_worked_on_a_holiday_or_a_day_off_with_its_own_windows():
    closed = closed_dates(dt.date(2026, 3, 16), dt.date(2026, 3, 27))
    rina = WorkWeek(WorkWeek.default().hours, {dt.date(2026, 3, 20): ((T(16), T(18)),),
                                  dt.date(2026, 3, 22): ((T(9), T(10)),)})
    assert starts(rina, dt.date(2026, 3, 20), closed=closed) == ["16:00", "17:00"]  # cuti bersama, opened
    assert starts(rina, dt.date(2026, 3, 22), closed=closed) == ["09:00"]  # Sunday and Idul Fitri, opened
    assert starts(rina, dt.date(2026, 3, 23), closed=closed) == []  # not opened: closed as everyone's
    assert starts(WorkWeek.default(), dt.date(2026, 3, 20), closed=closed) == []  # the default stays closed


# --- typing windows and checking them -------------------------------------------------------------

def test_windows_are_read_as_people_write_them():
    assert parse_windows("08:00-12:00,16:00-20:00") == SPLIT
    assert parse_windows("16.00–20.00 dan 08.00 - 12.00") == SPLIT
    assert parse_windows("libur") == parse_windows("off") == ()
    assert parse_weekdays("mon-fri") == [0, 1, 2, 3, 4]
    assert parse_weekdays("sat,sun") == parse_weekdays("sab,min") == [5, 6]


@pytest.mark.parametrize("text, key", [
    ("pagi saja", "format"), ("08:00-12:00, x" * 400, "format"), ("25:00-26:00", "format"),
    ("12:00-08:00", "order"), ("08:10-12:00", "grid"), ("08:00-08:15", "short"),
    ("08:00-12:00, 11:00-14:00", "overlap"), ("06:00-10:00", "limits"), ("18:00-22:00", "limits"),
])
def test_windows_that_do_not_fit_say_why(text, key):
    with pytest.raises(HoursError) as refused:
        check_windows(parse_windows(text), 30, AreaHours())  # default limits 07.00–21.00
    assert refused.value.key == key


def test_the_admin_is_not_bound_by_the_areas_limits():
    check_windows(parse_windows("06:00-10:00"), 30)  # no limits given: the CLI


# --- per enumerator and per area, stored ----------------------------------------------------------

def test_an_enumerators_windows_dates_and_the_areas_rules_are_stored(tmp_path):
    world = make_world(dt.datetime(2026, 3, 9, tzinfo=dt.timezone.utc))
    with world.uow_factory() as uow:
        rina = uow.enumerators.get(world.rina_id)
        set_day_windows(uow, rina, [0, 6], SPLIT)
        set_day_windows(uow, rina, [5], ())  # Saturdays off
        open_date(uow, rina, dt.date(2026, 3, 20))  # a Friday: the Friday's own window
        open_date(uow, rina, dt.date(2026, 3, 22), ((T(9), T(11)),))
        close_date(uow, rina, dt.date(2026, 3, 22))
        with pytest.raises(HoursError):
            open_date(uow, rina, dt.date(2026, 3, 28))  # a Saturday she does not work, no windows given
        uow.commit()
    with world.uow_factory() as uow:
        week = WorkWeek.from_json(uow.enumerators.get(world.rina_id).work_week)
        sls = world.sls_ids[0]
        assert week.hours[0] == week.hours[6] == SPLIT and week.hours[1] == ((T(8), T(16)),) and 5 not in week.hours
        assert week.dates == {dt.date(2026, 3, 20): ((T(8), T(16)),)}
        assert area_hours(uow, sls) == AreaHours()  # nothing set: 07.00–21.00, cuti bersama closed
        set_area_hours(uow, "64.72", earliest="06:00", cuti_bersama="open")
        set_area_hours(uow, "64.72.01.1001", latest="22:00")
        assert area_hours(uow, sls) == AreaHours(T(6), T(22), cuti_bersama_closed=False)  # inherited field by field
        with pytest.raises(HoursError):
            set_area_hours(uow, "64.72", earliest="23:00")  # after the latest
        uow.commit()


def test_an_area_that_opens_cuti_bersama_offers_them():
    world = make_world(dt.datetime(2026, 3, 15, tzinfo=dt.timezone.utc))  # Sunday
    cuti = dt.date(2026, 3, 23)  # Monday, Cuti Bersama Hari Raya Idul Fitri
    rules = BookingRules(policy=SchedulePolicy(lead_time=dt.timedelta(0)))
    with world.uow_factory() as uow:
        family = world.families_in(0)[0]
        assert family_free_slots(uow, family, world.clock.now(), rules, [cuti]) == []
        set_area_hours(uow, "64.72.01.1001", cuti_bersama="open")
        assert family_free_slots(uow, family, world.clock.now(), rules, [cuti])
        assert family_free_slots(uow, family, world.clock.now(), rules, [dt.date(2026, 3, 21)]) == []  # Idul Fitri
