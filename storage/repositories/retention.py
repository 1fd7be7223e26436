"""Purging settled outbox rows (scheduling/retention.py).

Kept apart from OutboxRepository (storage/queues.py), which claims and settles rows:
this only deletes those long settled.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from domain.model import OutboxMessage


class RetentionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def purge_settled_outbox(self, cutoff: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` settled rows (not pending) due and sent before ``cutoff``, oldest
        first; returns how many were deleted. The caller commits, one batch per transaction."""
        old = (OutboxMessage.status != "pending") & (OutboxMessage.due_at < cutoff) & or_(
            OutboxMessage.sent_at.is_(None), OutboxMessage.sent_at < cutoff)
        ids = list(self.session.scalars(select(OutboxMessage.id).where(old).order_by(OutboxMessage.id).limit(limit)))
        if ids:
            self.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids), old))
        return len(ids)
