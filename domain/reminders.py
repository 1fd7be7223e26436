"""Reminders before a visit, and the daily messages: when they are due, and planning them.

Reminders are outbox rows like any other message, written in the same transaction as the booking,
move or cancellation that causes them:

- ``reminder-evening``: the evening before the visit (default 19.00 local time) to the family;
- ``reminder-hour``: shortly before the visit (default 60 minutes) to the family;
- ``reminder-unconfirmed``: to the RT head, due at the confirmation deadline the evening before
  (default 21.00); the dispatcher skips it if the family confirmed meanwhile.

A reminder whose time has already passed when the visit is booked is not planned (someone who books
at 20.00 for tomorrow morning needs no "see you tomorrow" message; no deadline is set for them
either). Moving a visit skips its pending reminders and plans the new visit's; cancelling skips
them. What is still due is checked again when the row is sent (handlers/notifications.py): a
reminder about a visit that was moved, cancelled or has begun is skipped, never sent.

Times are local wall-clock times in the area's zone, turned into UTC instants here; settings are
per area (``reminder_settings``), the nearest one up the area tree winning field by field.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from domain import home_times
from domain.holidays_id import closed_dates
from domain.model import Appointment, Family
from domain.ports import UnitOfWork
from domain.slots import WorkWeek
from domain.working_time import area_hours

EVENING = "reminder-evening"
HOUR = "reminder-hour"
UNCONFIRMED = "reminder-unconfirmed"
REMINDER_KINDS = (EVENING, HOUR, UNCONFIRMED)
DAILY_SCHEDULE = "daily-schedule"
RT_SUMMARY = "rt-summary"
UNDELIVERABLE = "reminder-undeliverable"  # to the RT head: a family member blocked the bot (403)


@dataclass(frozen=True)
class ReminderPolicy:
    """Local times and offsets of reminders and daily messages (one area's, after inheritance)."""

    evening: dt.time = dt.time(19, 0)
    before: dt.timedelta = dt.timedelta(minutes=60)
    confirm_by: dt.time = dt.time(21, 0)
    schedule_at: dt.time = dt.time(6, 0)  # the enumerator's day
    schedule_until: dt.time = dt.time(15, 0)  # after a downtime, a day's schedule is still worth sending until then
    summary_at: dt.time = dt.time(18, 0)  # the RT head's list of tomorrow's visits


@dataclass(frozen=True)
class PlannedReminder:
    kind: str
    due_at: dt.datetime  # UTC


def parse_clock(text: str) -> dt.time:
    """"19:00" or "19.00" → time(19, 0); ValueError for anything else."""
    hours, sep, minutes = text.strip().replace(".", ":").partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"not a time of day (HH:MM): {text!r}")
    return dt.time(int(hours), int(minutes))


def local_instant(day: dt.date, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, at, tz).astimezone(dt.timezone.utc)


def plan_reminders(start: dt.datetime, now: dt.datetime, tz: ZoneInfo, policy: ReminderPolicy) -> list[PlannedReminder]:
    """The reminders of a visit starting at ``start`` (UTC), booked at ``now``: only those still ahead."""
    day_before = start.astimezone(tz).date() - dt.timedelta(days=1)
    evening = local_instant(day_before, policy.evening, tz)
    hour = start - policy.before
    planned: list[PlannedReminder] = []
    if now < evening < hour:
        planned.append(PlannedReminder(EVENING, evening))
        deadline = local_instant(day_before, policy.confirm_by, tz)
        if evening < deadline < start:
            planned.append(PlannedReminder(UNCONFIRMED, deadline))
    if now < hour:
        planned.append(PlannedReminder(HOUR, hour))
    return sorted(planned, key=lambda p: p.due_at)


def policy_for(uow: UnitOfWork, area_id: int, base: ReminderPolicy | None = None) -> ReminderPolicy:
    """The policy of an area: each field from the nearest area up the tree that sets it."""
    return policy_from(uow.reminders.settings_up_the_tree(area_id), base)


def policy_from(settings: list[Any], base: ReminderPolicy | None = None) -> ReminderPolicy:
    """The policy given an area's settings and its parents', nearest first."""
    policy = base or ReminderPolicy()
    for field, column in (("evening", "evening_at"), ("confirm_by", "confirm_by"), ("schedule_at", "schedule_at"),
                          ("summary_at", "summary_at")):
        value = next((getattr(s, column) for s in settings if getattr(s, column)), None)
        if value:
            policy = replace(policy, **{field: parse_clock(value)})
    before = next((s.before_minutes for s in settings if s.before_minutes is not None), None)
    if before is not None:
        policy = replace(policy, before=dt.timedelta(minutes=before))
    return policy


