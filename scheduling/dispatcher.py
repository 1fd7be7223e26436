"""The outbox dispatcher: every bulk message leaves through here, at the rate limiter's pace.

One run (``run_once``) claims due rows with a lease, renders them for their recipients, sends them
and records each outcome in its own short transaction:

==================================  ===========================================================
Telegram's answer                   what happens to the row
==================================  ===========================================================
ok                                  ``sent``
429 retry_after                     due again after retry_after (attempt not counted); all sends
                                    pause that long, then continue slower
network, 5xx, timeout, unexpected   due again after exponential backoff with jitter; ``failed``
                                    with the last error once ``max_attempts`` are used up
403 blocked                         ``undeliverable``, the user is marked blocked and the
                                    family's RT head is told (a note in the outbox)
chat not found                      ``undeliverable``
400 bad request (and the like)      ``failed`` with Telegram's description
==================================  ===========================================================

Rows to users already marked blocked become ``undeliverable`` unsent; rows about a family or visit
that no longer exists become ``skipped``. Nothing is dropped without a status and a reason.

Delivery guarantee: a row is claimed by one dispatcher at a time (the lease), so two dispatchers
never send it both, and an outcome is recorded only while its lease holds. It is at-least-once in
one window only: if the process dies (or the database is unreachable) after Telegram accepted a
message but before ``sent`` is committed, or a send times out after Telegram had in fact delivered
it, the row is sent again once its lease expires. A dispatcher stops sending ``lease_margin``
before its lease ends and hands unattempted rows back, so a slow batch does not open that window.
Leases compare instants from each process's clock: keep hosts NTP-synchronised (skew << margin).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from chat.client import ApiClient, TelegramRefused, Verdict, verdict
from domain.clock import Clock
from domain.ports import UnitOfWork
from domain.reminders import tell_rt_head_undeliverable
from chat.events import EditMessage, SendMessage
from handlers.notifications import Notification, NotRendered, Prepared, prepare_outbox, render_outbox
from scheduling.leased_worker import Lane, LeasePolicy, work_through

log = logging.getLogger(__name__)


class SendLimiter(Protocol):
    async def acquire(self, chat_id: int) -> None: ...

    def penalize(self, retry_after: float) -> None: ...


@dataclass(frozen=True)
class DispatchPolicy(LeasePolicy):
    batch: int = 100  # rows claimed per run
    lease: dt.timedelta = dt.timedelta(minutes=5)
    lease_margin: dt.timedelta = dt.timedelta(seconds=30)  # stop sending this long before the lease ends
    max_attempts: int = 8
    backoff_base: float = 5.0  # seconds before the first retry; doubles per attempt
    backoff_cap: float = 3600.0
    send_timeout: float = 30.0  # seconds one send may take before it counts as a network failure

    def __post_init__(self) -> None:
        self.check_lease()
        if self.batch < 1 or self.max_attempts < 1:
            raise ValueError("batch and max_attempts must be at least 1")


@dataclass(frozen=True)
class Claimed:
    """A claimed row, detached from its session: safe to carry between threads."""

    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int  # including this claim
    lease: dt.datetime  # claimed_until as written by this claim: the token that settles the row


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | retry | failed | undeliverable | skipped
    error: str | None = None
    delay: float = 0.0  # for retry: seconds until due again
    count_attempt: bool = True  # for retry: False for 429, which is about our pace, not the message
    block_user: bool = False


@dataclass
class DispatchReport:
    """What one run did, per outcome; ``lost_lease`` counts outcomes another claim had overtaken."""

    claimed: int = 0
    sent: int = 0
    retry: int = 0
    failed: int = 0
    undeliverable: int = 0
    skipped: int = 0
    released: int = 0
    lost_lease: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


# Already marked blocked: settle unsent, and leave the recorded blocked_at as it is.
BLOCKED = Outcome("undeliverable", "recipient has blocked the bot")


class OutboxDispatcher:
    """Claims, renders, sends and settles outbox rows; see the module docstring for the rules."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        clock: Clock,
        api: ApiClient,
        limiter: SendLimiter,
        policy: DispatchPolicy | None = None,
        *,
        random_fraction: Callable[[], float] = random.random,
        bot: str | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.bot = bot  # with several bots: only rows to this bot's chats (domain/bots.py); None: all
        self.clock = clock
        self.api = api
        self.limiter = limiter
        self.policy = policy or DispatchPolicy()
        self.random_fraction = random_fraction

    async def run_once(self, max_rows: int | None = None) -> DispatchReport:
        """Send what is due now, up to ``max_rows`` (default: the policy's batch)."""
        report = DispatchReport()
        # Sessions block, so every database step runs in a worker thread; the loop keeps serving chats.
        claimed = await asyncio.to_thread(self._claim, max_rows or self.policy.batch)
        report.claimed = len(claimed)
        if not claimed:
            return report
        prepared = await asyncio.to_thread(self._prepare, claimed)
        chats = _by_chat(prepared).values()
        # return_exceptions: one chat's database error must not leave the other chats running unawaited.
        results = await asyncio.gather(*(self._send_chat(items, report) for items in chats), return_exceptions=True)
        for error in (r for r in results if isinstance(r, BaseException)):
            log.error("outbox run: a chat's sends stopped; its rows return when their lease ends", exc_info=error)
            report.errors.append(f"{type(error).__name__}: {error}")
        log.debug("outbox run: %s", report)
        return report

    # --- database steps (worker threads) ---------------------------------------------------------

    def _claim(self, limit: int) -> list[Claimed]:
        with self.uow_factory() as uow:
            rows = uow.outbox.claim_due(self.clock.now(), limit, self.policy.lease, bot=self.bot)
            claimed = [Claimed(r.id, r.chat_id, r.kind, dict(r.payload or {}), r.attempts, r.claimed_until) for r in rows]
            uow.commit()
        return claimed

    def _prepare(self, claimed: list[Claimed]) -> list[tuple[Claimed, Notification | Outcome]]:
        """Render every row in one read-only session; rows that need no send get their outcome here."""
        with self.uow_factory() as uow:
            blocked = uow.users.blocked_among(row.chat_id for row in claimed)
            prepared = self._prepare_batch(uow, claimed)
            return [(row, self._prepare_one(uow, row, blocked, prepared)) for row in claimed]

    def _prepare_batch(self, uow: UnitOfWork, claimed: list[Claimed]) -> Prepared | None:
        """What the batch's rows read in common (a city's daily schedules: a few queries, not a few each)."""
        try:
            return prepare_outbox(uow, claimed, self.clock.now())
        except Exception:  # rendered row by row instead, each failure kept to its row
            log.exception("preparing %d outbox rows failed", len(claimed))
            return None

    def _prepare_one(self, uow: UnitOfWork, row: Claimed, blocked: set[int],
                     prepared: Prepared | None = None) -> Notification | Outcome:
        if row.chat_id in blocked:
            return BLOCKED
        if row.attempts > self.policy.max_attempts:
            # Only claims that never recorded an outcome get here: a process that died mid-send, again and again.
            return Outcome("failed", f"claimed {row.attempts} times without a recorded outcome")
        try:
            rendered = render_outbox(uow, row, self.clock.now(), prepared)
        except Exception as error:  # a bug for this row must not stall the rest of the queue
            log.exception("rendering outbox row %s failed", row.id, extra={"outbox_id": row.id})
            return Outcome("failed", f"render error: {type(error).__name__}: {error}")
        if isinstance(rendered, NotRendered):
            return Outcome("skipped", rendered.reason)
        return rendered

    def _store(self, row: Claimed, outcome: Outcome) -> bool:
        """Record one outcome; False when this claim's lease had been overtaken by another claim."""
        with self.uow_factory() as uow:
            now = self.clock.now()
            settled = _settle(uow.outbox, row, outcome, now)
            if outcome.block_user:
                uow.users.mark_blocked(row.chat_id, now)
            if settled and outcome.status == "undeliverable" and row.chat_id > 0:
                # Nothing is dropped silently: the family's RT head learns that this one did not arrive.
                tell_rt_head_undeliverable(uow, row.kind, row.payload, row.chat_id, now)
            uow.commit()
        return settled

    def _release(self, rows: list[Claimed]) -> int:
        with self.uow_factory() as uow:
            released = uow.outbox.release_claims((r.id, r.lease) for r in rows)
            uow.commit()
        return released

    # --- sending (event loop) --------------------------------------------------------------------

    async def _send_chat(self, items: list[tuple[Claimed, Notification | Outcome]], report: DispatchReport) -> None:
        """One chat's rows in order. Rows not yet sent are handed back if the run stops early; the one
        being sent when the process is stopped is not (it may have gone out) and waits for its lease."""
        lane = Lane(items)

        async def ready(item: tuple[Claimed, Notification | Outcome]) -> bool:
            row, prepared = item
            return not isinstance(prepared, Notification) or await self._my_turn(row)

        async def process(item: tuple[Claimed, Notification | Outcome]) -> None:
            outcome = await _finish_even_if_cancelled(self._send_and_record(*item, report))
            if outcome.status == "undeliverable":
                # The same answer awaits every other message to this chat: do not ask again.
                lane.remap(lambda waiting: (waiting[0], _as_undeliverable(waiting[1], outcome)))

        try:
            await work_through(lane, ready, process)
        finally:
            if remaining := lane.unattempted():
                report.released += await asyncio.to_thread(self._release, [r for r, _ in remaining])

    async def _send_and_record(self, row: Claimed, prepared: Notification | Outcome, report: DispatchReport) -> Outcome:
        outcome = prepared if isinstance(prepared, Outcome) else await self._send(row, prepared)
        await self._record(row, outcome, report)
        return outcome

    async def _my_turn(self, row: Claimed) -> bool:
        """Wait for the limiter; False when the lease is about to end (then the rest is handed back)."""
        if self._lease_ending(row):
            return False
        await self.limiter.acquire(row.chat_id)
        return not self._lease_ending(row)  # the wait may have been long (a 429 pause)

    async def _send(self, row: Claimed, message: Notification) -> Outcome:
        action: SendMessage | EditMessage = (
            EditMessage(message.chat_id, message.edit_message_id, message.text, message.markup)  # type: ignore[arg-type]
            if message.edit_message_id is not None else SendMessage(message.chat_id, message.text, message.markup))
        try:
            await asyncio.wait_for(self._call(action), self.policy.send_timeout)
        except TelegramRefused as refused:
            judged = verdict(refused, action)
            if judged is Verdict.SEND_AS_NEW:  # a reply's edit whose message is gone: the screen as a new message
                return await self._send(row, replace(message, edit_message_id=None))
            if judged is Verdict.DONE:  # a reply's edit that changes nothing: the screen already shows it
                return Outcome("sent")
            return self._refused(row, refused, action)
        except TimeoutError:
            return self._transient(row, f"no answer within {self.policy.send_timeout:g}s (may have been delivered)")
        except Exception as error:  # an unmapped transport error: retry it rather than lose the message
            return self._transient(row, f"{type(error).__name__}: {error}")
        return Outcome("sent")

    async def _call(self, action: SendMessage | EditMessage) -> None:
        if isinstance(action, EditMessage):
            await self.api.edit_message(action)
        else:
            await self.api.send_message(action)

    def _refused(self, row: Claimed, refused: TelegramRefused, sent: SendMessage | EditMessage) -> Outcome:
        """What the refusal means (chat.client.verdict, the bot's one policy), as this row's outcome."""
        reason = f"{refused.kind}: {refused.description}".rstrip(": ")
        judged = verdict(refused, sent)
        if judged is Verdict.WAIT_AND_RETRY:
            self.limiter.penalize(refused.retry_after)
            return Outcome("retry", reason, delay=refused.retry_after, count_attempt=False)
        if judged is Verdict.RECIPIENT_BLOCKED:
            return Outcome("undeliverable", reason, block_user=True)
        if judged is Verdict.UNDELIVERABLE:
            return Outcome("undeliverable", reason)
        if judged in (Verdict.FAILED, Verdict.DONE, Verdict.SEND_AS_NEW):  # the last two never come of a send
            return Outcome("failed", reason)
        return self._transient(row, reason)  # network, server errors

    def _transient(self, row: Claimed, error: str) -> Outcome:
        if row.attempts >= self.policy.max_attempts:
            return Outcome("failed", f"gave up after {row.attempts} attempts; last error: {error}")
        return Outcome("retry", error, delay=self.backoff(row.attempts))

    def backoff(self, attempts: int) -> float:
        """Seconds before retry number ``attempts``: exponential, capped, with jitter (scheduling/leased_worker.py)."""
        return self.policy.backoff_at(attempts, self.random_fraction())

    async def _record(self, row: Claimed, outcome: Outcome, report: DispatchReport) -> None:
        settled = await asyncio.to_thread(self._store, row, outcome)
        if not settled:
            report.lost_lease += 1
            log.warning("outbox row %s: lease was overtaken before its outcome (%s) was recorded", row.id, outcome.status,
                        extra={"outbox_id": row.id})
            return
        report.count(outcome.status)
        if outcome.error and outcome.status != "retry":
            report.errors.append(f"{row.id}: {outcome.error}")
            log.info("outbox row %s %s: %s", row.id, outcome.status, outcome.error, extra={"outbox_id": row.id})

    def _lease_ending(self, row: Claimed) -> bool:
        return self.policy.lease_ending(row.lease, self.clock.now())


