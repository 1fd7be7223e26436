"""What a closed forum's minutes say, gathered from the database into D's plain ForumMinutes
(reports/fkp_minutes.py renders it as the PDF berita acara and FKP list, Indonesian)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from chat.i18n import Translator
from chat.render import zone_name
from domain import fkp
from domain.model import Area, FkpForum
from domain.ports import UnitOfWork
from reports.fkp_minutes import (
    AddedFamily, AreaName, Attendee, Decision, FinalFamily, ForumArea, ForumMinutes, SlsCounts, SlsFamilies,
    render_minutes_pdf,
)

MINUTES_ROLES = {fkp.RT_HEAD: "sls_head"}  # the renderer's name of a role, where it differs
EVERY_FAMILY = 100_000  # an SLS has a few hundred families at most


def _up(uow: UnitOfWork, area: Area, level: str) -> AreaName:
    while area is not None and area.level != level:
        area = uow.areas.get(area.parent_id) if area.parent_id is not None else None
    return AreaName(area.code, area.name) if area is not None else AreaName("-", "-")


def minutes_of(uow: UnitOfWork, forum: FkpForum) -> ForumMinutes:
    village = uow.areas.get(forum.village_id)
    tz = ZoneInfo(village.timezone)
    t = Translator("id")
    sls = list(uow.fkp.sls_of(forum.id))
    tally = fkp.tally(uow, forum)
    added = list(uow.fkp.added(forum.id))
    counts = tuple(SlsCounts(a.code, a.name, tuple(c.before[g] for g in fkp.GROUPS), tuple(c.after[g] for g in fkp.GROUPS),
                             sum(1 for x in added if x.sls_id == a.id)) for a, c in tally.per_sls)
    present = uow.fkp.present(forum.id)
    seats = list(uow.fkp.participants(forum.id))
    people = {s.id: uow.users.get(s.user_id) for s in seats if s.user_id is not None}
    attendance = tuple(Attendee(people[s.id].first_name, MINUTES_ROLES.get(s.role, s.role), s.id in present)
                       for s in seats if s.id in people)
    decisions = []
    for item in fkp.agenda(uow, forum):
        if item.added is not None or item.decision is None:
            continue
        reason = item.proposal.reason if item.proposal is not None and item.proposal.kind == "move" else (
            item.objections[-1].reason if item.objections else None)
        note = item.proposal.note if item.proposal is not None else None
        label = t(fkp.REASON_KEYS[reason]) if reason in fkp.REASON_KEYS else "-"
        decisions.append(Decision(item.sls.name, item.name, item.model_group or 0, item.asked_group or 0,
                                  f"{label}: {note}" if note else label, item.decision.outcome == fkp.ACCEPTED,
                                  item.decision.reason))
    final = {v.family_id: v.final_group for v in uow.rankings.ranks_for_families(
        [f for f, _ in uow.fkp.family_ids_in([a.id for a in sls])]).values()}
    families = tuple(SlsFamilies(a.code, a.name, tuple(
        FinalFamily(f.head_name, final.get(f.id, 0)) for f in uow.fkp.families_page(a.id, 0, EVERY_FAMILY)[1]))
        for a in sls)
    named = {role: [people[s.id].first_name for s in seats if s.role == role and s.id in people] for role in fkp.SEAT_ROLES}
    return ForumMinutes(
        area=ForumArea(_up(uow, village, "province"), _up(uow, village, "regency"), _up(uow, village, "district"),
                       AreaName(village.code, village.name)),
        forum_number=forum.number, forum_count=len(uow.fkp.forums_of_village(village.id)),
        held_at=forum.at.astimezone(tz), zone_label=zone_name(tz), place=forum.place,
        counts=counts, attendance=attendance, decisions=tuple(decisions),
        added=tuple(AddedFamily(next((a.name for a in sls if a.id == x.sls_id), "-"), x.head_name, x.status) for x in added),
        families=families, facilitator=(named[fkp.FACILITATOR] or ["-"])[0],
        assistants=tuple(named[fkp.ASSISTANT]),
        participants=tuple(named[fkp.ADMINISTRATOR] + named[fkp.FIGURE] + named[fkp.RT_HEAD]),
    )


def minutes_pdf(uow: UnitOfWork, forum: FkpForum) -> bytes:
    return render_minutes_pdf(minutes_of(uow, forum), "id")