# --- the service called by domain/booking.py (same unit of work, flushes, never commits) ----------

def plan_for_visit(uow: UnitOfWork, appointment: Appointment, family: Family, now: dt.datetime) -> int:
    """Queue the reminders of a new visit; returns how many rows were written."""
    area = uow.areas.get(family.sls_id)
    tz = ZoneInfo(area.timezone)
    family_chats = _family_chats(uow, appointment, family)
    rt_chats = [u.telegram_id for u in uow.users.rt_heads_of(family.sls_id)]
    payload = {"appointment_id": appointment.id, "family_id": family.id, "start": appointment.start_at.isoformat()}
    written = 0
    for planned in plan_reminders(appointment.start_at, now, tz, policy_for(uow, family.sls_id)):
        for chat_id in rt_chats if planned.kind == UNCONFIRMED else family_chats:
            uow.outbox.add(chat_id, planned.kind, dict(payload), due_at=planned.due_at, now=now)
            written += 1
    return written


def tell_rt_head_undeliverable(uow: UnitOfWork, kind: str, payload: dict[str, Any], chat_id: int, now: dt.datetime) -> int:
    """A message about a visit could not reach a family member (403: the bot is blocked): queue a note
    to the RT heads of the family's RT, so someone tells the family in person. Only for messages to
    the family (reminders, visit notices); returns how many notes were queued."""
    if kind == UNDELIVERABLE or not isinstance(payload, dict) or not isinstance(payload.get("family_id"), int):
        return 0
    family = uow.families.get(payload["family_id"])
    if family is None:
        return 0
    written = 0
    for head in uow.users.rt_heads_of(family.sls_id):
        if head.telegram_id == chat_id:
            continue
        # ``about``: which message failed, so the note asks for the right thing (book, a new time, the visit).
        uow.outbox.add(head.telegram_id, UNDELIVERABLE,
                       {"family_id": family.id, "appointment_id": payload.get("appointment_id"), "about": kind},
                       due_at=now, now=now)
        written += 1
    return written


def cancel_for_visit(uow: UnitOfWork, appointment: Appointment, reason: str = "visit cancelled") -> int:
    """Skip the visit's reminders not yet sent."""
    uow.flush()
    return uow.reminders.skip_pending(appointment.id, REMINDER_KINDS, reason)


def replan_for_move(uow: UnitOfWork, old: Appointment, new: Appointment, family: Family, now: dt.datetime) -> int:
    cancel_for_visit(uow, old, "visit moved")
    return plan_for_visit(uow, new, family, now)


def _family_chats(uow: UnitOfWork, appointment: Appointment, family: Family) -> list[int]:
    """The family's own Telegram users; for a family without any, whoever booked for it (the RT head)."""
    chats = [u.telegram_id for u in uow.users.residents_of_family(family.id)]
    if not chats and appointment.booked_by_user_id is not None:
        booker = uow.users.get(appointment.booked_by_user_id)
        if booker is not None and booker.role in ("rt_head", "admin"):
            chats = [booker.telegram_id]
    return chats


def home_time_fit(family: Family, start: dt.datetime, tz: ZoneInfo) -> bool | None:
    """Whether a visit at ``start`` falls in the family's home times (reminders say so, and ask to move
    a visit that does not); None when the family never said when it is home."""
    if not home_times.clean(family.home_times):
        return None
    return home_times.matches(family.home_times, start.astimezone(tz))


# --- the daily messages ---------------------------------------------------------------------------

def works_on(enumerator: Any, day: dt.date, cuti_bersama_closed: bool = True) -> bool:
    """Is ``day`` one of the enumerator's working days: their week, minus public holidays (and cuti
    bersama where the area closes them), plus the dates they opened?"""
    return bool(WorkWeek.from_json(enumerator.work_week).windows_on(day, closed_dates(day, day, cuti_bersama_closed)))


