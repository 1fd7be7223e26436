"""Queries of the dashboard's map (web/map_routes.py, domain/map_view.py): issue 16.

Like supervision's (storage/repositories/supervision.py, whose subtree CTE they reuse): the SLS below an
area in one recursive query, then everything else by ``sls_id IN (...)`` in chunks, read as plain rows
(no ORM objects: a city's 2,000 boundaries would otherwise be tracked by the session for nothing).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from domain.model import Area, Family, Record, RecordPhoto
from storage.repositories.supervision import _BELOW_SELF, _chunks, _newest

# The boundary as its JSON text: shapely parses it in C (shapely.from_geojson), ~10x faster than json.loads
# and building the shapes from Python lists, for a city's 240,000 vertices.
_SUBTREE_SLS = (select(Area.id, Area.code, Area.name, Area.parent_id, cast(Area.boundary, Text))
                .join(_BELOW_SELF, Area.id == _BELOW_SELF.c.id).where(Area.level == "sls"))
_SUBTREE_VILLAGES = (select(Area.id, Area.code, Area.name, Area.centre_latitude, Area.centre_longitude)
                     .join(_BELOW_SELF, Area.id == _BELOW_SELF.c.id).where(Area.level == "village"))


class MapRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def sls_outlines(self, area_id: int) -> list[tuple[int, str, str, int | None, str | None]]:
        """(id, code, name, parent id, boundary as GeoJSON text or None) of every SLS at or below the area."""
        return [tuple(r) for r in self.session.execute(_SUBTREE_SLS, {"area_id": area_id})]  # type: ignore[misc]

    def villages(self, area_id: int) -> list[tuple[int, str, str, float | None, float | None]]:
        """(id, code, name, centre latitude, centre longitude) of every kelurahan at or below the area."""
        return [tuple(r) for r in self.session.execute(_SUBTREE_VILLAGES, {"area_id": area_id})]  # type: ignore[misc]

    def sls_parents(self, area_id: int) -> dict[int, int]:
        """{SLS id: its kelurahan's id} for every SLS at or below the area."""
        return {sls_id: parent for sls_id, parent in self.session.execute(
            select(Area.id, Area.parent_id).join(_BELOW_SELF, Area.id == _BELOW_SELF.c.id)
            .where(Area.level == "sls"), {"area_id": area_id})}

    def areas_by_id(self, area_ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
        """{id: (code, name, level)} without loading boundaries."""
        found: dict[int, tuple[str, str, str]] = {}
        for chunk in _chunks(sorted(set(area_ids))):
            for area_id, code, name, level in self.session.execute(
                    select(Area.id, Area.code, Area.name, Area.level).where(Area.id.in_(chunk))):
                found[area_id] = (code, name, level)
        return found

    def family_points(self, sls_ids: Sequence[int]) -> list[tuple[int, int, str, float | None, float | None]]:
        """(family id, SLS id, status, latitude, longitude) of the families of these SLS."""
        rows: list[Any] = []
        for chunk in _chunks(sls_ids):
            rows += self.session.execute(select(Family.id, Family.sls_id, Family.status, Family.latitude,
                                                Family.longitude).where(Family.sls_id.in_(chunk)))
        return [tuple(r) for r in rows]

    def geotags(self, sls_ids: Sequence[int]) -> dict[int, tuple[float, float, str | None, bool]]:
        """{family id: (latitude, longitude, geofence flag, reviewed)} of each family's newest geotagged record."""
        found: dict[int, tuple[float, float, str | None, bool]] = {}
        for chunk in _chunks(sls_ids):
            rows = self.session.execute(
                select(Record.family_id, Record.latitude, Record.longitude, Record.geo_flag, Record.reviewed_at)
                .join(Family, Family.id == Record.family_id)
                .where(Family.sls_id.in_(chunk), Record.latitude.is_not(None), _newest()))
            for family_id, lat, lon, flag, reviewed in rows:
                found[family_id] = (lat, lon, flag, reviewed is not None)
        return found

    # --- the review page ------------------------------------------------------------------------------

    def photo(self, photo_id: int) -> tuple[RecordPhoto, Record] | None:
        row = self.session.execute(select(RecordPhoto, Record).join(Record, Record.id == RecordPhoto.record_id)
                                   .where(RecordPhoto.id == photo_id)).first()
        return (row[0], row[1]) if row is not None else None

    def mark_reviewed(self, record: Record, user_id: int, now: dt.datetime) -> None:
        record.reviewed_at, record.reviewed_by_user_id = now, user_id
        self.session.flush()