async def _finish_even_if_cancelled(step: Coroutine[Any, Any, Outcome]) -> Outcome:
    """Run a send-and-record step to its end even when the run is cancelled (a stop), then re-raise.

    A message that went out but whose outcome was never written would come back when its lease ends
    and reach the user twice; the wait is bounded by the send timeout plus one short transaction.
    """
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise


def _settle(outbox: Any, row: Claimed, outcome: Outcome, now: dt.datetime) -> bool:
    if outcome.status == "sent":
        return outbox.mark_sent(row.id, now, lease=row.lease)
    if outcome.status == "retry":
        due = now + dt.timedelta(seconds=outcome.delay)
        return outbox.mark_retry(row.id, due, outcome.error or "", lease=row.lease, count_attempt=outcome.count_attempt)
    if outcome.status == "undeliverable":
        return outbox.mark_undeliverable(row.id, outcome.error or "", lease=row.lease)
    if outcome.status == "skipped":
        return outbox.mark_skipped(row.id, outcome.error or "", lease=row.lease)
    return outbox.mark_failed(row.id, outcome.error or "", lease=row.lease)


def _by_chat(prepared: list[tuple[Claimed, Notification | Outcome]]) -> dict[int, list[tuple[Claimed, Notification | Outcome]]]:
    """Group by chat, keeping claim order (due time, id) within each chat."""
    chats: dict[int, list[tuple[Claimed, Notification | Outcome]]] = {}
    for row, item in prepared:
        chats.setdefault(row.chat_id, []).append((row, item))
    return chats


def _as_undeliverable(prepared: Notification | Outcome, cause: Outcome) -> Outcome:
    if isinstance(prepared, Outcome):
        return prepared
    return Outcome("undeliverable", cause.error)  # block_user is already recorded once
