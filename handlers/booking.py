"""Booking, moving and cancelling a visit: day → time → confirm, all in one message edited in place.

State table (buttons only; typed text in these states gets a hint to use the buttons):

| state     | data                         | waits for                       |
| --------- | ---------------------------- | ------------------------------- |
| pick_day  | family_id, mode (book/move)  | a day button                    |
| pick_time | + day                        | a time button, or back to days  |
| confirm   | + start (UTC ISO)            | confirm, or another time        |
| idle      |                              | commands                        |

A press on a button of an earlier screen still works when it makes sense (a day, a time): the
choice is checked against fresh free times, never trusted.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from domain.booking import (
    book_visit,
    can_manage_family,
    cancel_visit,
    days_with_free_slots,
    family_free_slots,
    move_visit,
    sls_timezone,
    why_not_free,
)
from domain.errors import FamilyAlreadyBooked, NoAppointment, NotAllowed, SlotTaken, SlotUnavailable
from domain.model import Appointment, Family
from domain.slots import booking_days
from handlers import common, keyboards, questionnaire
from handlers.context import Context
from handlers.render import day_label, visit_when, zone_name

BOOKING_STATES = ("pick_day", "pick_time", "confirm")


# --- screens --------------------------------------------------------------------------------------

def show_days(ctx: Context, family_id: int, mode: str, notice: str | None = None) -> None:
    """The days of the next two weeks that still have a free time."""
    family = ctx.uow.families.get(family_id)
    days = days_with_free_slots(ctx.uow, family, ctx.now, ctx.rules)
    prefix = f"{notice}\n\n" if notice else ""
    if not days:
        ctx.goto("idle")
        ctx.show(prefix + ctx.t("no-free-days"))
        return
    ctx.goto("pick_day", family_id=family_id, mode=mode)
    title = ctx.t("choose-day-move" if mode == "move" else "choose-day", name=family.head_name)
    ctx.show(prefix + title, keyboards.days(days, ctx.t))


def show_times(ctx: Context, family: Family, day: dt.date, notice: str | None = None) -> None:
    """The free times of one day; an empty day sends the user back to the days."""
    tz = sls_timezone(ctx.uow, family.sls_id)
    slots = family_free_slots(ctx.uow, family, ctx.now, ctx.rules, [day])
    if not slots:
        show_days(ctx, family.id, ctx.data.get("mode", "book"), notice=notice or ctx.t("day-full"))
        return
    ctx.goto("pick_time", family_id=family.id, mode=ctx.data.get("mode", "book"), day=day.isoformat())
    prefix = f"{notice}\n\n" if notice else ""
    title = ctx.t("choose-time", day=day_label(day, ctx.t.language), zone=zone_name(tz))
    ctx.show(prefix + title, keyboards.times(slots, tz, ctx.t))


def show_appointment(ctx: Context, family: Family, appointment: Appointment) -> None:
    ctx.goto("idle")
    ctx.show(_visit_text(ctx, family, appointment, "appointment"), keyboards.appointment_actions(ctx.t, family.id))


def _visit_text(ctx: Context, family: Family, appointment: Appointment, key: str) -> str:
    tz = sls_timezone(ctx.uow, family.sls_id)
    officer = ctx.uow.enumerators.get(appointment.enumerator_id)
    return ctx.t(key, when=visit_when(appointment.start_at, tz, ctx.t), officer=officer.name, name=family.head_name)


# --- commands -------------------------------------------------------------------------------------

def on_show_appointment(ctx: Context) -> None:
    """/janji: the family's visit with move/cancel buttons, or the days to book one."""
    family = _own_family(ctx)
    if family is None:
        return
    appointment = ctx.uow.appointments.active_for_family(family.id)
    if appointment is None:
        show_days(ctx, family.id, mode="book")
    else:
        show_appointment(ctx, family, appointment)


