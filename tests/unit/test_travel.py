"""The travel-aware order of visit times (domain/travel.py) on a small hand-made map.

    RT 1 | RT 2 | RT 3        three RT in a row, 1 km apart (centroids from square boundaries);
                              the family lives in RT 2 unless a test says otherwise.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from domain.slots import Slot
from domain.travel import (EMPTY_DAY_KM, FAR_KM, NEIGHBOUR_KM, SAME_SLS_KM, BookedVisit, Geography, Place,
                           bound_end, centroids_from_boundaries, detour_km, leg_km, neighbours_from_boundaries,
                           travel_order)

WITA = ZoneInfo("Asia/Makassar")
KM = 1 / 111.2  # degrees of latitude per km, near the equator


def square(south: float) -> dict:
    """A 1 km square RT whose southern edge lies ``south`` km north of the equator, at 117° E."""
    s, n, w, e = south * KM, (south + 1) * KM, 117.0, 117.0 + KM
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


BOUNDARIES = {1: square(0), 2: square(1), 3: square(2)}
MAP = Geography(centroids_from_boundaries(BOUNDARIES), neighbours_from_boundaries(BOUNDARIES))
BLIND = Geography(neighbours={1: frozenset({2}), 2: frozenset({1, 3}), 3: frozenset({2})})  # no centroids


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=WITA).astimezone(dt.timezone.utc)


def slot(day: int, hour: int, minute: int = 0, enumerators: tuple[int, ...] = (1,)) -> Slot:
    start = at(day, hour, minute)
    return Slot(start, start + dt.timedelta(minutes=30), enumerators)


def visit(day: int, hour: int, sls: int, point=None, enumerator: int = 1) -> BookedVisit:
    start = at(day, hour)
    return BookedVisit(enumerator, start, start + dt.timedelta(minutes=30), Place(sls, point))


def test_the_map_knows_which_rt_touch_and_where_their_centres_are():
    assert MAP.adjacent(1, 2) and MAP.adjacent(2, 3) and not MAP.adjacent(1, 3)
    assert abs(leg_km(Place(1), Place(3), MAP) - 2.0) < 0.05  # centroid to centroid


def test_without_positions_the_same_rt_is_closer_than_a_neighbour_closer_than_the_rest():
    assert leg_km(Place(2), Place(2), BLIND) == SAME_SLS_KM
    assert leg_km(Place(1), Place(2), BLIND) == NEIGHBOUR_KM
    assert leg_km(Place(1), Place(3), BLIND) == FAR_KM


def test_houses_with_coordinates_are_measured_between_themselves_not_their_rt():
    a, b = Place(1, (0.5 * KM, 117.0)), Place(3, (0.7 * KM, 117.0))  # b's house lies on RT 1's side
    assert abs(leg_km(a, b, MAP) - 0.2) < 0.01


def test_a_time_between_two_visits_costs_only_the_way_round():
    visits = [visit(23, 9, 1), visit(23, 10, 3)]
    via_rt2 = detour_km(at(23, 9, 30), at(23, 10), visits, Place(2), MAP)
    assert abs(via_rt2) < 0.05  # RT 2 lies on the way from RT 1 to RT 3


def test_a_day_without_visits_comes_after_a_visit_in_the_same_rt_and_before_a_long_leg():
    empty_day = detour_km(at(23, 9), at(23, 9, 30), [], Place(2), BLIND)
    assert empty_day == EMPTY_DAY_KM
    assert detour_km(at(23, 9), at(23, 9, 30), [visit(23, 8, 2)], Place(2), BLIND) < empty_day
    assert detour_km(at(23, 9), at(23, 9, 30), [visit(23, 8, 4)], Place(2), BLIND) > empty_day


def test_the_times_of_the_day_with_a_visit_in_the_same_rt_are_offered_first():
    visits = [visit(24, 14, 2), visit(24, 15, 3)]
    slots = [slot(23, 8), slot(23, 8, 30), slot(24, 8), slot(24, 14, 30), slot(24, 15, 30)]
    order = travel_order(slots, visits, Place(2), BLIND, WITA)
    # Before or right after the visit next door cost the same 0.3 km (earliest first); after RT 3 the
    # officer rides back 1 km, as much as opening Monday's round with this family (then earliest first).
    assert [s.start for s in order] == [at(24, 8), at(24, 14, 30), at(23, 8), at(23, 8, 30), at(24, 15, 30)]


def test_a_visit_in_a_neighbouring_rt_beats_one_far_away():
    visits = [visit(23, 9, 3), visit(24, 13, 2)]  # Monday in RT 3, Tuesday next door in RT 2
    for geography in (MAP, BLIND):  # by centroids, and by adjacency alone
        order = travel_order([slot(23, 9, 30), slot(24, 13, 30)], visits, Place(1), geography, WITA)
        assert [s.start for s in order] == [at(24, 13, 30), at(23, 9, 30)]


def test_the_enumerator_free_at_a_time_with_a_visit_nearby_makes_it_near():
    other_officer_nearby = [visit(23, 10, 2, enumerator=2)]
    near = travel_order([slot(23, 8, enumerators=(1,)), slot(23, 10, 30, enumerators=(1, 2))],
                        other_officer_nearby, Place(2), BLIND, WITA)
    assert near[0].start == at(23, 10, 30)


def test_no_time_later_than_the_next_day_with_a_free_time_is_put_before_the_first_free_one():
    # Monday 23rd has free times, Tuesday is full, Wednesday 25th has free times, Thursday holds the
    # only visit nearby: Thursday's time is offered after Monday's and Wednesday's, in time order.
    visits = [visit(26, 9, 2)]
    slots = [slot(23, 15), slot(25, 8), slot(26, 9, 30)]
    order = travel_order(slots, visits, Place(2), BLIND, WITA)
    assert [s.start for s in order] == [at(23, 15), at(25, 8), at(26, 9, 30)]
    assert bound_end([s.start for s in slots], WITA) == dt.datetime(2026, 11, 26, tzinfo=WITA)


def test_within_the_bound_a_visit_nearby_the_next_working_day_comes_first():
    visits = [visit(24, 9, 2)]
    order = travel_order([slot(23, 15), slot(24, 9, 30)], visits, Place(2), BLIND, WITA)
    assert [s.start for s in order] == [at(24, 9, 30), at(23, 15)]


def test_a_day_screen_counts_the_bound_from_the_whole_horizon():
    # The screen of Thursday alone: its bound comes from Monday's first free time, so no reorder there.
    visits = [visit(26, 9, 2)]
    horizon = [at(23, 15), at(24, 8), at(26, 8), at(26, 9, 30)]
    order = travel_order([slot(26, 8), slot(26, 9, 30)], visits, Place(2), BLIND, WITA, horizon)
    assert [s.start for s in order] == [at(26, 8), at(26, 9, 30)]
