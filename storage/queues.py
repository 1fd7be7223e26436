"""The two leased queues (storage/leased_queue.py) and what each adds: the Telegram outbox, and the
registry deliveries. Both repositories keep their own typed methods; claiming, settling under a lease,
handing back and counting are the queue's."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from storage.leased_queue import LeasedQueue
from domain.model import OutboxMessage, RecordDelivery, RtGroup, User

OUTBOX_STATUSES = ("pending", "sent", "failed", "undeliverable", "skipped")
DELIVERY_STATUSES = ("pending", "delivered", "parked")


class OutboxRepository:
    """The outbox is the queue: rows are claimed with a lease, sent, then settled exactly once.

    A claim sets ``claimed_until`` (the lease) and counts an attempt. Settling a row (``mark_*``) with
    ``lease=`` only succeeds while that lease is still the row's: a dispatcher that stalled past its
    lease, whose row was claimed again by another, can no longer overwrite the other's outcome.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queue: LeasedQueue[OutboxMessage] = LeasedQueue(
            session, OutboxMessage, due="due_at", statuses=OUTBOX_STATUSES, partitions={"bot": _chats_of_bot})

    def add(self, chat_id: int, kind: str, payload: dict[str, Any], due_at: dt.datetime, now: dt.datetime) -> None:
        self.session.add(
            OutboxMessage(chat_id=chat_id, kind=kind, payload=payload, due_at=due_at, created_at=now)
        )

    def add_written_ahead(self, chat_id: int, kind: str, payload: dict[str, Any], due_at: dt.datetime,
                          now: dt.datetime) -> int:
        """A row the caller means to send itself at once (a step's reply): due only at ``due_at``, when
        the dispatcher takes over if the caller has not settled it by then. Returns its id."""
        row = OutboxMessage(chat_id=chat_id, kind=kind, payload=payload, due_at=due_at, created_at=now)
        self.session.add(row)
        self.session.flush()
        return row.id

    def forget(self, message_ids: Sequence[int]) -> int:
        """Delete pending rows that were delivered by their writer (a step's replies): kept, they would
        only fill the table, one row per message the bot ever sent."""
        if not message_ids:
            return 0
        return self.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(list(message_ids)), OutboxMessage.status == "pending")
        ).rowcount

    def get(self, message_id: int) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, message_id)

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta, bot: str | None = None) -> list[OutboxMessage]:
        """Claim up to ``limit`` due pending rows, oldest first, until ``now + lease``; the caller commits.

        ``bot``: with several bots (domain/bots.py), only the rows to chats of that bot — users and groups
        whose ``bot_key`` is it (the key "" also takes chats with none); None takes every row.
        Concurrent dispatchers take disjoint rows (storage/leased_queue.py).
        """
        return self.queue.claim_due(now, limit, lease, bot=bot)

    def mark_sent(self, message_id: int, sent_at: dt.datetime, *, lease: dt.datetime | None = None) -> bool:
        return self.queue.settle(message_id, lease, status="sent", sent_at=sent_at, last_error=None)

    def mark_retry(
        self, message_id: int, next_due: dt.datetime, error: str, *,
        lease: dt.datetime | None = None, count_attempt: bool = True,
    ) -> bool:
        """Put the row back in the queue, due at ``next_due``.

        ``count_attempt=False`` gives back the attempt its claim counted: a 429 is about our pace, not
        about this message, so it must not bring the row closer to being given up.
        """
        return self.queue.retry(message_id, next_due, error, lease=lease, count_attempt=count_attempt)

    def mark_failed(self, message_id: int, error: str, *, lease: dt.datetime | None = None) -> bool:
        """Given up: the reason stays on the row for an operator to read."""
        return self.queue.settle(message_id, lease, status="failed", last_error=error)

    def mark_undeliverable(self, message_id: int, error: str, *, lease: dt.datetime | None = None) -> bool:
        """The recipient cannot receive messages (blocked the bot, chat gone)."""
        return self.queue.settle(message_id, lease, status="undeliverable", last_error=error)

    def mark_skipped(self, message_id: int, reason: str, *, lease: dt.datetime | None = None) -> bool:
        """Nothing left to say (what the message was about no longer exists)."""
        return self.queue.settle(message_id, lease, status="skipped", last_error=reason)

    def release(self, message_ids: Iterable[int], lease: dt.datetime) -> int:
        """Hand claimed but unattempted rows back at once (on shutdown), returning their attempt."""
        return self.queue.release(message_ids, lease)

    def release_claims(self, claims: Iterable[tuple[int, dt.datetime]]) -> int:
        """``release`` for (id, lease) pairs, whatever claims they came from."""
        return self.queue.release_claims(claims)

    def counts(self) -> dict[str, int]:
        """Rows per status, every known status present (for health checks and the CLI)."""
        return self.queue.counts()


