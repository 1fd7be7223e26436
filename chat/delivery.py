"""Direct replies, delivered or accounted for: every action a step returns reaches Telegram, or is
handed to the outbox with the reason, or ends with a status (undeliverable, failed) — never dropped.

New messages wait for the rate limiter the outbox dispatcher uses (the bot's ~30 messages/s overall and
about one a second to one chat), so a crowd acting at once is answered at Telegram's pace instead of
provoking 429s. A 429 pauses every send for its ``retry_after`` (the limiter), then the same request goes
again; a 5xx, a timeout or a network error is retried with backoff and jitter. Whatever is still not
delivered ``deadline`` seconds after the step is handed to the outbox (its row, written ahead with the
step, becomes due at once), and the dispatcher carries on with it.

No message twice: a request is repeated only when Telegram did not perform it (a 429, a 5xx) or could
not be reached; the HTTP timeouts of the transports are long enough (bot/transport.py) that a slow
Telegram delays an answer rather than making it look lost. An edit repeated is harmless: an edit that
changes nothing is "not modified", which counts as delivered, and an edit whose message is gone becomes
the same screen as a new message.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from chat.client import ApiClient, Sent, TelegramRefused, Verdict, verdict
from chat.events import Action, AnswerCallback, EditMessage, SendDocument, SendMessage, SendPhoto, SetChatMenu

log = logging.getLogger(__name__)


class Delivery(StrEnum):
    """What became of one reply."""

    SENT = "sent"
    RETRIED = "retried"  # sent, after one or more retries
    HANDED_OVER = "handed_over"  # to the outbox (the dispatcher sends it, or settles it with a reason)
    UNDELIVERABLE = "undeliverable"  # the user blocked the bot, or the chat is gone
    FAILED = "failed"  # Telegram refused the request itself (a bug: logged with its reason)
    DROPPED = "dropped"  # a callback answer or menu that came too late to matter (nothing is lost)


@dataclass(frozen=True)
class DeliveryPolicy:
    deadline: float = 30.0  # seconds a reply may take here before the outbox takes it over
    backoff_base: float = 0.5  # seconds before the first retry of a 5xx/timeout; doubles per attempt
    backoff_cap: float = 8.0


class Limiter:
    """What delivery needs of chat.ratelimit.RateLimiter (a Protocol would do; this documents it)."""

    async def acquire(self, chat_id: int) -> None: ...

    def penalize(self, retry_after: float) -> None: ...


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    reason: str = ""
    sent: Sent | None = None


Observe = Callable[[Delivery, Action, int | None], None]


class ReplySender:
    """Delivers the actions of one update in order (see the module docstring)."""

    def __init__(self, client: ApiClient, limiter: Limiter | None = None, *,
                 on_blocked: Callable[[int], Awaitable[None]] | None = None,
                 policy: DeliveryPolicy = DeliveryPolicy(), observe: Observe | None = None,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 monotonic: Callable[[], float] = time.monotonic,
                 random_fraction: Callable[[], float] = random.random) -> None:
        self.client = client
        self.limiter = limiter
        self.on_blocked = on_blocked
        self.policy = policy
        self.observe = observe
        self.sleep = sleep
        self.monotonic = monotonic
        self.random_fraction = random_fraction

    async def run(self, actions: list[Action], update_id: int | None = None) -> list[Outcome]:
        """Deliver ``actions`` in order; one outcome each."""
        deadline = self.monotonic() + self.policy.deadline
        outcomes = []
        for action in actions:
            outcome = await self.deliver(action, deadline)
            outcomes.append(outcome)
            if self.observe is not None:
                self.observe(outcome.delivery, action, update_id)
            if outcome.delivery not in (Delivery.SENT, Delivery.RETRIED):
                log.info("reply %s of update %s: %s %s", type(action).__name__, update_id, outcome.delivery.value,
                         outcome.reason, extra={"update_id": update_id})
        return outcomes

    async def deliver(self, action: Action, deadline: float) -> Outcome:
        attempt = 0
        while True:
            attempt += 1
            paced = isinstance(action, (SendMessage, SendDocument, SendPhoto)) and self.limiter is not None
            try:
                if paced:
                    await self.limiter.acquire(action.chat_id)  # type: ignore[union-attr]
                sent = await self._call(action)
                return Outcome(Delivery.SENT if attempt == 1 else Delivery.RETRIED, sent=sent)
            except TelegramRefused as refused:
                judged, retry_after = verdict(refused, action), refused.retry_after
                reason = f"{refused.kind}: {refused.description}".rstrip(": ")
            except (TimeoutError, OSError) as error:  # the transports map their own to NETWORK already
                judged, retry_after, reason = Verdict.RETRY_LATER, 0.0, f"{type(error).__name__}: {error}"
            if judged is Verdict.SEND_AS_NEW and isinstance(action, EditMessage):
                action = SendMessage(action.chat_id, action.text, action.markup)  # the message to edit is gone
                continue
            final = await self._final(action, judged, reason)
            if final is not None:
                return final
            if judged is Verdict.WAIT_AND_RETRY:
                if self.limiter is not None:
                    self.limiter.penalize(retry_after)  # every send pauses, not only this one
                wait = 0.0 if paced else retry_after  # a paced send waits in the limiter's pause
                due = retry_after
            else:
                wait = due = self._backoff(attempt)
            if self.monotonic() + due > deadline:
                return self._give_up(action, reason)
            await self.sleep(wait)

    async def _final(self, action: Action, judged: Verdict, reason: str) -> Outcome | None:
        """The outcome when the verdict ends the delivery; None when it is to be tried again."""
        if judged is Verdict.DONE:
            return Outcome(Delivery.SENT, reason)
        if judged is Verdict.RECIPIENT_BLOCKED:
            chat_id = getattr(action, "chat_id", None)
            if chat_id is not None and self.on_blocked is not None:
                await self.on_blocked(chat_id)
            return Outcome(Delivery.UNDELIVERABLE, reason)
        if judged is Verdict.UNDELIVERABLE:
            return Outcome(Delivery.UNDELIVERABLE, reason)
        if judged is Verdict.FAILED:
            if isinstance(action, AnswerCallback):  # a press answered too late ("query is too old")
                return Outcome(Delivery.DROPPED, reason)
            log.warning("Telegram refused %s: %s", type(action).__name__, reason)
            return Outcome(Delivery.FAILED, reason)
        return None

    def _backoff(self, attempt: int) -> float:
        """Exponential, capped, with jitter in [50%, 100%] (retries of a blip do not come back together)."""
        ceiling = min(self.policy.backoff_cap, self.policy.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self.random_fraction())

    def _give_up(self, action: Action, reason: str) -> Outcome:
        if isinstance(action, (SendMessage, EditMessage)):
            return Outcome(Delivery.HANDED_OVER, reason)
        return Outcome(Delivery.DROPPED if isinstance(action, (AnswerCallback, SetChatMenu)) else Delivery.FAILED, reason)

    async def _call(self, action: Action) -> Sent | None:
        if isinstance(action, SendMessage):
            return await self.client.send_message(action)
        if isinstance(action, EditMessage):
            await self.client.edit_message(action)
            return None
        if isinstance(action, SendDocument):
            return await self.client.send_document(action)
        if isinstance(action, SendPhoto):
            return await self.client.send_photo(action)
        if isinstance(action, SetChatMenu):
            await self.client.set_chat_menu(action)
            return None
        await self.client.answer_callback(action)
        return None
