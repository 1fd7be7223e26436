"""Enumerators (/petugas): visits per working day, fewest first, and today's schedule of each.

The schedule names the families visited (head of family, RT), which is personal data: every family shown
is written to the audit log, as the chat's review list does.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal

from domain import access, audit
from domain.model import Area
from domain.ports import UnitOfWork
from domain.progress import EnumeratorProgress, enumerator_progress, local_today
from web.app import in_db, now, render
from web.auth import VIEWER, Viewer, login_required, require_area, viewer_user


@dataclass(frozen=True)
class Stop:
    time: str  # local, HH.MM
    family: str
    rt: str
    visited: bool


@dataclass(frozen=True)
class EnumeratorDay:
    progress: EnumeratorProgress
    stops: list[Stop]


def load(uow: UnitOfWork, viewer: Viewer, code: str, moment: dt.datetime) -> tuple[Area, dt.date, list[EnumeratorDay]]:
    area = require_area(uow, viewer, code, access.PROGRESS)
    user = viewer_user(uow, viewer)
    tz = ZoneInfo(area.timezone)
    today = local_today(area, moment)
    start = dt.datetime.combine(today, dt.time(0), tz).astimezone(dt.timezone.utc)
    end = start + dt.timedelta(days=1)
    rt_names: dict[int, str] = {}
    days = []
    for progress in enumerator_progress(uow, area, moment):
        stops = []
        for appointment, family in uow.appointments.for_enumerator_between(progress.enumerator_id, start, end,
                                                                           include_visited=True):
            if family.sls_id not in rt_names:
                sls = uow.areas.get(family.sls_id)
                rt_names[family.sls_id] = sls.name if sls is not None else "-"
            audit.record(uow, user, audit.VIEW_FAMILY, moment, family_id=family.id, area_id=family.sls_id)
            stops.append(Stop(appointment.start_at.astimezone(tz).strftime("%H.%M"), family.head_name,
                              rt_names[family.sls_id], appointment.status == "visited"))
        days.append(EnumeratorDay(progress, stops))
    uow.commit()  # the audit entries of the families shown
    return area, today, days


@login_required
async def page(request: web.Request) -> web.Response:
    viewer = request[VIEWER]
    code = request.query.get("area", "")[:32] or viewer.area_code
    if not code:
        raise web.HTTPSeeOther("/")  # an admin over several trees chooses one on the progress page first
    moment = now(request)
    area, today, days = await in_db(request, lambda uow: load(uow, viewer, code, moment))
    return render(request, "enumerators.html", area=area, today=format_date(today, "EEEE, d MMMM yyyy",
                                                                              locale=viewer.lang),
                  days=days, decimal=lambda v: format_decimal(round(v, 1), format="#,##0.0", locale=viewer.lang))


def register(app: web.Application) -> None:
    app.router.add_get("/petugas", page)
