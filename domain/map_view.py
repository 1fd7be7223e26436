"""The dashboard's map (issue 16): SLS outlines coloured by share done, kelurahan centres, family points.

What the map shows is decided here, on plain data and a unit of work; web/map_routes.py only serves it.

- **SLS outlines** of the viewer's area, simplified with shapely for the zoom asked (one screen pixel:
  :func:`tolerance_for_zoom`), each with its families counted by status (aggregate SQL, one ``GROUP BY``
  over the SLS of the area) and coloured by the share done (:func:`share_colour`, the same "done" as
  progress: domain/progress.py). Simplifying a city's 2,000 polygons costs more than counting its
  259,000 families, so the simplified shapes are kept per (area, tolerance) in a :class:`ShapeCache` for
  ``SHAPE_TTL`` (a boundary import shows on the map within that time; counts are always fresh).
- **Kelurahan centres** (``areas.centre_latitude/_longitude``) with their totals.
- **Family points** only for one kelurahan or SLS (never a whole city: the map asks once zoomed to a
  kelurahan): position (the house's, else its newest record's geotag), status and whether the geofence
  flagged its geotag. Positions are personal data (UU 27/2022), so only a role that may see the
  families (``access.FAMILY_VIEW``) gets them, and the view goes to the audit log with the count; any
  other role gets the aggregate counts only. Names and details come one family at a time, on click
  (:func:`family_detail`, audited too).
"""
from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from domain import access, audit
from domain.errors import NotAllowed
from domain.model import Area, User
from domain.ports import UnitOfWork
from domain.progress import DONE, Tally

# Share done → fill colour: a sequential, colour-blind-safe scale (ColorBrewer YlGn), darker = more done.
SHARE_STEPS: tuple[tuple[float, str], ...] = (
    (0.2, "#ffffcc"), (0.4, "#c2e699"), (0.6, "#78c679"), (0.8, "#31a354"), (1.01, "#006837"))
NO_FAMILIES_COLOUR = "#bdbdbd"
# Family status → point colour (ColorBrewer Set1/Dark2 hues, told apart by their legend).
STATUS_COLOURS: dict[str, str] = {
    "not_contacted": "#9e9e9e", "booked": "#1f78b4", "visited": "#a6cee3", "completed": "#33a02c",
    "not_home": "#ff7f00", "refused": "#e31a1c", "moved": "#6a3d9a", "not_found": "#b15928"}
FLAG_COLOUR = "#e31a1c"
POINT_LEVELS = ("village", "sls")  # the areas whose family points may be asked for at once
MAX_ZOOM, MIN_ZOOM = 18, 3
EXACT_ZOOM = 17  # from here on outlines are sent as imported (a pixel is ~1 m)
SHAPE_TTL = dt.timedelta(minutes=5)
LARGE_AREA_MAX_ZOOM = 14  # the finest outlines sent for an area above a kelurahan


def share_colour(families: int, done: int) -> str:
    """The fill of an SLS with ``done`` of ``families`` done (grey without families)."""
    if families <= 0:
        return NO_FAMILIES_COLOUR
    share = done / families
    return next(colour for limit, colour in SHARE_STEPS if share < limit)


def legend() -> list[dict[str, Any]]:
    """The share buckets as the legend lists them: [{"from": 0, "to": 20, "colour": ...}, ...] (percent)."""
    found, low = [], 0
    for limit, colour in SHARE_STEPS:
        high = min(100, round(limit * 100))
        found.append({"from": low, "to": high, "colour": colour})
        low = high
    return found


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["not_contacted"])


def clamp_zoom(zoom: Any) -> int:
    try:
        value = int(float(zoom))
    except (TypeError, ValueError):
        raise ValueError("zoom must be a number") from None
    return max(MIN_ZOOM, min(MAX_ZOOM, value))


def tolerance_for_zoom(zoom: int) -> float:
    """Degrees one screen pixel spans at ``zoom`` (Web Mercator tiles of 256 px; Indonesia straddles the
    equator, where that is largest), 0 from :data:`EXACT_ZOOM` on: nothing visible is lost."""
    if zoom >= EXACT_ZOOM:
        return 0.0
    return 360.0 / (256 * 2 ** zoom)


