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
import html
from collections.abc import Mapping
from dataclasses import dataclass
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


def render(uow: UnitOfWork, key: str, payload: dict[str, Any], t: Translator, now: dt.datetime | None) -> str | None:
    try:
        day = dt.date.fromisoformat(str(payload.get("day")))
    except ValueError:
        return None
    if key == "notify-daily-schedule" and isinstance(payload.get("enumerator_id"), int):
        return schedule(uow, payload["enumerator_id"], day, t, now)
    if key == "notify-rt-summary" and isinstance(payload.get("sls_id"), int):
        return rt_summary(uow, payload["sls_id"], day, t)
    return None


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
    enumerator = uow.enumerators.get(enumerator_id)
    areas = list(uow.enumerators.assigned_sls(enumerator_id)) if enumerator is not None else []
    if not areas:
        return None
    tz = ZoneInfo(areas[0].timezone)
    start = dt.datetime.combine(day, dt.time(0), tz)
    visits = uow.appointments.for_enumerator_between(enumerator_id, start, start + dt.timedelta(days=1),
                                                     include_visited=include_visited)
    booked = [Booked(RouteVisit(family, appointment), appointment.start_at, appointment.end_at, _point(family))
              for appointment, family in visits]
    gaps = _free_ranges(uow, enumerator, day, tz, now or start.astimezone(dt.timezone.utc))
    unbooked = uow.reminders.unbooked_families([a.id for a in areas], UNBOOKED_POOL) if gaps else []
    # A family that said when it is home is suggested only then (domain/route.py rule 4).
    candidates = preselect(booked, [Candidate(RouteVisit(f), _point(f), _home_ranges(f, day, tz)) for f in unbooked],
                           free=gaps)
    route = plan_day(booked, candidates, gaps, dt.timedelta(minutes=enumerator.visit_minutes))
    return DayPlan(tz, route, gaps, len(booked))


def _home_ranges(family: Family, day: dt.date, tz: ZoneInfo) -> tuple[tuple[dt.datetime, dt.datetime], ...] | None:
    ranges = home_times.ranges_on(family.home_times, day, tz)
    return tuple(ranges) if ranges is not None else None


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


def schedule(uow: UnitOfWork, enumerator_id: int, day: dt.date, t: Translator, now: dt.datetime | None) -> str | None:
    """The 06.00 message: the day's route (see :func:`plan_for_day`)."""
    plan = plan_for_day(uow, enumerator_id, day, now)
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


def _free_ranges(uow: UnitOfWork, enumerator: Any, day: dt.date, tz: ZoneInfo, now: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The enumerator's free times that day (from now on), merged into ranges."""
    start = dt.datetime.combine(day, dt.time(0), tz).astimezone(dt.timezone.utc)
    busy = uow.enumerators.busy_blocks([enumerator.id], start, start + dt.timedelta(days=1))[enumerator.id]
    calendar = EnumeratorCalendar(enumerator.id, WorkWeek.from_json(enumerator.work_week), enumerator.visit_minutes,
                                  frozenset(busy))
    closed = closed_dates(day, day, area_hours(uow, _first_sls_id(uow, enumerator.id)).cuti_bersama_closed)
    slots = free_slots([calendar], tz, now, SchedulePolicy(), closed, [day])
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    for slot in slots:
        if ranges and slot.start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], slot.end))
        else:
            ranges.append((slot.start, slot.end))
    return ranges


def _first_sls_id(uow: UnitOfWork, enumerator_id: int) -> int:
    """The enumerator's first SLS (their kelurahan's rules apply to all of them)."""
    return uow.enumerators.assigned_sls(enumerator_id)[0].id


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
