"""Booking, moving and cancelling a visit: day → time → confirm, all in one message edited in place.

| state        | data                         | waits for                       |
| ------------ | ---------------------------- | ------------------------------- |
| PICK_DAY     | family_id, mode (book/move)  | a day button                    |
| PICK_TIME    | + day                        | a time button, or back to days  |
| CONFIRM      | + start (UTC ISO)            | confirm, or another time        |
| APPOINTMENT  | family_id                    | (shows the visit; rests in IDLE)|

A press on a button of an earlier screen is answered by the router as no longer current
(handlers/screens.py); a choice that reaches a step is still checked against fresh free times, never
trusted (an unnumbered or hand-made press). The resident's home screen is here too:
their visit with move/cancel, or the days to book one.

When the family is usually home ("hm" buttons, from the days screen or the RT head's family page): a
multi-select of home times (✅, each press saved at once), edited in place, "Selesai" back to where it
was opened. Days and times at those home times are offered first and marked 🏠 (order_offers).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from chat.keyboard import parse, parse_id
from chat.render import HOME_MARK, day_label, home_times_label, visit_when, zone_name
from domain.appointments import (NotBooked, Visit, confirm_time, current_visit, day_choices, past_visit,
                                 time_choices)
from domain.booking import (can_manage_family, cancel_visit, family_free_slots, officer_for, sls_timezone,
                            why_not_free)
from domain.errors import NoAppointment, SlotTaken
from domain.home_times import HOME_TIMES, clean, toggle
from domain.slots import booking_days
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec, use_buttons
from handlers.states import State
from domain.model import Family

BOOKING_STATES = (State.PICK_DAY, State.PICK_TIME, State.CONFIRM)


# --- screens (entered by the router) --------------------------------------------------------------

def enter_days(ctx: Context) -> None:
    """The days of the next two weeks that still have a free time."""
    mode = ctx.data.get("mode", "book")
    choices = day_choices(ctx.uow, int(ctx.data["family_id"]), ctx.now, ctx.rules)
    if not choices.days:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("no-free-days"))
        return
    ctx.stay(State.PICK_DAY, family_id=choices.family_id, mode=mode)
    title = ctx.t("choose-day-move" if mode == "move" else "choose-day", name=choices.family_name)
    title += "\n" + _home_note(ctx, choices.home_times)
    ctx.show(title, keyboards.days(choices.days, ctx.t, choices.home_days, choices.family_id))


def _home_note(ctx: Context, codes) -> str:  # type: ignore[no-untyped-def]
    """Under the day or time question: when the family said it is home (marked 🏠), or the hint to say so."""
    if not codes:
        return ctx.t("home-times-ask-hint")
    return ctx.t("home-times-note", mark=HOME_MARK, times=home_times_label(codes, ctx.t))


def enter_times(ctx: Context) -> None:
    """The free times of one day; an empty day sends the user back to the days."""
    mode = ctx.data.get("mode", "book")
    choices = time_choices(ctx.uow, int(ctx.data["family_id"]), dt.date.fromisoformat(ctx.data["day"]), ctx.now,
                           ctx.rules)
    if not choices.slots:
        ctx.go(State.PICK_DAY, family_id=choices.family_id, mode=mode, notice=ctx.notice or ctx.t("day-full"))
        return
    ctx.stay(State.PICK_TIME, family_id=choices.family_id, mode=mode, day=choices.day.isoformat())
    title = ctx.t("choose-time", day=day_label(choices.day, ctx.t.language), zone=zone_name(choices.zone))
    if choices.home_starts:
        title += "\n" + ctx.t("home-times-marked", mark=HOME_MARK)
    ctx.show(title, keyboards.times(choices.slots, choices.zone, ctx.t, choices.home_starts))


def enter_appointment(ctx: Context) -> None:
    """The family's visit with move/cancel; the days to book one when it has none (any more)."""
    family_id = int(ctx.data["family_id"])
    visit = current_visit(ctx.uow, family_id)
    if visit is None and _show_past_visit(ctx, family_id):
        return
    if visit is None:
        ctx.go(State.PICK_DAY, family_id=family_id, mode="book", notice=ctx.notice)
        return
    ctx.stay(State.IDLE)
    ctx.show(_visit_text(ctx, visit, "appointment"), keyboards.appointment_actions(ctx.t, family_id))


def _show_past_visit(ctx: Context, family_id: int) -> bool:
    """The visit already took place: say when and with whom, offer nothing to move or book."""
    visit = past_visit(ctx.uow, family_id)
    if visit is None:
        return False
    ctx.stay(State.IDLE)
    ctx.show(_visit_text(ctx, visit, "visit-took-place"))
    return True


