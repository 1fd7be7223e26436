"""Travel-aware booking: km an enumerator rides per visit when families take the first free time, against
when they take the first time Pintu offers (domain/travel.py), over one kelurahan's month.

    .venv/bin/python -m bench travel [--seed 7] [--runs 5] [--rt 20] [--families-per-rt 40]
                                     [--enumerators 4] [--located 0.5]

The kelurahan (seeded): a grid of RT of 400 m × 400 m (5 across), each with its families' houses at
random inside it; the RT are shared out between the enumerators in contiguous blocks, one enumerator per
RT. Pintu knows the house of ``--located`` of the families (the rest: their RT's centroid, from the
square's boundary, and the RT's neighbours). Families ask to book in random order, at a random moment of
the first three weeks (08.00–20.00), each with random home times (weekday mornings, weekday afternoons,
Saturday; a third of them any time), and take:

- **first free**: the earliest free time that fits their home times (any free time when none does);
- **Pintu**: the first time of Pintu's offers among those (:func:`domain.travel.travel_order`: the
  least detour next to the officer's visits booked nearby, within the first two days with a free time).

Both strategies book the same families in the same order with the same home times, one after the other
in one run. An enumerator's day is ridden from the kelurahan office (the grid's centre) through the day's
visits in time order and back, on the true house positions (flat-earth km). Printed per run and on
average: km per visit for each strategy and the saving, and how much later Pintu's time was than the
first free one (mean, the largest, and the largest for families home any time: the bound counts days
that have a free time the family can take, so a family home only on Saturdays may be offered the
Saturday after). Exit status 1 when the mean saving is below 30%.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

from domain.slots import EnumeratorCalendar, SchedulePolicy, Slot, WorkWeek, blocks_between, free_slots  # noqa: E402
from domain.travel import (BookedVisit, Geography, Place, Point, centroids_from_boundaries, flat_km,  # noqa: E402
                           neighbours_from_boundaries, travel_order)

WITA = ZoneInfo("Asia/Makassar")
KM = 1 / 111.2  # degrees per km (latitude; longitude too, this near the equator)
RT_KM = 0.4
ACROSS = 5
ORIGIN = (-0.50, 117.14)  # Samarinda
MONTH_START = dt.datetime(2026, 11, 2, tzinfo=WITA)  # a Monday
BOOKING_DAYS = 21
VISIT = dt.timedelta(minutes=30)
HOME_TIMES = ("weekday-morning", "weekday-afternoon", "saturday")
GOAL = 0.30


@dataclass(frozen=True)
class Family:
    id: int
    sls: int
    house: Point  # the true position
    known: Point | None  # what Pintu knows
    asks_at: dt.datetime  # UTC
    home: frozenset[str]  # empty: any time


@dataclass
class Kelurahan:
    boundaries: dict[int, dict]
    officer_of: dict[int, int]  # RT -> enumerator
    families: list[Family]
    office: Point


def corner(rt: int) -> Point:
    row, column = divmod(rt, ACROSS)
    return ORIGIN[0] + row * RT_KM * KM, ORIGIN[1] + column * RT_KM * KM


def square(rt: int) -> dict:
    s, w = corner(rt)
    n, e = s + RT_KM * KM, w + RT_KM * KM
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def kelurahan(rng: random.Random, rts: int, per_rt: int, enumerators: int, located: float) -> Kelurahan:
    boundaries = {rt: square(rt) for rt in range(rts)}
    officer_of = {rt: rt * enumerators // rts for rt in range(rts)}  # contiguous blocks of RT
    families = []
    for rt in range(rts):
        s, w = corner(rt)
        for _ in range(per_rt):
            house = (s + rng.uniform(0, RT_KM) * KM, w + rng.uniform(0, RT_KM) * KM)
            asks = MONTH_START + dt.timedelta(days=rng.randrange(BOOKING_DAYS), hours=rng.uniform(8, 20))
            home = frozenset() if rng.random() < 1 / 3 else frozenset(rng.sample(HOME_TIMES, rng.choice((1, 2))))
            families.append(Family(len(families), rt, house, house if rng.random() < located else None,
                                   asks.astimezone(dt.timezone.utc), home))
    families.sort(key=lambda f: f.asks_at)
    rows = (rts + ACROSS - 1) // ACROSS
    office = (ORIGIN[0] + rows * RT_KM * KM / 2, ORIGIN[1] + ACROSS * RT_KM * KM / 2)
    return Kelurahan(boundaries, officer_of, families, office)


def fits_home(slot: Slot, home: frozenset[str]) -> bool:
    local = slot.start.astimezone(WITA)
    if local.weekday() == 5:
        return "saturday" in home
    return ("weekday-morning" if local.hour < 12 else "weekday-afternoon") in home


@dataclass(frozen=True)
class Booking:
    family: Family
    enumerator: int
    start: dt.datetime
    delay: dt.timedelta  # how much later than the first free time that fits


def simulate(city: Kelurahan, strategy: str) -> list[Booking]:
    policy = SchedulePolicy()
    geography = Geography(centroids_from_boundaries(city.boundaries), neighbours_from_boundaries(city.boundaries))
    busy: dict[int, set[dt.datetime]] = {e: set() for e in set(city.officer_of.values())}
    visits: dict[int, list[BookedVisit]] = {e: [] for e in busy}
    bookings = []
    for family in city.families:
        officer = city.officer_of[family.sls]
        calendar = EnumeratorCalendar(officer, WorkWeek.default(), 30, frozenset(busy[officer]))
        free = free_slots([calendar], WITA, family.asks_at, policy, ())
        wanted = [s for s in free if fits_home(s, family.home)] if family.home else free
        wanted = wanted or free
        if not wanted:
            continue  # the officer is fully booked for two weeks: the family waits (alike in both)
        if strategy == "pintu":
            chosen = travel_order(wanted, visits[officer], Place(family.sls, family.known), geography, WITA)[0]
        else:
            chosen = wanted[0]
        busy[officer].update(blocks_between(chosen.start, chosen.end))
        visits[officer].append(BookedVisit(officer, chosen.start, chosen.end, Place(family.sls, family.known)))
        bookings.append(Booking(family, officer, chosen.start, chosen.start - wanted[0].start))
    return bookings


def km_per_visit(city: Kelurahan, bookings: list[Booking]) -> float:
    """Each officer-day ridden from the office through the visits in time order and back."""
    days: dict[tuple[int, dt.date], list[Booking]] = {}
    for booking in bookings:
        days.setdefault((booking.enumerator, booking.start.astimezone(WITA).date()), []).append(booking)
    total = 0.0
    for day in days.values():
        houses = [city.office] + [b.family.house for b in sorted(day, key=lambda b: b.start)] + [city.office]
        total += sum(flat_km(a, b) for a, b in zip(houses, houses[1:]))
    return total / max(1, len(bookings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench travel", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7, help="first random seed, e.g. --seed 7")
    parser.add_argument("--runs", type=int, default=5, help="kelurahan simulated (seeds seed, seed+1, ...), e.g. 5")
    parser.add_argument("--rt", type=int, default=20, help="RT in the kelurahan, e.g. 20")
    parser.add_argument("--families-per-rt", type=int, default=40, help="families per RT, e.g. 40")
    parser.add_argument("--enumerators", type=int, default=4, help="enumerators sharing the RT, e.g. 4")
    parser.add_argument("--located", type=float, default=0.5, help="share of houses Pintu knows, e.g. 0.5")
    args = parser.parse_args(argv)

    print(f"{args.rt} RT × {args.families_per_rt} families, {args.enumerators} enumerators, "
          f"{args.located:.0%} of houses located; km per visit (office → visits → office)")
    print(f"{'seed':>5} {'booked':>7} {'first free':>11} {'Pintu':>7} {'saving':>7} {'later: mean':>12} {'max':>7} {'max (any time)':>15}")
    savings = []
    for seed in range(args.seed, args.seed + args.runs):
        city = kelurahan(random.Random(seed), args.rt, args.families_per_rt, args.enumerators, args.located)
        first = simulate(city, "first-free")
        pintu = simulate(city, "pintu")
        base, ours = km_per_visit(city, first), km_per_visit(city, pintu)
        saving = 1 - ours / base
        savings.append(saving)
        delays = [b.delay / dt.timedelta(hours=1) for b in pintu]
        anytime = [b.delay / dt.timedelta(hours=1) for b in pintu if not b.family.home]
        print(f"{seed:>5} {len(pintu):>7} {base:>9.2f} km {ours:>4.2f} km {saving:>6.0%} "
              f"{statistics.mean(delays):>10.1f} h {max(delays):>5.0f} h {max(anytime):>13.0f} h")
    mean = statistics.mean(savings)
    print(f"mean saving {mean:.0%} (goal ≥ {GOAL:.0%}): {'ok' if mean >= GOAL else 'BELOW GOAL'}")
    return 0 if mean >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
