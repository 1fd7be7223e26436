"""The administrative tree: provinces down to SLS (RT)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Area


class AreaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, area_id: int) -> Area | None:
        return self.session.get(Area, area_id)

    def many(self, area_ids: Iterable[int]) -> dict[int, Area]:
        """Areas by id, one query per 500 (and in the session afterwards: ``get`` is free)."""
        ids, found = list(area_ids), {}
        for i in range(0, len(ids), 500):
            for area in self.session.scalars(select(Area).where(Area.id.in_(ids[i:i + 500]))):
                found[area.id] = area
        return found

    def by_code(self, code: str) -> Area | None:
        return self.session.scalar(select(Area).where(Area.code == code))

    def children(self, parent_id: int) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.parent_id == parent_id).order_by(Area.code)).all()

    def at_level(self, level: str) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.level == level).order_by(Area.code)).all()

    def add(self, area: Area) -> Area:
        self.session.add(area)
        self.session.flush()
        return area
