"""An RT head's nudge to families that have not booked: a message to every member on Telegram, at most
once a day per family (``family_nudges``' unique key on family and local day), sent by the dispatcher.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from domain.errors import NotAllowed
from domain.model import Family, User
from domain.ports import UnitOfWork

NUDGE = "nudge"  # outbox kind
NUDGEABLE = ("not_contacted", "not_home")  # no visit booked yet (or the last one found nobody home)


@dataclass(frozen=True)
class NudgeReport:
    sent: int = 0  # families nudged now
    messages: int = 0  # messages queued (one per member on Telegram)
    already: int = 0  # families nudged earlier today
    unreachable: int = 0  # families without a member on Telegram
    not_needed: int = 0  # families that have booked or were visited


def nudge_family(uow: UnitOfWork, user: User, family: Family, now: dt.datetime) -> NudgeReport:
    _require_rt_head(user, family.sls_id)
    return _nudge(uow, user, family, now, _local_day(uow, family.sls_id, now))


def nudge_rt(uow: UnitOfWork, user: User, now: dt.datetime) -> NudgeReport:
    """Nudge every family of the RT head's RT that has not booked."""
    _require_rt_head(user, user.sls_id if user is not None else None)
    day = _local_day(uow, user.sls_id, now)
    total = NudgeReport()
    for family in uow.coordination.with_status(user.sls_id, NUDGEABLE):
        one = _nudge(uow, user, family, now, day)
        total = NudgeReport(*(a + b for a, b in zip(_tuple(total), _tuple(one))))
    return total


def _nudge(uow: UnitOfWork, user: User, family: Family, now: dt.datetime, day: dt.date) -> NudgeReport:
    if family.status not in NUDGEABLE or uow.appointments.active_for_family(family.id) is not None:
        return NudgeReport(not_needed=1)
    members = uow.coordination.members_on_telegram(family.id)
    if not members:
        return NudgeReport(unreachable=1)
    if not uow.coordination.add_nudge(family.id, day, user.id, now):
        return NudgeReport(already=1)
    for member in members:
        uow.outbox.add(member.telegram_id, NUDGE, {"family_id": family.id}, due_at=now, now=now)
    return NudgeReport(sent=1, messages=len(members))


def _require_rt_head(user: User | None, sls_id: int | None) -> None:
    if user is None or user.role != "rt_head" or user.sls_id is None or user.sls_id != sls_id:
        raise NotAllowed("nudge")


def _local_day(uow: UnitOfWork, sls_id: int, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(uow.areas.get(sls_id).timezone)).date()


def _tuple(report: NudgeReport) -> tuple[int, ...]:
    return (report.sent, report.messages, report.already, report.unreachable, report.not_needed)
