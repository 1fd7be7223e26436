"""When a family is home (domain/home_times.py): which times match, the order times are offered in
(domain/booking.py order_offers), and where the enumerator's route puts families without an
appointment (domain/route.py rule 4)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from domain.booking import order_offers
from domain.home_times import (SATURDAY, SUNDAY, WEEKDAY_AFTERNOON, WEEKDAY_EVENING, WEEKDAY_MORNING, matches,
                               ranges_on, toggle)
from domain.route import Booked, Candidate, plan_day, preselect
from domain.slots import Slot

WITA = ZoneInfo("Asia/Makassar")
MONDAY = dt.date(2026, 11, 23)
SATURDAY_DATE = dt.date(2026, 11, 28)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), WITA)


def slot(day: dt.date, hour: int) -> Slot:
    start = local(day, hour).astimezone(dt.timezone.utc)
    return Slot(start, start + dt.timedelta(minutes=60), (1,))


def hours_of(slots) -> list[str]:
    return [s.start.astimezone(WITA).strftime("%a %H") for s in slots]


def test_home_times_match_by_weekday_part_of_day_and_weekend():
    assert matches([WEEKDAY_MORNING], local(MONDAY, 11, 45))
    assert not matches([WEEKDAY_MORNING], local(MONDAY, 12))
    assert matches([WEEKDAY_AFTERNOON], local(MONDAY, 16, 30))
    assert matches([WEEKDAY_EVENING], local(MONDAY, 17)) and matches([WEEKDAY_EVENING], local(MONDAY, 19))
    assert not matches([WEEKDAY_EVENING], local(SATURDAY_DATE, 19))  # Saturday is Saturday, whole
    assert matches([SATURDAY], local(SATURDAY_DATE, 9)) and not matches([SUNDAY], local(SATURDAY_DATE, 9))
    assert not matches(None, local(MONDAY, 10)) and not matches([], local(MONDAY, 10))


def test_toggling_adds_and_removes_and_ignores_unknown_codes():
    chosen = toggle(None, WEEKDAY_EVENING)
    chosen = toggle(chosen, SUNDAY)
    assert chosen == [WEEKDAY_EVENING, SUNDAY]
    assert toggle(chosen, WEEKDAY_EVENING) == [SUNDAY]
    assert toggle(chosen, "midnight") == chosen


def test_offers_put_the_home_times_first_then_the_earliest():
    free = [slot(MONDAY, 8), slot(MONDAY, 10), slot(MONDAY, 17), slot(MONDAY, 19), slot(SATURDAY_DATE, 9)]
    assert hours_of(order_offers(free, [WEEKDAY_EVENING], WITA)) == ["Mon 17", "Mon 19", "Mon 08", "Mon 10", "Sat 09"]
    assert hours_of(order_offers(free, [SATURDAY, WEEKDAY_EVENING], WITA)) == [
        "Mon 17", "Mon 19", "Sat 09", "Mon 08", "Mon 10"]
    assert order_offers(free, None, WITA) == free  # nothing said: the earliest first, as before


def test_the_travel_key_orders_within_the_home_times_and_never_above_them():
    free = [slot(MONDAY, 8), slot(MONDAY, 17), slot(MONDAY, 18), slot(MONDAY, 19)]
    near_18 = {slot(MONDAY, 18).start: 0.1, slot(MONDAY, 8).start: 0.0}
    ordered = order_offers(free, [WEEKDAY_EVENING], WITA, travel_key=lambda s: near_18.get(s.start, 5.0))
    assert hours_of(ordered) == ["Mon 18", "Mon 17", "Mon 19", "Mon 08"]


def test_home_ranges_of_a_day():
    morning_and_afternoon = ranges_on([WEEKDAY_MORNING, WEEKDAY_AFTERNOON], MONDAY, WITA)
    assert morning_and_afternoon == [(local(MONDAY, 0), local(MONDAY, 17))]  # adjacent parts join
    assert ranges_on([SUNDAY], MONDAY, WITA) == []  # not home that day
    assert ranges_on(None, MONDAY, WITA) is None  # never said: any time


def test_the_route_suggests_a_family_only_when_it_is_home():
    free = [(local(MONDAY, 8), local(MONDAY, 12)), (local(MONDAY, 16), local(MONDAY, 20))]
    evening = Candidate("evening", (-0.5, 117.1), tuple(ranges_on([WEEKDAY_EVENING], MONDAY, WITA)))
    anytime = Candidate("anytime", (-0.5, 117.1))
    sunday_only = Candidate("sunday", (-0.5, 117.1), tuple(ranges_on([SUNDAY], MONDAY, WITA)))
    chosen = preselect([], [anytime, sunday_only, evening], free=free)
    assert [c.key for c in chosen] == ["evening", "anytime"]  # home that day first; not home: left out
    route = plan_day([], chosen, free, dt.timedelta(minutes=60))
    placed = {stop.key: stop.start for stop in route.stops}
    assert placed["evening"] >= local(MONDAY, 17)  # in the evening window, when the family is home
    assert "anytime" in placed


def test_a_family_home_only_when_the_day_is_booked_full_is_not_squeezed_in():
    free = [(local(MONDAY, 8), local(MONDAY, 12))]
    booked = [Booked("b", local(MONDAY, 16), local(MONDAY, 20), None)]
    evening = Candidate("evening", None, tuple(ranges_on([WEEKDAY_EVENING], MONDAY, WITA)))
    assert preselect(booked, [evening], free=free) == []
    assert plan_day(booked, [evening], free, dt.timedelta(minutes=60)).suggested == 0
