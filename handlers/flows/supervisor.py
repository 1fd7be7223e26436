"""Supervisors (PML) and coordinators: progress of their area, the review list, exports.

Screens (one message, edited in place; ``sv`` buttons navigate, ``ex`` buttons export):

| callback            | screen                                                                  |
| ------------------- | ----------------------------------------------------------------------- |
| sv:a:<area>:<page>  | an area's progress: totals, one line per area one level down (paged)     |
| sv:e:<area>:<page>  | the enumerators of the area: visits per working day, fewest first        |
| sv:r:<area>:<page>  | records to review: geotags outside the geofence, missing house photos    |
| ex:m:<area>         | the export formats                                                      |
| ex:c|x|g:<area>     | the area's families as CSV, XLSX or GeoJSON, sent as a document          |
| sv:d:<area>:0       | a one-time sign-in link to the web dashboard (as /dasbor)                |

Every screen asks domain/access.py whether the user may see that area: a forged or stale button for an
area outside the scope gets "not allowed", an unknown one "stale button".
"""
from __future__ import annotations

from babel.dates import format_date

from domain import access
from domain import audit
from domain import dashboard
from domain.exports import export_area
from domain.geotag import NO_PHOTO, OUTSIDE_SLS, TOO_FAR
from domain.model import Area
from domain.progress import AreaProgress, UnitProgress, area_progress, enumerator_progress
from handlers.flow import Flow
from handlers.states import State
from chat.keyboard import Group, Part, choices, keyboard, pager, parse, parse_id
from handlers.context import Context
from chat.events import SendDocument
from chat.keyboard import Button
from chat.render import clock_time

PAGE = 10  # lines per page: areas, enumerators, records to review
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # what a bot may upload (sendDocument)
LEVEL_KEYS = {"province": "sv-level-province", "regency": "sv-level-regency", "district": "sv-level-district",
              "village": "sv-level-village", "sls": "sv-level-sls"}
REASON_KEYS = {OUTSIDE_SLS: "sv-reason-outside", TOO_FAR: "sv-reason-far", NO_PHOTO: "sv-reason-photo"}
FORMATS = {"c": ("csv", "btn-ex-csv"), "x": ("xlsx", "btn-ex-xlsx"), "g": ("geojson", "btn-ex-geojson")}


# --- commands ---------------------------------------------------------------------------------------

def on_progress(ctx: Context) -> None:
    """/progres [CODE]: the progress of the user's area, or of an area inside it named by code."""
    area = _area_from_command(ctx, access.PROGRESS)
    if area is not None:
        show_area(ctx, area, 0)


def on_review(ctx: Context) -> None:
    """/tinjau [CODE]: records of the area that need review."""
    area = _area_from_command(ctx, access.REVIEW)
    if area is not None:
        show_review(ctx, area, 0)


def on_export(ctx: Context) -> None:
    """/ekspor [CODE]: the export formats for the area."""
    area = _area_from_command(ctx, access.EXPORT)
    if area is not None:
        show_export_menu(ctx, area)


def on_dashboard(ctx: Context) -> None:
    """/dasbor: a one-time link that signs the user in to the web dashboard (10 minutes, once)."""
    ctx.stay(State.IDLE)
    send_dashboard_link(ctx)


