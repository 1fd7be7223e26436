"""The daily messages, rendered at send time from fresh data: the enumerator's day (06.00) and the RT
head's list of tomorrow's visits (evening). Queued by domain/reminders.py:enqueue_daily.

The enumerator's day is one route (domain/route.py): the booked visits at their times and, in the free
times, the families of their SLS still without an appointment, as many as fit, in the shortest order
(marked as suggestions: the officer calls first). Each stop shows the geodesic distance from the
previous one when both houses have coordinates, and a map link (by coordinates, else by address). A
day with free time and no family to suggest lists its free times instead.
"""
from __future__ import annotations

import datetime as dt
import heapq
import html
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from domain.ports import UnitOfWork
from domain import home_times
from domain.holidays_id import closed_dates
from domain.working_time import area_hours
from domain.model import Appointment, Family
from domain.route import Booked, Candidate, Point, Route, Stop, plan_day, preselect
from domain.slots import EnumeratorCalendar, SchedulePolicy, WorkWeek, free_slots
from domain.visits import VISITED
from chat.i18n import Translator
from chat.render import clock_time, day_label, home_times_label, zone_name

MAPS = "https://www.google.com/maps/search/?api=1&query="
UNBOOKED_POOL = 200  # families without an appointment read per schedule; the route searches the nearest few
MAX_BODY = 3600  # of Telegram's 4096 characters, leaving room for the heading


def render(uow: UnitOfWork, key: str, payload: dict[str, Any], t: Translator, now: dt.datetime | None,
           plans: Mapping[tuple[int, dt.date], DayPlan] | None = None) -> str | None:
    """The text of a daily message; ``plans`` (from :func:`plan_schedules`): routes planned already."""
    try:
        day = dt.date.fromisoformat(str(payload.get("day")))
    except ValueError:
        return None
    if key == "notify-daily-schedule" and isinstance(payload.get("enumerator_id"), int):
        plan = (plans or {}).get((payload["enumerator_id"], day))
        return schedule(uow, payload["enumerator_id"], day, t, now, plan)
    if key == "notify-rt-summary" and isinstance(payload.get("sls_id"), int):
        return rt_summary(uow, payload["sls_id"], day, t)
    return None


def plan_schedules(uow: UnitOfWork, payloads: Sequence[Mapping[str, Any]], now: dt.datetime | None,
                   keep: list[Any] | None = None) -> dict[tuple[int, dt.date], DayPlan]:
    """The routes of many daily schedules (payloads of ``notify-daily-schedule`` rows), planned with a few
    queries per day named rather than a few per schedule; each the same as :func:`plan_for_day`'s.
    ``keep`` receives what was read: held while the rows render, the areas stay in the session (its
    identity map holds entities weakly) and rendering reads none again."""
    wanted: dict[dt.date, list[int]] = {}
    for payload in payloads:
        try:
            day = dt.date.fromisoformat(str(payload.get("day")))
        except ValueError:
            continue
        if isinstance(payload.get("enumerator_id"), int):
            wanted.setdefault(day, []).append(payload["enumerator_id"])
    plans: dict[tuple[int, dt.date], DayPlan] = {}
    for day, ids in wanted.items():
        data = DayData.load(uow, ids, day, unbooked=len(ids) > 1)
        if keep is not None:
            keep.append(data)
        plans.update({(i, day): plan for i, plan in plan_days(uow, data, ids, day, now).items()})
    return plans


def map_url(family: Family, rt: str, village: str | None) -> str | None:
    if family.latitude is not None and family.longitude is not None:
        return f"{MAPS}{family.latitude:.6f},{family.longitude:.6f}"
    if family.address:
        return MAPS + quote_plus(", ".join(p for p in (family.address, rt, village) if p))
    return None


def _point(family: Family) -> Point | None:
    return (family.latitude, family.longitude) if family.latitude is not None and family.longitude is not None else None


@dataclass(frozen=True)
class RouteVisit:
    """What a stop of the day stands for: a family, with its appointment when it has one."""

    family: Family
    appointment: Appointment | None = None

    @property
    def visited(self) -> bool:
        return self.appointment is not None and self.appointment.status == VISITED


