"""Claims on families and the KK attempts behind their rate limits (domain/claims.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from domain.model import FamilyClaim, KkAttempt


class ClaimRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, claim_id: int) -> FamilyClaim | None:
        return self.session.get(FamilyClaim, claim_id)

    def lock(self, claim_id: int) -> FamilyClaim | None:
        """The claim, locked until the transaction ends: two RT heads deciding at once decide once."""
        return self.session.scalar(select(FamilyClaim).where(FamilyClaim.id == claim_id).with_for_update())

    def add(self, claim: FamilyClaim) -> FamilyClaim:
        self.session.add(claim)
        self.session.flush()
        return claim

    def pending_of_user(self, user_id: int) -> FamilyClaim | None:
        return self.session.scalar(select(FamilyClaim).where(
            FamilyClaim.user_id == user_id, FamilyClaim.status == "pending").order_by(FamilyClaim.id.desc()))

    def pending_in_sls(self, sls_id: int) -> Sequence[FamilyClaim]:
        return self.session.scalars(select(FamilyClaim).where(
            FamilyClaim.sls_id == sls_id, FamilyClaim.status == "pending").order_by(FamilyClaim.id)).all()

    def linked_of(self, family_id: int, user_id: int) -> FamilyClaim | None:
        return self.session.scalar(select(FamilyClaim).where(
            FamilyClaim.family_id == family_id, FamilyClaim.user_id == user_id,
            FamilyClaim.status == "linked").order_by(FamilyClaim.id.desc()))

    def add_attempt(self, user_id: int, kk_digest: str, when: dt.datetime) -> None:
        self.session.add(KkAttempt(user_id=user_id, kk_digest=kk_digest, attempted_at=when))
        self.session.flush()

    def attempts_by_user(self, user_id: int, since: dt.datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(KkAttempt).where(
            KkAttempt.user_id == user_id, KkAttempt.attempted_at >= since)) or 0

    def attempts_on_kk(self, kk_digest: str, since: dt.datetime) -> int:
        return self.session.scalar(select(func.count()).select_from(KkAttempt).where(
            KkAttempt.kk_digest == kk_digest, KkAttempt.attempted_at >= since)) or 0

    def forget_attempts(self, before: dt.datetime) -> int:
        """Drop attempts older than any limit's window (retention)."""
        return self.session.execute(delete(KkAttempt).where(KkAttempt.attempted_at < before)).rowcount or 0
