"""A picture of the enumerator's day: the SLS outlines, the route between the houses, the stops
numbered as in the schedule's text. Drawn here with Pillow from the boundaries Pintu already holds.

Why not map tiles: a tile service needs a key, a network path from the server and an attribution, and
gives a cheap phone a 300 KB picture of streets the officer knows better than the map does. What
the officer lacks is the order and the shape of the day; each stop's "open in maps" link is there
for the way to one house.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from shapely.geometry import MultiPolygon, Polygon, shape

SIZE = 720  # pixels on the longer side: sharp on a phone, ~30 KB as PNG
MARGIN = 48
BACKGROUND = (250, 250, 247)
OUTLINE = (120, 130, 140)
FILL = (232, 238, 232)
ROUTE = (38, 96, 178)
VISITED = (46, 139, 87)
SUGGESTED = (230, 160, 20)


@dataclass(frozen=True)
class PictureStop:
    number: int
    latitude: float
    longitude: float
    kind: str  # "booked", "visited" or "suggested"


@dataclass(frozen=True)
class Outline:
    name: str
    geometry: dict[str, Any]  # GeoJSON Polygon or MultiPolygon, WGS84


def draw_route(stops: Sequence[PictureStop], outlines: Sequence[Outline]) -> bytes | None:
    """The PNG of the day, or None when no stop has a position (there is nothing to draw)."""
    if not stops:
        return None
    shapes = [(o.name, shape(o.geometry)) for o in outlines]
    frame = _Frame.around([(s.longitude, s.latitude) for s in stops],
                          [g.bounds for _, g in shapes if not g.is_empty])
    image = Image.new("RGB", frame.size, BACKGROUND)
    draw = ImageDraw.Draw(image)
    label_font, stop_font = _font(15), _font(17)
    for name, geometry in shapes:
        for polygon in _polygons(geometry):
            draw.polygon([frame.pixel(x, y) for x, y in polygon.exterior.coords], fill=FILL, outline=OUTLINE, width=2)
        anchor = geometry.representative_point()
        draw.text(frame.pixel(anchor.x, anchor.y), name, fill=OUTLINE, font=label_font, anchor="mm")
    points = [frame.pixel(s.longitude, s.latitude) for s in stops]
    if len(points) > 1:
        draw.line(points, fill=ROUTE, width=4, joint="curve")
    for stop, (x, y) in zip(stops, points):
        colour = {"visited": VISITED, "suggested": SUGGESTED}.get(stop.kind, ROUTE)
        draw.ellipse((x - 14, y - 14, x + 14, y + 14), fill=colour, outline="white", width=3)
        draw.text((x, y), str(stop.number), fill="white", font=stop_font, anchor="mm")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _polygons(geometry: Any) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    if isinstance(geometry, MultiPolygon):
        return list(geometry.geoms)
    return []


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1: a scalable font, no file needed
    except TypeError:
        return ImageFont.load_default()


@dataclass(frozen=True)
class _Frame:
    """Longitude/latitude to pixels: equirectangular, scaled by the cosine of the latitude, which is
    exact enough for a kelurahan (a few km) and keeps north up."""

    west: float
    north: float
    scale: float  # pixels per degree of longitude
    squeeze: float  # cos(latitude)
    size: tuple[int, int]

    @classmethod
    def around(cls, points: Sequence[tuple[float, float]], bounds: Sequence[tuple[float, ...]]) -> _Frame:
        xs = [x for x, _ in points] + [b[0] for b in bounds] + [b[2] for b in bounds]
        ys = [y for _, y in points] + [b[1] for b in bounds] + [b[3] for b in bounds]
        west, east, south, north = min(xs), max(xs), min(ys), max(ys)
        squeeze = math.cos(math.radians((north + south) / 2))
        width = max((east - west) * squeeze, 1e-4)  # one house alone still gets a frame around it
        height = max(north - south, 1e-4)
        scale = (SIZE - 2 * MARGIN) / max(width, height)
        size = (round(width * scale) + 2 * MARGIN, round(height * scale) + 2 * MARGIN)
        return cls(west, north, scale * squeeze, squeeze, size)

    def pixel(self, longitude: float, latitude: float) -> tuple[float, float]:
        return (MARGIN + (longitude - self.west) * self.scale,
                MARGIN + (self.north - latitude) * self.scale / self.squeeze)