def fit_zoom(bbox: tuple[float, float, float, float] | None, pixels: int = 800) -> int:
    """The zoom at which ``bbox`` (west, south, east, north) fits ``pixels`` across: the first view's."""
    if bbox is None:
        return 12
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1], 1e-6)
    return max(MIN_ZOOM, min(EXACT_ZOOM - 1, int(math.log2(pixels * 360.0 / (256 * span)))))


def _digits(tolerance: float) -> int:
    """Decimals worth sending at ``tolerance`` (6 ≈ 0.1 m)."""
    if tolerance <= 0:
        return 6
    return max(4, min(6, math.ceil(-math.log10(tolerance)) + 1))


def _rounded(value: Any, digits: int) -> Any:
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], float):
            return [round(v, digits) for v in value]
        return [_rounded(v, digits) for v in value]
    return value


def simplify(geometry: dict[str, Any], tolerance: float) -> dict[str, Any] | None:
    """A GeoJSON (multi)polygon simplified within ``tolerance`` degrees (topology kept: no ring crosses
    itself or vanishes), coordinates rounded to what the tolerance can show; None when it is unreadable."""
    from shapely.geometry import shape

    try:
        shaped = shape(geometry)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        return None
    return _geojson(shaped, tolerance)


def _geojson(shaped: Any, tolerance: float, digits: int | None = None) -> dict[str, Any] | None:
    from shapely.geometry import mapping

    if tolerance > 0:
        shaped = shaped.simplify(tolerance, preserve_topology=True)
    if shaped.is_empty:
        return None
    found = mapping(shaped)
    return {"type": found["type"], "coordinates": _rounded(found["coordinates"],
                                                           _digits(tolerance) if digits is None else digits)}


@dataclass(frozen=True)
class Shape:
    sls_id: int
    code: str
    name: str
    village_id: int | None
    geometry: dict[str, Any]


@dataclass(frozen=True)
class Shapes:
    items: tuple[Shape, ...]
    sls_ids: tuple[int, ...]  # every SLS of the area, with or without a boundary
    bbox: tuple[float, float, float, float] | None  # west, south, east, north of the outlines
    zoom: int  # the zoom they were simplified for
    village_of: tuple[tuple[int, int | None], ...] = ()  # (SLS id, its kelurahan's id) for every SLS


class ShapeCache:
    """Simplified outlines per (area, zoom) for ``ttl``, at most ``size`` entries (least recently used
    dropped first); safe to share between the threads that serve requests. The zoom ``None`` stands for
    "the zoom that fits the area" (the first view's)."""

    def __init__(self, ttl: dt.timedelta = SHAPE_TTL, size: int = 256) -> None:
        self.ttl, self.size = ttl, size
        self._items: OrderedDict[tuple[int, int | None], tuple[dt.datetime, Shapes]] = OrderedDict()
        self._lock = threading.Lock()
        self.misses = 0

    def get(self, key: tuple[int, int | None], now: dt.datetime) -> Shapes | None:
        with self._lock:
            found = self._items.get(key)
            if found is None or now - found[0] > self.ttl:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: tuple[int, int | None], now: dt.datetime, shapes: Shapes) -> None:
        with self._lock:
            self._items[key] = (now, shapes)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _bounds(geometries: list[Any]) -> tuple[float, float, float, float] | None:
    if not geometries:
        return None
    import shapely

    west, south, east, north = shapely.total_bounds(geometries)
    return (float(west), float(south), float(east), float(north))


