"""Administrative rules: invites for officers and RT heads, and enumerators' working hours."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from domain.errors import NotAllowed
from domain.invites import InviteKind, make_invite
from domain.ports import UnitOfWork
from domain.slots import WorkWeek

WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
MINUTE_STEP = 15  # visits occupy 15-minute blocks; hours and lengths must fit that grid


@dataclass(frozen=True)
class IssuedInvite:
    token: str
    kind: InviteKind
    target_id: int
    target_name: str
    expires_at: dt.datetime


def issue_invite(uow: UnitOfWork, secret: str, kind: InviteKind, target: str, now: dt.datetime, days: int) -> IssuedInvite:
    """Sign an invite for an SLS (by area code) or an enumerator (by id or exact name)."""
    if days < 1 or days > 90:
        raise ValueError("an invite is valid for 1 to 90 days")
    if kind is InviteKind.ENUMERATOR:
        enumerator = _find_enumerator(uow, target)
        target_id, name = enumerator.id, enumerator.name
    elif kind in (InviteKind.SUPERVISOR, InviteKind.COORDINATOR):
        area = uow.areas.by_code(target)  # a supervisor's or coordinator's scope: any area
        if area is None:
            raise NotAllowed(f"no area with code {target!r}")
        target_id, name = area.id, f"{area.name} ({area.code})"
    else:
        area = uow.areas.by_code(target)
        if area is None or area.level != "sls":
            raise NotAllowed(f"no SLS with code {target!r}")
        target_id, name = area.id, f"{area.name} ({area.code})"
    expires = now + dt.timedelta(days=days)
    return IssuedInvite(make_invite(secret, kind, target_id, expires), kind, target_id, name, expires)


def find_enumerator(uow: UnitOfWork, target: str) -> Any:
    """An enumerator by id or (case-insensitive, unique) name; NotAllowed when there is no single one."""
    return _find_enumerator(uow, target)


def _find_enumerator(uow: UnitOfWork, target: str) -> Any:
    enumerator = uow.enumerators.get(int(target)) if target.isdigit() else None
    if enumerator is None:
        matches = [e for e in uow.enumerators.all() if e.name.lower() == target.lower()]
        if len(matches) != 1:
            raise NotAllowed(f"no single enumerator named {target!r}")
        enumerator = matches[0]
    return enumerator


def parse_days(spec: str) -> list[int]:
    """"mon-sat" or "mon,wed,fri" → weekday numbers."""
    spec = spec.lower().replace(" ", "")
    if "-" in spec:
        first, last = spec.split("-", 1)
        return list(range(WEEKDAYS[first], WEEKDAYS[last] + 1))
    return [WEEKDAYS[d] for d in spec.split(",")]


def set_working_hours(uow: UnitOfWork, target: str, days: list[int], start: dt.time, end: dt.time, visit_minutes: int) -> Any:
    """Change an enumerator's week; existing visits stay (they keep their blocks)."""
    if start >= end:
        raise ValueError("the working day must start before it ends")
    if visit_minutes % MINUTE_STEP or not 15 <= visit_minutes <= 240:
        raise ValueError(f"visit length must be a multiple of {MINUTE_STEP} minutes, 15 to 240")
    if start.minute % MINUTE_STEP or end.minute % MINUTE_STEP:
        raise ValueError(f"hours must fall on a {MINUTE_STEP}-minute mark")
    enumerator = _find_enumerator(uow, target)
    # One window on these days, the rest off (`pintu hours set` gives several); opened dates stay.
    opened = WorkWeek.from_json(enumerator.work_week).dates
    enumerator.work_week = WorkWeek({d: (start, end) for d in days}, opened).to_json()
    enumerator.visit_minutes = visit_minutes
    uow.flush()
    return enumerator


REMINDER_TIME_FIELDS = ("evening_at", "confirm_by", "schedule_at", "summary_at")


def set_reminder_times(uow: UnitOfWork, area_code: str, now: dt.datetime, **changes: Any) -> dict[str, Any]:
    """Set an area's reminder and daily-list times; areas below it inherit what they do not set.

    Times are "HH:MM" local to the area; ``before_minutes`` is the hour-before reminder's offset.
    Only the given (not None) fields change.
    """
    from domain.reminders import parse_clock

    area = uow.areas.by_code(area_code)
    if area is None:
        raise NotAllowed(f"no area with code {area_code!r}")
    values: dict[str, Any] = {}
    for name in REMINDER_TIME_FIELDS:
        if changes.get(name) is not None:
            values[name] = parse_clock(changes[name]).strftime("%H:%M")
    before = changes.get("before_minutes")
    if before is not None:
        if not 10 <= before <= 24 * 60:
            raise ValueError("the reminder before a visit must be 10 minutes to 24 hours ahead")
        values["before_minutes"] = before
    if not values:
        raise ValueError("nothing to change: give at least one of --evening, --before, --confirm-by, --schedule, --summary")
    uow.reminders.save_setting(area.id, now, **values)
    uow.flush()
    return values
