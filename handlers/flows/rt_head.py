"""The RT head's tools: families of the RT with booking status, registering a family without
Telegram (and booking for it), nudges, corrections, importing the list, and the resident invite link.

| state        | data               | waits for                                          |
| ------------ | ------------------ | -------------------------------------------------- |
| EDIT_VALUE   | family_id, field   | the new value of one field of a family (typed)     |
| IMPORT_LIST  |                    | the family list as a CSV/XLSX document             |

Buttons: ``rt`` (menu, list pages, a family, add, invite), ``rh`` (photo mark, import), ``nu`` (nudges),
``fe`` (corrections), ``kl`` (residents' claims on families: approve, reject, the waiting list, unlink;
domain/claims.py).
"""
from __future__ import annotations

import datetime as dt
import html

from domain import claims, nudges
from domain.booking import sls_timezone
from domain.errors import NotAllowed
from domain.family_status import STATUS_LABEL_KEYS
from domain import audit
from domain.family_import import MAX_MEMBERS, UnreadableFile, check_members, check_typed_address, import_families
from domain.names import check_name
from domain.invites import InviteKind, make_invite
from domain.kk import check_kk
from domain.photos import TOO_LARGE
from domain.rt_groups import progress
from registry.status import delivery_status_for_families
from handlers.registry_status import delivery_label
from handlers.notifications import claim_text
from handlers import keyboards
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec
from handlers.states import State
from chat.events import fetched
from chat.keyboard import Button, Keyboard, keyboard, pager, parse, parse_id
from chat.render import day_label, home_times_label, visit_when

STATUS_KEYS = STATUS_LABEL_KEYS  # a family's status as the RT head reads it
EDIT_FIELDS = {"name": "fe-ask-name", "kk": "fe-ask-kk", "mem": "fe-ask-members", "addr": "fe-ask-address"}


def show_menu(ctx: Context) -> None:
    ctx.stay(State.IDLE)
    sls = ctx.uow.areas.get(ctx.user.sls_id)
    done = progress(ctx.uow, sls.id)
    text = ctx.t("rt-menu", rt=sls.name, families=done.families) + "\n" + ctx.t(
        "rh-progress", booked=done.of("booked"), visited=done.of("visited", "completed"),
        open=done.of("not_contacted", "not_home"), closed=done.of("refused", "moved", "not_found"))
    ctx.show(text, rt_menu(ctx))


def rt_menu(ctx: Context) -> Keyboard:
    """The RT menu: the list, adding a family, nudging, importing, the invite link."""
    return keyboard([
        [Button(ctx.t("btn-rt-families"), "rt:list:0")],
        [Button(ctx.t("btn-rt-add-family"), "rt:add")],
        [Button(ctx.t("btn-nudge-all"), "nu:all")],
        [Button(ctx.t("btn-rh-import"), "rh:import")],
        [Button(ctx.t("btn-rt-invite"), "rt:invite")],
        [Button(ctx.t("btn-rt-claims", count=len(claims.pending_claims(ctx.uow, ctx.user))), "kl:list")],
        *([[Button(ctx.t("fkp-chat-btn-rt-menu"), "fk:r:0")]] if ctx.uow.fkp.forum_of_sls(ctx.user.sls_id) else []),
    ])


def on_families(ctx: Context) -> None:
    """/keluarga: the first page of the RT's families."""
    if ctx.user.role != "rt_head":
        ctx.send(ctx.t("not-allowed"))
        return
    show_families(ctx, 0)


