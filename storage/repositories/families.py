"""Families (kartu keluarga) of an SLS."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.model import Appointment, Family


class FamilyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, family_id: int) -> Family | None:
        return self.session.get(Family, family_id)

    def by_kk(self, kk_number: str) -> Family | None:
        return self.session.scalar(select(Family).where(Family.kk_number == kk_number))

    def add(self, family: Family) -> Family:
        self.session.add(family)
        self.session.flush()
        return family

    def in_sls_with_appointment(
        self, sls_id: int, offset: int, limit: int
    ) -> list[tuple[Family, Appointment | None]]:
        """One page of the families of an SLS with their active appointment, by head's name."""
        active = (
            select(Appointment)
            .where(Appointment.status == "booked")
            .subquery()
        )
        rows = self.session.execute(
            select(Family, Appointment)
            .outerjoin(active, active.c.family_id == Family.id)
            .outerjoin(Appointment, Appointment.id == active.c.id)
            .where(Family.sls_id == sls_id)
            .order_by(Family.head_name, Family.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [(family, appointment) for family, appointment in rows]

    def count_in_sls(self, sls_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(Family).where(Family.sls_id == sls_id)) or 0
