"""Repositories: the only place that writes queries. Services call these, handlers never do."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import (
    Appointment,
    Area,
    BusyBlock,
    Conversation,
    Enumerator,
    EnumeratorAssignment,
    Family,
    Record,
    RecordPhoto,
    RedeemedInvite,
    User,
)


class AreaRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, area_id: int) -> Area | None:
        return self.session.get(Area, area_id)

    def by_code(self, code: str) -> Area | None:
        return self.session.scalar(select(Area).where(Area.code == code))

    def children(self, parent_id: int) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.parent_id == parent_id).order_by(Area.code)).all()

    def at_level(self, level: str) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.level == level).order_by(Area.code)).all()

    def add(self, area: Area) -> Area:
        self.session.add(area)
        self.session.flush()
        return area


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_telegram_id(self, telegram_id: int) -> User | None:
        return self.session.scalar(select(User).where(User.telegram_id == telegram_id))

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def rt_heads_of(self, sls_id: int) -> Sequence[User]:
        return self.session.scalars(select(User).where(User.sls_id == sls_id, User.role == "rt_head")).all()

    def residents_of_family(self, family_id: int) -> Sequence[User]:
        return self.session.scalars(select(User).where(User.family_id == family_id)).all()

    def mark_blocked(self, telegram_id: int, when: dt.datetime | None) -> None:
        self.session.execute(update(User).where(User.telegram_id == telegram_id).values(blocked_at=when))

    def blocked_among(self, telegram_ids: Iterable[int]) -> set[int]:
        """Which of these chats belong to users who blocked the bot (one query for a whole batch)."""
        ids = list(set(telegram_ids))
        if not ids:
            return set()
        return set(self.session.scalars(
            select(User.telegram_id).where(User.telegram_id.in_(ids), User.blocked_at.is_not(None))
        ))


class FamilyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, family_id: int) -> Family | None:
        return self.session.get(Family, family_id)

    def by_kk(self, kk_number: str) -> Family | None:
        return self.session.scalar(select(Family).where(Family.kk_number == kk_number))

    def add(self, family: Family) -> Family:
        self.session.add(family)
        self.session.flush()
        return family

    def in_sls_with_appointment(
        self, sls_id: int, offset: int, limit: int
    ) -> list[tuple[Family, Appointment | None]]:
        """One page of the families of an SLS with their active appointment, by head's name."""
        active = (
            select(Appointment)
            .where(Appointment.status == "booked")
            .subquery()
        )
        rows = self.session.execute(
            select(Family, Appointment)
            .outerjoin(active, active.c.family_id == Family.id)
            .outerjoin(Appointment, Appointment.id == active.c.id)
            .where(Family.sls_id == sls_id)
            .order_by(Family.head_name, Family.id)
            .offset(offset)
            .limit(limit)
        ).all()
        return [(family, appointment) for family, appointment in rows]

    def count_in_sls(self, sls_id: int) -> int:
        return self.session.scalar(select(func.count()).select_from(Family).where(Family.sls_id == sls_id)) or 0


class EnumeratorRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, enumerator_id: int) -> Enumerator | None:
        return self.session.get(Enumerator, enumerator_id)

    def by_user(self, user_id: int) -> Enumerator | None:
        return self.session.scalar(select(Enumerator).where(Enumerator.user_id == user_id))

    def assigned_to(self, sls_id: int) -> Sequence[Enumerator]:
        return self.session.scalars(
            select(Enumerator)
            .join(EnumeratorAssignment, EnumeratorAssignment.enumerator_id == Enumerator.id)
            .where(EnumeratorAssignment.sls_id == sls_id)
            .order_by(Enumerator.id)
        ).all()

    def assigned_sls(self, enumerator_id: int) -> Sequence[Area]:
        return self.session.scalars(
            select(Area)
            .join(EnumeratorAssignment, EnumeratorAssignment.sls_id == Area.id)
            .where(EnumeratorAssignment.enumerator_id == enumerator_id)
            .order_by(Area.code)
        ).all()

    def all(self) -> Sequence[Enumerator]:
        return self.session.scalars(select(Enumerator).order_by(Enumerator.id)).all()

    def add(self, enumerator: Enumerator, sls_ids: Iterable[int]) -> Enumerator:
        self.session.add(enumerator)
        self.session.flush()
        for sls_id in sls_ids:
            self.session.add(EnumeratorAssignment(enumerator_id=enumerator.id, sls_id=sls_id))
        self.session.flush()
        return enumerator

    def busy_blocks(self, enumerator_ids: Sequence[int], start: dt.datetime, end: dt.datetime) -> dict[int, set[dt.datetime]]:
        """Taken 15-minute blocks per enumerator between two instants."""
        found: dict[int, set[dt.datetime]] = {i: set() for i in enumerator_ids}
        rows = self.session.execute(
            select(BusyBlock.enumerator_id, BusyBlock.block_start).where(
                BusyBlock.enumerator_id.in_(enumerator_ids),
                BusyBlock.block_start >= start,
                BusyBlock.block_start < end,
            )
        )
        for enumerator_id, block_start in rows:
            found[enumerator_id].add(block_start)
        return found


class AppointmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, appointment_id: int) -> Appointment | None:
        return self.session.get(Appointment, appointment_id)

    def active_for_family(self, family_id: int) -> Appointment | None:
        return self.session.scalar(
            select(Appointment).where(Appointment.family_id == family_id, Appointment.status == "booked")
        )

    def lock_active_for_family(self, family_id: int, *, tries: int = 5) -> Appointment | None:
        """The family's active appointment, locked until the transaction ends: read it with this
        before changing it (move, cancel).

        Fix: move and cancel used ``active_for_family``, a plain read. On PostgreSQL (READ COMMITTED)
        two changes of one visit could then both start from the same 'booked' row, and the second,
        after waiting for the first's row lock, overwrote its outcome: a cancellation turned the
        moved row into 'cancelled' and left the new visit booked (the user was told "cancelled"), a
        move revived a cancelled visit, and a second move failed with a false SlotTaken.

        ``FOR UPDATE`` waits for such a change, then re-checks the row as committed: if the visit
        was moved or cancelled meanwhile it no longer matches and nothing is returned, although the
        family may now have another active visit (the move's new one) that this statement could not
        see. Asking again, in a new statement, finds it. SQLite does not render FOR UPDATE and needs
        none: every transaction begins with BEGIN IMMEDIATE (storage/db.py), so nothing changes in
        between. ``populate_existing`` replaces values this session may have cached earlier.
        """
        active = select(Appointment).where(Appointment.family_id == family_id, Appointment.status == "booked")
        for _ in range(tries):
            found = self.session.scalar(active.with_for_update().execution_options(populate_existing=True))
            if found is not None or self.session.scalar(active.with_only_columns(Appointment.id)) is None:
                return found
        return None  # changed under us again and again: report it as gone rather than wait forever

    def add_with_blocks(self, appointment: Appointment, blocks: Iterable[dt.datetime]) -> Appointment:
        """Insert the visit and claim its blocks; raises IntegrityError on any collision."""
        self.session.add(appointment)
        self.session.flush()
        rows = [{"enumerator_id": appointment.enumerator_id, "block_start": b, "appointment_id": appointment.id}
                for b in blocks]
        if rows:
            # One INSERT with several VALUES rows, not the flush's executemany: psycopg runs an
            # executemany in pipeline mode, and a collision there (an expected outcome of a race)
            # also logged a WARNING "error ignored terminating <psycopg.Pipeline ...>: pipeline
            # aborted" for every lost race on PostgreSQL. Same single round trip, same IntegrityError.
            self.session.execute(insert(BusyBlock).values(rows))
        return appointment

    def release_blocks(self, appointment_id: int) -> None:
        self.session.execute(delete(BusyBlock).where(BusyBlock.appointment_id == appointment_id))

    def for_enumerator_between(
        self, enumerator_id: int, start: dt.datetime, end: dt.datetime
    ) -> list[tuple[Appointment, Family]]:
        rows = self.session.execute(
            select(Appointment, Family)
            .join(Family, Family.id == Appointment.family_id)
            .where(
                Appointment.enumerator_id == enumerator_id,
                Appointment.status == "booked",
                Appointment.start_at >= start,
                Appointment.start_at < end,
            )
            .order_by(Appointment.start_at)
        ).all()
        return [(a, f) for a, f in rows]


class InviteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def redeem(self, kind: int, nonce: int, user_id: int, when: dt.datetime) -> bool:
        """Record a single-use invite as used; False when it had been used already."""
        try:
            with self.session.begin_nested():
                self.session.add(RedeemedInvite(kind=kind, nonce=nonce, user_id=user_id, redeemed_at=when))
        except IntegrityError:
            return False
        return True


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, telegram_id: int) -> Conversation | None:
        return self.session.get(Conversation, telegram_id)

    def lock_user(self, telegram_id: int) -> None:
        """Serialise this user's updates across processes until the transaction ends.

        PostgreSQL: a transaction-level advisory lock keyed by the Telegram id (stores nothing, so it
        also covers people who have not consented yet and have no row). SQLite: nothing to do, as every
        write transaction starts with BEGIN IMMEDIATE, which already serialises all writers.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": telegram_id})

    def save(self, telegram_id: int, state: str, data: dict[str, Any], when: dt.datetime,
             update_id: int | None = None, bot: str = "") -> None:
        """Store where the user is; ``update_id`` (of ``bot``: every bot numbers its updates itself) is
        the last one applied."""
        conversation = self.session.get(Conversation, telegram_id)
        if conversation is None:
            self.session.add(Conversation(telegram_id=telegram_id, state=state, data=dict(data), updated_at=when,
                                          last_update_id=update_id, last_update_bot=bot or None))
        else:
            conversation.state, conversation.data, conversation.updated_at = state, dict(data), when
            if update_id is not None:
                same_bot = (conversation.last_update_bot or "") == bot
                last = conversation.last_update_id if same_bot else None
                conversation.last_update_id = max(update_id, last or update_id)
                conversation.last_update_bot = bot or None

    def clear(self, telegram_id: int) -> None:
        self.session.execute(delete(Conversation).where(Conversation.telegram_id == telegram_id))


class RecordRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, record_id: str) -> Record | None:
        return self.session.get(Record, record_id)

    def lock(self, record_id: str) -> Record | None:
        """The record, locked until the transaction ends (PostgreSQL; SQLite holds the write lock already)."""
        return self.session.scalar(
            select(Record).where(Record.id == record_id).with_for_update()
            .execution_options(populate_existing=True))

    def add(self, record: Record) -> Record:
        self.session.add(record)
        self.session.flush()
        return record

    def add_photo(self, photo: RecordPhoto) -> RecordPhoto:
        self.session.add(photo)
        self.session.flush()
        return photo

    def photos(self, record_id: str) -> Sequence[RecordPhoto]:
        return self.session.scalars(
            select(RecordPhoto).where(RecordPhoto.record_id == record_id).order_by(RecordPhoto.id)).all()

    def photos_of(self, record_ids: Sequence[str]) -> dict[str, list[RecordPhoto]]:
        found: dict[str, list[RecordPhoto]] = {rid: [] for rid in record_ids}
        if record_ids:
            for photo in self.session.scalars(
                select(RecordPhoto).where(RecordPhoto.record_id.in_(list(record_ids))).order_by(RecordPhoto.id)
            ):
                found[photo.record_id].append(photo)
        return found

    def many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        if not record_ids:
            return {}
        return {r.id: r for r in self.session.scalars(select(Record).where(Record.id.in_(list(record_ids))))}

    def replacement_of(self, record_id: str) -> Record | None:
        return self.session.scalar(select(Record).where(Record.replaces_id == record_id))
