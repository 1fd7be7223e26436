"""Enumerators, the SLS they work in and the 15-minute blocks their visits take."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Area, BusyBlock, Enumerator, EnumeratorAssignment


class EnumeratorRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, enumerator_id: int) -> Enumerator | None:
        return self.session.get(Enumerator, enumerator_id)

    def by_user(self, user_id: int) -> Enumerator | None:
        return self.session.scalar(select(Enumerator).where(Enumerator.user_id == user_id))

    def assigned_to(self, sls_id: int) -> Sequence[Enumerator]:
        return self.session.scalars(
            select(Enumerator)
            .join(EnumeratorAssignment, EnumeratorAssignment.enumerator_id == Enumerator.id)
            .where(EnumeratorAssignment.sls_id == sls_id)
            .order_by(Enumerator.id)
        ).all()

    def assigned_sls(self, enumerator_id: int) -> Sequence[Area]:
        return self.session.scalars(
            select(Area)
            .join(EnumeratorAssignment, EnumeratorAssignment.sls_id == Area.id)
            .where(EnumeratorAssignment.enumerator_id == enumerator_id)
            .order_by(Area.code)
        ).all()

    def all(self) -> Sequence[Enumerator]:
        return self.session.scalars(select(Enumerator).order_by(Enumerator.id)).all()

    def add(self, enumerator: Enumerator, sls_ids: Iterable[int]) -> Enumerator:
        self.session.add(enumerator)
        self.session.flush()
        for sls_id in sls_ids:
            self.session.add(EnumeratorAssignment(enumerator_id=enumerator.id, sls_id=sls_id))
        self.session.flush()
        return enumerator

    def busy_blocks(self, enumerator_ids: Sequence[int], start: dt.datetime, end: dt.datetime) -> dict[int, set[dt.datetime]]:
        """Taken 15-minute blocks per enumerator between two instants."""
        found: dict[int, set[dt.datetime]] = {i: set() for i in enumerator_ids}
        rows = self.session.execute(
            select(BusyBlock.enumerator_id, BusyBlock.block_start).where(
                BusyBlock.enumerator_id.in_(enumerator_ids),
                BusyBlock.block_start >= start,
                BusyBlock.block_start < end,
            )
        )
        for enumerator_id, block_start in rows:
            found[enumerator_id].add(block_start)
        return found
