"""Long polling that loses nothing: a batch of updates is stored before Telegram is told it arrived.

Telegram considers an update delivered once getUpdates is called with an offset above its id. The
frameworks' own polling loops ask for the next batch while the last one is still being handled, so a
process killed then had its updates acknowledged and never handled. Here each batch is written to the
``inbox`` table first, and only then does the next getUpdates (with the new offset) confirm it. An
update is marked handled in its step's own transaction (handlers/app.py, with the replies written
ahead), so it is handled exactly once: a process that starts handles what a dead one had stored and
not handled, and an update Telegram sends again (not yet acknowledged when the process died) is known
and skipped. Handled rows are deleted once an offset above them was asked for.

Webhook mode needs none of this: the 200 is answered only after the update was handled.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Fetch = Callable[[int | None], Awaitable[list[dict[str, Any]]]]  # offset -> updates (as Bot API JSON)
Feed = Callable[[dict[str, Any]], Awaitable[None]]
ERROR_PAUSES = (1.0, 2.0, 5.0, 10.0)  # seconds before asking again after getUpdates failed, growing


class InboxStore:
    """The ``inbox`` table of one bot, from the event loop (the database work runs in threads)."""

    def __init__(self, pintu: Any) -> None:
        self.pintu = pintu
        self.bot = pintu.settings.bot_key

    async def keep(self, updates: list[dict[str, Any]], acknowledged_below: int | None) -> list[dict[str, Any]]:
        """Store what is new (and return it); forget handled updates below the offset Telegram was given."""
        return await asyncio.to_thread(self._keep, updates, acknowledged_below)

    async def pending(self) -> list[dict[str, Any]]:
        return await asyncio.to_thread(self._pending)

    async def done(self, update_id: int) -> None:
        await asyncio.to_thread(self._done, update_id)

    def _keep(self, updates: list[dict[str, Any]], acknowledged_below: int | None) -> list[dict[str, Any]]:
        with self.pintu.uow() as uow:
            fresh = uow.inbox.keep(self.bot, updates, self.pintu.clock.now())
            if acknowledged_below is not None:
                uow.inbox.prune(self.bot, acknowledged_below)
            uow.commit()
        return fresh

    def _pending(self) -> list[dict[str, Any]]:
        with self.pintu.uow() as uow:
            return uow.inbox.pending(self.bot)

    def _done(self, update_id: int) -> None:
        """After the feed: an update whose step did not commit (a bug, skipped as superseded) is not
        tried again at every start."""
        with self.pintu.uow() as uow:
            uow.inbox.mark_handled(self.bot, update_id, self.pintu.clock.now())
            uow.commit()


class DurablePolling:
    """``await polling.run()`` until ``stop()``: fetch, store, acknowledge (by asking again), handle."""

    def __init__(self, fetch: Fetch, feed: Feed, store: InboxStore) -> None:
        self.fetch = fetch
        self.feed = feed
        self.store = store
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self.started = asyncio.Event()

    async def run(self) -> None:
        left = await self.store.pending()  # what a process that died had received but not handled
        if left:
            log.info("handling %d update(s) received before a restart", len(left))
        for data in left:
            self._spawn(data)
        offset: int | None = None
        errors = 0
        self.started.set()
        while not self._stopping.is_set():
            try:
                updates = await self._next(offset)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # network, 5xx, 409 (another poller): ask again after a pause
                pause = ERROR_PAUSES[min(errors, len(ERROR_PAUSES) - 1)]
                errors += 1
                log.warning("getUpdates failed (%s); again in %.0f s", error, pause)
                await self._pause(pause)
                continue
            errors = 0
            if not updates:
                continue
            fresh = await self.store.keep(updates, offset)  # durable before the next getUpdates acknowledges
            offset = updates[-1]["update_id"] + 1
            for data in fresh:
                self._spawn(data)

    async def stop(self) -> None:
        """Stop asking for updates; updates already being handled finish (the transport waits for them)."""
        self._stopping.set()

    async def wait_handled(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _next(self, offset: int | None) -> list[dict[str, Any]]:
        fetch = asyncio.ensure_future(self.fetch(offset))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not fetch.done():  # stopped during a long poll: nothing fetched, nothing to acknowledge
            fetch.cancel()
            with contextlib.suppress(BaseException):
                await fetch
            return []
        return fetch.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _spawn(self, data: dict[str, Any]) -> None:
        # Tasks start in arrival order and reach the per-user order gate before their first real
        # suspension (bot/transport.PerUserOrder), so one user's updates keep their order.
        task = asyncio.create_task(self._handle(data), name=f"update-{data.get('update_id')}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, data: dict[str, Any]) -> None:
        try:
            await self.feed(data)
        except Exception:
            log.exception("error while processing update %s", data.get("update_id"))
        try:
            await self.store.done(data["update_id"])
        except Exception:  # it stays in the inbox: handled again after a restart, and dropped as a repeat
            log.warning("could not clear update %s from the inbox", data.get("update_id"), exc_info=True)
