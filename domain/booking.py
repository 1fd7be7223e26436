"""Booking, moving and cancelling visits: the rules, over a unit of work.

Services flush but never commit; the caller owns the transaction (one per update or job). Every
collision is settled by the database (busy-block primary key, one active appointment per family),
so the rules stay correct with any number of bot processes on one PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain import family_status, reminders
from domain.errors import FamilyAlreadyBooked, NoAppointment, NotAllowed, SlotTaken, SlotUnavailable
from domain.holidays_id import holiday_dates
from domain.model import Appointment, Enumerator, Family, User
from domain.ports import UnitOfWork
from domain.slots import (
    EnumeratorCalendar,
    SchedulePolicy,
    Slot,
    WorkWeek,
    blocks_between,
    booking_days,
    free_slots,
    slot_is_offered,
)

HolidayLookup = Callable[[dt.date, dt.date], frozenset[dt.date]]


@dataclass(frozen=True)
class BookingRules:
    """Everything the booking rules depend on besides the data: policy, holidays and the clock's now."""

    policy: SchedulePolicy = SchedulePolicy()
    holidays: HolidayLookup = holiday_dates


def sls_timezone(uow: UnitOfWork, sls_id: int) -> ZoneInfo:
    area = uow.areas.get(sls_id)
    return ZoneInfo(area.timezone)


def can_manage_family(user: User, family: Family) -> bool:
    """Residents manage their own family; an RT head the families of their RT; admins any."""
    if user.role == "admin":
        return True
    if user.role == "rt_head":
        return user.sls_id == family.sls_id
    return user.family_id == family.id


def _require_family(uow: UnitOfWork, user: User, family_id: int) -> Family:
    family = uow.families.get(family_id)
    if family is None or not can_manage_family(user, family):
        raise NotAllowed("family")
    return family


def _calendars(uow: UnitOfWork, sls_id: int, start: dt.datetime, end: dt.datetime) -> list[EnumeratorCalendar]:
    enumerators = uow.enumerators.assigned_to(sls_id)
    busy = uow.enumerators.busy_blocks([e.id for e in enumerators], start, end)
    return [_calendar(e, frozenset(busy[e.id])) for e in enumerators]


def _calendar(enumerator: Enumerator, busy: frozenset[dt.datetime]) -> EnumeratorCalendar:
    return EnumeratorCalendar(enumerator.id, WorkWeek.from_json(enumerator.work_week), enumerator.visit_minutes, busy)


def _window(days: list[dt.date], tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(days[0], dt.time(0), tz)
    end = dt.datetime.combine(days[-1] + dt.timedelta(days=1), dt.time(0), tz)
    return start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)


def family_free_slots(
    uow: UnitOfWork, family: Family, now: dt.datetime, rules: BookingRules, days: list[dt.date] | None = None
) -> list[Slot]:
    """Free slots for a family's SLS, on the given local days (default: the whole horizon)."""
    tz = sls_timezone(uow, family.sls_id)
    days = days or booking_days(now, tz, rules.policy)
    start, end = _window(days, tz)
    calendars = _calendars(uow, family.sls_id, start, end)
    return free_slots(calendars, tz, now, rules.policy, rules.holidays(days[0], days[-1]), days)


def days_with_free_slots(uow: UnitOfWork, family: Family, now: dt.datetime, rules: BookingRules) -> list[dt.date]:
    tz = sls_timezone(uow, family.sls_id)
    return sorted({slot.start.astimezone(tz).date() for slot in family_free_slots(uow, family, now, rules)})


def book_visit(uow: UnitOfWork, user: User, family_id: int, start: dt.datetime, now: dt.datetime, rules: BookingRules) -> Appointment:
    """Book the first enumerator free at ``start``; raise SlotTaken if someone was faster."""
    family = _require_family(uow, user, family_id)
    if uow.appointments.active_for_family(family.id) is not None:
        raise FamilyAlreadyBooked()
    appointment = _claim_slot(uow, user, family, start, now, rules)
    _notify_enumerator(uow, appointment, family, "visit-new", now)
    reminders.plan_for_visit(uow, appointment, family, now)
    family_status.on_booked(uow, family, now)
    return appointment


def move_visit(uow: UnitOfWork, user: User, family_id: int, start: dt.datetime, now: dt.datetime, rules: BookingRules) -> tuple[Appointment, Appointment]:
    """Move the family's visit to ``start``; on failure nothing changes."""
    family = _require_family(uow, user, family_id)
    # Locked, not merely read: a concurrent cancel or move of this visit must not be overwritten
    # (see AppointmentRepository.lock_active_for_family).
    old = uow.appointments.lock_active_for_family(family.id)
    if old is None:
        raise NoAppointment()
    old_start = old.start_at
    with uow.savepoint():
        old.status, old.updated_at = "moved", now
        uow.appointments.release_blocks(old.id)
        uow.flush()
        new = _claim_slot(uow, user, family, start, now, rules, exclude_family_check=True)
        old.replaced_by_id = new.id
    if new.enumerator_id != old.enumerator_id:
        _notify_enumerator(uow, old, family, "visit-cancelled", now)
        _notify_enumerator(uow, new, family, "visit-new", now)
    else:
        _notify_enumerator(uow, new, family, "visit-moved", now, old_start=old_start)
    reminders.replan_for_move(uow, old, new, family, now)
    return old, new


