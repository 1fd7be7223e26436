"""The map page (/peta) and its JSON endpoints (/api/peta/...): issue 16.

Every endpoint needs a signed-in viewer (web/auth.py: 401 without a session) and names the area it shows
with ``?area=CODE`` (default: the viewer's own area), refused with 403 outside the viewer's scope by
``require_area`` (the chat's rule, domain/access.py). What each returns is decided by domain/map_view.py:

| endpoint                        | returns                                                             |
| ------------------------------- | ------------------------------------------------------------------- |
| GET /api/peta/sls?area&zoom     | the area's SLS outlines (GeoJSON), simplified for the zoom, counts, |
|                                 | and its kelurahan centres with their totals (the whole first view)  |
| GET /api/peta/kelurahan?area    | kelurahan centres with their totals                                 |
| GET /api/peta/keluarga?area     | family points of one kelurahan/SLS (status, flagged), audited       |
| GET /api/peta/keluarga/{id}     | one family's name and details for the popup, audited                |
| GET /api/peta/rute?area         | today's route of each enumerator of one kelurahan/SLS, audited      |

The first view of a city needs only the first (counts per SLS, cached simplified outlines, centres); family
points and routes are asked for once the map is zoomed to a kelurahan.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from aiohttp import web
from markupsafe import Markup

from chat.i18n import Translator, catalog_keys
from domain import audit, map_view
from domain.errors import NotAllowed
from domain.ports import UnitOfWork
from domain.progress import local_today
from web.app import DEPS, in_db, now, render
from web.auth import Viewer, login_required, require_area, viewer, viewer_user

SHAPES = web.AppKey("map_shapes", map_view.ShapeCache)
TEXT_PREFIX = "web-map-"


def _json(data: Any, status: int = 200) -> web.Response:
    response = web.json_response(data, status=status, dumps=lambda d: json.dumps(d, separators=(",", ":")))
    response.enable_compression()  # a city's outlines: ~800 kB of JSON, ~5x smaller gzipped (when asked)
    return response


@functools.lru_cache(maxsize=None)
def page_texts(language: str) -> dict[str, str]:
    """Every ``web-map-*`` text of the catalog (placeholders unfilled), for map.js: it has no text of its own."""
    t = Translator(language)
    return {key[len(TEXT_PREFIX):]: t.template(key) for key in sorted(catalog_keys(language))
            if key.startswith(TEXT_PREFIX)}


def page_data(request: web.Request, who: Viewer, area_code: str) -> dict[str, Any]:
    settings = request.app[DEPS].settings
    return {"area": area_code, "texts": page_texts(who.lang), "legend": map_view.legend(),
            "no_families": map_view.NO_FAMILIES_COLOUR, "statuses": map_view.STATUS_COLOURS,
            "flag_colour": map_view.FLAG_COLOUR, "tiles": {"url": settings.tile_url,
                                                           "attribution": settings.tile_attribution},
            "points_zoom": POINTS_ZOOM}


POINTS_ZOOM = 14  # from this zoom on the map asks for the family points of the kelurahan in view


def _area_code(request: web.Request, who: Viewer) -> str:
    return request.query.get("area", "").strip()[:40] or who.area_code


@login_required
async def page(request: web.Request) -> web.Response:
    who = await viewer(request)
    code = _area_code(request, who)
    if not code:  # an admin over several trees (or none yet): choose one first, as on the progress page
        roots = await in_db(request, lambda uow: list(uow.supervision.root_areas()))
        return render(request, "choose_area.html", roots=roots, target="/peta", title_key="web-map-title")
    area = await in_db(request, lambda uow: require_area(uow, who, code))
    blob = json.dumps(page_data(request, who, area.code), ensure_ascii=False).replace("</", "<\\/")
    return render(request, "peta.html", area=area, map_data=Markup(blob))


async def _scoped(request: web.Request, work: Any) -> web.Response:
    """Run ``work(uow, user, area, moment)`` for the asked area within the viewer's scope, as JSON."""
    who = await viewer(request)
    code = _area_code(request, who)
    moment = now(request)

    def run(uow: UnitOfWork) -> Any:
        area = require_area(uow, who, code)
        found = work(uow, viewer_user(uow, who), area, moment)
        uow.commit()  # the audit entries of what was shown
        return found

    try:
        return _json(await in_db(request, run))
    except ValueError as error:
        return _json({"error": str(error)}, status=400)


async def sls(request: web.Request) -> web.Response:
    raw = request.query.get("zoom")
    try:
        zoom = map_view.clamp_zoom(raw) if raw not in (None, "") else None
    except ValueError as error:
        return _json({"error": str(error)}, status=400)
    cache = request.app[SHAPES]
    return await _scoped(request, lambda uow, user, area, moment: map_view.sls_layer(uow, area, zoom, cache, moment))


async def villages(request: web.Request) -> web.Response:
    return await _scoped(request, lambda uow, user, area, moment: map_view.village_centres(uow, area))


async def families(request: web.Request) -> web.Response:
    return await _scoped(request, map_view.family_points)


async def family(request: web.Request) -> web.Response:
    who = await viewer(request)
    try:
        family_id = int(request.match_info["family_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    moment = now(request)

    def run(uow: UnitOfWork) -> Any:
        found = map_view.family_detail(uow, viewer_user(uow, who), family_id, moment)
        uow.commit()
        return found

    try:
        return _json(await in_db(request, run))
    except NotAllowed:
        raise web.HTTPForbidden(text='{"error": "forbidden"}', content_type="application/json") from None


def today_routes(uow: UnitOfWork, user: Any, area: Any, moment: dt.datetime) -> list[dict[str, Any]]:
    """Each enumerator of one kelurahan or SLS with today's route (the chat's, handlers/daily_messages.py:
    booked visits, visits made, and suggestions in the free times) as numbered stops with positions."""
    from handlers.daily_messages import plan_for_day

    if area.level not in map_view.POINT_LEVELS:
        raise ValueError("routes are shown for one kelurahan or SLS at a time")
    if not map_view.may_see_families(uow, user, area):
        return []
    today = local_today(area, moment)
    found, located = [], 0
    for enumerator in uow.supervision.enumerators_of(area.id):
        plan = plan_for_day(uow, enumerator.id, today, moment, include_visited=True)
        if plan is None:
            continue
        stops = []
        for number, stop in enumerate(plan.route.stops, 1):
            family = stop.key.family
            if family.latitude is None or family.longitude is None:
                continue
            stops.append({"n": number, "lat": family.latitude, "lon": family.longitude, "family": family.id,
                          "time": stop.start.astimezone(plan.tz).strftime("%H.%M"), "booked": stop.booked,
                          "visited": stop.key.visited})
        located += len(stops)
        if stops:
            found.append({"enumerator": enumerator.name, "km": round(plan.route.km, 1), "stops": stops})
    if located:
        audit.record(uow, user, audit.VIEW_FAMILY, moment, area_id=area.id, count=located)
    return found


async def routes(request: web.Request) -> web.Response:
    return await _scoped(request, today_routes)


def register(app: web.Application) -> None:
    app[SHAPES] = map_view.ShapeCache()
    app.router.add_get("/peta", page)
    app.router.add_get("/api/peta/sls", sls)
    app.router.add_get("/api/peta/kelurahan", villages)
    app.router.add_get("/api/peta/keluarga", families)
    app.router.add_get("/api/peta/keluarga/{family_id}", family)
    app.router.add_get("/api/peta/rute", routes)

