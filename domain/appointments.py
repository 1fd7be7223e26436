"""The booking screens' questions, each answered in one call: what a visit looks like to the people
involved, and the outcome of confirming a time.

A flow asks once and renders what it gets back; the rules themselves stay in domain/booking.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo

from domain.booking import BookingRules, book_visit, can_manage_family, move_visit, offers, sls_timezone
from domain.home_times import clean
from domain.errors import FamilyAlreadyBooked, NoAppointment, NotAllowed, SlotTaken, SlotUnavailable


@dataclass(frozen=True)
class Visit:
    """An appointment as a screen shows it: whose, when (and in which zone), with which officer."""

    appointment_id: int
    family_id: int
    family_name: str
    start: dt.datetime
    zone: ZoneInfo
    officer: str


class NotBooked(Enum):
    TAKEN = "taken"  # someone else booked that time meanwhile
    UNAVAILABLE = "unavailable"  # the time is not bookable (any more): too soon, a holiday, off the grid
    ALREADY_BOOKED = "already_booked"  # the family has a visit already (booked elsewhere meanwhile)
    NO_APPOINTMENT = "no_appointment"  # a move of a visit that was cancelled meanwhile
    NOT_ALLOWED = "not_allowed"


@dataclass(frozen=True)
class Confirmation:
    """The outcome of confirming a time: the visit as it now stands (None when there is none), and
    why not when the time could not be had."""

    visit: Visit | None
    refusal: NotBooked | None = None
    moved: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None


def visit_of(uow: Any, appointment: Any) -> Visit:
    family = uow.families.get(appointment.family_id)
    officer = uow.enumerators.get(appointment.enumerator_id)
    return Visit(appointment.id, family.id, family.head_name, appointment.start_at, sls_timezone(uow, family.sls_id),
                 officer.name)


def past_visit(uow: Any, family_id: int) -> Visit | None:
    """The family's visit that took place (the latest), if any: nothing is left to move or cancel."""
    appointment = uow.appointments.last_visited_for_family(family_id)
    if appointment is None:
        return None
    return replace(visit_of(uow, appointment), start=appointment.updated_at)  # when it took place


def current_visit(uow: Any, family_id: int) -> Visit | None:
    """The family's active visit, if it has one."""
    appointment = uow.appointments.active_for_family(family_id)
    return visit_of(uow, appointment) if appointment is not None else None


def confirm_time(uow: Any, user: Any, family_id: int, start: dt.datetime, *, move: bool, now: dt.datetime,
                 rules: BookingRules) -> Confirmation:
    """Book (or move) the family's visit at ``start``; the database decides who was first."""
    try:
        if move:
            _, appointment = move_visit(uow, user, family_id, start, now, rules)
        else:
            appointment = book_visit(uow, user, family_id, start, now, rules)
    except SlotTaken:
        return Confirmation(None, NotBooked.TAKEN)
    except SlotUnavailable:
        return Confirmation(None, NotBooked.UNAVAILABLE)
    except FamilyAlreadyBooked:
        return Confirmation(current_visit(uow, family_id), NotBooked.ALREADY_BOOKED)
    except NoAppointment:
        return Confirmation(None, NotBooked.NO_APPOINTMENT)
    except NotAllowed:
        return Confirmation(None, NotBooked.NOT_ALLOWED)
    return Confirmation(visit_of(uow, appointment), moved=move)


@dataclass(frozen=True)
class DayChoices:
    family_id: int
    family_name: str
    days: list[dt.date]  # those with a time at the family's home times first
    home_days: frozenset[dt.date] = frozenset()
    home_times: tuple[str, ...] = ()  # what the family said (domain/home_times.py)


@dataclass(frozen=True)
class TimeChoices:
    family_id: int
    family_name: str
    day: dt.date
    zone: ZoneInfo
    slots: list[Any]  # in the order offered (domain/booking.py order_offers)
    home_starts: frozenset[dt.datetime] = frozenset()


def day_choices(uow: Any, family_id: int, now: dt.datetime, rules: BookingRules) -> DayChoices:
    """The days of the horizon that still have a free time, for the family's booking screen."""
    family = uow.families.get(family_id)
    offered = offers(uow, family, now, rules)
    return DayChoices(family.id, family.head_name, offered.days, offered.home_days, clean(family.home_times))


def time_choices(uow: Any, family_id: int, day: dt.date, now: dt.datetime, rules: BookingRules) -> TimeChoices:
    """The free times of one day, in the family's zone, in the order offered (home times, then
    travel-aware: domain/booking.py order_offers)."""
    family = uow.families.get(family_id)
    offered = offers(uow, family, now, rules, [day])
    return TimeChoices(family.id, family.head_name, day, offered.tz, offered.slots, offered.home_starts)


class ReminderAnswer(Enum):
    CONFIRMED = "confirmed"
    STALE = "stale"  # the visit no longer stands as reminded (moved, cancelled, begun)
    NOT_ALLOWED = "not_allowed"  # no such visit, or not the user's to confirm


def confirm_reminder(uow: Any, user: Any, appointment_id: int | None, now: dt.datetime) -> tuple[ReminderAnswer, Visit | None]:
    """The family confirms a reminded visit (recorded once); the visit as the screen shows it."""
    appointment = uow.appointments.get(appointment_id) if appointment_id is not None else None
    family = uow.families.get(appointment.family_id) if appointment is not None else None
    if family is None or not can_manage_family(user, family):
        return ReminderAnswer.NOT_ALLOWED, None
    if appointment.status != "booked" or now >= appointment.start_at:
        return ReminderAnswer.STALE, None
    if appointment.confirmed_at is None:
        appointment.confirmed_at = now
    return ReminderAnswer.CONFIRMED, visit_of(uow, appointment)