@dataclass(frozen=True)
class DayPlan:
    """An enumerator's day as one route (its stops' keys are :class:`RouteVisit`), in the area's zone."""

    tz: ZoneInfo
    route: Route
    gaps: list[tuple[dt.datetime, dt.datetime]]
    booked: int  # visits booked (or already made) that day


def plan_for_day(uow: UnitOfWork, enumerator_id: int, day: dt.date, now: dt.datetime | None, *,
                 include_visited: bool = False) -> DayPlan | None:
    """The enumerator's day as one route: booked visits at their times and, in the free times, families
    of their SLS without an appointment, in the shortest order (domain/route.py). None without an SLS."""
    data = DayData.load(uow, [enumerator_id], day, include_visited=include_visited)
    return plan_days(uow, data, [enumerator_id], day, now).get(enumerator_id)


@dataclass
class DayData:
    """What the day's routes of any number of enumerators read, in a few queries whatever their number
    (the 06.00 run builds a whole city's at once: scheduling/dispatcher.py, bench/daily.py)."""

    day: dt.date
    enumerators: dict[int, Any]
    areas: dict[int, list[Any]]  # enumerator -> assigned SLS, by code
    visits: dict[int, list[tuple[Appointment, Family]]]  # enumerator -> visits around the day, by time
    busy: dict[int, set[dt.datetime]]  # enumerator -> busy blocks around the day
    include_visited: bool
    parents: dict[int, Any] = field(default_factory=dict)  # the SLS's villages (rendered with each stop)
    unbooked: dict[int, list[tuple[int, int, str, float | None, float | None, Any]]] = field(default_factory=dict)
    closed: dict[int, frozenset[dt.date]] = field(default_factory=dict)  # SLS -> closed dates of the day

    @classmethod
    def load(cls, uow: UnitOfWork, enumerator_ids: Sequence[int], day: dt.date, *,
             include_visited: bool = False, unbooked: bool = False) -> "DayData":
        """Read the enumerators, their SLS, and their visits and busy blocks of the local ``day`` (in any
        zone); with ``unbooked``, also every SLS's families without an appointment."""
        ids = list(dict.fromkeys(enumerator_ids))
        enumerators = uow.enumerators.many(ids)
        areas = uow.enumerators.assigned_sls_of(ids)
        parents = uow.areas.many({a.parent_id for sls in areas.values() for a in sls if a.parent_id is not None})
        zones = {a[0].timezone for a in areas.values() if a} or {"UTC"}
        starts = [dt.datetime.combine(day, dt.time(0), ZoneInfo(z)) for z in zones]
        start, end = min(starts), max(starts) + dt.timedelta(days=1)
        data = cls(day, enumerators, areas,
                   uow.appointments.for_enumerators_between(ids, start, end, include_visited=include_visited),
                   uow.enumerators.busy_blocks(ids, start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)),
                   include_visited, parents)
        if unbooked:
            data.read_unbooked(uow, {a.id for sls in areas.values() for a in sls})
        return data

    def read_unbooked(self, uow: UnitOfWork, sls_ids: set[int]) -> None:
        missing = sls_ids - self.unbooked.keys()
        if missing:
            self.unbooked.update(uow.reminders.unbooked_by_sls(sorted(missing), UNBOOKED_POOL))

    def closed_on(self, uow: UnitOfWork, sls_id: int) -> frozenset[dt.date]:
        """Whether the day is closed in this SLS (a holiday; cuti bersama unless the area opens them),
        read once per SLS for the whole batch."""
        found = self.closed.get(sls_id)
        if found is None:
            found = self.closed[sls_id] = frozenset(
                closed_dates(self.day, self.day, area_hours(uow, sls_id).cuti_bersama_closed))
        return found

    def pool(self, uow: UnitOfWork, sls_ids: list[int]) -> list[tuple[int, int, str, float | None, float | None, Any]]:
        """The first UNBOOKED_POOL families without an appointment of these SLS, by name (the database's
        order: each row carries its rank in it)."""
        self.read_unbooked(uow, set(sls_ids))
        rows = heapq.merge(*(self.unbooked[i] for i in sls_ids))
        return list(itertools.islice(rows, UNBOOKED_POOL))


