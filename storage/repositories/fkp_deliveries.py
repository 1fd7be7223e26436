"""The public consultation's decisions queued for the registry (domain/fkp_registry.py, registry/fkp.py):
a leased queue like the records' (storage/leased_queue.py), one row per decision key."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.model import FkpDecisionDelivery
from storage.leased_queue import LeasedQueue

STATUSES = ("pending", "delivered", "parked")


class FkpDeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.queue: LeasedQueue[FkpDecisionDelivery] = LeasedQueue(
            session, FkpDecisionDelivery, due="next_attempt_at", statuses=STATUSES)

    def add(self, decision_key: str, document: dict[str, Any], now: dt.datetime) -> bool:
        """Queue the document under its key; False (nothing written) when the key is queued already,
        also when a concurrent transaction took it first (only this insert is undone)."""
        if self.by_key(decision_key) is not None:
            return False
        row = FkpDecisionDelivery(decision_key=decision_key, document=document, status="pending", attempts=0,
                                  next_attempt_at=now, created_at=now)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def by_key(self, decision_key: str) -> FkpDecisionDelivery | None:
        return self.session.scalar(select(FkpDecisionDelivery).where(FkpDecisionDelivery.decision_key == decision_key))

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[FkpDecisionDelivery]:
        return self.queue.claim_due(now, limit, lease)

    def mark_delivered(self, delivery_id: int, when: dt.datetime, *, lease: dt.datetime | None = None) -> bool:
        return self.queue.settle(delivery_id, lease, status="delivered", delivered_at=when, last_error=None)

    def mark_retry(self, delivery_id: int, next_attempt: dt.datetime, error: str, *,
                   lease: dt.datetime | None = None) -> bool:
        return self.queue.retry(delivery_id, next_attempt, error, lease=lease)

    def mark_parked(self, delivery_id: int, reason: str, *, lease: dt.datetime | None = None) -> bool:
        return self.queue.settle(delivery_id, lease, status="parked", last_error=reason)

    def requeue_parked(self, now: dt.datetime) -> int:
        return self.queue.requeue("parked", now)

    def counts(self) -> dict[str, int]:
        return self.queue.counts()

    def parked(self, limit: int = 50) -> Sequence[FkpDecisionDelivery]:
        return list(self.session.scalars(select(FkpDecisionDelivery).where(FkpDecisionDelivery.status == "parked")
                                         .order_by(FkpDecisionDelivery.id).limit(limit)))
