"""What the enumerator found at the door: one ``visit_outcomes`` row per attempt, and the family's status.

    done       -> the family is visited and its appointment closed (domain/visits.py); the questionnaire may
                  follow, completing it makes the family completed
    not_home   -> the visit is closed and the family is offered a new time at once (outbox, with day buttons)
    refused, moved, not_found -> the visit is closed; the family's status says why

Only an enumerator assigned to the family's SLS may record an outcome. Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt

from domain import family_status, reminders, visits
from domain.errors import NotAllowed
from domain.model import Enumerator, User, VisitOutcome
from domain.ports import UnitOfWork

OUTCOMES: tuple[str, ...] = ("done", "not_home", "refused", "moved", "not_found")
NEW_TIME_OFFER = "offer-new-time"  # outbox kind: the family is asked to pick a new time
MAX_NOTE = 1000


def record_outcome(uow: UnitOfWork, user: User, family_id: int, outcome: str, note: str | None, now: dt.datetime,
                   appointment_id: int | None = None) -> VisitOutcome:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    enumerator = _enumerator_for(uow, user, family_id)
    family = uow.families.get(family_id)
    appointment = uow.appointments.get(appointment_id) if appointment_id is not None else None
    if appointment is not None and appointment.family_id != family.id:
        raise NotAllowed("appointment")
    active = uow.appointments.lock_active_for_family(family.id)
    appointment = appointment or active
    row = uow.coordination.add_outcome(VisitOutcome(
        family_id=family.id, appointment_id=appointment.id if appointment is not None else None,
        enumerator_id=enumerator.id, outcome=outcome, note=(note or "").strip()[:MAX_NOTE] or None,
        recorded_at=now, recorded_by_user_id=user.id))
    if outcome == "done":
        visits.close_as_visited(uow, family.id, now)
    elif active is not None:
        # The visit did not happen: free the enumerator's time and the family's one active visit.
        active.status, active.updated_at = "cancelled", now
        uow.appointments.release_blocks(active.id)
        reminders.cancel_for_visit(uow, active, reason=f"outcome {outcome}")
    family_status.on_outcome(uow, family, outcome, now)
    if outcome == "not_home":
        for member in uow.coordination.members_on_telegram(family.id):
            uow.outbox.add(member.telegram_id, NEW_TIME_OFFER, {"family_id": family.id}, due_at=now, now=now)
    uow.flush()
    return row


def _enumerator_for(uow: UnitOfWork, user: User, family_id: int) -> Enumerator:
    enumerator = uow.enumerators.by_user(user.id) if user is not None else None
    family = uow.families.get(family_id)
    if enumerator is None or family is None:
        raise NotAllowed("outcome")
    if family.sls_id not in {a.id for a in uow.enumerators.assigned_sls(enumerator.id)}:
        raise NotAllowed("outcome")
    return enumerator
