"""Progress (/): the area tree as a sortable table that drills down and up, and the completions chart.

``/?area=CODE&sort=COLUMN&dir=asc|desc``: the table lists the areas one level below CODE (kecamatan →
kelurahan → SLS), each a link one level down; the breadcrumbs lead back up, but never above the
viewer's own area (``require_area`` refuses it, and the crumbs stop there). Sorting is a link per
column header, so it works without JavaScript and with a keyboard. Only counts are shown, no personal
data, so nothing goes to the audit log.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from aiohttp import web
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from chat.i18n import Translator
from domain import access
from domain import fkp
from domain.fkp import Counts
from domain.model import Area, FkpForum
from domain.ports import UnitOfWork
from domain.progress import AreaProgress, DailyCompletions, UnitProgress, area_progress, daily_completions
from web.app import in_db, now, render
from web.auth import VIEWER, Viewer, login_required, require_area, viewer_user
from web.chart import ChartTexts, completions_svg

COLUMN_KEYS = {"name": "web-col-name", "families": "web-col-families", "booked": "web-col-booked",
               "visited": "web-col-visited", "completed": "web-col-completed", "done": "web-col-done",
               "behind": "web-col-behind"}
COLUMNS = tuple(COLUMN_KEYS)
LEVEL_KEYS = {"province": "sv-level-province", "regency": "sv-level-regency", "district": "sv-level-district",
              "village": "sv-level-village", "sls": "sv-level-sls"}


@dataclass(frozen=True)
class ProgressView:
    area: Area | None  # None: an admin over several trees, choosing one
    progress: AreaProgress | None
    crumbs: list[Area]  # from the viewer's own area down to this one
    daily: DailyCompletions | None
    roots: list[Area]
    target: float | None = None  # completions per working day the window asks for
    forums: list[ForumRow] = field(default_factory=list)  # the public consultation under the area


@dataclass(frozen=True)
class ForumRow:
    """One forum of the public consultation (domain/fkp.py) as the progress page lists it: counts per
    welfare group only once its embargo has lifted, as everywhere else."""

    village: Area
    forum: FkpForum
    counts: Counts | None  # None: the preparation window has not opened yet


def sort_key(column: str):  # type: ignore[no-untyped-def]
    def key(unit: UnitProgress):  # type: ignore[no-untyped-def]
        tally = unit.tally
        return {"name": unit.area.name.lower(), "families": tally.families, "booked": tally.booked,
                "visited": tally.visited, "completed": tally.completed, "done": tally.share_done,
                "behind": (unit.behind, -(unit.expected or 0) + tally.share_done)}[column]
    return key


def crumbs_of(uow: UnitOfWork, viewer: Viewer, area: Area) -> list[Area]:
    """The area and the areas above it the viewer may see, top first (stops at their own area)."""
    user = viewer_user(uow, viewer)
    found = [area]
    while found[0].parent_id is not None:
        parent = uow.areas.get(found[0].parent_id)
        if parent is None or not access.can(uow, user, access.PROGRESS, parent):
            break
        found.insert(0, parent)
    return found


def load_table(uow: UnitOfWork, viewer: Viewer, code: str, moment) -> ProgressView:  # type: ignore[no-untyped-def]
    if not code:  # an admin over several trees (or none yet)
        return ProgressView(None, None, [], None, list(uow.supervision.root_areas()))
    area = require_area(uow, viewer, code)
    return ProgressView(area, area_progress(uow, area, moment), crumbs_of(uow, viewer, area), None, [],
                        forums=forum_rows(uow, area, moment))


def forum_rows(uow: UnitOfWork, area: Area, moment) -> list[ForumRow]:  # type: ignore[no-untyped-def]
    """The forums of the kelurahan at or below ``area``, with counts before/after once the embargo is over."""
    rows = []
    for forum in uow.fkp.forums_under(area.code):
        counts = fkp.tally(uow, forum).total if fkp.embargo_lifted(forum, moment) else None
        rows.append(ForumRow(fkp.village_of(uow, forum), forum, counts))
    return rows


def load_chart(uow: UnitOfWork, viewer: Viewer, code: str, moment) -> DailyCompletions | None:  # type: ignore[no-untyped-def]
    if not code:
        return None
    return daily_completions(uow, require_area(uow, viewer, code), moment)


async def load(request: web.Request, viewer: Viewer, code: str, moment) -> ProgressView:  # type: ignore[no-untyped-def]
    """The table and the chart, each in its own unit of work at the same time: at city scale both are
    scans of the families' index, and the page waits for the slower one instead of for both."""
    code = code or viewer.area_code
    view, daily = await asyncio.gather(in_db(request, lambda uow: load_table(uow, viewer, code, moment)),
                                       in_db(request, lambda uow: load_chart(uow, viewer, code, moment)))
    if daily is None or view.progress is None:
        return view
    return replace(view, daily=daily, target=daily.target_per_day(view.progress.total.tally.families))


@login_required
async def page(request: web.Request) -> web.Response:
    viewer = request[VIEWER]  # set by login_required
    code = request.query.get("area", "")[:32]
    column = request.query.get("sort", "")
    column = column if column in COLUMNS else ""  # none: the tree's own order (by area code)
    descending = request.query.get("dir", "asc" if column == "name" else "desc") == "desc"
    moment = now(request)
    view = await load(request, viewer, code, moment)
    t = Translator(viewer.lang)
    units = list(view.progress.units) if view.progress else []
    if column:
        units.sort(key=sort_key(column), reverse=descending)
    chart = None
    if view.daily is not None and view.area is not None:
        texts = ChartTexts(t("web-chart-title", name=view.area.name),
                           t("web-chart-target", count=_decimal(view.target or 0, viewer.lang)),
                           t("web-chart-bar"))
        chart = completions_svg(view.daily.days, view.target, texts,
                                day_label=lambda d: format_date(d, "d MMM", locale=viewer.lang))
    return render(request, "progress.html", view=view, units=units, sort=column, descending=descending,
                  columns=COLUMNS, column_keys=COLUMN_KEYS, chart=chart, level_key=LEVEL_KEYS,
                  percent=lambda share: format_percent(share, locale=viewer.lang),
                  day=lambda d: format_date(d, "d MMM yyyy", locale=viewer.lang),
                  decimal=lambda v: _decimal(v, viewer.lang), groups=(1, 2, 3, 4),
                  when=lambda instant, zone: _when(instant, zone, viewer.lang))


def _when(instant, zone: str, language: str) -> str:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    from chat.render import clock_time, day_label, zone_name

    tz = ZoneInfo(zone)
    return f"{day_label(instant.astimezone(tz).date(), language)} {clock_time(instant, tz, language)} {zone_name(tz)}"


def _decimal(value: float, language: str) -> str:
    return format_decimal(round(value, 1), format="#,##0.#", locale=language)


def register(app: web.Application) -> None:
    app.router.add_get("/", page)
