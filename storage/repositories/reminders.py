"""Queries of the reminders and daily messages (domain/reminders.py)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.family_status import FINISHED as FINISHED_STATUSES
from domain.model import Appointment, Area, DailyDigest, Family, OutboxMessage, ReminderSetting, User


class ReminderRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- reminder rows in the outbox -------------------------------------------------------------

    def skip_pending(self, appointment_id: int, kinds: Iterable[str], reason: str) -> int:
        """Mark the pending reminder rows of one visit skipped (the visit was moved or cancelled)."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.kind.in_(list(kinds)),
                OutboxMessage.payload["appointment_id"].as_integer() == appointment_id,
            )
            .values(status="skipped", last_error=reason, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    def for_appointment(self, appointment_id: int, kinds: Iterable[str]) -> Sequence[OutboxMessage]:
        return self.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind.in_(list(kinds)),
                   OutboxMessage.payload["appointment_id"].as_integer() == appointment_id)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
        ).all()

    # --- settings --------------------------------------------------------------------------------

    def setting(self, area_id: int) -> ReminderSetting | None:
        return self.session.get(ReminderSetting, area_id)

    def settings_up_the_tree(self, area_id: int) -> list[ReminderSetting]:
        """The settings of an area and of its parents, nearest first."""
        found: list[ReminderSetting] = []
        area = self.session.get(Area, area_id)
        seen: set[int] = set()
        while area is not None and area.id not in seen:
            seen.add(area.id)
            setting = self.session.get(ReminderSetting, area.id)
            if setting is not None:
                found.append(setting)
            area = self.session.get(Area, area.parent_id) if area.parent_id is not None else None
        return found

    def save_setting(self, area_id: int, now: dt.datetime, **values: Any) -> ReminderSetting:
        setting = self.session.get(ReminderSetting, area_id)
        if setting is None:
            setting = ReminderSetting(area_id=area_id, updated_at=now)
            self.session.add(setting)
        for name, value in values.items():
            setattr(setting, name, value)
        setting.updated_at = now
        self.session.flush()
        return setting

    # --- daily messages --------------------------------------------------------------------------

    def claim_digest(self, kind: str, chat_id: int, day: dt.date, now: dt.datetime) -> bool:
        """Record today's message for this person; False if it was recorded already (by anyone)."""
        exists = select(DailyDigest.id).where(DailyDigest.kind == kind, DailyDigest.chat_id == chat_id,
                                              DailyDigest.day == day)
        if self.session.scalar(exists) is not None:
            return False
        try:
            with self.session.begin_nested():
                self.session.add(DailyDigest(kind=kind, chat_id=chat_id, day=day, created_at=now))
        except IntegrityError:  # another process, at the same moment
            return False
        return True

    def rt_heads(self) -> Sequence[User]:
        return self.session.scalars(
            select(User).where(User.role == "rt_head", User.sls_id.is_not(None)).order_by(User.id)).all()

    def visits_in_sls(self, sls_id: int, start: dt.datetime, end: dt.datetime) -> list[tuple[Appointment, Family]]:
        rows = self.session.execute(
            select(Appointment, Family)
            .join(Family, Family.id == Appointment.family_id)
            .where(Family.sls_id == sls_id, Appointment.status == "booked",
                   Appointment.start_at >= start, Appointment.start_at < end)
            .order_by(Appointment.start_at, Appointment.id)
        ).all()
        return [(a, f) for a, f in rows]

    def unbooked_by_sls(self, sls_ids: Iterable[int], limit: int
                        ) -> dict[int, list[tuple[int, int, str, float | None, float | None, Any]]]:
        """The first ``limit`` families (by name, then id) of each SLS without an active visit, as plain
        (order, id, head name, latitude, longitude, home times) rows, ``order`` being the family's place in the
        database's own sort by name (its collation) among all returned: merged on it, the lists of some
        SLS start with what ``unbooked_families`` returns for them. One query, window functions."""
        ids = sorted(set(sls_ids))
        found: dict[int, list[tuple[int, int, str, float | None, float | None, Any]]] = {i: [] for i in ids}
        if limit <= 0 or not ids:
            return found
        booked = select(Appointment.family_id).where(Appointment.status == "booked")
        wanted = Family.sls_id.in_(ids) if len(ids) <= 500 else Family.sls_id.is_not(None)  # many: all, filtered here
        by_name = (Family.head_name, Family.id)
        ranked = (select(Family.id, Family.sls_id, Family.head_name, Family.latitude, Family.longitude,
                         Family.home_times, func.row_number().over(partition_by=Family.sls_id, order_by=by_name).label("rank"),
                         func.row_number().over(order_by=by_name).label("place"))
                  .where(wanted, Family.id.not_in(booked), Family.status.not_in(FINISHED_STATUSES)).subquery())
        rows = self.session.execute(
            select(ranked.c.place, ranked.c.id, ranked.c.sls_id, ranked.c.head_name, ranked.c.latitude,
                   ranked.c.longitude, ranked.c.home_times).where(ranked.c.rank <= limit).order_by(ranked.c.place))
        for place, family_id, sls_id, name, latitude, longitude, home in rows:
            if sls_id in found:
                found[sls_id].append((place, family_id, name, latitude, longitude, home))
        return found

    def all_settings(self) -> dict[int, ReminderSetting]:
        """Every area's reminder setting (a small table: one row per area that sets something)."""
        return {s.area_id: s for s in self.session.scalars(select(ReminderSetting))}

    def claim_digests(self, kind: str, chat_ids: Sequence[int], day: dt.date, now: dt.datetime) -> set[int]:
        """``claim_digest`` for many people: the chats claimed now (not recorded before). One read and one
        insert; should another process claim some of them meanwhile, each is claimed on its own instead."""
        wanted = list(dict.fromkeys(chat_ids))
        taken: set[int] = set()
        for i in range(0, len(wanted), 500):
            taken.update(self.session.scalars(select(DailyDigest.chat_id).where(
                DailyDigest.kind == kind, DailyDigest.day == day, DailyDigest.chat_id.in_(wanted[i:i + 500]))))
        fresh = [c for c in wanted if c not in taken]
        if not fresh:
            return set()
        try:
            with self.session.begin_nested():
                self.session.execute(insert(DailyDigest), [
                    {"kind": kind, "chat_id": c, "day": day, "created_at": now} for c in fresh])
        except IntegrityError:  # another process at the same moment: settle it person by person
            return {c for c in fresh if self.claim_digest(kind, c, day, now)}
        return set(fresh)

    def unbooked_families(self, sls_ids: Sequence[int], limit: int) -> Sequence[Family]:
        """Families of these SLS without an active visit and with work left, by name: a family that
        refused at the door (or moved, or is not found) or whose record is complete is no stop to suggest."""
        if not sls_ids or limit <= 0:
            return []
        booked = select(Appointment.family_id).where(Appointment.status == "booked")
        return self.session.scalars(
            select(Family).where(Family.sls_id.in_(list(sls_ids)), Family.id.not_in(booked),
                                 Family.status.not_in(FINISHED_STATUSES))
            .order_by(Family.head_name, Family.id).limit(limit)).all()
