"""The day's route against brute force: every subset of the families without an appointment, in every
order, interleaved with the booked visits in every way; the planner must find as many suggested visits
and as short a distance."""
from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest

from domain.route import EXACT_LIMIT, Booked, Candidate, plan_day, preselect

WITA = dt.timezone(dt.timedelta(hours=8))
DAY = dt.datetime(2026, 11, 24, 8, 0, tzinfo=WITA)
VISIT = dt.timedelta(minutes=30)
SPEED = 15.0
UNKNOWN = dt.timedelta(minutes=5)  # a leg to or from a house without coordinates


def at(hour: float) -> dt.datetime:
    return DAY.replace(hour=0) + dt.timedelta(hours=hour)


def flat_km(a, b) -> float:
    """A plain metric for the tests (the planner takes any distance function; production uses geopy)."""
    return ((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 * 111.0


def brute_force(booked, candidates, free, visit=VISIT, speed=SPEED):
    """(most suggested visits, shortest km among those) by trying every route."""
    fixed = sorted(booked, key=lambda b: b.start)
    starts = [free[0][0]] if free else []
    starts += [fixed[0].start] if fixed else []
    if not starts:
        return 0, 0.0
    best = (0, float("inf"))
    for size in range(len(candidates) + 1):
        for chosen in itertools.permutations(candidates, size):
            # interleavings: positions of the fixed stops among all stops, order kept on both sides
            total = len(fixed) + size
            for places in itertools.combinations(range(total), len(fixed)):
                sequence, fixed_iter, chosen_iter = [], iter(fixed), iter(chosen)
                for position in range(total):
                    sequence.append(next(fixed_iter) if position in places else next(chosen_iter))
                km = simulate(sequence, free, min(starts), visit, speed)
                if km is not None and (size, -km) > (best[0], -best[1]):
                    best = (size, km)
    return best


def simulate(sequence, free, day_start, visit, speed):
    t, previous, km = day_start, None, 0.0
    for index, stop in enumerate(sequence):
        known = previous is not None and previous.point and stop.point
        step = flat_km(previous.point, stop.point) if known else 0.0
        arrival = t + (dt.timedelta(hours=step / speed) if known or previous is None else UNKNOWN)
        if isinstance(stop, Booked):
            t = stop.end + max(dt.timedelta(0), arrival - stop.start)
        else:
            slot = next((s for s in grid(free) if s >= arrival), None)
            if slot is None:
                return None
            t = slot + visit
            ahead = next((s for s in sequence[index + 1:] if isinstance(s, Booked)), None)
            if ahead is not None:
                onward = (dt.timedelta(hours=flat_km(stop.point, ahead.point) / speed)
                          if stop.point and ahead.point else UNKNOWN)
                if t + onward > ahead.start:
                    return None
        km += step
        previous = stop
    return km


def grid(free):
    """Every time a suggested visit may start: 5-minute steps with the whole visit inside a free range."""
    for start, end in free:
        slot = start
        while slot + VISIT <= end:
            yield slot
            slot += dt.timedelta(minutes=5)


def random_day(rng: random.Random):
    """A small day: a few booked visits on the half-hour grid, free ranges around them, a few families."""
    slots = [at(8) + i * VISIT for i in range(16)]  # 08.00-16.00
    booked_slots = sorted(rng.sample(range(16), rng.randint(0, 4)))
    booked = [Booked(f"b{i}", slots[i], slots[i] + VISIT, point(rng)) for i in booked_slots]
    free_slots = [i for i in range(16) if i not in booked_slots and rng.random() < 0.6]
    free = []
    for i in free_slots:
        if free and free[-1][1] == slots[i]:
            free[-1] = (free[-1][0], slots[i] + VISIT)
        else:
            free.append((slots[i], slots[i] + VISIT))
    candidates = [Candidate(f"c{i}", point(rng)) for i in range(rng.randint(0, 4))]
    return booked, candidates, free


def point(rng: random.Random):
    if rng.random() < 0.2:
        return None  # a house without coordinates yet
    return (-0.55 + rng.uniform(-0.03, 0.03), 117.15 + rng.uniform(-0.03, 0.03))


@pytest.mark.parametrize("seed", range(60))
def test_the_route_is_as_full_and_as_short_as_brute_force_finds(seed: int) -> None:
    rng = random.Random(seed)
    booked, candidates, free = random_day(rng)
    route = plan_day(booked, candidates, free, VISIT, SPEED, distance=flat_km)
    most, shortest = brute_force(booked, candidates, free)
    assert route.suggested == most
    assert route.km == pytest.approx(shortest, abs=1e-9)
    # Booked visits are all there, at their times, in time order; suggestions inside free time.
    assert [(s.key, s.start) for s in route.stops if s.booked] == [(b.key, b.start) for b in sorted(booked, key=lambda b: b.start)]
    slots = set(grid(free))
    assert all(s.start in slots for s in route.stops if not s.booked)
    assert [s.start for s in route.stops] == sorted(s.start for s in route.stops)


def test_a_suggestion_goes_between_the_visits_it_lies_between() -> None:
    home_a, home_b = (-0.55, 117.15), (-0.55, 117.20)  # 5.6 km apart
    booked = [Booked("a", at(9), at(9.5), home_a), Booked("b", at(11.5), at(12), home_b)]
    free = [(at(9.5), at(11.5))]
    near_b, near_a = Candidate("near-b", (-0.55, 117.199)), Candidate("near-a", (-0.55, 117.151))
    route = plan_day(booked, [near_b, near_a], free, VISIT, SPEED, distance=flat_km)
    assert [s.key for s in route.stops] == ["a", "near-a", "near-b", "b"]
    assert route.km == pytest.approx(flat_km(home_a, home_b), rel=1e-6)  # no detour at all
    # 100 m (under a minute) after 09.30 → 09.35; 5.4 km (22 min) after 10.05 → 10.30.
    assert [s.start for s in route.stops] == [at(9), at(9 + 35 / 60), at(10.5), at(11.5)]


def test_a_suggestion_never_makes_a_booked_family_wait() -> None:
    booked = [Booked("b", at(9), at(9.5), (-0.55, 117.15))]
    far = Candidate("far", (-0.55, 117.30))  # 16.7 km: over an hour away at 15 km/h
    route = plan_day(booked, [far], [(at(8), at(9))], VISIT, SPEED, distance=flat_km)
    assert [s.key for s in route.stops] == ["b"]


def test_booked_visits_too_far_apart_are_all_kept_and_the_day_shifts() -> None:
    booked = [Booked("a", at(9), at(9.5), (-0.55, 117.15)), Booked("b", at(9.5), at(10), (-0.55, 117.25))]
    route = plan_day(booked, [Candidate("c", None)], [(at(10), at(10.5))], VISIT, SPEED, distance=flat_km)
    # 11 km = 44 min late at b: its visit ends 10.44, so the 10.00 slot is gone.
    assert [s.key for s in route.stops] == ["a", "b"]


def test_no_free_time_no_booked_visit_nothing_to_plan() -> None:
    assert plan_day([], [Candidate("c", None)], [], VISIT).stops == ()
    route = plan_day([], [Candidate("c", None), Candidate("d", (-0.5, 117.0))], [(at(8), at(9))], VISIT)
    assert route.suggested == 1  # the leg to a house without coordinates takes 5 minutes: 08.35 + 30 > 09.00
    route = plan_day([], [Candidate("c", None), Candidate("d", (-0.5, 117.0))], [(at(8), at(9.5))], VISIT)
    assert [s.start for s in route.stops] == [at(8), at(8 + 35 / 60)] and route.stops[1].km_from_previous is None


def test_preselection_keeps_the_nearest_houses_then_those_without_coordinates() -> None:
    booked = [Booked("b", at(9), at(9.5), (-0.55, 117.15))]
    far = [Candidate(f"far{i}", (-0.55, 117.3 + i * 0.01)) for i in range(EXACT_LIMIT)]
    near = Candidate("near", (-0.55, 117.151))
    nowhere = Candidate("nowhere", None)
    chosen = preselect(booked, [nowhere, *far, near])
    assert len(chosen) == EXACT_LIMIT and chosen[0] == near and nowhere not in chosen
    assert preselect(booked, [nowhere, near]) == [near, nowhere]
    with pytest.raises(ValueError):
        plan_day(booked, far + [near], [], VISIT)