def cancel_visit(uow: UnitOfWork, user: User, family_id: int, now: dt.datetime) -> Appointment:
    family = _require_family(uow, user, family_id)
    appointment = uow.appointments.lock_active_for_family(family.id)  # as in move_visit
    if appointment is None:
        raise NoAppointment()
    appointment.status, appointment.updated_at = "cancelled", now
    uow.appointments.release_blocks(appointment.id)
    uow.flush()
    _notify_enumerator(uow, appointment, family, "visit-cancelled", now)
    reminders.cancel_for_visit(uow, appointment)
    family_status.on_cancelled(uow, family, now)
    return appointment


def _claim_slot(
    uow: UnitOfWork, user: User, family: Family, start: dt.datetime, now: dt.datetime, rules: BookingRules,
    exclude_family_check: bool = False,
) -> Appointment:
    tz = sls_timezone(uow, family.sls_id)
    day = start.astimezone(tz).date()
    slot = next((s for s in family_free_slots(uow, family, now, rules, [day]) if s.start == start), None)
    if slot is None:
        raise _why_not_free(uow, family, start, now, rules, tz)
    for enumerator_id in _least_busy_first(uow, slot, day, tz):
        appointment = Appointment(
            family_id=family.id, enumerator_id=enumerator_id, start_at=slot.start, end_at=slot.end,
            status="booked", booked_by_user_id=user.id, created_at=now, updated_at=now,
        )
        try:
            return uow.appointments.claim(appointment, blocks_between(slot.start, slot.end))
        except SlotTaken:
            # Either another process took this enumerator's time or booked this family meanwhile.
            if not exclude_family_check and uow.appointments.active_for_family(family.id) is not None:
                raise FamilyAlreadyBooked() from None
    raise SlotTaken()


def officer_for(uow: UnitOfWork, family: Family, start: dt.datetime, now: dt.datetime, rules: BookingRules) -> Enumerator | None:
    """The officer a booking at ``start`` would go to now (the confirm screen names them); None when
    the time is no longer free. The booking itself decides again (someone may be faster)."""
    tz = sls_timezone(uow, family.sls_id)
    day = start.astimezone(tz).date()
    slot = next((s for s in family_free_slots(uow, family, now, rules, [day]) if s.start == start), None)
    if slot is None:
        return None
    first = next(iter(_least_busy_first(uow, slot, day, tz)), None)
    return uow.enumerators.get(first) if first is not None else None


def why_not_free(uow: UnitOfWork, family: Family, start: dt.datetime, now: dt.datetime, rules: BookingRules) -> Exception:
    """For a time that is not free: SlotTaken if the rules allow it (someone booked it), else
    SlotUnavailable (too soon, a holiday, off the grid, outside working hours)."""
    return _why_not_free(uow, family, start, now, rules, sls_timezone(uow, family.sls_id))


def _why_not_free(uow: UnitOfWork, family: Family, start: dt.datetime, now: dt.datetime, rules: BookingRules, tz: ZoneInfo) -> Exception:
    """A time the rules allow but nobody is free for was taken; anything else was never bookable."""
    day = start.astimezone(tz).date()
    closed = rules.holidays(day, day)
    for enumerator in uow.enumerators.assigned_to(family.sls_id):
        if slot_is_offered(_calendar(enumerator, frozenset()), start, tz, now, rules.policy, closed):
            return SlotTaken()
    return SlotUnavailable()


def _least_busy_first(uow: UnitOfWork, slot: Slot, day: dt.date, tz: ZoneInfo) -> list[int]:
    """Spread the day's visits over the enumerators free at this time."""
    start, end = _window([day], tz)
    busy = uow.enumerators.busy_blocks(list(slot.enumerator_ids), start, end)
    return sorted(slot.enumerator_ids, key=lambda i: (len(busy[i]), i))


def _notify_enumerator(uow: UnitOfWork, appointment: Appointment, family: Family, kind: str, now: dt.datetime, old_start: dt.datetime | None = None) -> None:
    """Queue a message to the enumerator in the same transaction as the change itself."""
    enumerator = uow.enumerators.get(appointment.enumerator_id)
    if enumerator is None or enumerator.user_id is None:
        return  # not yet joined the bot; they see the visit in their schedule once they do
    officer = uow.users.get(enumerator.user_id)
    payload = {
        "appointment_id": appointment.id,
        "family_id": family.id,
        "start": appointment.start_at.isoformat(),
        "old_start": old_start.isoformat() if old_start else None,
    }
    uow.outbox.add(officer.telegram_id, kind, payload, due_at=now, now=now)
