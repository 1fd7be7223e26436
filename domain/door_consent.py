"""Consent at the door: before anything is captured for a family that never agreed in the chat.

A family whose members never agreed to the privacy notice in Telegram (no resident account, or none
that agreed) is read the resident's notice by the enumerator at the door, before the first question,
location or photo. The enumerator records the answer:

- agreed: the family's draft record carries the notice's version, the moment and the officer
  (``records.consent_version``, ``consent_at``, ``consent_recorded_by``); the capture starts.
- refused: the visit is closed with the outcome ``refused`` (domain/outcomes.py: the appointment is
  closed, its reminders dropped, the family's status says so and supervisors count it), and nothing is
  captured; a draft already begun for the family (the RT head's identification, an earlier attempt)
  is deleted with its photos.

Both answers are in the audit log. Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from domain import audit
from domain.model import Record, User
from domain.outcomes import record_outcome
from domain.ports import UnitOfWork
from domain.privacy import remove_files


def needed(uow: UnitOfWork, family_id: int) -> bool:
    """Whether the notice must be read out before capture: nobody of the family agreed in the chat and
    the family's draft carries no consent given at the door."""
    draft = uow.questionnaires.draft_of(family_id)
    if draft is not None and draft.consent_version and draft.consent_at:
        return False
    return not any(u.consent_version and u.consent_at for u in uow.users.residents_of_family(family_id))


def agreed(uow: UnitOfWork, officer: User, record: Record, version: str, now: dt.datetime) -> Record:
    """The family agreed to notice ``version`` read out by ``officer``: written on the family's draft."""
    record.consent_version, record.consent_at, record.consent_recorded_by = version, now, officer.id
    record.updated_at = now
    family = uow.families.get(record.family_id)
    audit.record(uow, officer, audit.DOOR_CONSENT, now, family_id=record.family_id,
                 area_id=family.sls_id if family is not None else None, always=True)
    uow.flush()
    return record


def refused(uow: UnitOfWork, officer: User, family_id: int, now: dt.datetime, media_dir: str | Path) -> None:
    """The family refused: the visit closes as ``refused`` and nothing of the family is captured."""
    record_outcome(uow, officer, family_id, "refused", None, now)  # NotAllowed for an officer not assigned
    draft = uow.questionnaires.draft_of(family_id)
    if draft is not None:
        remove_files(media_dir, uow.privacy.delete_records([draft.id]))
    family = uow.families.get(family_id)
    audit.record(uow, officer, audit.DOOR_CONSENT, now, family_id=family_id,
                 area_id=family.sls_id if family is not None else None, always=True)
    uow.flush()