def on_move(ctx: Context) -> None:
    family = _own_family(ctx)
    if family is None:
        return
    if ctx.uow.appointments.active_for_family(family.id) is None:
        show_days(ctx, family.id, mode="book", notice=ctx.t("no-appointment"))
    else:
        show_days(ctx, family.id, mode="move")


def on_cancel(ctx: Context) -> None:
    family = _own_family(ctx)
    if family is None:
        return
    appointment = ctx.uow.appointments.active_for_family(family.id)
    if appointment is None:
        ctx.send(ctx.t("no-appointment"))
        return
    ctx.goto("idle")
    ctx.show(_visit_text(ctx, family, appointment, "cancel-question"), keyboards.cancel_confirm(ctx.t, family.id))


def _own_family(ctx: Context) -> Family | None:
    """Residents act on their own family; others are pointed to their own tools."""
    if ctx.user.family_id is None:
        common.show_home(ctx)
        return None
    return ctx.uow.families.get(ctx.user.family_id)


# --- buttons --------------------------------------------------------------------------------------

def on_day_button(ctx: Context) -> None:
    family = _family_in_progress(ctx)
    if family is None:
        return
    _, argument = keyboards.parse(ctx.event.callback_data)
    tz = sls_timezone(ctx.uow, family.sls_id)
    chosen = keyboards.parse_local(argument, "%Y%m%d", tz)
    if chosen is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if not _within_horizon(ctx, chosen, tz):
        _outside_horizon(ctx, family)
        return
    show_times(ctx, family, chosen.date())


def on_time_button(ctx: Context) -> None:
    family = _family_in_progress(ctx)
    if family is None:
        return
    _, argument = keyboards.parse(ctx.event.callback_data)
    tz = sls_timezone(ctx.uow, family.sls_id)
    chosen = keyboards.parse_local(argument, "%Y%m%d%H%M", tz)
    if chosen is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if not _within_horizon(ctx, chosen, tz):
        _outside_horizon(ctx, family)
        return
    start = chosen.astimezone(dt.timezone.utc)
    ctx.keep(mode=ctx.data.get("mode", "book"))
    free = family_free_slots(ctx.uow, family, ctx.now, ctx.rules, [chosen.date()])
    if not any(slot.start == start for slot in free):
        _not_free(ctx, family, chosen.date(), why_not_free(ctx.uow, family, start, ctx.now, ctx.rules))
        return
    ctx.goto("confirm", family_id=family.id, mode=ctx.data["mode"], day=chosen.date().isoformat(), start=start.isoformat())
    ctx.show(ctx.t("confirm-visit", when=visit_when(start, tz, ctx.t), name=family.head_name), keyboards.confirm(ctx.t))


def on_confirm_button(ctx: Context) -> None:
    """Book (or move) for real: the database decides who was first."""
    if ctx.state != "confirm" or "start" not in ctx.data:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    family = ctx.uow.families.get(int(ctx.data["family_id"]))
    start = dt.datetime.fromisoformat(ctx.data["start"])
    day = dt.date.fromisoformat(ctx.data["day"])
    try:
        if ctx.data.get("mode") == "move":
            _, appointment = move_visit(ctx.uow, ctx.user, family.id, start, ctx.now, ctx.rules)
            key = "visit-moved"
        else:
            appointment = book_visit(ctx.uow, ctx.user, family.id, start, ctx.now, ctx.rules)
            key = "visit-booked"
    except (SlotTaken, SlotUnavailable) as reason:
        _not_free(ctx, family, day, reason)
        return
    except FamilyAlreadyBooked:
        show_appointment(ctx, family, ctx.uow.appointments.active_for_family(family.id))
        return
    except NoAppointment:
        # Moving a visit that was cancelled meanwhile (another chat, the RT head): say so and offer
        # to book instead, rather than "not allowed", which is not what happened.
        show_days(ctx, family.id, mode="book", notice=ctx.t("no-appointment"))
        return
    except NotAllowed:
        ctx.goto("idle")
        ctx.show(ctx.t("not-allowed"))
        return
    ctx.goto("idle")
    if ctx.user.family_id == family.id:
        ctx.show(_visit_text(ctx, family, appointment, key), keyboards.appointment_actions(ctx.t, family.id))
        # While the visit is fresh in mind: the part of the questionnaire the family answers itself.
        questionnaire.add_fill_button(ctx, family.id)
    else:
        ctx.show(_visit_text(ctx, family, appointment, "visit-booked-for"), keyboards.back_to_rt_menu(ctx.t))


