"""The public consultation (FKP) in the chat: the RT head's review of their SLS, a resident's objection,
the forum's session and the signatures (domain/fkp.py holds the rules; docs/fkp.md the story).

| state              | data                           | waits for                                       |
| ------------------ | ------------------------------ | ----------------------------------------------- |
| FKP_SEARCH         | page                           | a part of a family head's name                  |
| FKP_NOTE           | family_id, group, reason, who  | the note of an "other" reason (RT head, resident)|
| FKP_ADD_NAME       |                                | the added family head's name                    |
| FKP_ADD_KK         | name                           | the added family's KK number                    |
| FKP_REJECT_REASON  | forum_id, key                  | why the forum rejects a proposal                |

Buttons (``fk``): home · r:<page> list · f:<family> a family · c: confirm · m: move → g:<fam>:<group> →
y:<fam>:<group>:<reason> · s search · a add → as:<status> · o object → og:<group> → oy:<group>:<reason> ·
h:<forum> the forum · op open · at attendance · tp:<forum>:<seat> present · it:<forum>:<index> an item ·
dy/dn:<forum>:<f family|a added> accept/reject · cl close · pdf the minutes · sg:<forum>:y|n sign.

The welfare group is shown only after the forum's preparation window opens, to community figures only
while the session is open; the score never (domain/fkp.py sees_groups). Every list shown is audited.
"""
from __future__ import annotations

import re

from domain import audit, fkp
from domain.names import check_name
from domain.kk import check_kk
from domain.model import FkpForum
from handlers import keyboards
from handlers.fkp_minutes import minutes_pdf
from handlers.context import Context
from handlers.flow import Accepts, Flow, StateSpec
from handlers.states import State
from chat.events import SendDocument
from chat.keyboard import Button, Keyboard, choices, keyboard, pager, parse, parse_id
from chat.render import clock_time, day_label

MAX_SEARCH = 60


# --- where /fkp leads ---------------------------------------------------------------------------------

def on_fkp(ctx: Context) -> None:
    """/fkp: the forum of a seat (facilitator, assistant, administrator, figure), else the RT head's
    review of their SLS, else a resident's own family."""
    show_home(ctx)


def show_home(ctx: Context) -> None:
    ctx.stay(State.IDLE)
    seats = [s for s in fkp.seats_of(ctx.uow, ctx.user) if s.role != fkp.RT_HEAD]
    if seats:
        show_forum(ctx, seats[0].forum_id)
    elif fkp.rt_forum(ctx.uow, ctx.user) is not None:
        show_rt_list(ctx, 0)
    elif ctx.user.family_id is not None and fkp.resident_forum(ctx.uow, ctx.user) is not None:
        show_resident(ctx)
    else:
        ctx.show(ctx.t("fkp-chat-none"))


def _when(ctx: Context, forum: FkpForum) -> str:
    tz = fkp.zone_of(ctx.uow, forum)
    local = forum.at.astimezone(tz)
    return f"{day_label(local.date(), ctx.t.language)}, {clock_time(forum.at, tz, ctx.t.language)}"


def _embargo_text(ctx: Context, forum: FkpForum) -> str:
    tz = fkp.zone_of(ctx.uow, forum)
    return ctx.t("fkp-chat-embargo-until", day=day_label(forum.prep_opens_at.astimezone(tz).date(), ctx.t.language))


def group_label(ctx: Context, group: int | None) -> str:
    return ctx.t(fkp.GROUP_KEYS.get(group or 0, fkp.GROUP_KEYS[0]))


def reason_label(ctx: Context, reason: str | None, note: str | None = None) -> str:
    label = ctx.t(fkp.REASON_KEYS[reason]) if reason in fkp.REASON_KEYS else "-"
    return f"{label}: {note}" if note else label


def _refused(ctx: Context, refusal: fkp.FkpRefused) -> None:
    ctx.answer(ctx.t(refusal.problem, **refusal.values), alert=True)
    if not ctx.event.is_callback:
        ctx.send(ctx.t(refusal.problem, **refusal.values))


# --- the RT head's review --------------------------------------------------------------------------------

def _rt_forum(ctx: Context) -> FkpForum | None:
    forum = fkp.rt_forum(ctx.uow, ctx.user)
    if forum is None:
        ctx.answer(ctx.t("fkp-chat-no-forum"), alert=True)
        if not ctx.event.is_callback:
            ctx.send(ctx.t("fkp-chat-no-forum"))
        return None
    if not fkp.embargo_lifted(forum, ctx.now):
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("fkp-chat-forum-line", number=forum.number, when=_when(ctx, forum), place=forum.place or "-")
                 + "\n" + _embargo_text(ctx, forum), keyboards.back_to_rt_menu(ctx.t))
        return None
    return forum


