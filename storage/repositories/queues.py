"""The two queues: the outbox of Telegram messages and the registry outbox of completed records.

Both are claimed with a lease, sent, then settled exactly once (see each class).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.model import OutboxMessage, RecordDelivery, RtGroup, User

OUTBOX_STATUSES = ("pending", "sent", "failed", "undeliverable", "skipped")
MAX_ERROR_LENGTH = 1000


class OutboxRepository:
    """The outbox is the queue: rows are claimed with a lease, sent, then settled exactly once.

    A claim sets ``claimed_until`` (the lease) and counts an attempt. Settling a row (``mark_*``) with
    ``lease=`` only succeeds while that lease is still the row's: a dispatcher that stalled past its
    lease, whose row was claimed again by another, can no longer overwrite the other's outcome.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, chat_id: int, kind: str, payload: dict[str, Any], due_at: dt.datetime, now: dt.datetime) -> None:
        self.session.add(
            OutboxMessage(chat_id=chat_id, kind=kind, payload=payload, due_at=due_at, created_at=now)
        )

    def get(self, message_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, message_id)

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta, bot: str | None = None) -> list[OutboxMessage]:
        """Claim up to ``limit`` due pending rows, oldest first, until ``now + lease``; the caller commits.

        ``bot``: with several bots (domain/bots.py), only the rows to chats of that bot — users and groups
        whose ``bot_key`` is it (the key "" also takes chats with none); None takes every row.

        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets concurrent dispatchers take disjoint rows without
        waiting on each other; the lock is re-checked against the committed row, so a row another
        dispatcher claimed meanwhile is not claimed twice. SQLite: the engine opens every transaction
        with BEGIN IMMEDIATE (storage/db.py), so this select and update run under the write lock and
        FOR UPDATE is simply not rendered. A lease that expired (its dispatcher died) is claimable again.
        """
        if lease <= dt.timedelta(0):
            raise ValueError("the lease must be positive")
        rows = self.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.due_at <= now,
                or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now),
                *([] if bot is None else [_chats_of_bot(bot)]),
            )
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            # A session reused across claims must see the locked, current values, not its cached ones.
            .execution_options(populate_existing=True)
        ).all()
        until = now + lease
        for row in rows:
            row.claimed_until = until
            row.attempts += 1
        self.session.flush()
        return list(rows)

    def mark_sent(self, message_id: int, sent_at: dt.datetime, *, lease: dt.datetime | None = None) -> bool:
        return self._settle(message_id, lease, status="sent", sent_at=sent_at, last_error=None)

    def mark_retry(
        self, message_id: int, next_due: dt.datetime, error: str, *,
        lease: dt.datetime | None = None, count_attempt: bool = True,
    ) -> bool:
        """Put the row back in the queue, due at ``next_due``.

        ``count_attempt=False`` gives back the attempt its claim counted: a 429 is about our pace, not
        about this message, so it must not bring the row closer to being given up.
        """
        attempts = OutboxMessage.attempts if count_attempt else OutboxMessage.attempts - 1
        return self._settle(message_id, lease, status="pending", due_at=next_due, attempts=attempts,
                            last_error=_clip(error))

    def mark_failed(self, message_id: int, error: str, *, lease: dt.datetime | None = None) -> bool:
        """Given up: the reason stays on the row for an operator to read."""
        return self._settle(message_id, lease, status="failed", last_error=_clip(error))

    def mark_undeliverable(self, message_id: int, error: str, *, lease: dt.datetime | None = None) -> bool:
        """The recipient cannot receive messages (blocked the bot, chat gone)."""
        return self._settle(message_id, lease, status="undeliverable", last_error=_clip(error))

    def mark_skipped(self, message_id: int, reason: str, *, lease: dt.datetime | None = None) -> bool:
        """Nothing left to say (what the message was about no longer exists)."""
        return self._settle(message_id, lease, status="skipped", last_error=_clip(reason))

    def release(self, message_ids: Iterable[int], lease: dt.datetime) -> int:
        """Hand claimed but unattempted rows back at once (on shutdown), returning their attempt."""
        ids = list(message_ids)
        if not ids:
            return 0
        result = self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending", OutboxMessage.claimed_until == lease)
            .values(claimed_until=None, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount

    def counts(self) -> dict[str, int]:
        """Rows per status, every known status present (for health checks and the CLI)."""
        rows = self.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        found = {status: count for status, count in rows}
        return {status: found.get(status, 0) for status in OUTBOX_STATUSES} | found

    def _settle(self, message_id: int, lease: dt.datetime | None, **values: Any) -> bool:
        """Change a pending row; with ``lease``, only if that claim still holds. True if it changed."""
        query = update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
        if lease is not None:
            query = query.where(OutboxMessage.claimed_until == lease)
        values["claimed_until"] = None
        result = self.session.execute(query.values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1


def _clip(error: str) -> str:
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"


DELIVERY_STATUSES = ("pending", "delivered", "parked")


class DeliveryRepository:
    """The registry outbox: claimed with a lease, sent, settled while the lease holds (as OutboxRepository)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, record_id: str, target: str, now: dt.datetime) -> RecordDelivery:
        row = RecordDelivery(record_id=record_id, target=target, status="pending", attempts=0,
                             next_attempt_at=now, created_at=now)
        self.session.add(row)
        return row

    def for_record(self, record_id: str) -> Sequence[RecordDelivery]:
        return self.session.scalars(
            select(RecordDelivery).where(RecordDelivery.record_id == record_id).order_by(RecordDelivery.id)).all()

    def claim_due(self, target: str, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[RecordDelivery]:
        """Claim up to ``limit`` due pending rows of ``target`` until ``now + lease``; the caller commits.

        PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows. SQLite: every
        transaction begins with BEGIN IMMEDIATE (storage/db.py), so select and update hold the write lock.
        A row whose lease expired (its worker died mid-delivery) is claimable again.
        """
        if lease <= dt.timedelta(0):
            raise ValueError("the lease must be positive")
        rows = self.session.scalars(
            select(RecordDelivery)
            .where(
                RecordDelivery.target == target,
                RecordDelivery.status == "pending",
                RecordDelivery.next_attempt_at <= now,
                or_(RecordDelivery.claimed_until.is_(None), RecordDelivery.claimed_until <= now),
            )
            .order_by(RecordDelivery.next_attempt_at, RecordDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).all()
        until = now + lease
        if rows:
            self.session.execute(
                update(RecordDelivery)
                .where(RecordDelivery.id.in_([row.id for row in rows]))
                .values(claimed_until=until, attempts=RecordDelivery.attempts + 1)
                .execution_options(synchronize_session=False))
            for row in rows:  # already written by the UPDATE: set without making the rows dirty
                set_committed_value(row, "claimed_until", until)
                set_committed_value(row, "attempts", row.attempts + 1)
        return list(rows)

    def mark_delivered(self, delivery_id: int, when: dt.datetime, *, lease: dt.datetime | None = None) -> bool:
        return self._settle(delivery_id, lease, status="delivered", delivered_at=when, last_error=None)

    def mark_delivered_many(self, delivery_ids: Sequence[int], when: dt.datetime, lease: dt.datetime) -> int:
        if not delivery_ids:
            return 0
        result = self.session.execute(
            update(RecordDelivery)
            .where(RecordDelivery.id.in_(list(delivery_ids)), RecordDelivery.status == "pending",
                   RecordDelivery.claimed_until == lease)
            .values(status="delivered", delivered_at=when, last_error=None, claimed_until=None)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def mark_retry(self, delivery_id: int, next_attempt: dt.datetime, error: str, *,
                   lease: dt.datetime | None = None) -> bool:
        return self._settle(delivery_id, lease, next_attempt_at=next_attempt, last_error=_clip(error))

    def mark_parked(self, delivery_id: int, reason: str, *, lease: dt.datetime | None = None) -> bool:
        """Given up until an operator acts: the reason (status code and the registry's words) stays."""
        return self._settle(delivery_id, lease, status="parked", last_error=_clip(reason))

    def release(self, delivery_ids: Iterable[int], lease: dt.datetime) -> int:
        """Hand claimed but unattempted rows back at once (on shutdown), returning their attempt."""
        ids = list(delivery_ids)
        if not ids:
            return 0
        result = self.session.execute(
            update(RecordDelivery)
            .where(RecordDelivery.id.in_(ids), RecordDelivery.status == "pending", RecordDelivery.claimed_until == lease)
            .values(claimed_until=None, attempts=RecordDelivery.attempts - 1)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def requeue_parked(self, now: dt.datetime, record_id: str | None = None) -> int:
        """Put parked rows back in the queue (after an operator fixed what parked them)."""
        query = update(RecordDelivery).where(RecordDelivery.status == "parked")
        if record_id is not None:
            query = query.where(RecordDelivery.record_id == record_id)
        result = self.session.execute(
            query.values(status="pending", next_attempt_at=now, claimed_until=None)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def counts(self) -> dict[str, int]:
        rows = self.session.execute(select(RecordDelivery.status, func.count()).group_by(RecordDelivery.status))
        found = {status: count for status, count in rows}
        return {status: found.get(status, 0) for status in DELIVERY_STATUSES} | found

    def oldest_pending_since(self) -> dt.datetime | None:
        return self.session.scalar(
            select(func.min(RecordDelivery.created_at)).where(RecordDelivery.status == "pending"))

    def parked(self, limit: int = 50) -> Sequence[RecordDelivery]:
        return self.session.scalars(
            select(RecordDelivery).where(RecordDelivery.status == "parked")
            .order_by(RecordDelivery.id).limit(limit)).all()

    def _settle(self, delivery_id: int, lease: dt.datetime | None, **values: Any) -> bool:
        query = update(RecordDelivery).where(RecordDelivery.id == delivery_id, RecordDelivery.status == "pending")
        if lease is not None:
            query = query.where(RecordDelivery.claimed_until == lease)
        values["claimed_until"] = None
        result = self.session.execute(query.values(**values).execution_options(synchronize_session=False))
        return result.rowcount == 1


def _chats_of_bot(bot: str) -> Any:
    """The outbox rows whose chat belongs to ``bot``: a user or group recorded with it; for "" also any
    chat no bot is recorded for (a deployment that had one bot before it had several)."""
    users = select(User.telegram_id).where(User.bot_key == bot)
    groups = select(RtGroup.chat_id).where(RtGroup.bot_key == bot)
    mine = or_(OutboxMessage.chat_id.in_(users), OutboxMessage.chat_id.in_(groups))
    if bot:
        return mine
    keyed_users = select(User.telegram_id).where(User.bot_key.is_not(None), User.bot_key != "")
    keyed_groups = select(RtGroup.chat_id).where(RtGroup.bot_key.is_not(None), RtGroup.bot_key != "")
    return or_(mine, ~OutboxMessage.chat_id.in_(keyed_users) & ~OutboxMessage.chat_id.in_(keyed_groups))