def area_shapes(uow: UnitOfWork, area: Area, zoom: int | None, cache: ShapeCache, now: dt.datetime) -> Shapes:
    """The SLS outlines of ``area`` simplified for ``zoom`` (None: the zoom that fits the area), from the
    cache when fresh. The boundaries are read and parsed once, simplified once."""
    found = cache.get((area.id, zoom), now)
    if found is not None:
        return found
    cache.misses += 1
    import shapely

    rows = uow.maps.sls_outlines(area.id)
    ids = [row[0] for row in rows]
    drawn = [row for row in rows if row[4]]
    # Parsed and simplified in C, all at once (a city: 2,000 outlines, 240,000 vertices); only the
    # simplified result is turned into Python lists.
    parsed = shapely.from_geojson([row[4] for row in drawn], on_invalid="ignore") if drawn else []
    polygonal = [i for i, is_polygon in enumerate(shapely.get_type_id(parsed) if drawn else []) if is_polygon in (3, 6)]
    kept_rows = [drawn[i] for i in polygonal]
    geometries = [parsed[i] for i in polygonal]
    bbox = _bounds(geometries)
    chosen = fit_zoom(bbox) if zoom is None else zoom
    tolerance = tolerance_for_zoom(chosen)
    items = []
    if geometries:
        if tolerance > 0:
            geometries = shapely.simplify(geometries, tolerance, preserve_topology=True)
        # Snapped to what the zoom can show (fewer digits to send), written as GeoJSON by GEOS.
        snapped = shapely.set_precision(geometries, 10.0 ** -_digits(tolerance))
        empty = shapely.is_empty(snapped) | shapely.is_missing(snapped)
        for (sls_id, code, name, parent_id, _), gone, text in zip(kept_rows, empty, shapely.to_geojson(snapped)):
            if not gone:  # an outline smaller than the grid vanishes at this zoom
                items.append(Shape(sls_id, code, name, parent_id, json.loads(text)))
    shapes = Shapes(tuple(sorted(items, key=lambda s: s.code)), tuple(ids), bbox, chosen,
                    tuple((row[0], row[3]) for row in rows))
    cache.put((area.id, zoom), now, shapes)
    if zoom is None:
        cache.put((area.id, chosen), now, shapes)
    return shapes


def _counts(tally: Tally) -> dict[str, Any]:
    return {"families": tally.families, "booked": tally.booked, "visited": tally.visited,
            "completed": tally.completed, "done": tally.done, "share": round(tally.share_done, 4)}


def sls_layer(uow: UnitOfWork, area: Area, zoom: int | None, cache: ShapeCache, now: dt.datetime) -> dict[str, Any]:
    """The outlines of ``area``'s SLS as a GeoJSON FeatureCollection: each with its code, name, kelurahan,
    counts and fill colour; ``bbox`` and the ``zoom`` they were simplified for (the fitting zoom when
    none was asked). Counts only: no family is named."""
    if zoom is not None and area.level not in POINT_LEVELS:
        # Full detail is asked per kelurahan (the map does); a whole city at full detail would be ~10 MB
        # of JSON and as much cache.
        zoom = min(zoom, LARGE_AREA_MAX_ZOOM)
    shapes = area_shapes(uow, area, zoom, cache, now)
    counts = uow.supervision.status_by_sls(list(shapes.sls_ids))
    villages = uow.maps.areas_by_id([s.village_id for s in shapes.items if s.village_id is not None])
    features = []
    for item in shapes.items:
        tally = Tally(counts.get(item.sls_id, {}))
        village = villages.get(item.village_id) if item.village_id is not None else None
        features.append({"type": "Feature", "id": item.code, "geometry": item.geometry, "properties": {
            "code": item.code, "name": item.name, "village": village[0] if village else None,
            "village_name": village[1] if village else None, **_counts(tally),
            "colour": share_colour(tally.families, tally.done)}})
    total = Tally(_sum(counts.values()))
    return {"type": "FeatureCollection", "features": features, "bbox": list(shapes.bbox) if shapes.bbox else None,
            "zoom": shapes.zoom, "area": {"code": area.code, "name": area.name, "level": area.level, **_counts(total)},
            "without_boundary": len(shapes.sls_ids) - len(shapes.items),
            # the first view needs the centres too: counted from the same per-SLS counts, not again
            "villages": _centres(uow, area, counts, dict(shapes.village_of))}


