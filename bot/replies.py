"""One update's whole life once converted: the step in a worker thread, its replies delivered, and the
rows the step wrote ahead to the outbox settled.

Each message and edit a step returns is written to the outbox in the step's own transaction, due only
after ``reply_grace`` (PintuHandlers.reply_grace). Here it is sent at once (chat/delivery.py); then its
row is deleted (delivered), made due now (handed over: the dispatcher carries on with it), or settled
with the reason (undeliverable, failed). If the process dies in between, the row becomes due when the
grace ends and the dispatcher sends it: the answer to a step that was committed is never lost.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from chat.client import ApiClient
from chat.delivery import Delivery, DeliveryPolicy, Outcome, ReplySender
from chat.events import Incoming

log = logging.getLogger(__name__)


class Replies:
    """``await replies.serve(event)`` for every update a transport has converted."""

    def __init__(self, pintu: Any, api: ApiClient, *, sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.pintu = pintu
        settings = pintu.settings
        self.sender = ReplySender(api, pintu.limiter, on_blocked=pintu.mark_blocked,
                                  policy=DeliveryPolicy(deadline=settings.reply_deadline),
                                  observe=pintu.metrics.observe_reply, sleep=sleep)

    async def serve(self, event: Incoming) -> None:
        handled = await asyncio.to_thread(self.pintu.handlers.handle_journaled, event)
        outcomes = await self.sender.run(handled.actions, event.update_id)
        written = [(row, outcome) for row, outcome in zip(handled.journal, outcomes) if row is not None]
        if written:
            try:
                await asyncio.to_thread(self._settle, written)
            except Exception:  # the rows stay due after the grace: sent again rather than lost
                log.warning("could not settle the replies of update %s", event.update_id, exc_info=True,
                            extra={"update_id": event.update_id})

    def _settle(self, written: list[tuple[int, Outcome]]) -> None:
        with self.pintu.uow() as uow:
            now: dt.datetime = self.pintu.clock.now()
            delivered = [row for row, outcome in written if outcome.delivery in (Delivery.SENT, Delivery.RETRIED)]
            uow.outbox.forget(delivered)
            for row, outcome in written:
                if outcome.delivery is Delivery.HANDED_OVER:
                    uow.outbox.mark_retry(row, now, f"handed over: {outcome.reason}")
                elif outcome.delivery is Delivery.UNDELIVERABLE:
                    uow.outbox.mark_undeliverable(row, outcome.reason)
                elif outcome.delivery in (Delivery.FAILED, Delivery.DROPPED):
                    uow.outbox.mark_failed(row, outcome.reason)
            uow.commit()
