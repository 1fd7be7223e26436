"""The buttons under a reminder: "confirm" is recorded on the appointment (``rm:ok:<appointment id>``).

Move and cancel under a reminder are the booking flow's own buttons (``ap:move``/``ap:cancel``), so the
answer to a reminder is recorded either as ``confirmed_at`` or as the move or cancellation itself.
"""
from __future__ import annotations

from domain.booking import can_manage_family, sls_timezone
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Flow
from handlers.states import State
from chat.keyboard import parse, parse_id
from chat.render import visit_when


def on_reminder_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    action, _, appointment_arg = argument.partition(":")
    appointment_id = parse_id(appointment_arg)
    appointment = ctx.uow.appointments.get(appointment_id) if appointment_id is not None else None
    family = ctx.uow.families.get(appointment.family_id) if appointment is not None else None
    if action != "ok" or family is None or not can_manage_family(ctx.user, family):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if appointment.status != "booked" or ctx.now >= appointment.start_at:
        ctx.answer(ctx.t("reminder-stale"), alert=True)
        return
    if appointment.confirmed_at is None:
        appointment.confirmed_at = ctx.now
    tz = sls_timezone(ctx.uow, family.sls_id)
    officer = ctx.uow.enumerators.get(appointment.enumerator_id)
    ctx.answer(ctx.t("reminder-confirmed-short"))
    ctx.stay(State.IDLE)
    ctx.show(ctx.t("reminder-confirmed", when=visit_when(appointment.start_at, tz, ctx.t), officer=officer.name,
                   name=family.head_name),
             keyboards.appointment_actions(ctx.t, family.id))


FLOW = Flow(name="reminders", doc="the answer to a reminder: confirm the visit", buttons={"rm": on_reminder_button})
