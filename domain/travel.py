"""Travel-aware visit times: offer first the times next to the enumerator's visits already booked nearby.

    order = travel_order(slots, days_visits, family, geography)       # the offers, best first
    key = travel_key(slot, days_visits, family, geography)            # one slot's key (H1's order_offers)

A time's **detour** is how much longer the enumerator's day gets when the family is visited then:
the visit slots in between the booked visit before it and the one after it on the same day (of the
enumerator who would take it; the smallest over the enumerators free then). Distances:

- two houses with coordinates: the flat-earth distance between them;
- otherwise the centroids of their SLS (from ``areas.boundary``) stand in for the unknown houses;
- without a centroid: the same SLS is :data:`SAME_SLS_KM` away, a neighbouring SLS (boundaries that
  touch) :data:`NEIGHBOUR_KM`, anything else :data:`FAR_KM`.

A day without any booked visit of that enumerator costs :data:`EMPTY_DAY_KM` (as much as a ride to the
neighbouring RT): a time next to a visit in the same RT comes before it, a long leg after it.

**The rule that bounds how much later an offered time may be** (:func:`travel_order`): the times
compared by detour are only those from the first free time up to the end of the next local day that
has a free time (the same or the next working day; of the times the family can take, when its home
times narrow them). Among them, the times with the smallest detour come
first (detours within :data:`DETOUR_STEP` km count as equal, the earlier wins); every later time follows
in time order. So the first time offered is never later than the end of the working day after the
first free one, and a family that wants the earliest time still sees it among the offers.

Pure functions over plain data: booking (domain/booking.py) gathers the data, the simulation
(bench/travel.py) and the tests feed their own.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

Point = tuple[float, float]  # (latitude, longitude)

SAME_SLS_KM = 0.3  # two houses of one RT, positions unknown
NEIGHBOUR_KM = 1.0  # houses of neighbouring RT, positions and centroids unknown
FAR_KM = 3.0  # anywhere else in the kelurahan
# A day without a visit yet: the family opens that day's round. Worth a ride to the neighbouring RT, no
# more: a family far from the round of the first free day gets the next day rather than a long leg
# (bench/travel.py: with 2 × FAR_KM the day's round was always stretched, and the saving was 9%, not 32%).
EMPTY_DAY_KM = NEIGHBOUR_KM
BOUND_DAYS = 2  # the first free time's day and the next one with a free time
DETOUR_STEP = 0.25  # km: detours closer than this are alike, the earlier time wins


@dataclass(frozen=True)
class Place:
    """Where a family lives, as far as Pintu knows: its SLS, and its house when located."""

    sls_id: int
    point: Point | None = None


@dataclass(frozen=True)
class BookedVisit:
    """One of the enumerator's visits already booked (UTC times)."""

    enumerator_id: int
    start: dt.datetime
    end: dt.datetime
    place: Place


@dataclass(frozen=True)
class Geography:
    """What is known of the SLS: their centroids and which ones touch."""

    centroids: Mapping[int, Point] = field(default_factory=dict)
    neighbours: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def adjacent(self, a: int, b: int) -> bool:
        return b in self.neighbours.get(a, frozenset()) or a in self.neighbours.get(b, frozenset())


def flat_km(a: Point, b: Point) -> float:
    """Equirectangular distance: exact enough within a kelurahan, and cheap."""
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    y = math.radians(b[0] - a[0])
    return 6371.0 * math.hypot(x, y)


def leg_km(a: Place, b: Place, geography: Geography) -> float:
    """The estimated distance between two houses (rules in the module's docstring)."""
    if a.point is not None and b.point is not None:
        return flat_km(a.point, b.point)
    if a.sls_id == b.sls_id:
        return SAME_SLS_KM
    pa = a.point or geography.centroids.get(a.sls_id)
    pb = b.point or geography.centroids.get(b.sls_id)
    if pa is not None and pb is not None:
        return flat_km(pa, pb)
    return NEIGHBOUR_KM if geography.adjacent(a.sls_id, b.sls_id) else FAR_KM


