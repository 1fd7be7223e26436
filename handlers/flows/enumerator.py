"""The enumerator's day (/jadwal): the day as one route (handlers/daily_messages.py), in the area's
local time — order, time, family, address, distance from the previous stop, a map link per stop —
with a button per visit to record what happened at the door and one for the family's questionnaire,
and on request a picture of the route (handlers/route_picture.py). The enumerator's home.

Their own working time (/jamkerja): the week's windows per day; a day's button asks for that day's
windows typed ("08.00-12.00, 16.00-20.00" or "libur"), checked against the area's limits
(domain/working_time.py) with a clear answer for anything that does not fit."""
from __future__ import annotations

import datetime as dt
import html
from zoneinfo import ZoneInfo

from chat.events import SendPhoto
from chat.keyboard import Button
from domain.visits import VISITED
from registry.status import delivery_status_for_families
from handlers import keyboards
from handlers.daily_messages import plan_for_day, route_body
from handlers.route_picture import Outline, PictureStop, draw_route
from handlers.context import Context
from handlers.flow import Flow
from handlers.states import State
from babel.dates import get_day_names

from chat.keyboard import choices, keyboard, parse, parse_id
from domain.slots import WorkWeek
from domain.working_time import HoursError, enumerator_limits, format_windows, parse_windows, set_day_windows
from handlers.flow import Accepts, StateSpec
from handlers.registry_status import delivery_label
from chat.render import day_label, zone_name

# The chat's answers to working time that cannot be set (HoursError.key), each with its placeholders.
HOURS_ERRORS = {"format": "hours-error-format", "order": "hours-error-order", "grid": "hours-error-grid",
                "short": "hours-error-short", "overlap": "hours-error-overlap", "limits": "hours-error-limits"}


def on_schedule(ctx: Context) -> None:
    """/jadwal: today's visits."""
    if ctx.user.role != "enumerator":
        ctx.send(ctx.t("not-allowed"))
        return
    show_schedule(ctx, "today")


def on_schedule_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    which = argument.removeprefix("map:")
    if ctx.user.role == "enumerator" and argument.startswith("map:") and which in ("today", "tomorrow"):
        send_route_picture(ctx, which)
        return
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
    day = _day(ctx, tz, which)
    plan = plan_for_day(ctx.uow, enumerator.id, day, ctx.now, include_visited=True)
    visits = [(stop.key.appointment, stop.key.family) for stop in plan.route.stops
              if stop.key.appointment is not None] if plan else []
    deliveries = delivery_status_for_families(ctx.uow, [f.id for _, f in visits])
    labels = {family_id: delivery_label(ctx.t, status) for family_id, status in deliveries.items()}
    body = route_body(ctx.uow, plan, ctx.t, labels) if plan else ctx.t("schedule-empty")
    ctx.stay(State.IDLE)
    # Today's visits get a button each to record what happened at the door (the outcomes flow) until
    # it took place and, while the family's record is open, one for its questionnaire.
    rows = []
    if which == "today":
        visited = {a.id for a, _ in visits if a.status == VISITED}
        open_records = {f.id for _, f in visits if ctx.uow.questionnaires.completed_of(f.id) is None}
        rows = keyboards.visit_rows(ctx.t, [(a.id, f.id, f.head_name, a.start_at) for a, f in visits], tz,
                                    open_records, visited)
    if plan and any(_position(stop.key.family) for stop in plan.route.stops):
        rows.append([Button(ctx.t("btn-route-picture"), f"en:map:{which}")])
    ctx.show(ctx.t.raw("schedule", name=_esc(enumerator.name), day=day_label(day, ctx.t.language),
                       zone=zone_name(tz), visits=body, count=len(visits)),
             keyboard([*rows, *keyboards.enumerator_days(ctx.t, which).groups]))


def send_route_picture(ctx: Context, which: str) -> None:
    """The day's route as a picture (a new message under the schedule), numbered as its stops."""
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    plan = None
    if enumerator is not None:
        tz = _zone_of(ctx, enumerator.id)
        plan = plan_for_day(ctx.uow, enumerator.id, _day(ctx, tz, which), ctx.now, include_visited=True)
    stops = [PictureStop(number, *position, _kind(stop)) for number, stop in enumerate(plan.route.stops, 1)
             if (position := _position(stop.key.family))] if plan else []
    outlines = [Outline(a.name, a.boundary) for a in ctx.uow.enumerators.assigned_sls(enumerator.id)
                if a.boundary] if enumerator is not None else []
    picture = draw_route(stops, outlines)
    if picture is None:
        ctx.answer(ctx.t("route-picture-none"), alert=True)
        return
    ctx.answer()
    day = _day(ctx, _zone_of(ctx, enumerator.id), which)
    ctx.reply.add(SendPhoto(ctx.event.chat_id, f"rute-{day.isoformat()}.png", picture,
                            caption=ctx.t("route-picture-caption", day=day_label(day, ctx.t.language))))


def _day(ctx: Context, tz: ZoneInfo, which: str) -> dt.date:
    return ctx.now.astimezone(tz).date() + dt.timedelta(days=1 if which == "tomorrow" else 0)


def _position(family) -> tuple[float, float] | None:  # type: ignore[no-untyped-def]
    if family.latitude is None or family.longitude is None:
        return None
    return family.latitude, family.longitude


def _kind(stop) -> str:  # type: ignore[no-untyped-def]
    if stop.key.visited:
        return "visited"
    return "booked" if stop.booked else "suggested"


def _with_delivery(line: str, delivered: str) -> str:
    """A visit whose record is completed says whether it has reached the central registry."""
    return f"{line} · {delivered}" if delivered else line


