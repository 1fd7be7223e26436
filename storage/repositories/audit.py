"""The audit log of staff access to personal data (domain/audit.py): appended to, read by ``pintu audit``."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import AuditEntry
from storage.tables import audit_log


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, *, at: dt.datetime, actor_user_id: int | None, actor_role: str, action: str,
            family_id: int | None = None, area_id: int | None = None, count: int | None = None) -> None:
        """Append one entry in the caller's transaction (it is written exactly when the access commits)."""
        self.session.execute(audit_log.insert().values(
            at=at, actor_user_id=actor_user_id, actor_role=actor_role, action=action, family_id=family_id,
            area_id=area_id, count=count))

    def entries(self, *, user_id: int | None = None, family_id: int | None = None, since: dt.datetime | None = None,
                limit: int | None = None) -> list[AuditEntry]:
        """Entries, oldest first, filtered by actor, family and time (each optional)."""
        query = select(audit_log).order_by(audit_log.c.at, audit_log.c.id)
        if user_id is not None:
            query = query.where(audit_log.c.actor_user_id == user_id)
        if family_id is not None:
            query = query.where(audit_log.c.family_id == family_id)
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if limit is not None:
            query = query.limit(limit)
        return [AuditEntry(row.id, row.at, row.actor_user_id, row.actor_role, row.action, row.family_id,
                           row.area_id, row.count) for row in self.session.execute(query)]
