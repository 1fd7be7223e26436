"""Booking, moving and cancelling visits: the rules, over a unit of work.

Services flush but never commit; the caller owns the transaction (one per update or job). Every
collision is settled by the database (busy-block primary key, one active appointment per family),
so the rules stay correct with any number of bot processes on one PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain import family_status, home_times, reminders
from domain.errors import FamilyAlreadyBooked, NoAppointment, NotAllowed, SlotTaken, SlotUnavailable
from domain.holidays_id import cuti_bersama_dates, holiday_dates
from domain.model import Appointment, Enumerator, Family, User
from domain.ports import UnitOfWork
from domain.travel import (BookedVisit, Geography, Place, bound_end, centroids_from_boundaries, detour_rank,
                           neighbours_from_boundaries, travel_key)
from domain.working_time import area_hours
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
# How near a candidate time is to the enumerator's other visits (lower is nearer): built once per
# offer list from the family and the candidates (the travel-aware ordering plugs in here).
TravelKey = Callable[[Slot], float]


@dataclass(frozen=True)
class BookingRules:
    """Everything the booking rules depend on besides the data: policy, holidays and the clock's now."""

    policy: SchedulePolicy = SchedulePolicy()
    holidays: HolidayLookup = holiday_dates
    cuti_bersama: HolidayLookup = cuti_bersama_dates  # closed too, unless the area opens them
    travel_aware: bool = True  # offer times next to the officers' visits nearby first (domain/travel.py)


def closed_dates_for(uow: UnitOfWork, sls_id: int, rules: BookingRules, first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """The dates closed in an SLS: public holidays, and cuti bersama unless the area opens them."""
    closed = rules.holidays(first, last)
    if area_hours(uow, sls_id).cuti_bersama_closed:
        closed = closed | rules.cuti_bersama(first, last)
    return closed


def order_offers(candidates: Iterable[Slot], home: Iterable[str] | None, tz: ZoneInfo,
                 travel_key: TravelKey | None = None) -> list[Slot]:
    """The order times are offered in: at the family's home times first, then nearest the enumerator's
    other visits (``travel_key``, lower first; none: all equal), then the earliest."""
    codes = home_times.clean(home)

    def rank(slot: Slot) -> tuple[bool, float, dt.datetime]:
        at_home = home_times.matches(codes, slot.start.astimezone(tz))
        return (not at_home, travel_key(slot) if travel_key is not None else 0.0, slot.start)

    return sorted(candidates, key=rank)


@dataclass(frozen=True)
class Offers:
    """A family's offer list: the times in the order offered, and which of them (and of their days)
    are at the family's home times (marked on the buttons)."""

    slots: list[Slot]
    home_starts: frozenset[dt.datetime]
    tz: ZoneInfo

    @property
    def days(self) -> list[dt.date]:
        """The days with a free time: those with a home time first (each group by date)."""
        days = {s.start.astimezone(self.tz).date() for s in self.slots}
        return sorted(days, key=lambda d: (d not in self.home_days, d))

    @property
    def home_days(self) -> frozenset[dt.date]:
        return frozenset(start.astimezone(self.tz).date() for start in self.home_starts)


def offers(uow: UnitOfWork, family: Family, now: dt.datetime, rules: BookingRules,
           days: list[dt.date] | None = None) -> Offers:
    """The free times for a family ordered by :func:`order_offers`, with the home-time ones named."""
    tz = sls_timezone(uow, family.sls_id)
    free = family_free_slots(uow, family, now, rules, days)
    travel_key = travel_key_for(uow, family, free, now, rules) if rules.travel_aware and free else None
    ordered = order_offers(free, family.home_times, tz, travel_key)
    home = frozenset(s.start for s in free if home_times.matches(family.home_times, s.start.astimezone(tz)))
    return Offers(ordered, home, tz)


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
    closed = closed_dates_for(uow, family.sls_id, rules, days[0], days[-1])
    return free_slots(calendars, tz, now, rules.policy, closed, days)


BEYOND_BOUND = float(1 << 30)  # a travel key after every detour: later times stay in time order


def travel_key_for(uow: UnitOfWork, family: Family, free: Sequence[Slot], now: dt.datetime,
                   rules: BookingRules) -> TravelKey | None:
    """The travel part of :func:`order_offers` for these free times: each time's detour next to the
    officers' visits booked that day (domain/travel.py), compared only within the bound (the first free
    day and the next one with a free time); later times all alike, so the earliest first. None when no
    visit is booked in the bound (every time alike)."""
    tz = sls_timezone(uow, family.sls_id)
    end = bound_end(_bound_window_starts(uow, family, now, rules, tz), tz)
    near = [slot for slot in free if end is not None and slot.start < end]
    if not near:
        return None
    ids = sorted({i for slot in near for i in slot.enumerator_ids})
    first_day = min(slot.start for slot in near).astimezone(tz).date()
    last_day = (end - dt.timedelta(seconds=1)).astimezone(tz).date()
    days = [first_day + dt.timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    visits, geography = travel_data(uow, ids, *_window(days, tz))
    if not visits:
        return None
    place = family_place(family)

    def key(slot: Slot) -> float:
        if slot.start >= end:
            return BEYOND_BOUND
        return float(detour_rank(travel_key(slot, visits, place, geography, tz)))

    return key


def _bound_window_starts(uow: UnitOfWork, family: Family, now: dt.datetime, rules: BookingRules,
                         tz: ZoneInfo) -> list[dt.datetime]:
    """The free times of the first two days that have one: what the travel bound counts from. The first
    few days are read first (they nearly always hold two), the whole horizon only when they do not."""
    horizon = booking_days(now, tz, rules.policy)
    for days in (horizon[:4], horizon):
        starts = [s.start for s in family_free_slots(uow, family, now, rules, days)]
        if len({s.astimezone(tz).date() for s in starts}) >= 2 or days is horizon:
            return starts
    return []


def family_place(family: Family) -> Place:
    located = family.latitude is not None and family.longitude is not None
    return Place(family.sls_id, (family.latitude, family.longitude) if located else None)


def travel_data(uow: UnitOfWork, enumerator_ids: list[int], start: dt.datetime, end: dt.datetime,
                ) -> tuple[list[BookedVisit], Geography]:
    """The enumerators' booked visits in [start, end) with their places, and the geography of their SLS."""
    visits = [BookedVisit(e, s, f, Place(sls, (lat, lon) if lat is not None and lon is not None else None))
              for e, s, f, sls, lat, lon in uow.appointments.booked_places(enumerator_ids, start, end)]
    boundaries = {}
    for sls_id in {v.place.sls_id for v in visits}:
        area = uow.areas.get(sls_id)
        if area is not None and area.boundary:
            boundaries[sls_id] = area.boundary
    if not boundaries:
        return visits, Geography()
    return visits, Geography(centroids_from_boundaries(boundaries), neighbours_from_boundaries(boundaries))


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
    closed = closed_dates_for(uow, family.sls_id, rules, day, day)
    for enumerator in uow.enumerators.assigned_to(family.sls_id):
        if slot_is_offered(_calendar(enumerator, frozenset()), start, tz, now, rules.policy, closed):
            return SlotTaken()
    return SlotUnavailable()


def _least_busy_first(uow: UnitOfWork, slot: Slot, day: dt.date, tz: ZoneInfo) -> list[int]:
    """Spread the day's visits over the enumerators free at this time (travel decides which times are
    offered first, not who takes them: the workload stays fair)."""
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
