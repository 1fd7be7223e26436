"""Enumerators, the SLS they work in and the 15-minute blocks their visits take."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Area, BusyBlock, Enumerator, EnumeratorAssignment

CHUNK = 500  # ids per IN list: far below SQLite's and PostgreSQL's parameter limits


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

    def many(self, enumerator_ids: Iterable[int]) -> dict[int, Enumerator]:
        """Enumerators by id, in one query per 500 (and in the session afterwards: ``get`` is free)."""
        ids, found = list(enumerator_ids), {}
        for i in range(0, len(ids), CHUNK):
            for enumerator in self.session.scalars(select(Enumerator).where(Enumerator.id.in_(ids[i:i + CHUNK]))):
                found[enumerator.id] = enumerator
        return found

    def assigned_sls_of(self, enumerator_ids: Iterable[int]) -> dict[int, list[Area]]:
        """``assigned_sls`` of many enumerators in one query per 500 (each list by SLS code)."""
        ids = list(enumerator_ids)
        found: dict[int, list[Area]] = {i: [] for i in ids}
        for i in range(0, len(ids), CHUNK):
            rows = self.session.execute(
                select(EnumeratorAssignment.enumerator_id, Area)
                .join(Area, EnumeratorAssignment.sls_id == Area.id)
                .where(EnumeratorAssignment.enumerator_id.in_(ids[i:i + CHUNK]))
                .order_by(Area.code))
            for enumerator_id, area in rows:
                found[enumerator_id].append(area)
        return found

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
        ids = list(enumerator_ids)
        found: dict[int, set[dt.datetime]] = {i: set() for i in ids}
        for i in range(0, len(ids), CHUNK):
            rows = self.session.execute(
                select(BusyBlock.enumerator_id, BusyBlock.block_start).where(
                    BusyBlock.enumerator_id.in_(ids[i:i + CHUNK]),
                    BusyBlock.block_start >= start,
                    BusyBlock.block_start < end,
                )
            )
            for enumerator_id, block_start in rows:
                found[enumerator_id].add(block_start)
        return found
