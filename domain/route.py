"""The enumerator's day as a route: booked visits at their times, the free times filled with families
of their SLS that have no appointment yet, in the shortest order.

    plan_day(booked, candidates, free, visit)  ->  Route

Rules, in this order of importance:

1. A booked visit keeps its time. Arriving early means waiting; two booked visits too far apart for
   their times (families book neighbouring slots without thinking of the road) make the officer late,
   and the day shifts by that delay: the booked visits are facts, never left out.
2. A suggested visit fits whole in a free range, starts on the next 5 minutes after the travel from the
   previous stop, and leaves time to travel on to the next booked visit: a suggestion never makes a
   booked family wait.
3. As many suggested visits as fit (fill the working day); among those routes, the shortest in total
   geodesic distance (geopy). Travel time is distance over ``speed_kmh``.
4. A family that said when it is usually home (domain/home_times.py) is suggested only inside those
   times (``Candidate.home``); one whose home times miss the day is not suggested that day, and
   :func:`preselect` takes families whose home times meet the day's free time first.

A stop whose house has no coordinates yet (most families before their first visit) adds no distance,
and a leg to or from it takes ``unknown_leg`` (5 minutes: houses of one SLS are close). The route
cannot be shorter or longer through such a house, so they only fill what located ones leave free (see
:func:`preselect`).

The search is exact: depth first over the order of stops, dropping a partial route when another one
that visited the same families, stands at the same house and has the same booked visits ahead is both
earlier and shorter (the rest of the day can only go as well for the other one). A day has about
sixteen half-hour slots, so :data:`EXACT_LIMIT` candidates (chosen by :func:`preselect`) are enough to
fill any day's gaps; tests/unit/test_route.py checks the result against brute force.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from geographiclib.geodesic import Geodesic

WGS84 = Geodesic.WGS84
A_KM, E2 = WGS84.a / 1000.0, WGS84.f * (2 - WGS84.f)
LOCAL_DEGREES = 0.1  # ~11 km: within it the local radii are exact to centimetres (error ~ (d/R)² · d)

Point = tuple[float, float]

EXACT_LIMIT = 8  # candidates searched exactly; a day's gaps rarely hold more
DEFAULT_SPEED_KMH = 15.0
STEP = dt.timedelta(minutes=5)
UNKNOWN_LEG = dt.timedelta(minutes=5)  # travel to or from a house without coordinates
ZERO = dt.timedelta(0)  # a motorbike in kampung lanes, with parking and finding the house


@dataclass(frozen=True)
class Booked:
    key: Any
    start: dt.datetime
    end: dt.datetime
    point: Point | None


Ranges = tuple[tuple[dt.datetime, dt.datetime], ...]


@dataclass(frozen=True)
class Candidate:
    key: Any
    point: Point | None
    home: Ranges | None = None  # when the family is home that day; None: they never said (any time)


@dataclass(frozen=True)
class Stop:
    key: Any
    start: dt.datetime
    booked: bool
    km_from_previous: float | None  # None for the first stop, or when either house has no coordinates


@dataclass(frozen=True)
class Route:
    stops: tuple[Stop, ...]
    km: float  # the known distance of the whole route

    @property
    def suggested(self) -> int:
        return sum(1 for stop in self.stops if not stop.booked)


def geodesic_km(a: Point, b: Point) -> float:
    """WGS84 ellipsoidal distance. Houses of one day lie a few km apart, where the ellipsoid's local
    radii (meridian and prime vertical at the middle latitude) give the geodesic to well under a metre
    at a hundredth of the cost (a day's matrix holds a few hundred); farther apart, Karney's geodesic."""
    if abs(a[0] - b[0]) > LOCAL_DEGREES or abs(a[1] - b[1]) > LOCAL_DEGREES:
        return WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"] / 1000.0
    middle = math.radians((a[0] + b[0]) / 2)
    sine = math.sin(middle)
    w = math.sqrt(1 - E2 * sine * sine)
    meridian, vertical = A_KM * (1 - E2) / (w * w * w), A_KM / w
    return math.hypot(meridian * math.radians(b[0] - a[0]), vertical * math.cos(middle) * math.radians(b[1] - a[1]))


def plan_day(booked: Sequence[Booked], candidates: Sequence[Candidate],
             free: Sequence[tuple[dt.datetime, dt.datetime]], visit: dt.timedelta,
             speed_kmh: float = DEFAULT_SPEED_KMH, distance: Callable[[Point, Point], float] = geodesic_km,
             unknown_leg: dt.timedelta = UNKNOWN_LEG) -> Route:
    """The best route of the day (rules in the module's docstring). ``free``: the free time ranges (on
    the 5-minute clock); ``candidates``: at most :data:`EXACT_LIMIT`."""
    if len(candidates) > EXACT_LIMIT:
        raise ValueError(f"at most {EXACT_LIMIT} candidates are searched exactly; preselect them first")
    fixed = sorted(booked, key=lambda b: b.start)
    search = _Search(fixed, list(candidates), sorted(free), visit, speed_kmh, distance, unknown_leg)
    return search.best_route()


def round_up(moment: dt.datetime, step: dt.timedelta = STEP) -> dt.datetime:
    """``moment`` rounded up to the clock's ``step`` (10.31 → 10.35): a time one can tell a family."""
    epoch = dt.datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    return epoch + math.ceil((moment - epoch) / step) * step


def preselect(booked: Sequence[Booked], candidates: Sequence[Candidate], limit: int = EXACT_LIMIT,
              free: Sequence[tuple[dt.datetime, dt.datetime]] | None = None) -> list[Candidate]:
    """The ``limit`` candidates worth searching: families home in the day's ``free`` time first (those
    whose home times miss it are left out), then located houses nearest to the day's booked visits (all
    located ones are alike on a day without located visits), then houses without coordinates, in the
    order given. A flat-earth distance is enough to rank houses of one SLS."""
    anchors = [b.point for b in booked if b.point is not None]
    if free is not None:
        candidates = [c for c in candidates if c.home is None or _meets(c.home, free)]

    def rank(candidate: Candidate) -> tuple[bool, bool, float]:
        near = _nearest_km(candidate.point, anchors) if anchors and candidate.point is not None else 0.0
        return (candidate.home is None, candidate.point is None, near)

    return sorted(candidates, key=rank)[:limit]


def _meets(home: Ranges, free: Sequence[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(a < d and c < b for a, b in home for c, d in free)


def _intersect(free: list[tuple[int, int]], home: list[tuple[int, int]] | None) -> list[tuple[int, int]]:
    """The free ranges a candidate may be visited in: all of them, or only where the family is home."""
    if home is None:
        return free
    return sorted((max(a, c), min(b, d)) for a, b in free for c, d in home if max(a, c) < min(b, d))


def _nearest_km(point: Point, anchors: list[Point]) -> float:
    """``min(_flat_km(point, a) for a in anchors)``, inlined: preselect ranks a pool of 200 per day."""
    lat, lon = point
    radians, cos, hypot = math.radians, math.cos, math.hypot
    return min(6371.0 * hypot(radians(a[1] - lon) * cos(radians((lat + a[0]) / 2)), radians(a[0] - lat))
               for a in anchors)


def _flat_km(a: Point, b: Point) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return 6371.0 * math.hypot(x, y)


US = dt.timedelta(microseconds=1)


class _Search:
    """One day's exact search; nodes are the booked visits (0..F-1) then the candidates (F..).

    Times are integers (microseconds since 2000-01-01 in the zone of the day's first time, as
    :func:`round_up` counts them): the same instants as the datetimes, at a fraction of the cost, and
    the search visits some ten thousand nodes on a full day. Besides the count bound and dominance, a
    partial route is dropped when even the cheapest way into every stop it still needs (each remaining
    booked visit, and as many families as it takes to equal the best route's count) cannot make it
    shorter than the best one: the route found is the one the plain search finds, sooner."""

    def __init__(self, fixed: list[Booked], candidates: list[Candidate], free: list[tuple[dt.datetime, dt.datetime]],
                 visit: dt.timedelta, speed_kmh: float, distance: Callable[[Point, Point], float],
                 unknown_leg: dt.timedelta) -> None:
        self.fixed, self.candidates = fixed, candidates
        first = ([start for start, _ in free[:1]] + [b.start for b in fixed[:1]])
        self.epoch = dt.datetime(2000, 1, 1, tzinfo=first[0].tzinfo) if first else None
        self.free = [(self._us(start), self._us(end)) for start, end in free]
        self.fixed_start = [self._us(b.start) for b in fixed]
        self.fixed_end = [self._us(b.end) for b in fixed]
        self.visit = visit // US
        self.step = STEP // US
        self.free_for = [self._free_of(c) for c in candidates]  # each family's own free ranges
        points = [b.point for b in fixed] + [c.point for c in candidates]
        self.km = _matrix(points, distance)
        self.travel = [[dt.timedelta(hours=km / speed_kmh) // US if km is not None else unknown_leg // US
                        for km in row] for row in self.km]
        # The shortest leg between two stops: the day holds no more visits than with every leg that short.
        self.min_leg = min((t for i, row in enumerate(self.travel) for j, t in enumerate(row) if i != j), default=0)
        self.fits: dict[tuple[int, bool], int] = {}
        # The legs into each node, shortest first (unknown distances count 0): the lower bound's bricks.
        self.into = [sorted((self.km[i][j] or 0.0, i) for i in range(len(points)) if i != j)
                     for j in range(len(points))]
        F = len(fixed)
        self.candidate_bits = ((1 << len(candidates)) - 1) << F
        self.fixed_bits_from = [((1 << F) - 1) & ~((1 << f) - 1) for f in range(F + 1)]
        self.best: tuple[int, float, tuple[tuple[int, int], ...]] | None = None
        self.seen: dict[tuple[int, int, int], list[tuple[int, float]]] = {}
        self.orders: dict[int, list[int]] = {}

    def _us(self, moment: dt.datetime) -> int:
        return (moment - self.epoch) // US

    def _free_of(self, candidate: Candidate) -> list[tuple[int, int]]:
        if candidate.home is None or self.epoch is None:
            return self.free
        return _intersect(self.free, [(self._us(a), self._us(b)) for a, b in candidate.home])

    def best_route(self) -> Route:
        starts = [start for start, _ in self.free[:1]] + self.fixed_start[:1]
        if not starts:
            return Route((), 0.0)
        self._walk(-1, min(starts), 0, 0, 0.0, ())
        assert self.best is not None  # the booked visits in time order are always a route
        return self._route(self.best[2])

    def _km(self, a: int, b: int) -> float | None:
        """Known distance from node ``a`` (-1: the start of the day, nowhere) to node ``b``."""
        return self.km[a][b] if a >= 0 else None

    def _travel(self, a: int, b: int) -> int:
        return self.travel[a][b] if a >= 0 else 0  # nothing before the first stop of the day

    def _walk(self, at: int, free_from: int, next_fixed: int, used: int, km: float,
              path: tuple[tuple[int, int], ...]) -> None:
        count = used.bit_count()
        best = self.best
        if best is not None:
            most = count + min(len(self.candidates) - count, self._fits_at_most(free_from, at < 0))
            if most < best[0] or (most == best[0] and km >= best[1]):
                return  # even filling every slot left cannot beat the best: distance only grows
            if most == best[0] and at >= 0 and km + self._km_still_needed(at, next_fixed, used, best[0] - count) \
                    > best[1] + 1e-9:
                return  # as full as the best at most, and surely longer
        if self._dominated((at, next_fixed, used), free_from, km):
            return
        F = len(self.fixed)
        if next_fixed == F and (best is None or (count, -km) > (best[0], -best[1])):
            self.best = (count, km, path)
        if next_fixed < F:
            late = max(0, free_from + self._travel(at, next_fixed) - self.fixed_start[next_fixed])
            self._walk(next_fixed, self.fixed_end[next_fixed] + late, next_fixed + 1, used,
                       km + (self._km(at, next_fixed) or 0.0), path + ((next_fixed, self.fixed_start[next_fixed]),))
        tried_unlocated: set[Ranges | None] = set()
        for index in self._nearest_first(at):
            candidate = self.candidates[index]
            if used >> index & 1:
                continue
            if candidate.point is None:
                # Houses without coordinates and with the same home times are interchangeable (no
                # travel, no distance): trying the first one left is trying them all.
                if candidate.home in tried_unlocated:
                    continue
                tried_unlocated.add(candidate.home)
            node = F + index
            start = self._slot_from(free_from + self._travel(at, node), self.free_for[index])
            if start is None:
                continue
            done = start + self.visit
            if next_fixed < F and done + self.travel[node][next_fixed] > self.fixed_start[next_fixed]:
                continue  # the next booked visit would be missed
            self._walk(node, done, next_fixed, used | 1 << index, km + (self._km(at, node) or 0.0),
                       path + ((node, start),))

    def _km_still_needed(self, at: int, next_fixed: int, used: int, families: int) -> float:
        """A lower bound of the distance left: every stop still to come is entered from ``at`` or from a
        stop after it (a family not on the route yet, a booked visit ahead, in their order): the cheapest
        such leg into each booked visit ahead, and into the ``families`` cheapest-to-reach families."""
        F = len(self.fixed)
        unused = self.candidate_bits & ~(used << F)
        total = 0.0
        for k in range(next_fixed, F):
            total += self._cheapest_into(k, unused | (1 << (k - 1) if k > next_fixed else 1 << at))
        if families > 0:
            allowed = unused | (1 << at) | self.fixed_bits_from[next_fixed]
            legs = sorted(self._cheapest_into(F + i, allowed) for i in range(len(self.candidates))
                          if not used >> i & 1)
            total += sum(legs[:families])
        return total

    def _cheapest_into(self, node: int, allowed: int) -> float:
        for km, before in self.into[node]:
            if allowed >> before & 1:
                return km
        return 0.0

    def _nearest_first(self, at: int) -> list[int]:
        """Candidates by distance from ``at`` (unknown last): good routes are found early, so the bound
        cuts more of the rest."""
        order = self.orders.get(at)
        if order is None:
            F, everyone = len(self.fixed), range(len(self.candidates))
            row = self.km[at] if at >= 0 else None
            order = self.orders[at] = (list(everyone) if row is None else
                                       sorted(everyone, key=lambda i: (row[F + i] is None, row[F + i] or 0.0)))
        return order

    def _fits_at_most(self, earliest: int, first_free: bool) -> int:
        """How many more visits the free ranges hold from ``earliest`` on, were every leg the shortest
        (the first one free at the start of the day): a bound, as exact as cheap (placed as early as
        possible, as the search places them; booked visits only take time from the free ranges)."""
        key = (earliest, first_free)
        found = self.fits.get(key)
        if found is None:
            found, moment, leg = 0, earliest, 0 if first_free else self.min_leg
            while (start := self._slot_from(moment + leg, self.free)) is not None:
                found, moment, leg = found + 1, start + self.visit, self.min_leg
            self.fits[key] = found
        return found

    def _slot_from(self, earliest: int, free: list[tuple[int, int]]) -> int | None:
        """The first time on the 5-minute clock at or after ``earliest`` where a whole visit fits in one
        of ``free`` (the day's free ranges, or a candidate's own)."""
        earliest = -(-earliest // self.step) * self.step  # round_up
        for start, end in free:
            slot = max(start, earliest)
            if slot + self.visit <= end:
                return slot
        return None

    def _dominated(self, key: tuple[int, int, int], free_from: int, km: float) -> bool:
        fronts = self.seen.setdefault(key, [])
        for other_time, other_km in fronts:
            if other_time <= free_from and other_km <= km:
                return True
        fronts[:] = [(t, d) for t, d in fronts if not (free_from <= t and km <= d)]
        fronts.append((free_from, km))
        return False

    def _route(self, path: tuple[tuple[int, int], ...]) -> Route:
        stops: list[Stop] = []
        total = 0.0
        previous: int | None = None
        F = len(self.fixed)
        for node, start in path:
            km = self.km[previous][node] if previous is not None else None
            total += km or 0.0
            if node < F:
                stops.append(Stop(self.fixed[node].key, self.fixed[node].start, True, km))
            else:
                when = self.epoch + dt.timedelta(microseconds=start)
                stops.append(Stop(self.candidates[node - F].key, when, False, km))
            previous = node
        return Route(tuple(stops), total)


def _matrix(points: list[Point | None], distance: Callable[[Point, Point], float]) -> list[list[float | None]]:
    """Distances between the day's houses, each pair measured once (distances are symmetric)."""
    size = len(points)
    km: list[list[float | None]] = [[None] * size for _ in range(size)]
    for i, p in enumerate(points):
        for j in range(i + 1, size):
            q = points[j]
            if p is not None and q is not None:
                km[i][j] = km[j][i] = distance(p, q)
    return km
