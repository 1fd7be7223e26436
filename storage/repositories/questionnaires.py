"""Queries of the chat questionnaire (issue 3): a family's draft record and its newest completed one."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import Family, Record


class QuestionnaireRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def lock_family(self, family_id: int) -> Family | None:
        """The family row, locked until the transaction ends: two people starting the family's
        questionnaire at the same moment (the resident and the enumerator) make one draft, not two
        (PostgreSQL; SQLite holds the write lock already)."""
        return self.session.scalar(
            select(Family).where(Family.id == family_id).with_for_update()
            .execution_options(populate_existing=True))

    def draft_of(self, family_id: int) -> Record | None:
        """The family's draft (there is at most one: see domain/questionnaire.py)."""
        return self.session.scalar(
            select(Record).where(Record.family_id == family_id, Record.status == "draft")
            .order_by(Record.created_at).limit(1))

    def completed_of(self, family_id: int) -> Record | None:
        """The family's newest completed record, if any."""
        return self.session.scalar(
            select(Record).where(Record.family_id == family_id, Record.status == "completed")
            .order_by(Record.version.desc(), Record.completed_at.desc()).limit(1))