class DeliveryRepository:
    """The registry outbox: claimed with a lease, sent, settled while the lease holds (as OutboxRepository)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queue: LeasedQueue[RecordDelivery] = LeasedQueue(
            session, RecordDelivery, due="next_attempt_at", statuses=DELIVERY_STATUSES,
            partitions={"target": lambda target: RecordDelivery.target == target})

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

        Concurrent workers take disjoint rows; a row whose lease expired (its worker died mid-delivery)
        is claimable again (storage/leased_queue.py).
        """
        return self.queue.claim_due(now, limit, lease, target=target)

    def mark_delivered(self, delivery_id: int, when: dt.datetime, *, lease: dt.datetime | None = None) -> bool:
        return self.queue.settle(delivery_id, lease, status="delivered", delivered_at=when, last_error=None)

    def mark_delivered_many(self, delivery_ids: Sequence[int], when: dt.datetime, lease: dt.datetime) -> int:
        return self.queue.settle_many(delivery_ids, lease, status="delivered", delivered_at=when, last_error=None)

    def mark_retry(self, delivery_id: int, next_attempt: dt.datetime, error: str, *,
                   lease: dt.datetime | None = None) -> bool:
        return self.queue.retry(delivery_id, next_attempt, error, lease=lease)

    def mark_parked(self, delivery_id: int, reason: str, *, lease: dt.datetime | None = None) -> bool:
        """Given up until an operator acts: the reason (status code and the registry's words) stays."""
        return self.queue.settle(delivery_id, lease, status="parked", last_error=reason)

    def release(self, delivery_ids: Iterable[int], lease: dt.datetime) -> int:
        """Hand claimed but unattempted rows back at once (on shutdown), returning their attempt."""
        return self.queue.release(delivery_ids, lease)

    def release_claims(self, claims: Iterable[tuple[int, dt.datetime]]) -> int:
        """``release`` for (id, lease) pairs, whatever claims they came from."""
        return self.queue.release_claims(claims)

    def make_due(self, target: str, now: dt.datetime) -> int:
        """Rows of ``target`` waiting out a backoff become due now (the registry is reachable again)."""
        return self.queue.make_due(now, target=target)

    def requeue_parked(self, now: dt.datetime, record_id: str | None = None) -> int:
        """Put parked rows back in the queue (after an operator fixed what parked them)."""
        where = [] if record_id is None else [RecordDelivery.record_id == record_id]
        return self.queue.requeue("parked", now, *where)

    def counts(self) -> dict[str, int]:
        return self.queue.counts()

    def oldest_pending_since(self) -> dt.datetime | None:
        return self.session.scalar(
            select(func.min(RecordDelivery.created_at)).where(RecordDelivery.status == "pending"))

    def parked(self, limit: int = 50) -> Sequence[RecordDelivery]:
        return self.session.scalars(
            select(RecordDelivery).where(RecordDelivery.status == "parked")
            .order_by(RecordDelivery.id).limit(limit)).all()


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
