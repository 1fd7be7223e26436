"""Single-use invites, remembered once redeemed."""
from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.model import RedeemedInvite


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
