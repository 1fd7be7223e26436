"""Queries of field capture (geotags, geofence, photos): issue 3."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Area, Family, Record, RecordPhoto


class CaptureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def ancestors(self, area_id: int) -> list[Area]:
        """The area and its parents up to the province, nearest first."""
        chain: list[Area] = []
        area = self.session.get(Area, area_id)
        while area is not None and len(chain) < 10:
            chain.append(area)
            area = self.session.get(Area, area.parent_id) if area.parent_id is not None else None
        return chain

    def live_drafts_of(self, sender_telegram_id: int, now: dt.datetime) -> Sequence[Record]:
        """Draft records whose geotag is a live location of this sender still running at ``now``."""
        return self.session.scalars(
            select(Record).where(Record.status == "draft", Record.geo_sender == sender_telegram_id,
                                 Record.geo_live_until.is_not(None), Record.geo_live_until >= now)
            .order_by(Record.updated_at.desc())
        ).all()

    def photo_with_hash(self, record_id: str, sha256: str) -> RecordPhoto | None:
        """The record's photo with these bytes, if it was already stored."""
        return self.session.scalar(
            select(RecordPhoto).where(RecordPhoto.record_id == record_id, RecordPhoto.sha256 == sha256).limit(1)
        )

    def flagged(self, sls_ids: Sequence[int]) -> Sequence[tuple[Record, Family]]:
        """Records of families in these SLS whose geotag was flagged for review, newest first."""
        if not sls_ids:
            return []
        rows = self.session.execute(
            select(Record, Family).join(Family, Family.id == Record.family_id)
            .where(Family.sls_id.in_(list(sls_ids)), Record.geo_flag.is_not(None))
            .order_by(Record.updated_at.desc())
        ).all()
        return [(record, family) for record, family in rows]

    def sls_by_codes(self, codes: Sequence[str]) -> dict[str, Area]:
        """SLS areas by code (only those that exist)."""
        if not codes:
            return {}
        areas = self.session.scalars(select(Area).where(Area.level == "sls", Area.code.in_(list(codes)))).all()
        return {area.code: area for area in areas}

    def all_sls(self) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.level == "sls")).all()