def _visit_text(ctx: Context, visit: Visit, key: str) -> str:
    return ctx.t(key, when=visit_when(visit.start, visit.zone, ctx.t), officer=visit.officer, name=visit.family_name)


def resident_home(ctx: Context) -> None:
    """A resident's home: their family's visit, the booking in progress, or the days to book."""
    family_id = ctx.user.family_id
    if current_visit(ctx.uow, family_id) is not None:
        _show_visit(ctx, family_id)
    elif past_visit(ctx.uow, family_id) is not None:
        _show_past_visit(ctx, family_id)
    elif ctx.state in BOOKING_STATES and ctx.data.get("family_id") == family_id:
        _show_days(ctx, family_id, ctx.data.get("mode", "book"))
    else:
        _show_days(ctx, family_id, "book")
    _offer_questionnaire(ctx, family_id)  # the self-report part, before the visit


def _show_visit(ctx: Context, family_id: int) -> None:
    ctx.stay(State.APPOINTMENT, family_id=family_id)
    enter_appointment(ctx)


def _show_days(ctx: Context, family_id: int, mode: str, notice: str | None = None) -> None:
    ctx.stay(State.PICK_DAY, family_id=family_id, mode=mode)
    ctx.notice = notice or ctx.notice
    enter_days(ctx)


def _offer_questionnaire(ctx: Context, family_id: int) -> None:
    if ctx.uow.questionnaires.completed_of(family_id) is None:
        ctx.extend_screen([keyboards.fill_questionnaire(ctx.t, family_id)])


# --- commands -------------------------------------------------------------------------------------

def on_show_appointment(ctx: Context) -> None:
    """/janji: the family's visit with move/cancel buttons, or the days to book one."""
    family = _own_family(ctx)
    if family is not None:
        _show_visit(ctx, family.id)


def on_move(ctx: Context) -> None:
    family = _own_family(ctx)
    if family is None:
        return
    if current_visit(ctx.uow, family.id) is None and _show_past_visit(ctx, family.id):
        return
    if current_visit(ctx.uow, family.id) is None:
        _show_days(ctx, family.id, "book", notice=ctx.t("no-appointment"))
    else:
        _show_days(ctx, family.id, "move")


def on_cancel(ctx: Context) -> None:
    family = _own_family(ctx)
    if family is None:
        return
    visit = current_visit(ctx.uow, family.id)
    if visit is None and _show_past_visit(ctx, family.id):
        return
    if visit is None:
        ctx.send(ctx.t("no-appointment"))
        return
    ctx.stay(State.IDLE)
    ctx.show(_visit_text(ctx, visit, "cancel-question"), keyboards.cancel_confirm(ctx.t, family.id))


def _own_family(ctx: Context) -> Family | None:
    """Residents act on their own family; others are pointed to their own tools."""
    if ctx.user.family_id is None:
        ctx.go_home()
        return None
    return ctx.uow.families.get(ctx.user.family_id)


# --- buttons --------------------------------------------------------------------------------------

def _chosen(ctx: Context, fmt: str) -> tuple[Family, dt.datetime] | None:
    """The family being booked and the day or time its button names, checked; None (and answered) for a
    press outside a booking, a malformed button, or a day outside the horizon (the days shown again)."""
    family = _family_in_progress(ctx)
    if family is None:
        return None
    _, argument = parse(ctx.event.callback_data)
    tz = sls_timezone(ctx.uow, family.sls_id)
    chosen = keyboards.parse_local(argument, fmt, tz)
    if chosen is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    if not _within_horizon(ctx, chosen, tz):
        _outside_horizon(ctx, family)
        return None
    return family, chosen


def on_day_button(ctx: Context) -> None:
    picked = _chosen(ctx, "%Y%m%d")
    if picked is None:
        return
    family, chosen = picked
    ctx.go(State.PICK_TIME, family_id=family.id, mode=ctx.data.get("mode", "book"), day=chosen.date().isoformat())


def on_time_button(ctx: Context) -> None:
    picked = _chosen(ctx, "%Y%m%d%H%M")
    if picked is None:
        return
    family, chosen = picked
    start = chosen.astimezone(dt.timezone.utc)
    mode = ctx.data.get("mode", "book")
    free = family_free_slots(ctx.uow, family, ctx.now, ctx.rules, [chosen.date()])
    if not any(slot.start == start for slot in free):
        taken = isinstance(why_not_free(ctx.uow, family, start, ctx.now, ctx.rules), SlotTaken)
        _not_free(ctx, family.id, mode, chosen.date(), taken)
        return
    ctx.go(State.CONFIRM, family_id=family.id, mode=mode, day=chosen.date().isoformat(), start=start.isoformat())


