"""The buttons under a reminder: "confirm" is recorded on the appointment (``rm:ok:<appointment id>``).

Move and cancel under a reminder are the booking flow's own buttons (``ap:move``/``ap:cancel``), so the
answer to a reminder is recorded either as ``confirmed_at`` or as the move or cancellation itself.
"""
from __future__ import annotations

from domain.appointments import ReminderAnswer, confirm_reminder
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Flow
from handlers.states import State
from chat.keyboard import parse, parse_id
from chat.render import visit_when


def on_reminder_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    action, _, appointment_arg = argument.partition(":")
    answer, visit = confirm_reminder(ctx.uow, ctx.user, parse_id(appointment_arg), ctx.now) if action == "ok" \
        else (ReminderAnswer.NOT_ALLOWED, None)
    if answer is ReminderAnswer.NOT_ALLOWED:
        ctx.answer(ctx.t("stale-button"), alert=True)
    elif answer is ReminderAnswer.STALE or visit is None:
        ctx.answer(ctx.t("reminder-stale"), alert=True)
    else:
        ctx.answer(ctx.t("reminder-confirmed-short"))
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("reminder-confirmed", when=visit_when(visit.start, visit.zone, ctx.t), officer=visit.officer,
                       name=visit.family_name),
                 keyboards.appointment_actions(ctx.t, visit.family_id))


FLOW = Flow(name="reminders", doc="the answer to a reminder: confirm the visit", buttons={"rm": on_reminder_button})
