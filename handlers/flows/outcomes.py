"""The enumerator records what happened at the door ("oc"), and the family picks a new time after "not home".

    oc:v:<appointment>            the outcome buttons for one visit of the day
    oc:o:<appointment>:<code>     an outcome chosen: a note is asked for (typed), or skipped
    oc:skip                       record without a note
    oc:d:<family>:<YYYYMMDD>      (the family) a day from the "not home" message (handlers/notifications.py):
                                  the booking flow's times follow

State OUTCOME_NOTE (data: appointment_id, outcome) waits for the typed note.
"""
from __future__ import annotations


from domain.booking import can_manage_family, sls_timezone
from domain.errors import NotAllowed
from domain.outcomes import OUTCOMES, record_outcome
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec
from handlers.states import State
from chat.keyboard import Button, Keyboard, choices, keyboard, parse, parse_id
from chat.i18n import Translator

OUTCOME_KEYS = {"done": "oc-done", "not_home": "oc-not-home", "refused": "oc-refused", "moved": "oc-moved",
                "not_found": "oc-not-found"}
CODES = {"d": "done", "h": "not_home", "r": "refused", "m": "moved", "n": "not_found"}


def on_outcome_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    action, _, rest = argument.partition(":")
    if action == "d":
        _on_new_day(ctx, rest)
        return
    if ctx.user.role != "enumerator":
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return
    if action == "skip":
        if ctx.state is not State.OUTCOME_NOTE:
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
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("oc-choose", name=family.head_name), _outcome_keyboard(ctx.t, appointment.id))
    elif action == "o" and code in CODES:
        ctx.go(State.OUTCOME_NOTE, appointment_id=appointment.id, outcome=CODES[code])
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def enter_note(ctx: Context) -> None:
    """Ask for a note on the outcome chosen (or to record it without one)."""
    appointment = ctx.uow.appointments.get(int(ctx.data["appointment_id"]))
    family = ctx.uow.families.get(appointment.family_id)
    outcome = ctx.data["outcome"]
    ctx.show(ctx.t("oc-ask-note", name=family.head_name, outcome=ctx.t(OUTCOME_KEYS[outcome])),
             keyboard([[Button(ctx.t("btn-oc-skip-note"), "oc:skip")],
                       [Button(ctx.t("btn-back"), f"oc:v:{appointment.id}")]]))


def on_note_typed(ctx: Context) -> None:
    _record(ctx, ctx.event.text)


def _record(ctx: Context, note: str | None) -> None:
    appointment = ctx.uow.appointments.get(int(ctx.data.get("appointment_id", 0)))
    outcome = ctx.data.get("outcome")
    if appointment is None or outcome not in OUTCOMES:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("stale-button"))
        return
    try:
        record_outcome(ctx.uow, ctx.user, appointment.family_id, outcome, note, ctx.now, appointment_id=appointment.id)
    except NotAllowed:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("not-allowed"))
        return
    family = ctx.uow.families.get(appointment.family_id)
    ctx.stay(State.IDLE)
    key = "oc-recorded-not-home" if outcome == "not_home" else "oc-recorded"
    ctx.show(ctx.t(key, name=family.head_name, outcome=ctx.t(OUTCOME_KEYS[outcome])),
             keyboard([[Button(ctx.t("btn-oc-back-schedule"), "en:today")]]))


def _own_visit(ctx: Context, value: str):  # type: ignore[no-untyped-def]
    appointment_id = parse_id(value)
    appointment = ctx.uow.appointments.get(appointment_id) if appointment_id is not None else None
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    if appointment is None or enumerator is None or appointment.enumerator_id != enumerator.id:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return appointment


def _outcome_keyboard(t: Translator, appointment_id: int) -> Keyboard:
    buttons = [Button(t(OUTCOME_KEYS[outcome]), f"oc:o:{appointment_id}:{code}") for code, outcome in CODES.items()]
    return keyboard([choices(buttons), [Button(t("btn-back"), "en:today")]])


# --- the family: a new time after "not home" ------------------------------------------------------

def _on_new_day(ctx: Context, rest: str) -> None:
    """A day pressed under the "not home" message: into the booking flow (times, confirm)."""
    value, _, stamp = rest.partition(":")
    family_id = parse_id(value)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or not can_manage_family(ctx.user, family):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if ctx.uow.appointments.active_for_family(family.id) is not None:
        ctx.go(State.APPOINTMENT, family_id=family.id)
        return
    tz = sls_timezone(ctx.uow, family.sls_id)
    chosen = keyboards.parse_local(stamp, "%Y%m%d", tz)
    if chosen is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        ctx.go(State.PICK_DAY, family_id=family.id, mode="book")
        return
    ctx.go(State.PICK_TIME, family_id=family.id, mode="book", day=chosen.date().isoformat())


FLOW = Flow(
    name="outcomes",
    doc="what happened at the door, and a new time after \"not home\"",
    buttons={"oc": on_outcome_button},
    states=(StateSpec(State.OUTCOME_NOTE, Accepts.TEXT | Accepts.BUTTON, enter=enter_note, on_text=on_note_typed,
                      doc="a note on the outcome, or skip"),),
)
