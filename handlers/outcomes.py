"""The enumerator records what happened at the door ("oc"), and the family picks a new time after "not home".

    oc:v:<appointment>            the outcome buttons for one visit of the day
    oc:o:<appointment>:<code>     an outcome chosen: a note is asked for (typed), or skipped
    oc:skip                       record without a note
    oc:d:<family>:<YYYYMMDD>      (the family) a day from the "not home" message: the booking flow's times follow

State ``oc_note`` (data: appointment_id, outcome) waits for the typed note.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from domain.booking import can_manage_family, days_with_free_slots, sls_timezone
from domain.errors import NotAllowed
from domain.outcomes import OUTCOMES, record_outcome
from handlers import booking, keyboards
from handlers.context import Context
from handlers.events import Button, InlineKeyboard
from handlers.i18n import Translator
from handlers.render import clock_time, day_button

OUTCOME_KEYS = {"done": "oc-done", "not_home": "oc-not-home", "refused": "oc-refused", "moved": "oc-moved",
                "not_found": "oc-not-found"}
CODES = {"d": "done", "h": "not_home", "r": "refused", "m": "moved", "n": "not_found"}
MAX_OFFERED_DAYS = 6


def visit_buttons(t: Translator, visits: list[tuple[Any, Any]], tz: ZoneInfo) -> list[list[Button]]:
    """One "record outcome" button per visit of the day (under the enumerator's schedule)."""
    return [[Button(t("btn-oc-visit", time=clock_time(a.start_at, tz, t.language), name=f.head_name), f"oc:v:{a.id}")]
            for a, f in visits]


def on_outcome_button(ctx: Context) -> None:
    _, argument = keyboards.parse(ctx.event.callback_data)
    action, _, rest = argument.partition(":")
    if action == "d":
        _on_new_day(ctx, rest)
        return
    if ctx.user.role != "enumerator":
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return
    if action == "skip":
        if ctx.state != "oc_note":
            ctx.answer(ctx.t("stale-button"), alert=True)
            return
        _record(ctx, None)
        return
    value, _, code = rest.partition(":")
    appointment = _own_visit(ctx, value)
    if appointment is None:
        return
    family = ctx.uow.families.get(appointment.family_id)
    if action == "v":
        ctx.goto("idle")
        ctx.show(ctx.t("oc-choose", name=family.head_name), _outcome_keyboard(ctx.t, appointment.id))
    elif action == "o" and code in CODES:
        outcome = CODES[code]
        ctx.goto("oc_note", appointment_id=appointment.id, outcome=outcome)
        ctx.show(ctx.t("oc-ask-note", name=family.head_name, outcome=ctx.t(OUTCOME_KEYS[outcome])),
                 keyboards.keyboard([[Button(ctx.t("btn-oc-skip-note"), "oc:skip")],
                                     [Button(ctx.t("btn-back"), f"oc:v:{appointment.id}")]]))
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def on_note_typed(ctx: Context) -> None:
    _record(ctx, ctx.event.text)


def _record(ctx: Context, note: str | None) -> None:
    appointment = ctx.uow.appointments.get(int(ctx.data.get("appointment_id", 0)))
    outcome = ctx.data.get("outcome")
    if appointment is None or outcome not in OUTCOMES:
        ctx.goto("idle")
        ctx.show(ctx.t("stale-button"))
        return
    try:
        record_outcome(ctx.uow, ctx.user, appointment.family_id, outcome, note, ctx.now, appointment_id=appointment.id)
    except NotAllowed:
        ctx.goto("idle")
        ctx.show(ctx.t("not-allowed"))
        return
    family = ctx.uow.families.get(appointment.family_id)
    ctx.goto("idle")
    key = "oc-recorded-not-home" if outcome == "not_home" else "oc-recorded"
    ctx.show(ctx.t(key, name=family.head_name, outcome=ctx.t(OUTCOME_KEYS[outcome])),
             keyboards.keyboard([[Button(ctx.t("btn-oc-back-schedule"), "en:today")]]))


def _own_visit(ctx: Context, value: str):  # type: ignore[no-untyped-def]
    appointment_id = keyboards.parse_id(value)
    appointment = ctx.uow.appointments.get(appointment_id) if appointment_id is not None else None
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    if appointment is None or enumerator is None or appointment.enumerator_id != enumerator.id:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return appointment


def _outcome_keyboard(t: Translator, appointment_id: int) -> InlineKeyboard:
    buttons = [Button(t(OUTCOME_KEYS[outcome]), f"oc:o:{appointment_id}:{code}") for code, outcome in CODES.items()]
    return keyboards.keyboard([*keyboards.chunked(buttons, 2), [Button(t("btn-back"), "en:today")]])


# --- the family: a new time after "not home" ------------------------------------------------------

def new_time_keyboard(uow: Any, family: Any, t: Translator, now: dt.datetime, rules: Any) -> InlineKeyboard | None:
    """The first free days as buttons ``oc:d:<family>:<day>``; None when nothing is free."""
    days = days_with_free_slots(uow, family, now, rules)[:MAX_OFFERED_DAYS]
    if not days:
        return None
    buttons = [Button(day_button(d, t.language), f"oc:d:{family.id}:{d:%Y%m%d}") for d in days]
    return keyboards.keyboard(keyboards.chunked(buttons, 2))


def _on_new_day(ctx: Context, rest: str) -> None:
    """A day pressed under the "not home" message: into the booking flow (times, confirm)."""
    value, _, stamp = rest.partition(":")
    family_id = keyboards.parse_id(value)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or not can_manage_family(ctx.user, family):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if ctx.uow.appointments.active_for_family(family.id) is not None:
        booking.show_appointment(ctx, family, ctx.uow.appointments.active_for_family(family.id))
        return
    tz = sls_timezone(ctx.uow, family.sls_id)
    chosen = keyboards.parse_local(stamp, "%Y%m%d", tz)
    ctx.goto("pick_day", family_id=family.id, mode="book")
    if chosen is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        booking.show_days(ctx, family.id, "book")
        return
    booking.show_times(ctx, family, chosen.date())


def render_offer(uow: Any, family_id: Any, t: Translator, now: dt.datetime, rules: Any) -> tuple[str, InlineKeyboard | None] | None:
    """The "not home" message to a family member (rendered at send time from fresh free days)."""
    family = uow.families.get(family_id) if isinstance(family_id, int) else None
    if family is None or uow.appointments.active_for_family(family.id) is not None:
        return None  # gone, or they booked meanwhile
    markup = new_time_keyboard(uow, family, t, now, rules)
    key = "notify-offer-new-time" if markup is not None else "notify-offer-new-time-none"
    return t(key, name=family.head_name), markup


def render_nudge(uow: Any, family_id: Any, t: Translator) -> tuple[str, InlineKeyboard] | None:
    family = uow.families.get(family_id) if isinstance(family_id, int) else None
    if family is None or uow.appointments.active_for_family(family.id) is not None:
        return None
    rt = uow.areas.get(family.sls_id)
    return (t("notify-nudge", name=family.head_name, rt=rt.name),
            keyboards.keyboard([[Button(t("btn-book"), f"ap:book:{family.id}")]]))

