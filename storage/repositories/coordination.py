"""Queries of the coordination work (family status, visit outcomes, nudges, RT groups): issue 6."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.model import Appointment, Family, FamilyNudge, RtGroup, User, VisitOutcome
from storage.crypto import KK_FIELD, keyring_of
from storage.tables import families


class CoordinationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- visit outcomes ----------------------------------------------------------------------------

    def add_outcome(self, outcome: VisitOutcome) -> VisitOutcome:
        self.session.add(outcome)
        self.session.flush()
        return outcome

    def last_outcome(self, family_id: int) -> VisitOutcome | None:
        return self.session.scalar(
            select(VisitOutcome).where(VisitOutcome.family_id == family_id)
            .order_by(VisitOutcome.recorded_at.desc(), VisitOutcome.id.desc()).limit(1)
        )

    def outcomes_of_family(self, family_id: int) -> Sequence[VisitOutcome]:
        return self.session.scalars(
            select(VisitOutcome).where(VisitOutcome.family_id == family_id).order_by(VisitOutcome.id)
        ).all()

    # --- the RT list -------------------------------------------------------------------------------

    def rt_page(self, sls_id: int, offset: int, limit: int,
                status: str | None = None) -> list[tuple[Family, Appointment | None]]:
        """One page of an RT's families by head's name, with their active visit (if any).

        Served by ix_families_sls_status / ix_families_sls_id and the one-active-visit index.
        """
        query = select(Family).where(Family.sls_id == sls_id)
        if status is not None:
            query = query.where(Family.status == status)
        families = self.session.scalars(query.order_by(Family.head_name, Family.id).offset(offset).limit(limit)).all()
        if not families:
            return []
        visits = {a.family_id: a for a in self.session.scalars(
            select(Appointment).where(Appointment.family_id.in_([f.id for f in families]),
                                      Appointment.status == "booked"))}
        return [(f, visits.get(f.id)) for f in families]

    def status_counts(self, sls_id: int) -> dict[str, int]:
        rows = self.session.execute(
            select(Family.status, func.count()).where(Family.sls_id == sls_id).group_by(Family.status))
        return {status: count for status, count in rows}

    def count_in_sls(self, sls_id: int, status: str | None = None) -> int:
        query = select(func.count()).select_from(Family).where(Family.sls_id == sls_id)
        if status is not None:
            query = query.where(Family.status == status)
        return self.session.scalar(query) or 0

    def kk_taken(self, kk_numbers: Sequence[str]) -> set[str]:
        """Those of the numbers already registered, compared by blind index (the numbers are encrypted)."""
        keyring = keyring_of(self.session.get_bind().dialect)
        by_index = {index: kk for kk in kk_numbers for index in keyring.blind_indexes(KK_FIELD, kk)}
        items = list(by_index)
        found: set[str] = set()
        for i in range(0, len(items), 500):
            hits = self.session.scalars(select(families.c.kk_index).where(families.c.kk_index.in_(items[i:i + 500])))
            found |= {by_index[index] for index in hits}
        return found

    # --- nudges ------------------------------------------------------------------------------------

    def with_status(self, sls_id: int, statuses: Sequence[str]) -> Sequence[Family]:
        return self.session.scalars(
            select(Family).where(Family.sls_id == sls_id, Family.status.in_(list(statuses))).order_by(Family.id)
        ).all()

    def add_nudge(self, family_id: int, day: dt.date, user_id: int | None, now: dt.datetime) -> bool:
        """Record today's nudge of a family; False if it was already nudged that day (unique key)."""
        try:
            with self.session.begin_nested():
                self.session.add(FamilyNudge(family_id=family_id, day=day, sent_by_user_id=user_id, created_at=now))
        except IntegrityError:
            return False
        return True

    def members_on_telegram(self, family_id: int) -> Sequence[User]:
        return self.session.scalars(
            select(User).where(User.family_id == family_id, User.blocked_at.is_(None)).order_by(User.id)
        ).all()

    # --- RT groups ---------------------------------------------------------------------------------

    def group_by_chat(self, chat_id: int) -> RtGroup | None:
        return self.session.scalar(select(RtGroup).where(RtGroup.chat_id == chat_id))

    def group_of_sls(self, sls_id: int) -> RtGroup | None:
        return self.session.scalar(select(RtGroup).where(RtGroup.sls_id == sls_id))

    def all_groups(self) -> Sequence[RtGroup]:
        return self.session.scalars(select(RtGroup).order_by(RtGroup.id)).all()

    def add_group(self, group: RtGroup) -> RtGroup:
        self.session.add(group)
        self.session.flush()
        return group

    def remove_group(self, group: RtGroup) -> None:
        self.session.delete(group)
        self.session.flush()