def _not_free(ctx: Context, family: Family, day: dt.date, reason: Exception) -> None:
    """The chosen time cannot be booked: say why, and show the times still free that day.

    Fix: every such case used to say "just taken by someone else", also when nobody had taken it
    but the time had passed the lead time while the user looked at the confirmation (or the button
    was hand-made for a holiday or an off-grid time).
    """
    taken = isinstance(reason, SlotTaken)
    ctx.answer(ctx.t("slot-taken-short" if taken else "slot-unavailable-short"))
    show_times(ctx, family, day, notice=ctx.t("slot-taken" if taken else "slot-unavailable"))


def _within_horizon(ctx: Context, chosen: dt.datetime, tz: ZoneInfo) -> bool:
    return chosen.date() in booking_days(ctx.now, tz, ctx.rules.policy)


def _outside_horizon(ctx: Context, family: Family) -> None:
    """A day button from an old message (or a forged one): refresh the days instead of failing.

    Fix: a far-away date (year 1 or 9999) in callback data overflowed when converted to UTC.
    """
    ctx.answer(ctx.t("stale-button"), alert=True)
    show_days(ctx, family.id, ctx.data.get("mode", "book"))


def on_navigation_button(ctx: Context) -> None:
    _, argument = keyboards.parse(ctx.event.callback_data)
    if argument == "close":
        ctx.goto("idle")
        ctx.show(ctx.t("booking-closed"))
        return
    family = _family_in_progress(ctx)
    if family is not None and argument == "days":
        show_days(ctx, family.id, ctx.data.get("mode", "book"))
    elif family is not None:
        ctx.answer(ctx.t("stale-button"), alert=True)


def on_appointment_button(ctx: Context) -> None:
    """Move / cancel / really cancel / keep, for a family the user may manage."""
    _, argument = keyboards.parse(ctx.event.callback_data)
    action, _, family_arg = argument.partition(":")
    family_id = keyboards.parse_id(family_arg)  # fix: isdigit()+int() crashed on "²" and huge ids
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or not can_manage_family(ctx.user, family):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    appointment = ctx.uow.appointments.active_for_family(family.id)
    if appointment is None and action != "book":
        ctx.answer(ctx.t("no-appointment"), alert=True)
        show_days(ctx, family.id, mode="book")
    elif action == "book":
        show_days(ctx, family.id, mode="book") if appointment is None else show_appointment(ctx, family, appointment)
    elif action == "move":
        show_days(ctx, family.id, mode="move")
    elif action == "cancel":
        ctx.show(_visit_text(ctx, family, appointment, "cancel-question"), keyboards.cancel_confirm(ctx.t, family.id))
    elif action == "yes":
        try:
            cancel_visit(ctx.uow, ctx.user, family.id, ctx.now)
        except NoAppointment:
            # Cancelled or moved elsewhere (an RT head, another phone) while this screen was open.
            ctx.answer(ctx.t("no-appointment"), alert=True)
            show_days(ctx, family.id, mode="book")
            return
        ctx.goto("idle")
        ctx.show(_visit_text(ctx, family, appointment, "visit-cancelled"), keyboards.book_again(ctx.t, family.id))
    elif action == "keep":
        show_appointment(ctx, family, appointment)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def _family_in_progress(ctx: Context) -> Family | None:
    """The family whose booking screens are open; a press outside a booking is a stale button."""
    family_id = ctx.data.get("family_id")
    if ctx.state not in BOOKING_STATES or family_id is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return ctx.uow.families.get(int(family_id))