def send_dashboard_link(ctx: Context) -> None:
    if not ctx.config.web_url:
        ctx.send(ctx.t("web-chat-off"))
        return
    token = dashboard.issue_link(ctx.uow, ctx.config.invite_secret, ctx.user, ctx.now)
    url = f"{ctx.config.web_url}/masuk/{token}"
    minutes = int(dashboard.LINK_TTL.total_seconds() // 60)
    ctx.send(ctx.t("web-chat-link", minutes=minutes), keyboard([[Button(ctx.t("btn-web-open"), url=url)]]))


def show_home(ctx: Context) -> None:
    """The home screen of a supervisor, coordinator or admin: their area's progress."""
    area = access.home_area(ctx.uow, ctx.user)
    if area is None:
        _choose_root(ctx)
        return
    show_area(ctx, area, 0)


def _area_from_command(ctx: Context, action: str) -> Area | None:
    code = ctx.event.command_args.strip()
    if code:
        area = ctx.uow.areas.by_code(code[:32])
        if area is None:
            ctx.send(ctx.t("sv-area-unknown", code=code[:32]))
            return None
    else:
        area = access.home_area(ctx.uow, ctx.user)
        if area is None:
            _choose_root(ctx)
            return None
    if not access.can(ctx.uow, ctx.user, action, area):
        ctx.send(ctx.t("not-allowed"))
        return None
    ctx.stay(State.IDLE)
    return area


def _choose_root(ctx: Context) -> None:
    """An admin over several trees (or none): the top areas as buttons; a supervisor without an area: why."""
    roots = ctx.uow.supervision.root_areas() if ctx.user.role == "admin" else []
    if not roots:
        ctx.show(ctx.t("sv-no-scope"))
        return
    ctx.show(ctx.t("sv-choose-area"), keyboard([choices(Button(a.name, f"sv:a:{a.id}:0") for a in roots)]))


# --- buttons ----------------------------------------------------------------------------------------

def on_sv_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    screen, _, rest = argument.partition(":")
    area_text, _, page_text = rest.partition(":")
    area_id, page = parse_id(area_text), parse_id(page_text)
    action = {"a": access.PROGRESS, "e": access.PROGRESS, "r": access.REVIEW, "d": access.DASHBOARD}.get(screen)
    area = ctx.uow.areas.get(area_id) if area_id is not None else None
    if action is None or area is None or page is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if not access.can(ctx.uow, ctx.user, action, area):
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return
    ctx.stay(State.IDLE)
    if screen == "d":
        ctx.answer()
        send_dashboard_link(ctx)  # a new message: the link is kept, the progress screen stays
    elif screen == "a":
        show_area(ctx, area, page)
    elif screen == "e":
        show_enumerators(ctx, area, page)
    else:
        show_review(ctx, area, page)


def on_export_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    kind, _, area_text = argument.partition(":")
    area_id = parse_id(area_text)
    area = ctx.uow.areas.get(area_id) if area_id is not None else None
    if area is None or (kind != "m" and kind not in FORMATS):
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    if not access.can(ctx.uow, ctx.user, access.EXPORT, area):
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return
    ctx.stay(State.IDLE)
    if kind == "m":
        show_export_menu(ctx, area)
        return
    fmt, label = FORMATS[kind]
    exported = export_area(ctx.uow, area, fmt, ctx.now)
    if len(exported.content) > MAX_DOCUMENT_BYTES:
        ctx.answer(ctx.t("ex-too-large"), alert=True)
        return
    audit.record(ctx.uow, ctx.user, audit.EXPORT, ctx.now, area_id=area.id, count=exported.rows)
    ctx.answer(ctx.t("ex-sent"))
    ctx.reply.add(SendDocument(ctx.event.chat_id, exported.filename, exported.content,
                               ctx.t("ex-caption", name=area.name, rows=exported.rows, format=ctx.t(label))))


# --- screens ----------------------------------------------------------------------------------------

def show_area(ctx: Context, area: Area, page: int) -> None:
    progress = area_progress(ctx.uow, area, ctx.now)
    units = progress.units
    pages = max(1, -(-len(units) // PAGE))
    page = max(0, min(page, pages - 1))
    shown = units[page * PAGE:(page + 1) * PAGE]
    lines = [ctx.t("sv-title", level=ctx.t(LEVEL_KEYS.get(area.level, "sv-level-sls")), name=area.name,
                   code=area.code), _window_line(ctx, progress), _total_line(ctx, progress.total)]
    if shown:
        lines.append("")
        lines += [_unit_line(ctx, unit) for unit in shown]
        if pages > 1:
            lines.append(ctx.t("sv-page", page=page + 1, pages=pages))
    elif area.level != "sls":
        lines += ["", ctx.t("sv-no-units")]
    rows: list[Part] = [choices(Button(("⚠️ " if u.behind else "") + u.area.name, f"sv:a:{u.area.id}:0") for u in shown)]
    rows.append(_paging(area, "a", page, pages))
    rows.append([Button(ctx.t("btn-sv-enumerators"), f"sv:e:{area.id}:0"),
                 Button(ctx.t("btn-sv-review"), f"sv:r:{area.id}:0")])
    rows.append([Button(ctx.t("btn-sv-export"), f"ex:m:{area.id}")]
                + ([Button(ctx.t("btn-sv-dashboard"), f"sv:d:{area.id}:0")] if ctx.config.web_url else []))
    rows.append(_up_row(ctx, area))
    ctx.show("\n".join(lines), keyboard(rows))


def show_enumerators(ctx: Context, area: Area, page: int) -> None:
    found = enumerator_progress(ctx.uow, area, ctx.now)
    pages = max(1, -(-len(found) // PAGE))
    page = max(0, min(page, pages - 1))
    shown = found[page * PAGE:(page + 1) * PAGE]
    lines = [ctx.t("sv-enum-title", name=area.name), ""]
    lines += [ctx.t("sv-enum-line", name=e.name, per_day=_decimal(ctx, e.per_day), visits=e.visits, today=e.today)
              for e in shown] or [ctx.t("sv-enum-none")]
    if pages > 1:
        lines.append(ctx.t("sv-page", page=page + 1, pages=pages))
    ctx.show("\n".join(lines), keyboard([_paging(area, "e", page, pages), _back_row(ctx, area)]))


def show_review(ctx: Context, area: Area, page: int) -> None:
    flagged, photos = ctx.uow.supervision.review_counts(area.id)
    total = flagged + photos
    pages = max(1, -(-total // PAGE))
    page = max(0, min(page, pages - 1))
    rows = ctx.uow.supervision.review_page(area.id, page * PAGE, PAGE, flagged) if total else []
    lines = [ctx.t("sv-review-title", name=area.name, flagged=flagged, photos=photos), ""]
    for number, (_, reason, when, family_id, head, sls_id) in enumerate(rows, start=page * PAGE + 1):
        audit.record(ctx.uow, ctx.user, audit.VIEW_FAMILY, ctx.now, family_id=family_id, area_id=sls_id)  # a name shown
        sls = ctx.uow.areas.get(sls_id)
        lines.append(ctx.t("sv-review-line", number=number, name=head, rt=sls.name if sls else "-",
                           reason=ctx.t(REASON_KEYS.get(reason, "sv-reason-far")), when=_when(ctx, when, sls or area)))
    if not rows:
        lines.append(ctx.t("sv-review-none"))
    if pages > 1:
        lines.append(ctx.t("sv-page", page=page + 1, pages=pages))
    ctx.show("\n".join(lines), keyboard([_paging(area, "r", page, pages), _back_row(ctx, area)]))


def show_export_menu(ctx: Context, area: Area) -> None:
    buttons = [Button(ctx.t(label), f"ex:{kind}:{area.id}") for kind, (_, label) in FORMATS.items()]
    ctx.show(ctx.t("ex-menu", name=area.name, code=area.code),
             keyboard([buttons, _back_row(ctx, area)]))


# --- pieces -----------------------------------------------------------------------------------------

def _window_line(ctx: Context, progress: AreaProgress) -> str:
    window = progress.window
    if window is None:
        return ctx.t("sv-no-window")
    return ctx.t("sv-window", start=_day(ctx, window.starts_on), end=_day(ctx, window.ends_on),
                 expected=round(100 * window.expected_share(progress.today)))


def _total_line(ctx: Context, unit: UnitProgress) -> str:
    tally = unit.tally
    text = ctx.t("sv-total", families=tally.families, booked=tally.booked, visited=tally.visited,
                 completed=tally.completed, done=tally.done, percent=round(100 * tally.share_done))
    return text + (" " + ctx.t("sv-behind-mark") if unit.behind else "")


def _unit_line(ctx: Context, unit: UnitProgress) -> str:
    tally = unit.tally
    return ctx.t("sv-unit-line", name=unit.area.name, families=tally.families, booked=tally.booked,
                 visited=tally.visited, percent=round(100 * tally.share_done),
                 mark=ctx.t("sv-behind-mark") if unit.behind else "").rstrip()


def _paging(area: Area, screen: str, page: int, pages: int) -> Group:
    return pager(Button("◀", f"sv:{screen}:{area.id}:{page - 1}") if page > 0 else None,
                 Button("▶", f"sv:{screen}:{area.id}:{page + 1}") if page + 1 < pages else None)


def _back_row(ctx: Context, area: Area) -> list[Button]:
    return [Button(ctx.t("btn-back"), f"sv:a:{area.id}:0")]


def _up_row(ctx: Context, area: Area) -> list[Button]:
    parent = ctx.uow.areas.get(area.parent_id) if area.parent_id is not None else None
    if parent is None or not access.can(ctx.uow, ctx.user, access.PROGRESS, parent):
        return []
    return [Button(ctx.t("btn-sv-up"), f"sv:a:{parent.id}:0")]


def _day(ctx: Context, day) -> str:  # type: ignore[no-untyped-def]
    return format_date(day, "d MMM yyyy", locale=ctx.t.language)


def _when(ctx: Context, instant, area: Area) -> str:  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(area.timezone)
    return f"{_day(ctx, instant.astimezone(tz).date())} {clock_time(instant, tz, ctx.t.language)}"


def _decimal(ctx: Context, value: float) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if ctx.t.language == "id" else text


FLOW = Flow(
    name="supervisor",
    doc="supervisors and coordinators: progress of their area, the review list, exports",
    commands={"progres": on_progress, "progress": on_progress, "tinjau": on_review, "review": on_review,
              "ekspor": on_export, "export": on_export, "dasbor": on_dashboard, "dashboard": on_dashboard},
    buttons={"sv": on_sv_button, "ex": on_export_button},
    homes={"supervision": show_home},
)
