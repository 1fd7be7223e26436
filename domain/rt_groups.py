"""An RT's Telegram group: linked by its RT head (/grup), then a daily progress line with counts only.

The line never carries a name, a KK number, an address or a time of anyone's visit: only how many
families the RT has and how many are in each status. It is queued once per group and local day
(``daily_digests``) from the RT head's summary hour (reminder settings) and sent by the dispatcher,
which keeps to Telegram's 20 messages a minute per group.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain.errors import NotAllowed, PintuError
from domain.model import RtGroup, User
from domain.ports import UnitOfWork
from domain.reminders import policy_for

GROUP_PROGRESS = "rt-group-progress"  # outbox kind and daily_digests kind


class GroupLinkedElsewhere(PintuError):
    """This group is already the group of another RT."""


@dataclass(frozen=True)
class Progress:
    families: int
    counts: dict[str, int]

    def of(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)


def link_group(uow: UnitOfWork, user: User | None, chat_id: int, now: dt.datetime) -> RtGroup:
    """Make ``chat_id`` the group of the sender's RT (only an RT head may); a new /grup replaces the old."""
    if chat_id >= 0:
        raise NotAllowed("not a group")
    if user is None or user.role != "rt_head" or user.sls_id is None:
        raise NotAllowed("group")
    existing = uow.coordination.group_by_chat(chat_id)
    if existing is not None:
        if existing.sls_id != user.sls_id:
            raise GroupLinkedElsewhere()
        existing.linked_by_user_id, existing.linked_at = user.id, now
        uow.flush()
        return existing
    previous = uow.coordination.group_of_sls(user.sls_id)
    if previous is not None:
        uow.coordination.remove_group(previous)
    return uow.coordination.add_group(RtGroup(chat_id=chat_id, sls_id=user.sls_id, linked_by_user_id=user.id,
                                              linked_at=now, bot_key=user.bot_key))


def progress(uow: UnitOfWork, sls_id: int) -> Progress:
    counts = uow.coordination.status_counts(sls_id)
    return Progress(sum(counts.values()), counts)


def enqueue_group_progress(uow: UnitOfWork, now: dt.datetime, zone: str | None = None) -> int:
    """Queue today's progress line of every linked group that is due and not yet queued (any number of runs)."""
    queued = 0
    for group in uow.coordination.all_groups():
        area = uow.areas.get(group.sls_id)
        if area is None or (zone is not None and area.timezone != zone):
            continue
        local = now.astimezone(ZoneInfo(area.timezone))
        if local.time().replace(tzinfo=None) < policy_for(uow, area.id).summary_at:
            continue
        if not uow.reminders.claim_digest(GROUP_PROGRESS, group.chat_id, local.date(), now):
            continue
        uow.outbox.add(group.chat_id, GROUP_PROGRESS, {"sls_id": area.id, "day": local.date().isoformat()},
                       due_at=now, now=now)
        queued += 1
    return queued
