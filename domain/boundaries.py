"""SLS boundaries from GeoJSON, all or nothing, for field capture's geofence (domain/geotag.py).

``pintu areas boundaries FILE.geojson`` reads a FeatureCollection whose features are Polygons or
MultiPolygons (WGS84, positions as [longitude, latitude], holes allowed) with a property naming the
SLS: ``kode_sls``, ``idsls`` (BPS's 16-digit id, whose last two digits are the sub-SLS) or another
given with ``--property``. Every feature is checked before anything is written: a geometry that is
not a valid (multi)polygon, a position out of range or apparently swapped, an SLS that does not
exist, the same SLS twice. Problems are reported by feature index (0-based, as in the file) and
nothing is imported; otherwise each SLS gets its polygon in ``areas.boundary``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from domain.ports import UnitOfWork

CODE_PROPERTIES = ("kode_sls", "idsls", "kdsls", "sls_code", "code", "kode")
WGS84_NAMES = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
               "urn:ogc:def:crs:EPSG::4326"}


class BoundaryFileError(ValueError):
    """The file as a whole cannot be read as GeoJSON features (nothing imported)."""


@dataclass(frozen=True)
class BoundaryProblem:
    index: int  # the feature's position in the file, from 0
    problem: str  # an operator-facing sentence (English, like the rest of the CLI)


@dataclass
class BoundaryImport:
    imported: list[str] = field(default_factory=list)  # SLS codes given a boundary
    problems: list[BoundaryProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def read_geojson(content: bytes) -> dict[str, Any]:
    """The parsed document; BoundaryFileError when it is not JSON, not GeoJSON features, or not WGS84."""
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BoundaryFileError(f"not a JSON file: {error}") from None
    if not isinstance(document, dict) or document.get("type") not in ("FeatureCollection", "Feature"):
        raise BoundaryFileError("not a GeoJSON FeatureCollection or Feature")
    crs = document.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", ""))
        if name and name not in WGS84_NAMES:
            raise BoundaryFileError(f"coordinates are in {name}; export the file in WGS84 (EPSG:4326)")
    return document


def import_boundaries(uow: UnitOfWork, document: dict[str, Any], code_property: str | None = None) -> BoundaryImport:
    """Check every feature, then (only if all are right) store each SLS's polygon; flushes, never commits."""
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    features = document.get("features") if document.get("type") == "FeatureCollection" else [document]
    if not isinstance(features, list) or not features:
        raise BoundaryFileError("the file has no features")
    result = BoundaryImport()
    wanted: dict[int, tuple[str, dict[str, Any]]] = {}
    for index, feature in enumerate(features):
        problem, code, geometry = _read_feature(feature, code_property)
        if problem is None:
            try:
                polygon = shape(geometry)
            except (ValueError, TypeError, AttributeError, IndexError) as error:
                problem = f"unreadable geometry ({error})"
            else:
                if polygon.is_empty or not polygon.is_valid:
                    problem = f"invalid polygon: {explain_validity(polygon)}"
        if problem is not None:
            result.problems.append(BoundaryProblem(index, problem))
        else:
            wanted[index] = (code, geometry)
    areas = uow.capture.all_sls()
    by_key: dict[str, Any] = {}
    for area in areas:
        by_key.setdefault(_digits(area.code), area)
    seen: dict[int, int] = {}
    matched: list[tuple[Any, dict[str, Any]]] = []
    for index, (code, geometry) in wanted.items():
        area = _find_sls(by_key, code)
        if area is None:
            result.problems.append(BoundaryProblem(index, f"no SLS with code {code!r}"))
        elif area.id in seen:
            result.problems.append(BoundaryProblem(index, f"SLS {area.code} already has a boundary in feature {seen[area.id]}"))
        else:
            seen[area.id] = index
            matched.append((area, geometry))
    result.problems.sort(key=lambda p: p.index)
    if result.problems:
        return result
    for area, geometry in matched:
        area.boundary = geometry
        result.imported.append(area.code)
    uow.flush()
    return result


def _read_feature(feature: Any, code_property: str | None) -> tuple[str | None, str, dict[str, Any]]:
    """(problem or None, SLS code, geometry) of one feature."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return "not a GeoJSON Feature", "", {}
    properties = feature.get("properties") or {}
    names = (code_property,) if code_property else CODE_PROPERTIES
    name = next((n for n in names if isinstance(properties, dict) and properties.get(n) not in (None, "")), None)
    if name is None:
        return f"no SLS code (property {' or '.join(names)})", "", {}
    code = str(properties[name]).strip()
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        return f"geometry must be a Polygon or MultiPolygon, not {kind}", code, {}
    polygons = geometry.get("coordinates")
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    problem = _check_polygons(polygons)
    return problem, code, {"type": geometry["type"], "coordinates": geometry.get("coordinates")}


def _check_polygons(polygons: Any) -> str | None:
    if not isinstance(polygons, list) or not polygons:
        return "no coordinates"
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            return "a polygon without rings"
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                return "a ring needs at least 4 positions"
            for position in ring:
                if (not isinstance(position, list) or len(position) < 2
                        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in position[:2])):
                    return "a position is not [longitude, latitude]"
                lon, lat = position[0], position[1]
                if -11.5 <= lon <= 6.5 and 94 <= lat <= 142:  # Indonesia with the axes swapped
                    return f"position {position[:2]} looks like [latitude, longitude]; GeoJSON wants [longitude, latitude]"
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    return f"position {position[:2]} is out of range"
            if ring[0][:2] != ring[-1][:2]:
                return "a ring is not closed (its first and last positions differ)"
    return None


def _digits(code: str) -> str:
    return re.sub(r"\D", "", code)


def _find_sls(by_key: dict[str, Any], code: str) -> Any:
    """The SLS named by ``code``: our code with or without dots, or BPS's idsls (sub-SLS "00" ignored)."""
    key = _digits(code)
    if not key:
        return None
    area = by_key.get(key)
    if area is None and len(key) == 16 and key.endswith("00"):
        area = by_key.get(key[:14])
    return area