@dataclass(frozen=True)
class _Day:
    enumerator: Any
    tz: ZoneInfo
    booked: list[Booked]
    gaps: list[tuple[dt.datetime, dt.datetime]]
    candidates: list[Candidate]  # keys: family ids until the families are read


def plan_days(uow: UnitOfWork, data: DayData, enumerator_ids: Sequence[int], day: dt.date,
              now: dt.datetime | None) -> dict[int, DayPlan]:
    """The day's route of each enumerator (with an SLS), from ``data``: the families suggested are read
    in one go for all of them."""
    days: dict[int, _Day] = {}
    for enumerator_id in enumerator_ids:
        enumerator, areas = data.enumerators.get(enumerator_id), data.areas.get(enumerator_id) or []
        if enumerator is None or not areas:
            continue
        tz = ZoneInfo(areas[0].timezone)
        start = dt.datetime.combine(day, dt.time(0), tz)
        end = start + dt.timedelta(days=1)
        booked = [Booked(RouteVisit(family, appointment), appointment.start_at, appointment.end_at, _point(family))
                  for appointment, family in data.visits.get(enumerator_id, [])
                  if start <= appointment.start_at < end]
        gaps = _free_ranges(uow, data, enumerator, day, tz, now or start.astimezone(dt.timezone.utc))
        pool = data.pool(uow, [a.id for a in areas]) if gaps else []
        # A family that said when it is home is suggested only then (domain/route.py rule 4).
        candidates = preselect(booked, [Candidate(family_id, _point_of(lat, lon), _home_ranges(home, day, tz))
                                        for _, family_id, _, lat, lon, home in pool], free=gaps)
        days[enumerator_id] = _Day(enumerator, tz, booked, gaps, candidates)
    families = uow.families.many({c.key for d in days.values() for c in d.candidates})
    plans = {}
    for enumerator_id, d in days.items():
        candidates = [Candidate(RouteVisit(families[c.key]), c.point, c.home) for c in d.candidates]
        route = plan_day(d.booked, candidates, d.gaps, dt.timedelta(minutes=d.enumerator.visit_minutes))
        plans[enumerator_id] = DayPlan(d.tz, route, d.gaps, len(d.booked))
    return plans


def _home_ranges(codes: Any, day: dt.date, tz: ZoneInfo) -> tuple[tuple[dt.datetime, dt.datetime], ...] | None:
    ranges = home_times.ranges_on(codes, day, tz)
    return tuple(ranges) if ranges is not None else None


def _point_of(latitude: float | None, longitude: float | None) -> Point | None:
    return (latitude, longitude) if latitude is not None and longitude is not None else None


def route_body(uow: UnitOfWork, plan: DayPlan, t: Translator, labels: Mapping[int, str] | None = None) -> str:
    """The day's stops, numbered as on the route picture; ``labels`` (by family id) end a stop's first
    line (a completed record's delivery). Suggestions are dropped first when a long day does not fit
    Telegram's 4096 characters."""
    route = plan.route
    stops = [_stop_text(uow, number, stop, plan.tz, t, labels or {}) for number, stop in enumerate(route.stops, 1)]
    while len("\n\n".join(stops)) > MAX_BODY and any(not s.booked for s in route.stops):
        last = max(i for i, s in enumerate(route.stops) if not s.booked)
        route = Route(route.stops[:last] + route.stops[last + 1:], route.km)
        stops = [_stop_text(uow, number, stop, plan.tz, t, labels or {})
                 for number, stop in enumerate(route.stops, 1)]
    body = "\n\n".join(stops) if stops else t("schedule-empty")
    if route.suggested:
        body = t("daily-suggested-note") + "\n\n" + body
    elif plan.gaps:
        body += "\n\n" + t("daily-gaps", times=", ".join(
            f"{clock_time(a, plan.tz, t.language)}–{clock_time(b, plan.tz, t.language)}" for a, b in plan.gaps))
    return body