def enter_confirm(ctx: Context) -> None:
    family = ctx.uow.families.get(int(ctx.data["family_id"]))
    start = dt.datetime.fromisoformat(ctx.data["start"])
    tz = sls_timezone(ctx.uow, family.sls_id)
    officer = officer_for(ctx.uow, family, start, ctx.now, ctx.rules)
    ctx.show(ctx.t("confirm-visit", when=visit_when(start, tz, ctx.t), name=family.head_name,
                   officer=officer.name if officer is not None else "-"), keyboards.confirm(ctx.t))


def on_confirm_button(ctx: Context) -> None:
    """Book (or move) for real: one question to the domain, one screen for its answer."""
    if ctx.state is not State.CONFIRM or "start" not in ctx.data:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    family_id, mode = int(ctx.data["family_id"]), ctx.data.get("mode", "book")
    day = dt.date.fromisoformat(ctx.data["day"])
    confirmed = confirm_time(ctx.uow, ctx.user, family_id, dt.datetime.fromisoformat(ctx.data["start"]),
                             move=mode == "move", now=ctx.now, rules=ctx.rules)
    if confirmed.refusal in (NotBooked.TAKEN, NotBooked.UNAVAILABLE):
        _not_free(ctx, family_id, mode, day, confirmed.refusal is NotBooked.TAKEN)
    elif confirmed.refusal is NotBooked.ALREADY_BOOKED:
        _show_visit(ctx, family_id)
    elif confirmed.refusal is NotBooked.NO_APPOINTMENT:
        # Moving a visit that was cancelled meanwhile (another chat, the RT head): say so and offer
        # to book instead, rather than "not allowed", which is not what happened.
        _show_days(ctx, family_id, "book", notice=ctx.t("no-appointment"))
    elif confirmed.refusal is NotBooked.NOT_ALLOWED:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("not-allowed"))
    elif ctx.user.family_id == family_id:
        ctx.stay(State.IDLE)
        ctx.show(_visit_text(ctx, confirmed.visit, "visit-moved" if confirmed.moved else "visit-booked"),
                 keyboards.appointment_actions(ctx.t, family_id))
        _offer_questionnaire(ctx, family_id)  # while the visit is fresh in mind
    else:
        ctx.stay(State.IDLE)
        ctx.show(_visit_text(ctx, confirmed.visit, "visit-booked-for"), keyboards.back_to_rt_menu(ctx.t))


def _not_free(ctx: Context, family_id: int, mode: str, day: dt.date, taken: bool) -> None:
    """The chosen time cannot be booked: say why (taken by someone, or never bookable: the lead time
    passed while the user looked at the confirmation, a hand-made button), and show the day's free times."""
    ctx.answer(ctx.t("slot-taken-short" if taken else "slot-unavailable-short"))
    ctx.go(State.PICK_TIME, family_id=family_id, mode=mode, day=day.isoformat(),
           notice=ctx.t("slot-taken" if taken else "slot-unavailable"))


def _within_horizon(ctx: Context, chosen: dt.datetime, tz: ZoneInfo) -> bool:
    return chosen.date() in booking_days(ctx.now, tz, ctx.rules.policy)


def _outside_horizon(ctx: Context, family: Family) -> None:
    """A day button from an old message, or a forged one (a far-away year would overflow in UTC):
    refresh the days instead of failing."""
    ctx.answer(ctx.t("stale-button"), alert=True)
    _show_days(ctx, family.id, ctx.data.get("mode", "book"))


def on_navigation_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    if argument == "close":
        # During a move the visit stays booked as it was: "book any time" would read as if it were gone.
        moving = ctx.state in BOOKING_STATES and ctx.data.get("mode") == "move"
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("move-closed" if moving else "booking-closed"))
        return
    family = _family_in_progress(ctx)
    if family is not None and argument == "days":
        _show_days(ctx, family.id, ctx.data.get("mode", "book"))
    elif family is not None:
        ctx.answer(ctx.t("stale-button"), alert=True)


