"""A visit that took place closes its appointment.

The enumerator recording "done" at the door, or completing the family's record, ends the family's
active appointment as ``visited`` in the same transaction: its reminders and notices not yet sent are
skipped, and the family is no longer offered a move or a cancel of a visit that already happened. An
appointment closed before its start (the officer came early, or walked in without one) gives its
time back to the officer's day. Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt

from domain import reminders
from domain.model import Appointment
from domain.ports import UnitOfWork

VISITED = "visited"


def close_as_visited(uow: UnitOfWork, family_id: int, now: dt.datetime) -> Appointment | None:
    """Close the family's active appointment because the visit took place; None when it had none."""
    active = uow.appointments.lock_active_for_family(family_id)
    if active is None:
        return None
    active.status, active.updated_at = VISITED, now
    if active.start_at > now:
        uow.appointments.release_blocks(active.id)
    reminders.cancel_for_visit(uow, active, reason="visit took place")
    uow.flush()
    return active