def enqueue_daily(uow: UnitOfWork, now: dt.datetime, zone: str | None = None, base: ReminderPolicy | None = None) -> int:
    """Queue today's enumerator schedules and RT-head summaries that are due and not yet queued.

    Run it as often as you like (every few minutes, at start after a downtime): each person gets one
    of each per local day (``daily_digests``' unique key). ``zone`` limits the run to one IANA zone.
    A city's run reads its enumerators, SLS, officers, settings and digests in a few queries, not a few
    per person.
    """
    policies = _PolicyCache(uow, base)
    due: list[tuple[int, dt.date, str, dict[str, Any]]] = []  # (chat, local day, kind, payload)
    enumerators = [e for e in uow.enumerators.all() if e.user_id is not None]
    sls_of = uow.enumerators.assigned_sls_of([e.id for e in enumerators])
    officers = uow.users.many([e.user_id for e in enumerators])
    for enumerator in enumerators:
        areas = sls_of.get(enumerator.id) or []
        if not areas or (zone is not None and areas[0].timezone != zone):
            continue
        local = now.astimezone(ZoneInfo(areas[0].timezone))
        policy = policies.of(areas[0].id)
        if not policy.schedule_at <= local.time().replace(tzinfo=None) < policy.schedule_until:
            continue
        if not works_on(enumerator, local.date(), area_hours(uow, areas[0].id).cuti_bersama_closed):
            continue  # a day off or a public holiday: no list at 06.00 (no visit can be booked then)
        officer = officers.get(enumerator.user_id)
        if officer is not None:
            due.append((officer.telegram_id, local.date(), DAILY_SCHEDULE,
                        {"enumerator_id": enumerator.id, "day": local.date().isoformat()}))
    heads = uow.reminders.rt_heads()
    head_areas = uow.areas.many({head.sls_id for head in heads})
    for head in heads:
        area = head_areas.get(head.sls_id)
        if area is None or (zone is not None and area.timezone != zone):
            continue
        local = now.astimezone(ZoneInfo(area.timezone))
        if local.time().replace(tzinfo=None) < policies.of(area.id).summary_at:
            continue
        tomorrow = local.date() + dt.timedelta(days=1)
        due.append((head.telegram_id, local.date(), RT_SUMMARY, {"sls_id": area.id, "day": tomorrow.isoformat()}))
    return _queue_claimed(uow, due, now)


def _queue_claimed(uow: UnitOfWork, due: list[tuple[int, dt.date, str, dict[str, Any]]], now: dt.datetime) -> int:
    """Claim each person's digest (kind, local day) in one go per kind and day; queue those claimed now."""
    claimed: dict[tuple[str, dt.date], set[int]] = {}
    for kind, day in dict.fromkeys((kind, day) for _, day, kind, _ in due):
        chats = [chat for chat, d, k, _ in due if (k, d) == (kind, day)]
        claimed[(kind, day)] = uow.reminders.claim_digests(kind, chats, day, now)
    queued = 0
    for chat, day, kind, payload in due:
        if chat in claimed[(kind, day)]:
            claimed[(kind, day)].discard(chat)  # one message per person, kind and day
            uow.outbox.add(chat, kind, payload, due_at=now, now=now)
            queued += 1
    return queued


class _PolicyCache:
    """``policy_for`` of many areas over one read of the (small) settings table."""

    def __init__(self, uow: UnitOfWork, base: ReminderPolicy | None) -> None:
        self.uow, self.base = uow, base
        self.settings = uow.reminders.all_settings()
        self.policies: dict[int, ReminderPolicy] = {}
        self.areas: dict[int, Any] = {}  # held here: the session's identity map keeps entities only weakly

    def of(self, area_id: int) -> ReminderPolicy:
        if area_id not in self.policies:
            self.policies[area_id] = policy_from(self._up_the_tree(area_id), self.base)
        return self.policies[area_id]

    def _up_the_tree(self, area_id: int) -> list[Any]:
        """As ReminderRepository.settings_up_the_tree: the area's and its parents' settings, nearest first."""
        found, seen = [], set()
        area = self._area(area_id)
        while area is not None and area.id not in seen:
            seen.add(area.id)
            if area.id in self.settings:
                found.append(self.settings[area.id])
            area = self._area(area.parent_id) if area.parent_id is not None else None
        return found

    def _area(self, area_id: int) -> Any:
        if area_id not in self.areas:
            self.areas[area_id] = self.uow.areas.get(area_id)
        return self.areas[area_id]