def on_appointment_button(ctx: Context) -> None:
    """Move / cancel / really cancel / keep, for a family the user may manage."""
    _, argument = parse(ctx.event.callback_data)
    action, _, family_arg = argument.partition(":")
    family_id = parse_id(family_arg)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or not can_manage_family(ctx.user, family):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    visit = current_visit(ctx.uow, family.id)
    if visit is None and ctx.uow.appointments.last_visited_for_family(family.id) is not None:
        ctx.answer(ctx.t("visit-already-took-place"), alert=True)
        _show_past_visit(ctx, family.id)
    elif visit is None and action != "book":
        ctx.answer(ctx.t("no-appointment"), alert=True)
        _show_days(ctx, family.id, "book")
    elif action == "book":
        _show_days(ctx, family.id, "book") if visit is None else _show_visit(ctx, family.id)
    elif action == "move":
        _show_days(ctx, family.id, "move")
    elif action == "cancel":
        ctx.show(_visit_text(ctx, visit, "cancel-question"), keyboards.cancel_confirm(ctx.t, family.id))
    elif action == "yes":
        try:
            cancel_visit(ctx.uow, ctx.user, family.id, ctx.now)
        except NoAppointment:
            # Cancelled or moved elsewhere (an RT head, another phone) while this screen was open.
            ctx.answer(ctx.t("no-appointment"), alert=True)
            _show_days(ctx, family.id, "book")
            return
        ctx.stay(State.IDLE)
        ctx.show(_visit_text(ctx, visit, "visit-cancelled"), keyboards.book_again(ctx.t, family.id))
    elif action == "keep":
        _show_visit(ctx, family.id)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def on_home_button(ctx: Context) -> None:
    """hm:open|done:<family>:<back>, hm:t:<family>:<index>:<back>: the family's home times."""
    _, argument = parse(ctx.event.callback_data)
    action, _, rest = argument.partition(":")
    family_arg, _, rest = rest.partition(":")
    family_id = parse_id(family_arg)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    index_arg, _, back_arg = rest.rpartition(":") if action == "t" else ("", "", rest)
    index = parse_id(index_arg) if action == "t" else 0
    if (family is None or not can_manage_family(ctx.user, family) or back_arg not in ("b", "r")
            or action not in ("open", "t", "done") or index is None or index >= len(HOME_TIMES)):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if action == "done":
        _home_times_done(ctx, family)
        return
    if action == "t":
        family.home_times = toggle(family.home_times, HOME_TIMES[index])
        ctx.uow.flush()
    _show_home_times(ctx, family, back_arg)


def _show_home_times(ctx: Context, family: Family, back: str) -> None:
    chosen = clean(family.home_times)
    text = ctx.t("home-times-question", name=family.head_name)
    if chosen:
        text += "\n\n" + ctx.t("home-times-chosen", times=home_times_label(chosen, ctx.t))
    ctx.stay(ctx.state, **ctx.data)  # the booking (or the RT page) goes on where it was
    ctx.show(text, keyboards.home_times(ctx.t, family.id, chosen, back))


def _home_times_done(ctx: Context, family: Family) -> None:
    """Back to the booking's days (its mode kept), or to the user's home when no booking is open."""
    if ctx.state in BOOKING_STATES and ctx.data.get("family_id") == family.id:
        _show_days(ctx, family.id, ctx.data.get("mode", "book"))
    elif current_visit(ctx.uow, family.id) is None and past_visit(ctx.uow, family.id) is None:
        _show_days(ctx, family.id, "book")
    else:
        ctx.go_home()


def _family_in_progress(ctx: Context) -> Family | None:
    """The family whose booking screens are open; a press outside a booking is a stale button."""
    family_id = ctx.data.get("family_id")
    if ctx.state not in BOOKING_STATES or family_id is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return ctx.uow.families.get(int(family_id))


FLOW = Flow(
    name="booking",
    doc="booking, moving and cancelling a visit; the resident's home",
    commands={"janji": on_show_appointment, "appointment": on_show_appointment, "pindah": on_move, "move": on_move,
              "batal": on_cancel, "cancel": on_cancel},
    buttons={"dy": on_day_button, "tm": on_time_button, "ok": on_confirm_button, "nv": on_navigation_button,
             "ap": on_appointment_button, "hm": on_home_button},
    states=(
        StateSpec(State.PICK_DAY, Accepts.BUTTON, enter=enter_days, on_other=use_buttons, doc="a day"),
        StateSpec(State.PICK_TIME, Accepts.BUTTON, enter=enter_times, on_other=use_buttons, doc="a time, or back to the days"),
        StateSpec(State.CONFIRM, Accepts.BUTTON, enter=enter_confirm, on_other=use_buttons, doc="confirm, or another time"),
        StateSpec(State.APPOINTMENT, Accepts.BUTTON, enter=enter_appointment, doc="the family's visit: move or cancel"),
    ),
    homes={"resident": resident_home},
)