def detour_km(start: dt.datetime, end: dt.datetime, day_visits: Sequence[BookedVisit], family: Place,
              geography: Geography) -> float:
    """How much longer one enumerator's day (``day_visits``: that day's visits) gets with the family
    visited from ``start`` to ``end``."""
    before = [v for v in day_visits if v.end <= start]
    after = [v for v in day_visits if v.start >= end]
    previous = max(before, key=lambda v: v.start).place if before else None
    following = min(after, key=lambda v: v.start).place if after else None
    if previous is None and following is None:
        return EMPTY_DAY_KM
    if previous is None or following is None:
        return leg_km(previous or following, family, geography)  # type: ignore[arg-type]
    return (leg_km(previous, family, geography) + leg_km(family, following, geography)
            - leg_km(previous, following, geography))


def travel_key(slot: Any, visits: Iterable[BookedVisit], family: Place, geography: Geography,
               tz: ZoneInfo) -> float:
    """A slot's detour (lower is better): the smallest over the enumerators free at it. ``slot`` has
    ``start``, ``end`` and ``enumerator_ids`` (domain/slots.py:Slot); ``visits``: booked visits of the
    enumerators, any days (only the slot's local day counts)."""
    day = slot.start.astimezone(tz).date()
    by_enumerator: dict[int, list[BookedVisit]] = {i: [] for i in slot.enumerator_ids}
    for visit in visits:
        if visit.enumerator_id in by_enumerator and visit.start.astimezone(tz).date() == day:
            by_enumerator[visit.enumerator_id].append(visit)
    return min((detour_km(slot.start, slot.end, day_visits, family, geography)
                for day_visits in by_enumerator.values()), default=EMPTY_DAY_KM)


def bound_end(starts: Sequence[dt.datetime], tz: ZoneInfo, days: int | None = None) -> dt.datetime | None:
    """The end of the comparison window (see the module's rule): midnight after the next local day,
    after the first free time's, that has a free time; the first day's midnight when there is none."""
    if not starts:
        return None
    first_day = min(starts).astimezone(tz).date()
    free_days = sorted({s.astimezone(tz).date() for s in starts})
    last_day = free_days[:days or BOUND_DAYS][-1]
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(0), tz)


def travel_order(slots: Sequence[Any], visits: Iterable[BookedVisit], family: Place, geography: Geography,
                 tz: ZoneInfo, window_starts: Sequence[dt.datetime] | None = None) -> list[Any]:
    """The slots as offered: within the bound (module's rule), smallest detour first (ties: earliest);
    later slots follow in time order. ``window_starts``: the free times the bound counts from (default
    the slots' own; a day's screen passes the whole horizon's, so its bound is the same as the days')."""
    visits = list(visits)
    ordered = sorted(slots, key=lambda s: s.start)
    end = bound_end(list(window_starts) if window_starts is not None else [s.start for s in ordered], tz)
    if end is None:
        return ordered
    near = [s for s in ordered if s.start < end]
    rest = [s for s in ordered if s.start >= end]
    return sorted(near, key=lambda s: (detour_rank(travel_key(s, visits, family, geography, tz)), s.start)) + rest


def detour_rank(km: float) -> int:
    """Detours as compared: within :data:`DETOUR_STEP` alike (for callers that combine keys)."""
    return round(km / DETOUR_STEP)


def neighbours_from_boundaries(boundaries: Mapping[int, dict[str, Any]]) -> dict[int, frozenset[int]]:
    """Which SLS touch (GeoJSON polygons, sharing an edge or a corner within a few metres)."""
    from shapely.geometry import shape
    from shapely.strtree import STRtree

    ids = list(boundaries)
    shapes = [shape(boundaries[i]).buffer(0.00005) for i in ids]  # ~5 m: digitised edges rarely meet exactly
    tree = STRtree(shapes)
    found: dict[int, set[int]] = {i: set() for i in ids}
    for index, polygon in enumerate(shapes):
        for other in tree.query(polygon, predicate="intersects"):
            if int(other) != index:
                found[ids[index]].add(ids[int(other)])
    return {i: frozenset(n) for i, n in found.items()}


def centroids_from_boundaries(boundaries: Mapping[int, dict[str, Any]]) -> dict[int, Point]:
    from shapely.geometry import shape

    centres = {}
    for sls_id, geometry in boundaries.items():
        c = shape(geometry).centroid
        centres[sls_id] = (c.y, c.x)
    return centres
