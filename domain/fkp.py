"""The public consultation (Forum Konsultasi Publik, FKP): planning the forums, what the RT heads propose,
what residents object, what the forum decides, the signatures. docs/fkp.md tells the story.

- One forum per kelurahan, or one per up to :data:`MAX_SLS` of its SLS, split evenly (:func:`split_sls`).
- Seats (``fkp_participants``): a facilitator, two assistants, an administrator, up to five community
  figures, and the RT head of each SLS. An invite names a seat (InviteKind.FKP_SEAT), so the role is the
  forum's and the user's own role (users.role) is left as it is.
- The embargo (:func:`sees_groups`): nobody sees a welfare group before the forum's preparation window
  opens; community figures only while the session is open. The score is never read here at all: only the
  group (D's welfare_ranks, through ``uow.rankings``).
- Everything said is saved as given and may be changed until the forum closes (:func:`editable`).
- On closing, accepted decisions become overrides of the model's group (``uow.rankings.override``), each
  decision is forwarded to the registry once, and every seated participant is asked to sign; a refusal
  escalates the forum to the kecamatan's coordinator.

Every view of a list and every change goes to the audit log (domain/audit.py), also for the community
figures, whose own role may be "resident".
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from domain import audit
from domain.errors import NotAllowed, PintuError
from domain.fkp_registry import FkpDecisionDoc, enqueue_fkp_decision
from domain.invites import InviteKind, make_invite
from domain.kk import check_kk
from domain.model import Area, Family, FkpAddedFamily, FkpDecision, FkpForum, FkpObjection, FkpParticipant, FkpProposal, User
from domain.ports import UnitOfWork

MAX_SLS = 12  # BPS: one forum per up to 12 SLS
GROUPS = (1, 2, 3, 4)  # Sangat Miskin, Miskin, Rentan Miskin, Tidak Miskin
REASONS = ("died", "lost_work", "illness", "new_income", "moved", "not_found", "duplicate", "other")
ADDED_STATUSES = ("present", "moved", "died", "not_found")
MAX_FIGURES = 5
PREP_DAYS = 7
MAX_NOTE = 500

FACILITATOR, ASSISTANT, ADMINISTRATOR, FIGURE, RT_HEAD = "facilitator", "assistant", "administrator", "figure", "rt_head"
SEAT_ROLES = (FACILITATOR, ASSISTANT, ADMINISTRATOR, FIGURE, RT_HEAD)
CHAIRS = (FACILITATOR, ADMINISTRATOR)  # who runs the session in the chat

PLANNED, OPEN, CLOSED, ESCALATED = "planned", "open", "closed", "escalated"
ACCEPTED, REJECTED = "accepted", "rejected"
AGREED, REFUSED = "agreed", "refused"

# Outbox kinds (rendered by handlers/notifications.py; the kind is the catalog key).
NOTIFY_PLANNED = "fkp-chat-notify-planned"
NOTIFY_REMINDER = "fkp-chat-notify-reminder"
NOTIFY_SIGN = "fkp-chat-notify-sign"
NOTIFY_ESCALATED = "fkp-chat-notify-escalated"
NOTIFY_MINUTES = "fkp-chat-notify-minutes"
NOTIFY_RESIDENT = "fkp-chat-notify-resident"  # to the SLS's residents when the list opens: they may object
NOTIFY_KINDS = (NOTIFY_PLANNED, NOTIFY_REMINDER, NOTIFY_SIGN, NOTIFY_ESCALATED, NOTIFY_MINUTES, NOTIFY_RESIDENT)
REMINDER_AT = dt.time(19, 0)

# Catalog keys of the names shown (chat/locales/*/fkp.po), spelled out so that a test finds each one used.
GROUP_KEYS = {0: "fkp-chat-group-0", 1: "fkp-chat-group-1", 2: "fkp-chat-group-2", 3: "fkp-chat-group-3",
              4: "fkp-chat-group-4"}  # 0: not ranked
REASON_KEYS = {"died": "fkp-chat-reason-died", "lost_work": "fkp-chat-reason-lost_work",
               "illness": "fkp-chat-reason-illness", "new_income": "fkp-chat-reason-new_income",
               "moved": "fkp-chat-reason-moved", "not_found": "fkp-chat-reason-not_found",
               "duplicate": "fkp-chat-reason-duplicate", "other": "fkp-chat-reason-other"}
STATUS_KEYS = {"present": "fkp-chat-status-present", "moved": "fkp-chat-status-moved", "died": "fkp-chat-status-died",
               "not_found": "fkp-chat-status-not_found"}
ROLE_KEYS = {"facilitator": "fkp-chat-role-facilitator", "assistant": "fkp-chat-role-assistant",
             "administrator": "fkp-chat-role-administrator", "figure": "fkp-chat-role-figure",
             "rt_head": "fkp-chat-role-rt_head"}
FORUM_KEYS = {"planned": "fkp-chat-forum-planned", "open": "fkp-chat-forum-open", "closed": "fkp-chat-forum-closed",
              "escalated": "fkp-chat-forum-escalated"}  # the evening before, local time (like the visit reminders)


class FkpRefused(PintuError):
    """A step the consultation does not allow now; ``problem`` is a catalog key (fkp-chat-…)."""

    def __init__(self, problem: str, **values: Any) -> None:
        super().__init__(problem)
        self.problem, self.values = problem, values


T = TypeVar("T")


def split_sls(sls: Sequence[T], most: int = MAX_SLS) -> list[list[T]]:
    """The fewest forums of at most ``most`` SLS each, as even as can be (sizes differ by one at most),
    keeping the order (neighbouring SLS codes sit together)."""
    if not sls:
        return []
    forums = -(-len(sls) // most)
    size, extra = divmod(len(sls), forums)
    groups, start = [], 0
    for index in range(forums):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(sls[start:end]))
        start = end
    return groups


# --- planning ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeatInvite:
    seat: FkpParticipant
    token: str


@dataclass(frozen=True)
class PlannedForum:
    forum: FkpForum
    sls: list[Area]
    invites: list[SeatInvite]
    rt_heads_told: int


def plan_forums(uow: UnitOfWork, village: Area, at: dt.datetime, place: str, now: dt.datetime, secret: str, *,
                prep_days: int = PREP_DAYS, figures: int = MAX_FIGURES) -> list[PlannedForum]:
    """Create the forums of a kelurahan at ``at`` (UTC), their seats and the seats' invites, and tell the RT
    heads (now, and the evening before). The caller commits."""
    if village.level != "village":
        raise NotAllowed(f"{village.code} is not a kelurahan/desa")
    if at <= now:
        raise ValueError("the forum's time has passed")
    if not 0 <= prep_days <= 60 or not 0 <= figures <= MAX_FIGURES:
        raise ValueError(f"the preparation window is 0-60 days and there are 0-{MAX_FIGURES} community figures")
    if uow.fkp.forums_of_village(village.id):
        raise NotAllowed(f"the forums of {village.name} are planned already (pintu fkp list --area {village.code})")
    sls = [a for a in uow.areas.children(village.id) if a.level == "sls"]
    if not sls:
        raise NotAllowed(f"{village.name} has no SLS")
    prep = at - dt.timedelta(days=prep_days)
    planned = []
    for number, members in enumerate(split_sls(sls), start=1):
        forum = uow.fkp.add_forum(FkpForum(village_id=village.id, number=number, at=at, place=place[:200],
                                           prep_opens_at=prep, created_at=now), [a.id for a in members])
        roles = [FACILITATOR, ASSISTANT, ASSISTANT, ADMINISTRATOR] + [FIGURE] * figures
        invites = []
        for role in roles:
            seat = uow.fkp.add_participant(FkpParticipant(forum_id=forum.id, role=role))
            # Valid until the day after the session: late signers still get in.
            invites.append(SeatInvite(seat, make_invite(secret, InviteKind.FKP_SEAT, seat.id, at + dt.timedelta(days=1))))
        told = 0
        for area in members:
            heads = uow.users.rt_heads_of(area.id)
            for head in heads or [None]:
                uow.fkp.add_participant(FkpParticipant(forum_id=forum.id, role=RT_HEAD, sls_id=area.id,
                                                       user_id=head.id if head else None, joined_at=now if head else None))
                if head is not None:
                    told += _tell_rt_head(uow, head, forum, area, now)
            for resident in uow.fkp.residents_of_sls(area.id):  # sent when the embargo ends (the outbox paces it)
                uow.outbox.add(resident.telegram_id, NOTIFY_RESIDENT, {"forum_id": forum.id, "at": forum.at.isoformat()},
                               due_at=max(prep, now), now=now)
        planned.append(PlannedForum(forum, members, invites, told))
    return planned


def _tell_rt_head(uow: UnitOfWork, head: User, forum: FkpForum, area: Area, now: dt.datetime) -> int:
    payload = {"forum_id": forum.id, "at": forum.at.isoformat()}
    uow.outbox.add(head.telegram_id, NOTIFY_PLANNED, payload, due_at=now, now=now)
    tz = ZoneInfo(area.timezone)
    evening = dt.datetime.combine(forum.at.astimezone(tz).date() - dt.timedelta(days=1), REMINDER_AT, tz)
    if evening.astimezone(dt.timezone.utc) <= now:
        return 1
    uow.outbox.add(head.telegram_id, NOTIFY_REMINDER, payload, due_at=evening.astimezone(dt.timezone.utc), now=now)
    return 1


def village_of(uow: UnitOfWork, forum: FkpForum) -> Area:
    return uow.areas.get(forum.village_id)


def zone_of(uow: UnitOfWork, forum: FkpForum) -> ZoneInfo:
    return ZoneInfo(village_of(uow, forum).timezone)


# --- who sees what, when -------------------------------------------------------------------------------

def embargo_lifted(forum: FkpForum, now: dt.datetime) -> bool:
    return now >= forum.prep_opens_at


def editable(forum: FkpForum) -> bool:
    """Proposals, added families, objections and decisions may change until the forum closes."""
    return forum.status in (PLANNED, OPEN)


def sees_groups(forum: FkpForum, role: str, now: dt.datetime) -> bool:
    """May someone of this ``role`` (a seat's role, or "resident") see welfare groups of this forum now?"""
    if not embargo_lifted(forum, now):
        return False
    if role == FIGURE:
        return forum.status == OPEN  # community figures: during their session only
    return True


def seats_of(uow: UnitOfWork, user: User, forum_id: int | None = None) -> list[FkpParticipant]:
    seats = [s for s in uow.fkp.seats_of_user(user.id) if forum_id is None or s.forum_id == forum_id]
    return seats


def seat_in(uow: UnitOfWork, user: User, forum: FkpForum, roles: Sequence[str] = SEAT_ROLES) -> FkpParticipant | None:
    return next((s for s in seats_of(uow, user, forum.id) if s.role in roles), None)


def rt_forum(uow: UnitOfWork, user: User) -> FkpForum | None:
    """The forum of an RT head's SLS (None: not an RT head, or no forum planned there)."""
    if user.role != "rt_head" or user.sls_id is None:
        return None
    return uow.fkp.forum_of_sls(user.sls_id)


def seat_rt_head(uow: UnitOfWork, user: User, forum: FkpForum, now: dt.datetime) -> FkpParticipant | None:
    """An RT head who joined after the forum was planned takes their SLS's empty seat (so they sign too)."""
    seats = [s for s in uow.fkp.participants(forum.id) if s.role == RT_HEAD and s.sls_id == user.sls_id]
    if any(s.user_id == user.id for s in seats) or not editable(forum):
        return None
    empty = next((s for s in seats if s.user_id is None), None)
    seat = empty or uow.fkp.add_participant(FkpParticipant(forum_id=forum.id, role=RT_HEAD, sls_id=user.sls_id))
    seat.user_id, seat.joined_at = user.id, now
    uow.flush()
    return seat


def redeem_seat(uow: UnitOfWork, user: User, seat_id: int, now: dt.datetime) -> FkpParticipant:
    """Put the user in the seat an invite names (domain/onboarding.py redeem_invite calls this)."""
    seat = uow.fkp.participant(seat_id)
    forum = uow.fkp.get(seat.forum_id) if seat is not None else None
    if seat is None or forum is None or seat.role == RT_HEAD or not editable(forum):
        raise NotAllowed("fkp seat")
    seat.user_id, seat.joined_at = user.id, now
    uow.flush()
    return seat


# --- the welfare groups (D's welfare_ranks) ------------------------------------------------------------

def model_groups(uow: UnitOfWork, family_ids: Sequence[int]) -> dict[int, int]:
    """The model's group of each family (before any override); families not ranked are absent."""
    return {family_id: rank.model_group for family_id, rank in uow.rankings.ranks_for_families(list(family_ids)).items()}


def _check_reason(reason: str, note: str | None) -> str | None:
    if reason not in REASONS:
        raise FkpRefused("fkp-chat-bad-reason")
    note = (note or "").strip()[:MAX_NOTE] or None
    if reason == "other" and note is None:
        raise FkpRefused("fkp-chat-note-needed")
    return note


# --- the RT head's proposals and added families ---------------------------------------------------------

def _rt_head_forum(uow: UnitOfWork, user: User, sls_id: int, now: dt.datetime) -> FkpForum:
    forum = uow.fkp.forum_of_sls(sls_id)
    if forum is None or user.role != "rt_head" or user.sls_id != sls_id:
        raise FkpRefused("fkp-chat-no-forum")
    if not embargo_lifted(forum, now):
        raise FkpRefused("fkp-chat-embargo")
    if not editable(forum):
        raise FkpRefused("fkp-chat-closed")
    return forum


def propose(uow: UnitOfWork, user: User, family: Family, kind: str, now: dt.datetime, *, group: int | None = None,
            reason: str | None = None, note: str | None = None) -> FkpProposal:
    """An RT head confirms a family's group or proposes another with a reason; a second word replaces
    the first (saved as given)."""
    forum = _rt_head_forum(uow, user, family.sls_id, now)
    if kind == "move":
        if group not in GROUPS:
            raise FkpRefused("fkp-chat-bad-group")
        current = model_groups(uow, [family.id]).get(family.id)
        if current is None:
            raise FkpRefused("fkp-chat-not-ranked")  # nothing to move from (the registry's document names it)
        if current == group:
            raise FkpRefused("fkp-chat-same-group")
        note = _check_reason(reason or "", note)
    elif kind == "confirm":
        group, reason, note = None, None, None
    else:
        raise FkpRefused("fkp-chat-bad-reason")
    proposal = uow.fkp.proposal(forum.id, family.id)
    if proposal is None:
        proposal = uow.fkp.add_proposal(FkpProposal(forum_id=forum.id, family_id=family.id, kind=kind, at=now))
    proposal.kind, proposal.proposed_group, proposal.reason, proposal.note = kind, group, reason, note
    proposal.by_user_id, proposal.at = user.id, now
    uow.flush()
    audit.record(uow, user, audit.FKP_PROPOSE, now, family_id=family.id, area_id=family.sls_id)
    return proposal


def add_family(uow: UnitOfWork, user: User, name: str, kk: str, status: str, now: dt.datetime) -> FkpAddedFamily:
    """An RT head adds a family missing from the list, with its status (still there, moved, died, not found)."""
    forum = _rt_head_forum(uow, user, user.sls_id, now)
    checked = check_kk(kk)
    if not checked.ok:
        raise FkpRefused(checked.problem)
    if status not in ADDED_STATUSES:
        raise FkpRefused("fkp-chat-bad-status")
    added = uow.fkp.add_added(FkpAddedFamily(forum_id=forum.id, sls_id=user.sls_id, head_name=name[:120],
                                             kk_number=checked.number, status=status, by_user_id=user.id, at=now))
    audit.record(uow, user, audit.FKP_PROPOSE, now, area_id=user.sls_id)
    return added


# --- the resident's objection (sanggah) -------------------------------------------------------------------

def resident_forum(uow: UnitOfWork, user: User) -> tuple[FkpForum, Family] | None:
    family = uow.families.get(user.family_id) if user.family_id is not None else None
    forum = uow.fkp.forum_of_sls(family.sls_id) if family is not None else None
    return (forum, family) if forum is not None else None


def object_to_group(uow: UnitOfWork, user: User, claimed_group: int, reason: str, note: str | None,
                    now: dt.datetime) -> FkpObjection:
    """A resident objects to their own family's group; a second objection replaces the first."""
    found = resident_forum(uow, user)
    if found is None:
        raise FkpRefused("fkp-chat-no-forum")
    forum, family = found
    if not embargo_lifted(forum, now):
        raise FkpRefused("fkp-chat-embargo")
    if not editable(forum):
        raise FkpRefused("fkp-chat-closed")
    if claimed_group not in GROUPS:
        raise FkpRefused("fkp-chat-bad-group")
    current = model_groups(uow, [family.id]).get(family.id)
    if current is None:
        raise FkpRefused("fkp-chat-not-ranked")
    if current == claimed_group:
        raise FkpRefused("fkp-chat-same-group")
    note = _check_reason(reason, note)
    objection = uow.fkp.objection_of(forum.id, family.id, user.id)
    if objection is None:
        objection = uow.fkp.add_objection(FkpObjection(forum_id=forum.id, family_id=family.id, user_id=user.id,
                                                       claimed_group=claimed_group, reason=reason, at=now))
    objection.claimed_group, objection.reason, objection.note, objection.at = claimed_group, reason, note, now
    uow.flush()
    return objection


# --- the session ------------------------------------------------------------------------------------------

def _chair(uow: UnitOfWork, user: User, forum: FkpForum) -> FkpParticipant:
    seat = seat_in(uow, user, forum, CHAIRS)
    if seat is None:
        raise FkpRefused("fkp-chat-not-chair")
    return seat


def open_forum(uow: UnitOfWork, user: User, forum: FkpForum, now: dt.datetime) -> FkpForum:
    _chair(uow, user, forum)
    if forum.status != PLANNED:
        raise FkpRefused("fkp-chat-not-planned")
    if not embargo_lifted(forum, now):
        raise FkpRefused("fkp-chat-embargo")
    forum.status, forum.opened_at = OPEN, now
    uow.flush()
    return forum


def set_present(uow: UnitOfWork, user: User, forum: FkpForum, seat_id: int, present: bool, now: dt.datetime) -> None:
    _chair(uow, user, forum)
    if forum.status != OPEN:
        raise FkpRefused("fkp-chat-not-open")
    seat = uow.fkp.participant(seat_id)
    if seat is None or seat.forum_id != forum.id:
        raise FkpRefused("fkp-chat-stale")
    uow.fkp.set_present(forum.id, seat.id, present, now)


@dataclass(frozen=True)
class Item:
    """One thing the forum decides: a family with a proposed move or an objection, or an added family."""

    key: str  # "f<family id>" or "a<added id>"
    sls: Area
    name: str
    model_group: int | None
    proposal: FkpProposal | None = None
    objections: tuple[FkpObjection, ...] = ()
    added: FkpAddedFamily | None = None
    decision: FkpDecision | None = None

    @property
    def family_id(self) -> int | None:
        return int(self.key[1:]) if self.key[0] == "f" else None

    @property
    def asked_group(self) -> int | None:
        """The group the proposal (or else the latest objection) asks for."""
        if self.proposal is not None and self.proposal.kind == "move":
            return self.proposal.proposed_group
        return self.objections[-1].claimed_group if self.objections else None


def agenda(uow: UnitOfWork, forum: FkpForum) -> list[Item]:
    """What the forum goes through, SLS by SLS: moves and objections by family name, then added families."""
    sls = {a.id: a for a in uow.fkp.sls_of(forum.id)}
    moves = {p.family_id: p for p in uow.fkp.proposals(forum.id) if p.kind == "move"}
    objected: dict[int, list[FkpObjection]] = {}
    for objection in uow.fkp.objections(forum.id):
        objected.setdefault(objection.family_id, []).append(objection)
    decisions = uow.fkp.decisions(forum.id)
    by_family = {d.family_id: d for d in decisions if d.family_id is not None}
    by_added = {d.added_id: d for d in decisions if d.added_id is not None}
    family_ids = sorted(set(moves) | set(objected))
    groups = model_groups(uow, family_ids)
    families = uow.fkp.families_by_id(family_ids)  # one query: a forum goes through dozens
    items = []
    for family_id in family_ids:
        family = families.get(family_id)
        if family is None or family.sls_id not in sls:
            continue
        items.append(Item(f"f{family_id}", sls[family.sls_id], family.head_name, groups.get(family_id),
                          moves.get(family_id), tuple(objected.get(family_id, ())), decision=by_family.get(family_id)))
    for added in uow.fkp.added(forum.id):
        if added.sls_id in sls:
            items.append(Item(f"a{added.id}", sls[added.sls_id], added.head_name, None, added=added,
                              decision=by_added.get(added.id)))
    order = {area_id: n for n, area_id in enumerate(sls)}
    items.sort(key=lambda i: (order[i.sls.id], i.added is not None, i.name.lower(), i.key))
    return items


def decide(uow: UnitOfWork, user: User, forum: FkpForum, key: str, accepted: bool, now: dt.datetime,
           reason: str | None = None) -> FkpDecision:
    """The forum's decision on one item: accepted, or rejected with a reason; deciding again replaces it."""
    seat = _chair(uow, user, forum)
    if forum.status != OPEN:
        raise FkpRefused("fkp-chat-not-open")
    item = next((i for i in agenda(uow, forum) if i.key == key), None)
    if item is None:
        raise FkpRefused("fkp-chat-stale")
    reason = (reason or "").strip()[:MAX_NOTE] or None
    if not accepted and reason is None:
        raise FkpRefused("fkp-chat-reason-needed")
    added_id = item.added.id if item.added is not None else None
    decision = uow.fkp.decision(forum.id, item.family_id, added_id)
    if decision is None:
        decision = uow.fkp.add_decision(FkpDecision(forum_id=forum.id, family_id=item.family_id, added_id=added_id,
                                                    outcome=ACCEPTED, at=now))
    decision.outcome = ACCEPTED if accepted else REJECTED
    decision.group = item.asked_group if accepted and added_id is None else None
    decision.reason = None if accepted else reason
    decision.by_user_id, decision.at = user.id, now
    uow.flush()
    audit.record(uow, user, audit.FKP_DECIDE, now, family_id=item.family_id, area_id=item.sls.id, always=True,
                 role=seat.role)
    return decision


@dataclass
class Counts:
    """Families per welfare group, before the forum and after its accepted decisions (unranked: 0)."""

    before: Counter[int] = field(default_factory=Counter)
    after: Counter[int] = field(default_factory=Counter)


@dataclass(frozen=True)
class Tally:
    total: Counts
    per_sls: list[tuple[Area, Counts]]
    added: int


def tally(uow: UnitOfWork, forum: FkpForum) -> Tally:
    """Counts per group before and after, for the forum and for each of its SLS."""
    sls = list(uow.fkp.sls_of(forum.id))
    families = uow.fkp.family_ids_in([a.id for a in sls])
    groups = model_groups(uow, [f for f, _ in families])
    decided = {d.family_id: d.group for d in uow.fkp.decisions(forum.id)
               if d.family_id is not None and d.outcome == ACCEPTED and d.group is not None}
    total, per = Counts(), {a.id: Counts() for a in sls}
    for family_id, sls_id in families:
        before = groups.get(family_id, 0)
        after = decided.get(family_id, before)
        for counts in (total, per[sls_id]):
            counts.before[before] += 1
            counts.after[after] += 1
    added = sum(1 for a in uow.fkp.added(forum.id))
    return Tally(total, [(a, per[a.id]) for a in sls], added)


@dataclass(frozen=True)
class Closing:
    forum: FkpForum
    tally: Tally
    overrides: int
    forwarded: int
    asked_to_sign: int


def close_forum(uow: UnitOfWork, user: User, forum_id: int, now: dt.datetime) -> Closing:
    """Close the session: every item decided first; accepted moves override the model's group; each
    decision goes to the registry once; every seated participant is asked to sign."""
    forum = uow.fkp.lock(forum_id)
    if forum is None:
        raise FkpRefused("fkp-chat-stale")
    _chair(uow, user, forum)
    if forum.status != OPEN:
        raise FkpRefused("fkp-chat-not-open")
    items = agenda(uow, forum)
    undecided = sum(1 for i in items if i.decision is None)
    if undecided:
        raise FkpRefused("fkp-chat-undecided", count=undecided)
    forum.status, forum.closed_at = CLOSED, now
    overrides = forwarded = 0
    for item in items:
        decision = item.decision
        if decision.outcome == ACCEPTED and decision.group is not None and item.family_id is not None:
            uow.rankings.override(item.family_id, decision.group, f"fkp:{forum.id}:{decision.id}")
            overrides += 1
        forwarded += forward_decision(uow, forum, item, now)
    asked = 0
    for seat in uow.fkp.participants(forum.id):
        person = uow.users.get(seat.user_id) if seat.user_id is not None else None
        if person is not None:
            uow.outbox.add(person.telegram_id, NOTIFY_SIGN, {"forum_id": forum.id}, due_at=now, now=now)
            asked += 1
            if seat.role in CHAIRS and person.id != user.id:  # the other chair fetches the minutes with a button
                uow.outbox.add(person.telegram_id, NOTIFY_MINUTES, {"forum_id": forum.id}, due_at=now, now=now)
    uow.flush()
    return Closing(forum, tally(uow, forum), overrides, forwarded, asked)


REGISTRY_REASONS = {"died": "breadwinner_died"}  # our reason codes where the registry's schema names them otherwise


def decision_document(uow: UnitOfWork, forum: FkpForum, item: Item) -> FkpDecisionDoc:
    """One decision as the registry receives it (``pintu.fkp-decision/1``, domain/fkp_registry.py)."""
    village = village_of(uow, forum)
    regency = village
    while regency is not None and regency.level != "regency":
        regency = uow.areas.get(regency.parent_id) if regency.parent_id is not None else None
    decision = item.decision
    common: dict[str, Any] = dict(
        decision_id=f"{forum.id}-{decision.id}", forum_id=str(forum.id), outcome=decision.outcome,
        decided_at=decision.at, kabkota_code=regency.code if regency is not None else village.code,
        kelurahan_code=village.code, sls_code=item.sls.code, rejection_reason=decision.reason,
        forum_number=forum.number, forum_count=len(uow.fkp.forums_of_village(village.id)), forum_held_at=forum.at)
    if item.added is not None:
        return FkpDecisionDoc(kind="add", reason_code="added", added_status=item.added.status,
                              head_name=item.added.head_name, **common)
    word = item.proposal if item.proposal is not None and item.proposal.kind == "move" else None
    reason = word.reason if word is not None else item.objections[-1].reason
    note = word.note if word is not None else item.objections[-1].note
    rank = uow.rankings.ranks_for_families([item.family_id]).get(item.family_id)
    record = uow.questionnaires.completed_of(item.family_id)
    return FkpDecisionDoc(kind="move", family_id=item.family_id, record_id=getattr(record, "id", None),
                          from_group=item.model_group, to_group=item.asked_group,
                          reason_code=REGISTRY_REASONS.get(reason, reason), reason_note=note,
                          model_version=rank.model_version if rank is not None else None, **common)


def forward_decision(uow: UnitOfWork, forum: FkpForum, item: Item, now: dt.datetime) -> bool:
    """Through the registry queue, exactly once by the decision's id (False: queued before)."""
    return enqueue_fkp_decision(uow, decision_document(uow, forum, item), now)


# --- signatures ---------------------------------------------------------------------------------------------

def sign(uow: UnitOfWork, user: User, forum_id: int, agreed: bool, now: dt.datetime) -> tuple[FkpForum, bool]:
    """A participant's "setuju" (or refusal), once; a refusal escalates the forum to the kecamatan's
    coordinator. Returns the forum and whether this answer was recorded (False: answered before)."""
    forum = uow.fkp.lock(forum_id)
    seat = seat_in(uow, user, forum) if forum is not None else None
    if forum is None or seat is None:
        raise FkpRefused("fkp-chat-stale")
    if forum.status not in (CLOSED, ESCALATED):
        raise FkpRefused("fkp-chat-not-closed")
    if not uow.fkp.sign(forum.id, seat.id, AGREED if agreed else REFUSED, now):
        return forum, False
    if not agreed:
        escalate(uow, forum, seat, now)
    return forum, True


def escalate(uow: UnitOfWork, forum: FkpForum, seat: FkpParticipant, now: dt.datetime) -> int:
    """The forum goes to the level above: the kecamatan's coordinator (else its supervisors) is told."""
    already = forum.status == ESCALATED
    forum.status = ESCALATED
    village = village_of(uow, forum)
    officers = list(uow.fkp.officers_of(village.parent_id, ("coordinator",))) if village.parent_id else []
    if not officers and village.parent_id:
        officers = list(uow.fkp.officers_of(village.parent_id, ("supervisor",)))
    for officer in officers:
        uow.outbox.add(officer.telegram_id, NOTIFY_ESCALATED, {"forum_id": forum.id, "seat_id": seat.id,
                                                               "again": already}, due_at=now, now=now)
    uow.flush()
    return len(officers)


# --- progress per kecamatan (/progres) ------------------------------------------------------------------------

@dataclass
class DistrictProgress:
    district: Area
    forums: Counter[str] = field(default_factory=Counter)  # by status
    proposals: int = 0
    decisions: int = 0


def progress(uow: UnitOfWork, area: Area) -> list[DistrictProgress]:
    """The consultation's progress per kecamatan at or below ``area`` (empty when no forum is planned)."""
    found: dict[int, DistrictProgress] = {}
    for _forum_id, status, district_id, proposals, decisions in uow.fkp.progress_under(area.code):
        row = found.get(district_id)
        if row is None:
            row = found[district_id] = DistrictProgress(uow.areas.get(district_id))
        row.forums[status] += 1
        row.proposals += proposals
        row.decisions += decisions
    return sorted(found.values(), key=lambda r: r.district.code)
