"""Single-use invites, remembered once redeemed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.model import RedeemedInvite
from storage.tables import revoked_invites


class InviteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def redeem(self, kind: int, nonce: int, user_id: int, when: dt.datetime) -> bool:
        """Record a single-use invite as used; False when it had been used already."""
        try:
            with self.session.begin_nested():
                self.session.add(RedeemedInvite(kind=kind, nonce=nonce, user_id=user_id, redeemed_at=when))
        except IntegrityError:
            return False
        return True

    def revoke(self, kind: int, nonce: int, when: dt.datetime) -> bool:
        """Withdraw an invite; False when it had been withdrawn already."""
        if self.is_revoked(kind, nonce):
            return False
        self.session.execute(insert(revoked_invites).values(kind=kind, nonce=nonce, revoked_at=when))
        return True

    def is_revoked(self, kind: int, nonce: int) -> bool:
        found = self.session.scalar(select(revoked_invites.c.nonce).where(
            revoked_invites.c.kind == kind, revoked_invites.c.nonce == nonce))
        return found is not None