def schedule(uow: UnitOfWork, enumerator_id: int, day: dt.date, t: Translator, now: dt.datetime | None,
             plan: DayPlan | None = None) -> str | None:
    """The 06.00 message: the day's route (see :func:`plan_for_day`; ``plan``: planned already)."""
    plan = plan or plan_for_day(uow, enumerator_id, day, now)
    if plan is None:
        return None
    return t.raw("notify-daily-schedule", day=day_label(day, t.language), zone=zone_name(plan.tz),
                 count=plan.booked, stops=route_body(uow, plan, t))


def _stop_text(uow: UnitOfWork, number: int, stop: Stop, tz: ZoneInfo, t: Translator,
               labels: Mapping[int, str]) -> str:
    visit: RouteVisit = stop.key
    family = visit.family
    area = uow.areas.get(family.sls_id)
    village = uow.areas.get(area.parent_id) if area.parent_id is not None else None
    key = "daily-stop-visited" if visit.visited else "daily-stop" if stop.booked else "daily-suggested-stop"
    first = t(key, number=number, time=clock_time(stop.start, tz, t.language), name=family.head_name, rt=area.name)
    lines = [f"{first} · {labels[family.id]}" if labels.get(family.id) else first]
    if family.address:
        lines.append(t("daily-stop-address", address=family.address))
    if home_times.clean(family.home_times):
        lines.append(t("daily-stop-home", times=home_times_label(family.home_times, t)))
    if stop.km_from_previous is not None:
        km = format_decimal(round(stop.km_from_previous, 1), format="#,##0.0", locale=t.language)
        lines.append(t("daily-stop-distance", km=km))
    url = map_url(family, area.name, village.name if village else None)
    if url is not None:
        lines.append(t("daily-stop-map", url=url))
    return "\n".join(lines)


def _free_ranges(uow: UnitOfWork, data: DayData, enumerator: Any, day: dt.date, tz: ZoneInfo, now: dt.datetime,
                 ) -> list[tuple[dt.datetime, dt.datetime]]:
    """The enumerator's free times that day (from now on), merged into ranges."""
    start = dt.datetime.combine(day, dt.time(0), tz).astimezone(dt.timezone.utc)
    end = start + dt.timedelta(days=1)
    busy = {b for b in data.busy.get(enumerator.id, ()) if start <= b < end}
    calendar = EnumeratorCalendar(enumerator.id, WorkWeek.from_json(enumerator.work_week), enumerator.visit_minutes,
                                  frozenset(busy))
    closed = data.closed_on(uow, data.areas[enumerator.id][0].id)  # their kelurahan's rules hold for all their SLS
    slots = free_slots([calendar], tz, now, SchedulePolicy(), closed, [day])
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    for slot in slots:
        if ranges and slot.start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], slot.end))
        else:
            ranges.append((slot.start, slot.end))
    return ranges


def rt_summary(uow: UnitOfWork, sls_id: int, day: dt.date, t: Translator) -> str | None:
    area = uow.areas.get(sls_id)
    if area is None:
        return None
    tz = ZoneInfo(area.timezone)
    start = dt.datetime.combine(day, dt.time(0), tz)
    visits = uow.reminders.visits_in_sls(sls_id, start, start + dt.timedelta(days=1))
    lines = []
    for appointment, family in visits:
        officer = uow.enumerators.get(appointment.enumerator_id)
        line = t("rt-summary-line", time=clock_time(appointment.start_at, tz, t.language), name=family.head_name,
                 officer=officer.name)
        if appointment.confirmed_at is not None:
            line += " " + t("rt-summary-confirmed")
        lines.append(line)
    body = "\n".join(lines) if lines else t("schedule-empty")
    return t.raw("notify-rt-summary", rt=html.escape(area.name, quote=False), day=day_label(day, t.language),
                 zone=zone_name(tz), count=len(lines), visits=body)