def _zone_of(ctx: Context, enumerator_id: int) -> ZoneInfo:
    """An enumerator works in one kelurahan, so the zone of any assigned SLS is theirs."""
    assigned = ctx.uow.enumerators.assigned_sls(enumerator_id)
    return ZoneInfo(assigned[0].timezone) if assigned else ZoneInfo("Asia/Jakarta")


def _esc(value: str) -> str:
    return html.escape(value, quote=False)


# --- the officer's own working time (/jamkerja) ---------------------------------------------------

def on_hours(ctx: Context) -> None:
    """/jamkerja: the week's working windows, a button per day to change it."""
    if _own_enumerator(ctx) is not None:
        show_hours(ctx)


def show_hours(ctx: Context, notice: str | None = None) -> None:
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    week = WorkWeek.from_json(enumerator.work_week)
    limits = enumerator_limits(ctx.uow, enumerator.id)
    names = get_day_names("wide", locale=ctx.t.language)
    lines = [ctx.t("hours-day-line", day=names[day], windows=_windows_text(ctx, week.hours.get(day, ())))
             for day in range(7)]
    text = ctx.t("hours-week", name=enumerator.name, days="\n".join(lines), earliest=_clock(ctx, limits.earliest),
                 latest=_clock(ctx, limits.latest))
    today = ctx.now.astimezone(_zone_of(ctx, enumerator.id)).date()
    opened = [(day, windows) for day, windows in week.dates.items() if day >= today]
    if opened:
        text += "\n" + ctx.t("hours-dates", dates="; ".join(
            f"{day_label(day, ctx.t.language)} {_windows_text(ctx, windows)}" for day, windows in opened))
    if notice:
        text = f"{notice}\n\n{text}"
    short = get_day_names("abbreviated", locale=ctx.t.language)
    ctx.stay(State.IDLE)
    ctx.show(text, keyboard([choices(Button(short[day], f"jk:d:{day}") for day in range(7)),
                             [Button(ctx.t("btn-close"), "jk:close")]]))


def on_hours_button(ctx: Context) -> None:
    """jk:d:<weekday> change a day, jk:week back to the week, jk:close."""
    if _own_enumerator(ctx, answer=True) is None:
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    day = parse_id(value)
    if action == "d" and day is not None and day < 7:
        ctx.go(State.HOURS_DAY, weekday=day)
    elif action == "week":
        show_hours(ctx)
    elif action == "close":
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("hours-closed"))
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def enter_hours_day(ctx: Context) -> None:
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id)
    day = int(ctx.data["weekday"])
    week = WorkWeek.from_json(enumerator.work_week)
    limits = enumerator_limits(ctx.uow, enumerator.id)
    ctx.show(ctx.t("hours-ask", day=get_day_names("wide", locale=ctx.t.language)[day],
                   windows=_windows_text(ctx, week.hours.get(day, ())), earliest=_clock(ctx, limits.earliest),
                   latest=_clock(ctx, limits.latest)),
             keyboard([[Button(ctx.t("btn-back"), "jk:week")]]))


def on_hours_typed(ctx: Context) -> None:
    """The day's windows, typed: saved when they fit the rules, else why not (the question stays)."""
    enumerator = _own_enumerator(ctx)
    if enumerator is None:
        return
    day = int(ctx.data["weekday"])
    try:
        windows = parse_windows(ctx.event.text or "")
        set_day_windows(ctx.uow, enumerator, [day], windows, limits=enumerator_limits(ctx.uow, enumerator.id))
    except HoursError as refused:
        known = refused.key in HOURS_ERRORS
        params = {name: _local_clock(ctx, value) if name in ("window", "earliest", "latest") else value
                  for name, value in refused.params.items()} if known else {"text": ""}
        ctx.send(ctx.t(HOURS_ERRORS[refused.key] if known else "hours-error-format", **params))
        return
    show_hours(ctx, notice=ctx.t("hours-saved", day=get_day_names("wide", locale=ctx.t.language)[day],
                                 windows=_windows_text(ctx, windows)))


def _own_enumerator(ctx: Context, answer: bool = False):  # type: ignore[no-untyped-def]
    enumerator = ctx.uow.enumerators.by_user(ctx.user.id) if ctx.user.role == "enumerator" else None
    if enumerator is None:
        ctx.answer(ctx.t("not-allowed"), alert=True) if answer else ctx.send(ctx.t("not-allowed"))
    return enumerator


def _windows_text(ctx: Context, windows) -> str:  # type: ignore[no-untyped-def]
    return format_windows(windows, "." if ctx.t.language == "id" else ":") if windows else ctx.t("hours-day-off")


def _local_clock(ctx: Context, text: object) -> object:
    """"08:00–12:00" as the reader writes times (Indonesian: 08.00–12.00)."""
    return str(text).replace(":", ".") if ctx.t.language == "id" else text


def _clock(ctx: Context, at: dt.time) -> str:
    return at.strftime("%H.%M" if ctx.t.language == "id" else "%H:%M")


FLOW = Flow(
    name="enumerator",
    doc="the enumerator's day: today's and tomorrow's visits; their own working time",
    commands={"jadwal": on_schedule, "schedule": on_schedule, "jamkerja": on_hours, "hours": on_hours},
    buttons={"en": on_schedule_button, "jk": on_hours_button},
    states=(
        StateSpec(State.HOURS_DAY, Accepts.TEXT | Accepts.BUTTON, enter=enter_hours_day, on_text=on_hours_typed,
                  doc="a day's working windows, typed"),
    ),
    homes={"enumerator": home},
)
