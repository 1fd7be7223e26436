"""Families (kartu keluarga) of an SLS."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import DuplicateKK
from domain.model import Appointment, Family
from storage.crypto import KK_FIELD, keyring_of
from storage.tables import families


def kk_indexes(session: Session, kk_number: str) -> list[str]:
    """The number's blind index under every key of the session's engine (older keys until rotated)."""
    return keyring_of(session.get_bind().dialect).blind_indexes(KK_FIELD, kk_number)


class FamilyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, family_id: int) -> Family | None:
        return self.session.get(Family, family_id)

    def many(self, family_ids: Iterable[int]) -> dict[int, Family]:
        """Families by id, one query per 500 (and in the session afterwards: ``get`` is free)."""
        ids, found = list(family_ids), {}
        for i in range(0, len(ids), 500):
            for family in self.session.scalars(select(Family).where(Family.id.in_(ids[i:i + 500]))):
                found[family.id] = family
        return found

    def by_kk(self, kk_number: str) -> Family | None:
        """The family of a KK number, found by its blind index (the number itself is encrypted)."""
        indexes = kk_indexes(self.session, kk_number)
        return self.session.scalar(select(Family).where(families.c.kk_index.in_(indexes)))

    def add(self, family: Family) -> Family:
        self.session.add(family)
        self.session.flush()
        return family

    def register(self, family: Family) -> Family:
        """Add a family whose KK number must be new, in a savepoint of its own: two people may register
        the same card at the same moment, and the unique key lets only one of them. The other's insert
        alone is rolled back and DuplicateKK raised."""
        try:
            with self.session.begin_nested():
                return self.add(family)
        except IntegrityError:
            raise DuplicateKK() from None

    def add_many(self, families: Iterable[Family]) -> None:
        """Add families at once (an import), checked by the database when this returns."""
        self.session.add_all(list(families))
        self.session.flush()

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