def _sum(many: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in many:
        for status, n in counts.items():
            total[status] = total.get(status, 0) + n
    return total


def village_centres(uow: UnitOfWork, area: Area) -> list[dict[str, Any]]:
    """Each kelurahan of ``area`` with a centre: code, name, position and totals (counts only)."""
    village_of = uow.maps.sls_parents(area.id)
    return _centres(uow, area, uow.supervision.status_by_sls(list(village_of)), village_of)


def _centres(uow: UnitOfWork, area: Area, counts: dict[int, dict[str, int]],
             village_of: dict[int, int | None]) -> list[dict[str, Any]]:
    villages = [v for v in uow.maps.villages(area.id) if v[3] is not None and v[4] is not None]
    per_village: dict[int | None, dict[str, int]] = {}
    for sls_id, by_status in counts.items():
        village_id = village_of.get(sls_id)
        per_village[village_id] = _sum([per_village.get(village_id, {}), by_status])
    found = []
    for village_id, code, name, latitude, longitude in sorted(villages, key=lambda v: v[1]):
        tally = Tally(per_village.get(village_id, {}))
        found.append({"code": code, "name": name, "lat": latitude, "lon": longitude, **_counts(tally),
                      "colour": share_colour(tally.families, tally.done)})
    return found


def may_see_families(uow: UnitOfWork, user: User, area: Area) -> bool:
    return access.can(uow, user, access.FAMILY_VIEW, area)


def family_points(uow: UnitOfWork, user: User, area: Area, now: dt.datetime) -> dict[str, Any]:
    """The families of one kelurahan or SLS as points (id, position, status, flagged), or, for a role
    that may not see families, their counts by status only. ValueError for a larger area. Audited."""
    if area.level not in POINT_LEVELS:
        raise ValueError("family points are shown for one kelurahan or SLS at a time")
    sls_ids = [area.id] if area.level == "sls" else uow.supervision.sls_of(area.id)
    if not may_see_families(uow, user, area):
        return {"area": area.code, "points": [], "counts": _sum(uow.supervision.status_by_sls(sls_ids).values())}
    geotags = uow.maps.geotags(sls_ids)
    points = []
    for family_id, _sls_id, status, latitude, longitude in uow.maps.family_points(sls_ids):
        tag = geotags.get(family_id)
        if latitude is None or longitude is None:
            if tag is None:
                continue
            latitude, longitude = tag[0], tag[1]
        flagged = tag is not None and tag[2] is not None and not tag[3]
        points.append({"id": family_id, "lat": round(latitude, 6), "lon": round(longitude, 6), "status": status,
                       "colour": status_colour(status), "flagged": flagged})
    if points:  # positions of houses seen: one entry for the lot, with how many
        audit.record(uow, user, audit.VIEW_FAMILY, now, area_id=area.id, count=len(points))
    return {"area": area.code, "points": points, "counts": None}


def family_detail(uow: UnitOfWork, user: User, family_id: int, now: dt.datetime) -> dict[str, Any]:
    """One family's name and details for the map's popup; NotAllowed outside the user's scope or role
    (an unknown id too, so ids cannot be probed). Audited."""
    family = uow.families.get(family_id)
    if family is None or not access.can(uow, user, access.FAMILY_VIEW, family):
        raise NotAllowed("family")
    sls = uow.areas.get(family.sls_id)
    geotag = uow.maps.geotags([family.sls_id]).get(family.id)
    appointment = uow.appointments.active_for_family(family.id)
    audit.record(uow, user, audit.VIEW_FAMILY, now, family_id=family.id, area_id=family.sls_id)
    return {"id": family.id, "name": family.head_name, "members": family.members, "address": family.address,
            "status": family.status, "colour": status_colour(family.status),
            "sls": {"code": sls.code, "name": sls.name} if sls else None,
            "visit": appointment.start_at.isoformat() if appointment is not None else None,
            "flag": geotag[2] if geotag is not None and not geotag[3] else None,
            "done": family.status in DONE}
