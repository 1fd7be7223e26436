"""The enumerator's day (/jadwal): visits in time order, in their area's local time, each with a button
to record what happened at the door and one for the family's questionnaire. The enumerator's home."""
from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

from domain.visits import VISITED
from registry.status import delivery_status_for_families
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Flow
from handlers.states import State
from chat.keyboard import keyboard, parse
from handlers.registry_status import delivery_label
from chat.render import clock_time, day_label, zone_name


def on_schedule(ctx: Context) -> None:
    """/jadwal: today's visits."""
    if ctx.user.role != "enumerator":
        ctx.send(ctx.t("not-allowed"))
        return
    show_schedule(ctx, "today")


def on_schedule_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    if ctx.user.role != "enumerator" or argument not in ("today", "tomorrow"):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    show_schedule(ctx, argument)


def home(ctx: Context) -> None:
    show_schedule(ctx, "today")


def show_schedule(ctx: Context, which: str) -> None:
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    if enumerator is None:
        ctx.show(ctx.t("not-allowed"))
        return
    tz = _zone_of(ctx, enumerator.id)
    day = ctx.now.astimezone(tz).date() + dt.timedelta(days=1 if which == "tomorrow" else 0)
    start = dt.datetime.combine(day, dt.time(0), tz)
    visits = ctx.uow.appointments.for_enumerator_between(enumerator.id, start, start + dt.timedelta(days=1),
                                                         include_visited=True)
    deliveries = delivery_status_for_families(ctx.uow, [f.id for _, f in visits])
    visited = {a.id for a, _ in visits if a.status == VISITED}
    lines = [
        _with_delivery(ctx.t("schedule-line-visited" if a.id in visited else "schedule-line",
                             time=clock_time(a.start_at, tz, ctx.t.language), name=f.head_name,
                             rt=ctx.uow.areas.get(f.sls_id).name, members=f.members),
                       delivery_label(ctx.t, deliveries.get(f.id)))
        for a, f in visits
    ]
    body = "\n".join(lines) if lines else ctx.t("schedule-empty")
    ctx.stay(State.IDLE)
    # Today's visits get a button each to record what happened at the door (the outcomes flow) and,
    # while the family's record is open, one for its questionnaire.
    record = []
    if which == "today":
        open_records = {f.id for _, f in visits if ctx.uow.questionnaires.completed_of(f.id) is None}
        record = keyboards.visit_rows(ctx.t, [(a.id, f.id, f.head_name, a.start_at) for a, f in visits], tz,
                                      open_records, visited)
    ctx.show(ctx.t.raw("schedule", name=_esc(enumerator.name), day=day_label(day, ctx.t.language),
                       zone=zone_name(tz), visits=body, count=len(lines)),
             keyboard([*record, *keyboards.enumerator_days(ctx.t, which).groups]))


def _with_delivery(line: str, delivered: str) -> str:
    """A visit whose record is completed says whether it has reached the central registry."""
    return f"{line} · {delivered}" if delivered else line


def _zone_of(ctx: Context, enumerator_id: int) -> ZoneInfo:
    """An enumerator works in one kelurahan, so the zone of any assigned SLS is theirs."""
    assigned = ctx.uow.enumerators.assigned_sls(enumerator_id)
    return ZoneInfo(assigned[0].timezone) if assigned else ZoneInfo("Asia/Jakarta")


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


FLOW = Flow(
    name="enumerator",
    doc="the enumerator's day: today's and tomorrow's visits",
    commands={"jadwal": on_schedule, "schedule": on_schedule},
    buttons={"en": on_schedule_button},
    homes={"enumerator": home},
)