def show_rt_list(ctx: Context, page: int, search: str | None = None, notice: str | None = None) -> None:
    """One page of the SLS's families with their group and the RT head's word on each (searchable)."""
    forum = _rt_forum(ctx)
    if forum is None:
        return
    search = ctx.data.get("search", "") if search is None else search
    fkp.seat_rt_head(ctx.uow, ctx.user, forum, ctx.now)
    size = ctx.config.page_size
    total, rows = ctx.uow.fkp.families_page(ctx.user.sls_id, max(0, page) * size, size, search)
    pages = max(1, -(-total // size))
    if page >= pages:
        page = pages - 1
        total, rows = ctx.uow.fkp.families_page(ctx.user.sls_id, page * size, size, search)
    ids = [f.id for f in rows]
    groups = fkp.model_groups(ctx.uow, ids)
    said = ctx.uow.fkp.proposals_for(forum.id, ids)
    lines = [ctx.t("fkp-chat-rt-title", rt=ctx.uow.areas.get(ctx.user.sls_id).name, when=_when(ctx, forum))]
    if search:
        lines.append(ctx.t("fkp-chat-search-showing", search=search))
    for number, family in enumerate(rows, start=page * size + 1):
        lines.append(ctx.t("fkp-chat-family-line", number=number, name=family.head_name,
                           group=group_label(ctx, groups.get(family.id)), said=_said(ctx, said.get(family.id))))
    if not rows:
        lines.append(ctx.t("no-families"))
    lines.append(ctx.t("sv-page", page=page + 1, pages=pages))
    buttons = [choices(Button(f"{n}. {f.head_name}", f"fk:f:{f.id}") for n, f in enumerate(rows, start=page * size + 1))]
    paging = pager(Button("◀", f"fk:r:{page - 1}") if page > 0 else None,
                   Button("▶", f"fk:r:{page + 1}") if page + 1 < pages else None)
    tools = [Button(ctx.t("fkp-chat-btn-search"), "fk:s")]
    if search:
        tools.append(Button(ctx.t("fkp-chat-btn-all"), "fk:x"))
    if fkp.editable(forum):
        tools.append(Button(ctx.t("fkp-chat-btn-add"), "fk:a"))
    audit.record(ctx.uow, ctx.user, audit.FKP_VIEW, ctx.now, area_id=ctx.user.sls_id, count=len(rows))
    ctx.stay(State.IDLE, page=page, search=search)
    if notice:
        lines.insert(0, notice + "\n")
    ctx.show("\n".join(lines), keyboard([*buttons, paging, tools, [Button(ctx.t("btn-back"), "rt:menu")]]))


def _said(ctx: Context, proposal) -> str:  # type: ignore[no-untyped-def]
    if proposal is None:
        return ""
    if proposal.kind == "confirm":
        return " " + ctx.t("fkp-chat-mark-confirmed")
    return " " + ctx.t("fkp-chat-mark-moved", group=proposal.proposed_group)


def _own_family(ctx: Context, value: str):  # type: ignore[no-untyped-def]
    family_id = parse_id(value)
    family = ctx.uow.families.get(family_id) if family_id is not None else None
    if family is None or ctx.user.role != "rt_head" or family.sls_id != ctx.user.sls_id:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None
    return family


def show_family(ctx: Context, family, notice: str | None = None) -> None:  # type: ignore[no-untyped-def]
    forum = _rt_forum(ctx)
    if forum is None:
        return
    group = fkp.model_groups(ctx.uow, [family.id]).get(family.id)
    proposal = ctx.uow.fkp.proposal(forum.id, family.id)
    lines = [ctx.t("fkp-chat-family", name=family.head_name, group=group_label(ctx, group))]
    if proposal is not None and proposal.kind == "confirm":
        lines.append(ctx.t("fkp-chat-family-confirmed"))
    elif proposal is not None:
        lines.append(ctx.t("fkp-chat-family-moved", group=group_label(ctx, proposal.proposed_group),
                           reason=reason_label(ctx, proposal.reason, proposal.note)))
    for objection in (o for o in ctx.uow.fkp.objections(forum.id) if o.family_id == family.id):
        lines.append(ctx.t("fkp-chat-objection-line", group=group_label(ctx, objection.claimed_group),
                           reason=reason_label(ctx, objection.reason, objection.note)))
    if notice:
        lines.insert(0, notice + "\n")
    rows = []
    if fkp.editable(forum):
        rows.append([Button(ctx.t("fkp-chat-btn-confirm"), f"fk:c:{family.id}"),
                     Button(ctx.t("fkp-chat-btn-move"), f"fk:m:{family.id}")])
    rows.append([Button(ctx.t("btn-back"), f"fk:r:{int(ctx.data.get('page', 0))}")])
    audit.record(ctx.uow, ctx.user, audit.FKP_VIEW, ctx.now, family_id=family.id, area_id=family.sls_id)
    ctx.stay(State.IDLE, page=int(ctx.data.get("page", 0)), search=ctx.data.get("search", ""))
    ctx.show("\n".join(lines), keyboard(rows))


def _group_choices(ctx: Context, prefix: str, current: int | None, back: str) -> Keyboard:
    return keyboard([choices(Button(group_label(ctx, g), f"{prefix}:{g}") for g in fkp.GROUPS if g != current),
                     [Button(ctx.t("btn-back"), back)]])


def _reason_choices(ctx: Context, prefix: str, back: str) -> Keyboard:
    return keyboard([choices(Button(ctx.t(fkp.REASON_KEYS[r]), f"{prefix}:{r}") for r in fkp.REASONS),
                     [Button(ctx.t("btn-back"), back)]])


def _save_move(ctx: Context, family, group: int, reason: str, note: str | None) -> None:  # type: ignore[no-untyped-def]
    try:
        fkp.propose(ctx.uow, ctx.user, family, "move", ctx.now, group=group, reason=reason, note=note)
    except fkp.FkpRefused as refusal:
        _refused(ctx, refusal)
        return
    ctx.answer(ctx.t("fkp-chat-saved"))
    show_family(ctx, family, notice=ctx.t("fkp-chat-saved"))


def _rt_press(ctx: Context, action: str, value: str) -> None:
    if action == "r":
        page = parse_id(value)
        show_rt_list(ctx, page or 0)
    elif action == "x":
        show_rt_list(ctx, 0, search="")
    elif action == "s":
        if _rt_forum(ctx) is not None:
            ctx.go(State.FKP_SEARCH, page=int(ctx.data.get("page", 0)))
    elif action == "a":
        if _rt_forum(ctx) is not None:
            ctx.go(State.FKP_ADD_NAME)
    elif action == "as":
        _save_added(ctx, value)
    elif action in ("f", "c", "m"):
        family = _own_family(ctx, value)
        if family is None:
            return
        if action == "f":
            show_family(ctx, family)
        elif action == "c":
            try:
                fkp.propose(ctx.uow, ctx.user, family, "confirm", ctx.now)
            except fkp.FkpRefused as refusal:
                _refused(ctx, refusal)
                return
            ctx.answer(ctx.t("fkp-chat-saved"))
            show_rt_list(ctx, int(ctx.data.get("page", 0)), notice=ctx.t("fkp-chat-confirmed", name=family.head_name))
        else:
            current = fkp.model_groups(ctx.uow, [family.id]).get(family.id)
            ctx.show(ctx.t("fkp-chat-ask-group", name=family.head_name),
                     _group_choices(ctx, f"fk:g:{family.id}", current, f"fk:f:{family.id}"))
    elif action in ("g", "y"):
        family_part, _, rest = value.partition(":")
        family = _own_family(ctx, family_part)
        group_part, _, reason = rest.partition(":")
        group = parse_id(group_part)
        if family is None:
            return
        if group not in fkp.GROUPS:
            ctx.answer(ctx.t("stale-button"), alert=True)
        elif action == "g":
            ctx.show(ctx.t("fkp-chat-ask-reason", name=family.head_name, group=group_label(ctx, group)),
                     _reason_choices(ctx, f"fk:y:{family.id}:{group}", f"fk:m:{family.id}"))
        elif reason == "other":
            ctx.go(State.FKP_NOTE, family_id=family.id, group=group, reason=reason, who="rt",
                   page=int(ctx.data.get("page", 0)))
        else:
            _save_move(ctx, family, group, reason, None)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


def enter_search(ctx: Context) -> None:
    ctx.show(ctx.t("fkp-chat-ask-search"), keyboard([[Button(ctx.t("btn-back"), f"fk:r:{int(ctx.data.get('page', 0))}")]]))


def on_search_typed(ctx: Context) -> None:
    text = " ".join((ctx.event.text or "").split())[:MAX_SEARCH]
    ctx.stay(State.IDLE)
    show_rt_list(ctx, 0, search=text)


def enter_note(ctx: Context) -> None:
    back = f"fk:f:{ctx.data.get('family_id')}" if ctx.data.get("who") == "rt" else "fk:home"
    ctx.show(ctx.t("fkp-chat-ask-note"), keyboard([[Button(ctx.t("btn-back"), back)]]))


def on_note_typed(ctx: Context) -> None:
    note = (ctx.event.text or "").strip()
    if not note:
        ctx.send(ctx.t("fkp-chat-note-needed"))
        return
    if len(note) > fkp.MAX_NOTE:
        ctx.send(ctx.t("fkp-chat-note-too-long", max=fkp.MAX_NOTE))
        return
    data = dict(ctx.data)
    ctx.stay(State.IDLE, page=int(data.get("page", 0)))
    group, reason = int(data.get("group", 0)), str(data.get("reason", ""))
    if data.get("who") == "rt":
        family = ctx.uow.families.get(int(data.get("family_id", 0)))
        if family is None or ctx.user.role != "rt_head" or family.sls_id != ctx.user.sls_id:
            ctx.send(ctx.t("stale-button"))
            return
        _save_move(ctx, family, group, reason, note)
    else:
        _save_objection(ctx, group, reason, note)


def enter_add_name(ctx: Context) -> None:
    ctx.show(ctx.t("fkp-chat-ask-added-name"), keyboard([[Button(ctx.t("btn-back"), "fk:r:0")]]))


def on_added_name(ctx: Context) -> None:
    check = check_name(ctx.event.text)
    if not check.ok:
        ctx.send(ctx.t(check.problem))  # what is wrong with it, as at registration
        return
    ctx.go(State.FKP_ADD_KK, name=check.name)


def enter_add_kk(ctx: Context) -> None:
    ctx.show(ctx.t("fkp-chat-ask-added-kk", name=ctx.data.get("name", "")), keyboard([[Button(ctx.t("btn-back"), "fk:r:0")]]))


def on_added_kk(ctx: Context) -> None:
    checked = check_kk(ctx.event.text or "")
    if not checked.ok:
        ctx.send(ctx.t(checked.problem))
        return
    name = str(ctx.data.get("name", ""))
    ctx.stay(State.IDLE, name=name, kk=checked.number)
    ctx.send(ctx.t("fkp-chat-ask-added-status", name=name), keyboard([
        choices(Button(ctx.t(fkp.STATUS_KEYS[s]), f"fk:as:{s}") for s in fkp.ADDED_STATUSES),
        [Button(ctx.t("btn-back"), "fk:r:0")]]))


def _save_added(ctx: Context, status: str) -> None:
    name, kk = ctx.data.get("name"), ctx.data.get("kk")
    if not name or not kk or status not in fkp.ADDED_STATUSES:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return
    try:
        fkp.add_family(ctx.uow, ctx.user, str(name), str(kk), status, ctx.now)
    except fkp.FkpRefused as refusal:
        _refused(ctx, refusal)
        return
    ctx.answer(ctx.t("fkp-chat-saved"))
    ctx.data = {}
    show_rt_list(ctx, 0, search="", notice=ctx.t("fkp-chat-added", name=name, status=ctx.t(fkp.STATUS_KEYS[status])))


# --- the resident's objection ------------------------------------------------------------------------------

def show_resident(ctx: Context, notice: str | None = None) -> None:
    found = fkp.resident_forum(ctx.uow, ctx.user)
    if found is None:
        ctx.show(ctx.t("fkp-chat-none"))
        return
    forum, family = found
    lines = [ctx.t("fkp-chat-forum-line", number=forum.number, when=_when(ctx, forum), place=forum.place or "-")]
    rows = []
    if not fkp.sees_groups(forum, "resident", ctx.now):
        lines.append(_embargo_text(ctx, forum))
    else:
        group = fkp.model_groups(ctx.uow, [family.id]).get(family.id)
        lines.append(ctx.t("fkp-chat-resident-group", name=family.head_name, group=group_label(ctx, group)))
        mine = ctx.uow.fkp.objection_of(forum.id, family.id, ctx.user.id)
        if mine is not None:
            lines.append(ctx.t("fkp-chat-objection-line", group=group_label(ctx, mine.claimed_group),
                               reason=reason_label(ctx, mine.reason, mine.note)))
        if fkp.editable(forum) and group is not None:
            rows.append([Button(ctx.t("fkp-chat-btn-object"), "fk:o")])
    if notice:
        lines.insert(0, notice + "\n")
    ctx.stay(State.IDLE)
    ctx.show("\n".join(lines), keyboard(rows))


def _save_objection(ctx: Context, group: int, reason: str, note: str | None) -> None:
    try:
        fkp.object_to_group(ctx.uow, ctx.user, group, reason, note, ctx.now)
    except fkp.FkpRefused as refusal:
        _refused(ctx, refusal)
        return
    ctx.answer(ctx.t("fkp-chat-objection-saved"))
    show_resident(ctx, notice=ctx.t("fkp-chat-objection-saved"))


def _resident_press(ctx: Context, action: str, value: str) -> None:
    found = fkp.resident_forum(ctx.uow, ctx.user) if ctx.user.family_id is not None else None
    if found is None or not fkp.sees_groups(found[0], "resident", ctx.now):
        ctx.answer(ctx.t("fkp-chat-no-forum"), alert=True)
        return
    forum, family = found
    group_part, _, reason = value.partition(":")
    group = parse_id(group_part)
    if action == "o":
        current = fkp.model_groups(ctx.uow, [family.id]).get(family.id)
        ctx.show(ctx.t("fkp-chat-ask-claimed-group"), _group_choices(ctx, "fk:og", current, "fk:home"))
    elif group not in fkp.GROUPS:
        ctx.answer(ctx.t("stale-button"), alert=True)
    elif action == "og":
        ctx.show(ctx.t("fkp-chat-ask-objection-reason", group=group_label(ctx, group)),
                 _reason_choices(ctx, f"fk:oy:{group}", "fk:o"))
    elif reason == "other":
        ctx.go(State.FKP_NOTE, group=group, reason=reason, who="resident")
    else:
        _save_objection(ctx, group, reason, None)


# --- the forum ---------------------------------------------------------------------------------------------

def _forum_and_seat(ctx: Context, value: str):  # type: ignore[no-untyped-def]
    forum_id = parse_id(value.partition(":")[0])
    forum = ctx.uow.fkp.get(forum_id) if forum_id is not None else None
    seat = fkp.seat_in(ctx.uow, ctx.user, forum) if forum is not None else None
    if seat is None:
        ctx.answer(ctx.t("stale-button"), alert=True)
        return None, None
    return forum, seat


def show_forum(ctx: Context, forum_id: int, notice: str | None = None) -> None:
    forum = ctx.uow.fkp.get(forum_id)
    seat = fkp.seat_in(ctx.uow, ctx.user, forum) if forum is not None else None
    if seat is None:
        ctx.show(ctx.t("fkp-chat-none"))
        return
    village = fkp.village_of(ctx.uow, forum)
    sls = ctx.uow.fkp.sls_of(forum.id)
    items = fkp.agenda(ctx.uow, forum) if fkp.sees_groups(forum, seat.role, ctx.now) else None
    lines = [ctx.t("fkp-chat-forum-title", number=forum.number, village=village.name, when=_when(ctx, forum),
                   place=forum.place or "-", status=ctx.t(fkp.FORUM_KEYS[forum.status]),
                   role=ctx.t(fkp.ROLE_KEYS[seat.role]), sls=len(sls))]
    if items is None:
        lines.append(_embargo_text(ctx, forum) if not fkp.embargo_lifted(forum, ctx.now) else ctx.t("fkp-chat-figure-wait"))
    else:
        lines.append(ctx.t("fkp-chat-forum-items", items=len(items),
                           decided=sum(1 for i in items if i.decision is not None)))
    chair = seat.role in fkp.CHAIRS
    rows: list = []
    if chair and forum.status == fkp.PLANNED and fkp.embargo_lifted(forum, ctx.now):
        rows.append([Button(ctx.t("fkp-chat-btn-open-session"), f"fk:op:{forum.id}")])
    if forum.status == fkp.OPEN and items is not None:
        rows.append([Button(ctx.t("fkp-chat-btn-agenda"), f"fk:it:{forum.id}:0")])
        if chair:
            rows.append([Button(ctx.t("fkp-chat-btn-attendance"), f"fk:at:{forum.id}"),
                         Button(ctx.t("fkp-chat-btn-close"), f"fk:cl:{forum.id}")])
    if forum.status in (fkp.CLOSED, fkp.ESCALATED):
        lines.append(_tally_text(ctx, fkp.tally(ctx.uow, forum)))
        if seat.id not in ctx.uow.fkp.signatures(forum.id):
            rows += list(keyboards.fkp_sign(ctx.t, forum.id).groups)
        if chair:
            rows.append([Button(ctx.t("fkp-chat-btn-minutes"), f"fk:pdf:{forum.id}")])
    if fkp.rt_forum(ctx.uow, ctx.user) is not None:  # an RT head with a seat of another kind too
        rows.append([Button(ctx.t("fkp-chat-btn-rt-menu"), "fk:r:0")])
    if notice:
        lines.insert(0, notice + "\n")
    ctx.stay(State.IDLE)
    ctx.show("\n".join(lines), keyboard(rows))


def _tally_text(ctx: Context, tally: fkp.Tally) -> str:
    lines = [ctx.t("fkp-chat-counts-title")]
    for group in (*fkp.GROUPS, 0):
        before, after = tally.total.before[group], tally.total.after[group]
        if before or after or group:
            lines.append(ctx.t("fkp-chat-count-line", group=group_label(ctx, group), before=before, after=after))
    for area, counts in tally.per_sls:
        moved = " · ".join(f"{g}: {counts.before[g]}→{counts.after[g]}" for g in fkp.GROUPS
                           if counts.before[g] != counts.after[g])
        lines.append(ctx.t("fkp-chat-count-sls", rt=area.name, changes=moved or ctx.t("fkp-chat-no-change")))
    lines.append(ctx.t("fkp-chat-count-added", count=tally.added))
    return "\n".join(lines)


def show_attendance(ctx: Context, forum: FkpForum) -> None:
    present = ctx.uow.fkp.present(forum.id)
    seats = ctx.uow.fkp.participants(forum.id)
    lines, buttons = [ctx.t("fkp-chat-attendance-title")], []
    sls = {a.id: a.name for a in ctx.uow.fkp.sls_of(forum.id)}
    for seat in seats:
        person = ctx.uow.users.get(seat.user_id) if seat.user_id is not None else None
        role = ctx.t(fkp.ROLE_KEYS[seat.role]) + (f" {sls.get(seat.sls_id, '')}" if seat.sls_id else "")
        mark = "✅" if seat.id in present else "▫️"
        lines.append(f"{mark} {role}: {person.first_name if person else '-'}")
        buttons.append(Button(f"{mark} {role}"[:40], f"fk:tp:{forum.id}:{seat.id}"))
    ctx.stay(State.IDLE)
    ctx.show("\n".join(lines), keyboard([choices(buttons), [Button(ctx.t("btn-back"), f"fk:h:{forum.id}")]]))


def show_item(ctx: Context, forum: FkpForum, seat, index: int, notice: str | None = None,  # type: ignore[no-untyped-def]
              items: list[fkp.Item] | None = None) -> None:
    if not fkp.sees_groups(forum, seat.role, ctx.now):
        ctx.answer(ctx.t("fkp-chat-figure-wait"), alert=True)
        return
    items = fkp.agenda(ctx.uow, forum) if items is None else items
    back = [Button(ctx.t("btn-back"), f"fk:h:{forum.id}")]
    if not items:
        ctx.stay(State.IDLE)
        ctx.show(ctx.t("fkp-chat-agenda-empty"), keyboard([back]))
        return
    index = max(0, min(index, len(items) - 1))
    item = items[index]
    lines = [ctx.t("fkp-chat-item-title", index=index + 1, items=len(items), rt=item.sls.name, name=item.name)]
    if item.added is not None:
        lines.append(ctx.t("fkp-chat-item-added", status=ctx.t(fkp.STATUS_KEYS[item.added.status])))
    else:
        lines.append(ctx.t("fkp-chat-item-group", group=group_label(ctx, item.model_group)))
        if item.proposal is not None and item.proposal.kind == "move":
            lines.append(ctx.t("fkp-chat-family-moved", group=group_label(ctx, item.proposal.proposed_group),
                               reason=reason_label(ctx, item.proposal.reason, item.proposal.note)))
        for objection in item.objections:
            lines.append(ctx.t("fkp-chat-objection-line", group=group_label(ctx, objection.claimed_group),
                               reason=reason_label(ctx, objection.reason, objection.note)))
    if item.decision is not None:
        key = "fkp-chat-decided-accepted" if item.decision.outcome == fkp.ACCEPTED else "fkp-chat-decided-rejected"
        lines.append(ctx.t(key, reason=item.decision.reason or ""))
    if notice:
        lines.insert(0, notice + "\n")
    rows: list = []
    if seat.role in fkp.CHAIRS and forum.status == fkp.OPEN:
        rows.append([Button(ctx.t("fkp-chat-btn-accept"), f"fk:dy:{forum.id}:{item.key}"),
                     Button(ctx.t("fkp-chat-btn-reject"), f"fk:dn:{forum.id}:{item.key}")])
    rows.append(pager(Button("◀", f"fk:it:{forum.id}:{index - 1}") if index > 0 else None,
                      Button("▶", f"fk:it:{forum.id}:{index + 1}") if index + 1 < len(items) else None))
    rows.append(back)
    audit.record(ctx.uow, ctx.user, audit.FKP_VIEW, ctx.now, family_id=item.family_id, area_id=item.sls.id, always=True,
                 role=seat.role)
    ctx.stay(State.IDLE)
    ctx.show("\n".join(lines), keyboard(rows))


ITEM_KEY = re.compile(r"[fa][0-9]{1,9}")  # an item's key in callback data: f<family id> or a<added family id>


def _decide(ctx: Context, forum: FkpForum, seat, key: str, accepted: bool, reason: str | None = None) -> None:  # type: ignore[no-untyped-def]
    try:
        fkp.decide(ctx.uow, ctx.user, forum, key, accepted, ctx.now, reason)
    except fkp.FkpRefused as refusal:
        _refused(ctx, refusal)
        return
    done = ctx.t("fkp-chat-decision-saved")
    ctx.answer(done)
    items = fkp.agenda(ctx.uow, forum)
    index = next((n for n, i in enumerate(items) if i.key == key), 0)
    following = next((n for n in range(len(items)) if items[n].decision is None), index)
    show_item(ctx, forum, seat, following, notice=done, items=items)


def send_minutes(ctx: Context, forum: FkpForum) -> None:
    """The berita acara and FKP list as a PDF document (reports/fkp_minutes.py), to a chair of a closed forum."""
    village = fkp.village_of(ctx.uow, forum)
    content = minutes_pdf(ctx.uow, forum)
    audit.record(ctx.uow, ctx.user, audit.FKP_VIEW, ctx.now, area_id=village.id, always=True,
                 role=fkp.ADMINISTRATOR if fkp.seat_in(ctx.uow, ctx.user, forum, (fkp.ADMINISTRATOR,)) else fkp.FACILITATOR)
    ctx.reply.add(SendDocument(ctx.event.chat_id, f"berita-acara-fkp-{village.code}-{forum.number}.pdf", content,
                               ctx.t("fkp-chat-minutes-caption", number=forum.number, village=village.name)))


def _forum_press(ctx: Context, action: str, value: str) -> None:
    forum, seat = _forum_and_seat(ctx, value)
    if forum is None:
        return
    argument = parse_id(value.partition(":")[2])
    try:
        if action == "h":
            show_forum(ctx, forum.id)
        elif action == "op":
            fkp.open_forum(ctx.uow, ctx.user, forum, ctx.now)
            ctx.answer(ctx.t("fkp-chat-opened"))
            show_forum(ctx, forum.id, notice=ctx.t("fkp-chat-opened"))
        elif action == "at":
            if seat.role not in fkp.CHAIRS:
                raise fkp.FkpRefused("fkp-chat-not-chair")
            show_attendance(ctx, forum)
        elif action == "tp" and argument is not None:
            fkp.set_present(ctx.uow, ctx.user, forum, argument, argument not in ctx.uow.fkp.present(forum.id), ctx.now)
            ctx.answer()
            show_attendance(ctx, forum)
        elif action == "it":
            show_item(ctx, forum, seat, argument or 0)
        elif action in ("dy", "dn"):
            key = value.partition(":")[2]
            if not ITEM_KEY.fullmatch(key):
                raise fkp.FkpRefused("fkp-chat-stale")
            if action == "dy":
                _decide(ctx, forum, seat, key, True)
            elif seat.role not in fkp.CHAIRS or forum.status != fkp.OPEN:
                raise fkp.FkpRefused("fkp-chat-not-chair" if seat.role not in fkp.CHAIRS else "fkp-chat-not-open")
            else:
                ctx.go(State.FKP_REJECT_REASON, forum_id=forum.id, key=key)
        elif action == "cl":
            closing = fkp.close_forum(ctx.uow, ctx.user, forum.id, ctx.now)
            ctx.answer(ctx.t("fkp-chat-closed-now"))
            ctx.stay(State.IDLE)
            ctx.show(ctx.t("fkp-chat-closed-now") + "\n\n" + _tally_text(ctx, closing.tally),
                     keyboards.fkp_sign(ctx.t, forum.id))
            send_minutes(ctx, closing.forum)
        elif action == "pdf":
            if seat.role not in fkp.CHAIRS or forum.status not in (fkp.CLOSED, fkp.ESCALATED):
                raise fkp.FkpRefused("fkp-chat-not-closed")
            ctx.answer()
            send_minutes(ctx, forum)
        elif action == "sg":
            answer = value.partition(":")[2]
            if answer not in ("y", "n"):
                raise fkp.FkpRefused("fkp-chat-stale")
            _, recorded = fkp.sign(ctx.uow, ctx.user, forum.id, answer == "y", ctx.now)
            key = ("fkp-chat-signed" if answer == "y" else "fkp-chat-refused") if recorded else "fkp-chat-signed-before"
            ctx.answer(ctx.t(key))
            show_forum(ctx, forum.id, notice=ctx.t(key))
        else:
            ctx.answer(ctx.t("stale-button"), alert=True)
    except fkp.FkpRefused as refusal:
        _refused(ctx, refusal)


def enter_reject_reason(ctx: Context) -> None:
    ctx.show(ctx.t("fkp-chat-ask-reject-reason"),
             keyboard([[Button(ctx.t("btn-back"), f"fk:h:{ctx.data.get('forum_id')}")]]))


def on_reject_reason(ctx: Context) -> None:
    reason = (ctx.event.text or "").strip()
    if not reason or len(reason) > fkp.MAX_NOTE:
        ctx.send(ctx.t("fkp-chat-reason-needed") if not reason else ctx.t("fkp-chat-note-too-long", max=fkp.MAX_NOTE))
        return
    data = dict(ctx.data)
    ctx.stay(State.IDLE)
    forum = ctx.uow.fkp.get(int(data.get("forum_id", 0)))
    seat = fkp.seat_in(ctx.uow, ctx.user, forum) if forum is not None else None
    if seat is None:
        ctx.send(ctx.t("stale-button"))
        return
    _decide(ctx, forum, seat, str(data.get("key", "")), False, reason)


# --- the one button prefix ------------------------------------------------------------------------------------

RT_ACTIONS = frozenset({"r", "x", "s", "a", "as", "f", "c", "m", "g", "y"})
RESIDENT_ACTIONS = frozenset({"o", "og", "oy"})
FORUM_ACTIONS = frozenset({"h", "op", "at", "tp", "it", "dy", "dn", "cl", "pdf", "sg"})


def on_fk_button(ctx: Context) -> None:
    _, argument = parse(ctx.event.callback_data)
    action, _, value = argument.partition(":")
    if action == "home":
        show_home(ctx)
    elif action in RT_ACTIONS:
        if ctx.user.role != "rt_head" or ctx.user.sls_id is None:
            ctx.answer(ctx.t("not-allowed"), alert=True)
            return
        _rt_press(ctx, action, value)
    elif action in RESIDENT_ACTIONS:
        _resident_press(ctx, action, value)
    elif action in FORUM_ACTIONS:
        _forum_press(ctx, action, value)
    else:
        ctx.answer(ctx.t("stale-button"), alert=True)


FLOW = Flow(
    name="fkp",
    doc="the public consultation (FKP): the RT head's review, a resident's objection, the forum's session, signatures",
    commands={"fkp": on_fkp},
    buttons={"fk": on_fk_button},
    states=(
        StateSpec(State.FKP_SEARCH, Accepts.TEXT, enter=enter_search, on_text=on_search_typed, doc="a part of a name"),
        StateSpec(State.FKP_NOTE, Accepts.TEXT, enter=enter_note, on_text=on_note_typed, doc="the note of an \"other\" reason"),
        StateSpec(State.FKP_ADD_NAME, Accepts.TEXT, enter=enter_add_name, on_text=on_added_name, doc="an added family's head"),
        StateSpec(State.FKP_ADD_KK, Accepts.TEXT, enter=enter_add_kk, on_text=on_added_kk, doc="an added family's KK"),
        StateSpec(State.FKP_REJECT_REASON, Accepts.TEXT, enter=enter_reject_reason, on_text=on_reject_reason,
                  doc="why the forum rejects"),
    ),
)