def show_families(ctx: Context, page: int) -> None:
    """One page of the RT's families with their status, edited in place."""
    size = ctx.config.page_size
    total = ctx.uow.coordination.count_in_sls(ctx.user.sls_id)
    page = max(0, min(page, max(0, (total - 1) // size)))
    rows = ctx.uow.coordination.rt_page(ctx.user.sls_id, page * size, size)
    tz = sls_timezone(ctx.uow, ctx.user.sls_id)
    lines = []
    for number, (family, appointment) in enumerate(rows, start=page * size + 1):
        lines.append(ctx.t("family-line", number=number, name=family.head_name,
                           status=status_text(ctx, family, appointment, tz)))
    buttons = [[Button(f"{n}. {f.head_name}", f"rt:fam:{f.id}")] for n, (f, _) in enumerate(rows, start=page * size + 1)]
    paging = pager(Button("◀", f"rt:list:{page - 1}") if page > 0 else None,
                   Button("▶", f"rt:list:{page + 1}") if (page + 1) * size < total else None)
    text = ctx.t.raw("family-list", lines="\n".join(lines) or ctx.t("no-families"), page=page + 1,
                     pages=max(1, -(-total // size)), rt=html.escape(ctx.uow.areas.get(ctx.user.sls_id).name, quote=False))
    ctx.stay(State.IDLE, page=page)
    ctx.show(text, keyboard([*buttons, paging, [Button(ctx.t("btn-back"), "rt:menu")]]))


def status_text(ctx: Context, family, appointment, tz) -> str:  # type: ignore[no-untyped-def]
    """Booked families show their visit time; every other status its name."""
    if appointment is not None and family.status == "booked":
        return visit_when(appointment.start_at, tz, ctx.t)
    label = ctx.t(STATUS_KEYS.get(family.status, "status-not-booked"))
    if getattr(family, "needs_photo", False):
        label += " " + ctx.t("rh-needs-photo-mark")
    return label


def show_family(ctx: Context, family_id: int, notice: str | None = None) -> None:
    family = ctx.uow.families.get(family_id)
    if family is None or family.sls_id != ctx.user.sls_id:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    appointment = ctx.uow.appointments.active_for_family(family.id)
    tz = sls_timezone(ctx.uow, family.sls_id)
    status = status_text(ctx, family, appointment, tz)
    delivered = delivery_label(ctx.t, delivery_status_for_families(ctx.uow, [family.id]).get(family.id))
    if delivered:
        status = f"{status} · {delivered}"  # a completed record: has it reached the central registry?
    text = ctx.t("family-detail", name=family.head_name, kk=_masked(family.kk_number), members=family.members, status=status)
    text += "\n" + ctx.t("rh-address", address=family.address or "-")
    text += "\n" + ctx.t("rh-home-times", times=home_times_label(family.home_times, ctx.t) or "-")
    linked = ctx.uow.users.residents_of_family(family.id)
    if linked:
        text += "\n" + ctx.t("claim-linked-people", people=", ".join(p.first_name for p in linked))
    if notice:
        text = f"{notice}\n\n{text}"
    visited = appointment is None and ctx.uow.appointments.last_visited_for_family(family.id) is not None
    if appointment:
        actions: list = list(keyboards.appointment_actions(ctx.t, family.id).groups)
    elif visited:
        actions = []  # the visit took place: nothing to book, move or cancel
    else:
        actions = [[keyboards.book_family(ctx.t, family.id)]]
    actions.append((Button(ctx.t("btn-fe-edit"), f"fe:menu:{family.id}"),))
    actions.append((keyboards.home_times_button(ctx.t, family.id, "r"),))  # when the family is usually home
    if not ctx.uow.users.residents_of_family(family.id) and ctx.uow.questionnaires.completed_of(family.id) is None:
        actions.append((keyboards.identify_family(ctx.t, family.id),))  # for a family without Telegram
    if hasattr(family, "needs_photo"):
        key = "btn-rh-photo-off" if family.needs_photo else "btn-rh-photo-on"
        actions.append((Button(ctx.t(key), f"rh:photo:{family.id}"),))
    if family.status in nudges.NUDGEABLE and appointment is None:
        actions.append((Button(ctx.t("btn-nudge"), f"nu:fam:{family.id}"),))
    for person in linked:  # a wrong claim is undone here; the family keeps its data
        actions.append((Button(ctx.t("btn-claim-remove", person=person.first_name), f"kl:rm:{family.id}:{person.id}"),))

    audit.record(ctx.uow, ctx.user, audit.VIEW_FAMILY, ctx.now, family_id=family.id, area_id=family.sls_id)
    ctx.stay(State.IDLE)
    ctx.show(text, keyboard([*actions, [Button(ctx.t("btn-back"), f"rt:list:{int(ctx.data.get('page', 0))}")]]))


def show_invite(ctx: Context) -> None:
    expires = ctx.now + dt.timedelta(days=ctx.config.invite_days)
    token = make_invite(ctx.config.invite_secret, InviteKind.RESIDENT, ctx.user.sls_id, expires)
    link = f"https://t.me/{ctx.config.bot_username}?start={token}"
    tz = sls_timezone(ctx.uow, ctx.user.sls_id)
    ctx.show(ctx.t("rt-invite", link=link, until=day_label(expires.astimezone(tz).date(), ctx.t.language)),
             keyboards.back_to_rt_menu(ctx.t))


def on_rt_button(ctx: Context) -> None:
    if ctx.user.role != "rt_head" or ctx.user.sls_id is None:
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    number = parse_id(value)
    if action == "menu":
        show_menu(ctx)
    elif action == "list" and number is not None:
        show_families(ctx, number)
    elif action == "fam" and number is not None:
        show_family(ctx, number)
    elif action == "add":
        ctx.go(State.FAMILY_NAME, for_self=False)
    elif action == "invite":
        show_invite(ctx)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def _masked(kk: str | None) -> str:
    """Only the last four digits: the list may be read over someone's shoulder."""
    return f"····{kk[-4:]}" if kk else "-"


# --- RT-head actions ("rh"), nudges ("nu"), corrections ("fe") ---------------------------------------

def _rt_head(ctx: Context) -> bool:
    if ctx.user is None or ctx.user.role != "rt_head" or ctx.user.sls_id is None:
        ctx.answer(ctx.t("not-allowed"), alert=True)
        return False
    return True


def _own_family(ctx: Context, value: str):  # type: ignore[no-untyped-def]
    family_id = parse_id(value)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or family.sls_id != ctx.user.sls_id:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return family


def on_rh_button(ctx: Context) -> None:
    if not _rt_head(ctx):
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    if action == "photo":
        family = _own_family(ctx, value)
        if family is None:
            return
        if not hasattr(family, "needs_photo"):
            ctx.answer(ctx.t("stale-button"), alert=True)
            return
        family.needs_photo = not family.needs_photo
        audit.record(ctx.uow, ctx.user, audit.CHANGE_FAMILY, ctx.now, family_id=family.id, area_id=family.sls_id)
        ctx.answer(ctx.t("rh-photo-marked" if family.needs_photo else "rh-photo-unmarked"))
        show_family(ctx, family.id)
    elif action == "import":
        ctx.go(State.IMPORT_LIST)  # the next file sent in this chat is the list
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def enter_import(ctx: Context) -> None:
    ctx.show(ctx.t("rh-import-help", code=ctx.uow.areas.get(ctx.user.sls_id).code), keyboards.back_to_rt_menu(ctx.t))


def on_nudge_button(ctx: Context) -> None:
    if not _rt_head(ctx):
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    try:
        if action == "fam":
            family = _own_family(ctx, value)
            if family is None:
                return
            report = nudges.nudge_family(ctx.uow, ctx.user, family, ctx.now)
            key = ("nudge-sent" if report.sent else "nudge-already" if report.already
                   else "nudge-unreachable" if report.unreachable else "nudge-not-needed")
            ctx.answer(ctx.t(key))
            show_family(ctx, family.id, notice=ctx.t(key))
        elif action == "all":
            report = nudges.nudge_rt(ctx.uow, ctx.user, ctx.now)
            ctx.stay(State.IDLE)
            ctx.show(ctx.t("nudge-report", sent=report.sent, messages=report.messages, already=report.already,
                           unreachable=report.unreachable), keyboards.back_to_rt_menu(ctx.t))
        else:
            ctx.answer(ctx.t("stale-button"), alert=True)
    except NotAllowed:
        ctx.answer(ctx.t("not-allowed"), alert=True)


def on_edit_button(ctx: Context) -> None:
    """fe:menu:<family> shows the fields; fe:<field>:<family> asks for the new value (typed)."""
    if not _rt_head(ctx):
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    family = _own_family(ctx, value)
    if family is None:
        return
    if action == "menu":
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("fe-menu", name=family.head_name), keyboard([
            [Button(ctx.t("btn-fe-name"), f"fe:name:{family.id}"), Button(ctx.t("btn-fe-kk"), f"fe:kk:{family.id}")],
            [Button(ctx.t("btn-fe-members"), f"fe:mem:{family.id}"), Button(ctx.t("btn-fe-address"), f"fe:addr:{family.id}")],
            [Button(ctx.t("btn-back"), f"rt:fam:{family.id}")]]))
    elif action in EDIT_FIELDS:
        ctx.go(State.EDIT_VALUE, family_id=family.id, field=action)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def enter_edit_value(ctx: Context) -> None:
    """Ask for the new value of one field of a family (the field and family are in the data)."""
    family = ctx.uow.families.get(int(ctx.data["family_id"]))
    ctx.show(ctx.t(EDIT_FIELDS[ctx.data["field"]], name=family.head_name),
             keyboard([[Button(ctx.t("btn-back"), f"rt:fam:{family.id}")]]))


def on_edit_typed(ctx: Context) -> None:
    """The new value of one field, checked like the import and the registration check it."""
    if ctx.user.role != "rt_head":
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("not-allowed"))
        return
    family = ctx.uow.families.get(int(ctx.data.get("family_id", 0)))
    field = ctx.data.get("field")
    if family is None or family.sls_id != ctx.user.sls_id or field not in EDIT_FIELDS:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("stale-button"))
        return
    text = ctx.event.text or ""
    if field == "name":
        named = check_name(text)
        if not named.ok:
            ctx.send(ctx.t(named.problem))
            return
        family.head_name = named.name
    elif field == "kk":
        checked = check_kk(text)
        if not checked.ok:
            ctx.send(ctx.t(checked.problem))
            return
        other = ctx.uow.families.by_kk(checked.number)
        if other is not None and other.id != family.id:
            ctx.send(ctx.t("kk-duplicate"))
            return
        family.kk_number = checked.number
    elif field == "mem":
        members = check_members(text)
        if members is None:
            ctx.send(ctx.t("bad-members", max=MAX_MEMBERS))
            return
        family.members = members
    else:
        address = check_typed_address(text)
        if address.problem is not None:
            ctx.send(ctx.t(address.problem))
            return
        family.address = address.address
    ctx.uow.flush()
    audit.record(ctx.uow, ctx.user, audit.CHANGE_FAMILY, ctx.now, family_id=family.id, area_id=family.sls_id)
    ctx.stay(State.IDLE)
    show_family(ctx, family.id, notice=ctx.t("fe-saved"))


def import_report(t, result, rt: str, most: int | None = None) -> str:  # type: ignore[no-untyped-def]
    """The outcome of a family import (domain/family_import.py) as text: chat and CLI alike. ``most``:
    list at most that many problems (a chat message has room for a few dozen), then say how many more."""
    if result.ok:
        return t("import-done", count=result.added, rt=rt)
    shown = result.problems if most is None else result.problems[:most]
    lines = [t("import-failed", count=len(result.problems))]
    lines += [t("import-row-problem", row=p.row, problem=t(p.problem)) for p in shown]
    if len(shown) < len(result.problems):
        lines.append(t("import-more-problems", count=len(result.problems) - len(shown)))
    return "\n".join(lines)


# --- importing the RT's list from a file sent in the chat ----------------------------------------------

IMPORT_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
PROBLEMS_IN_CHAT = 15


def on_import_input(ctx: Context) -> None:
    """Anything sent after "import a list": a CSV/XLSX document is imported, all or nothing; anything
    else is told what is wanted. A failed import keeps the step, so a corrected file can follow."""
    attachment = ctx.event.attachment
    if ctx.user.role != "rt_head" or ctx.user.sls_id is None:
        ctx.stay(State.IDLE)
        ctx.send(ctx.t("not-allowed"))
        return
    if attachment is None or attachment.kind != "document":
        ctx.send(ctx.t("rh-import-send-file"))
        return
    attachment = fetched(attachment)  # downloaded only now: this step asks for a file
    if attachment.error is not None or attachment.content is None:
        ctx.send(ctx.t("rh-import-too-large" if attachment.error == TOO_LARGE else "rh-import-send-again"))
        return
    filename = attachment.file_name or "daftar"
    if not filename.lower().endswith(IMPORT_SUFFIXES) and attachment.content[:2] != b"PK":
        ctx.send(ctx.t("rh-import-send-file"))
        return
    area = ctx.uow.areas.get(ctx.user.sls_id)
    try:
        with ctx.uow.savepoint():  # all or nothing, also when something unexpected breaks half-way
            result = import_families(ctx.uow, ctx.user, area.id, attachment.content, filename, ctx.now)
    except UnreadableFile as unreadable:
        ctx.send(ctx.t(unreadable.problem, **unreadable.values))
        return
    if result.ok:
        ctx.stay(State.IDLE)
        ctx.send(import_report(ctx.t, result, area.name), rt_menu(ctx))
    else:
        ctx.send(import_report(ctx.t, result, area.name, most=PROBLEMS_IN_CHAT))


# --- family claims ("kl"): approve or reject a resident's claim, unlink a wrong one -------------------

def on_claim_button(ctx: Context) -> None:
    """kl:ok|no:<claim> decide a claim (from its message or the list); kl:list the pending claims;
    kl:rm:<family>:<user> asks before unlinking, kl:rmy:<family>:<user> unlinks."""
    if not _rt_head(ctx):
        return
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    if action in ("ok", "no") and parse_id(value) is not None:
        _decide(ctx, parse_id(value), approve=action == "ok")
    elif action == "list":
        show_claims(ctx)
    elif action in ("rm", "rmy"):
        family_part, _, user_part = value.partition(":")
        family, person_id = _own_family(ctx, family_part), parse_id(user_part)
        if family is None:
            return
        person = ctx.uow.users.get(person_id) if person_id is not None else None
        if person is None or person.family_id != family.id:
            ctx.answer(ctx.t("stale-button"), alert=True)
        elif action == "rm":
            ctx.stay(State.IDLE)
            ctx.show(ctx.t("claim-remove-confirm", person=person.first_name, name=family.head_name), keyboard([
                [Button(ctx.t("btn-claim-remove-yes"), f"kl:rmy:{family.id}:{person.id}")],
                [Button(ctx.t("btn-back"), f"rt:fam:{family.id}")]]))
        else:
            claims.remove_link(ctx.uow, ctx.user, family.id, person.id, ctx.now)
            notice = ctx.t("claim-removed-rt", person=person.first_name)
            ctx.answer(notice)
            show_family(ctx, family.id, notice=notice)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def _decide(ctx: Context, claim_id: int, approve: bool) -> None:
    try:
        claim = claims.decide_claim(ctx.uow, ctx.user, claim_id, approve, ctx.now)
    except claims.ClaimDecided:
        ctx.answer(ctx.t("claim-decided-already"), alert=True)
        ctx.show(ctx.t("claim-decided-already"), keyboards.back_to_rt_menu(ctx.t))
        return
    except NotAllowed:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    person = ctx.uow.users.get(claim.user_id)
    family = ctx.uow.families.get(claim.family_id) if claim.family_id is not None else None
    key = "claim-approved-rt" if claim.status == claims.LINKED else "claim-rejected-rt"
    text = ctx.t(key, person=person.first_name if person else "-", name=family.head_name if family else claim.head_name)
    ctx.answer(text)
    ctx.stay(State.IDLE)
    ctx.show(text, keyboards.back_to_rt_menu(ctx.t))


def show_claims(ctx: Context) -> None:
    """The claims waiting for this RT head, each with its buttons (the message may have been lost)."""
    waiting = claims.pending_claims(ctx.uow, ctx.user)[:ctx.config.page_size]
    ctx.stay(State.IDLE)
    if not waiting:
        ctx.show(ctx.t("claims-none"), keyboards.back_to_rt_menu(ctx.t))
        return
    text = "\n\n".join([ctx.t("claims-list"), *(f"{n}. {claim_text(ctx.uow, c, ctx.t)}"
                                                 for n, c in enumerate(waiting, start=1))])
    rows = [keyboards.claim_decision(ctx.t, c.id).groups[0].buttons for c in waiting]
    rows = [[Button(f"{n}. {b.text}", b.data) for b in row] for n, row in enumerate(rows, start=1)]
    ctx.show(text, keyboard([*rows, [Button(ctx.t("btn-back"), "rt:menu")]]))


FLOW = Flow(
    name="rt_head",
    doc="the RT head's tools: the families of the RT, adding, nudging, correcting, importing, inviting",
    commands={"keluarga": on_families, "families": on_families},
    buttons={"rt": on_rt_button, "rh": on_rh_button, "nu": on_nudge_button, "fe": on_edit_button,
             "kl": on_claim_button},
    states=(
        StateSpec(State.EDIT_VALUE, Accepts.TEXT, enter=enter_edit_value, on_text=on_edit_typed, doc="the new value of a field"),
        StateSpec(State.IMPORT_LIST, Accepts.TEXT | Accepts.MEDIA, enter=enter_import, on_text=on_import_input, on_input=on_import_input,
                  wants_file=lambda ctx: ctx.user.role == "rt_head", doc="the family list as a file"),
    ),
    homes={"rt_head": show_menu},
)
