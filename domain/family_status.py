"""A family's place in the field work. Every change of ``families.status`` goes through ``set_status``.

    not_contacted -> booked (a visit is booked) -> visited (the enumerator recorded "done")
                  -> completed (the questionnaire was completed)
    not_home | refused | moved | not_found: what the enumerator found at the door.

Cancelling a visit goes back to what the family was before it was booked: the last outcome recorded at
the door (e.g. not_home), else not_contacted. A completed family stays completed whatever happens to
its bookings. Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt

from domain.model import Family
from domain.ports import UnitOfWork

STATUSES: tuple[str, ...] = (
    "not_contacted", "booked", "visited", "completed", "not_home", "refused", "moved", "not_found",
)
# Each status as people read it: its message-catalog key (the RT head's list, supervisors' exports).
STATUS_LABEL_KEYS: dict[str, str] = {
    "not_contacted": "status-not-booked", "booked": "fs-booked", "visited": "fs-visited", "completed": "fs-completed",
    "not_home": "fs-not-home", "refused": "fs-refused", "moved": "fs-moved", "not_found": "fs-not-found",
}
# Nothing left to do for the family: its record is complete, or the door closed it for good.
FINISHED: tuple[str, ...] = ("completed", "refused", "moved", "not_found")
# Outcome at the door -> family status.
OUTCOME_STATUS: dict[str, str] = {
    "done": "visited", "not_home": "not_home", "refused": "refused", "moved": "moved", "not_found": "not_found",
}


def set_status(uow: UnitOfWork, family: Family, status: str, now: dt.datetime) -> Family:
    """The one writer of ``families.status``; a no-op when the status does not change."""
    if status not in STATUSES:
        raise ValueError(f"unknown family status {status!r}")
    if family.status != status:
        family.status, family.status_at = status, now
        uow.flush()
    return family


def on_booked(uow: UnitOfWork, family: Family, now: dt.datetime) -> None:
    if family.status != "completed":
        set_status(uow, family, "booked", now)


def on_cancelled(uow: UnitOfWork, family: Family, now: dt.datetime) -> None:
    """Back to the last outcome at the door, or not_contacted; a later status (visited, ...) stays."""
    if family.status != "booked":
        return
    last = uow.coordination.last_outcome(family.id)
    set_status(uow, family, OUTCOME_STATUS[last.outcome] if last is not None else "not_contacted", now)


def on_outcome(uow: UnitOfWork, family: Family, outcome: str, now: dt.datetime) -> None:
    if family.status != "completed":
        set_status(uow, family, OUTCOME_STATUS[outcome], now)


def on_record_completed(uow: UnitOfWork, family: Family, now: dt.datetime) -> None:
    set_status(uow, family, "completed", now)
