"""APScheduler as the clock only: it says "now" every ``outbox_interval`` seconds; the database is the queue.

Nothing is stored in APScheduler (memory job store, one interval job): what to send and when lives
in the outbox table, so a restart, or several processes, lose and duplicate nothing.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from chat.client import ApiClient
from scheduling.dispatcher import DispatchPolicy, DispatchReport, OutboxDispatcher
from chat.ratelimit import RateLimiter

log = logging.getLogger(__name__)

JOB_ID = "outbox"


class OutboxJob:
    """The interval job: one dispatcher run per tick, remembering the run in flight so stop() can wait."""

    def __init__(self, dispatcher: OutboxDispatcher, batch: int | None = None) -> None:
        self.dispatcher = dispatcher
        self.batch = batch
        self.running: asyncio.Task[Any] | None = None

    async def run(self) -> DispatchReport | None:
        self.running = asyncio.current_task()
        try:
            return await self.dispatcher.run_once(self.batch)
        except Exception:
            # Logged here with context; the next tick simply tries again (the rows are still in the table).
            log.exception("outbox dispatcher run failed")
            return None
        finally:
            self.running = None


class OutboxScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler that knows its outbox job, so it can stop without leaving rows claimed."""

    def __init__(self, job: OutboxJob, interval: float, **options: Any) -> None:
        super().__init__(timezone=dt.timezone.utc, **options)
        self.outbox_job = job
        self.add_job(
            job.run, "interval", seconds=interval, id=JOB_ID, name="outbox dispatcher",
            max_instances=1,  # never two runs of one process at once; a slow run makes ticks wait
            coalesce=True,  # ticks missed while busy become one run, not a burst
            misfire_grace_time=None,  # a late tick still runs: the queue is in the database anyway
        )

    async def stop(self, timeout: float | None = None) -> None:
        """Stop ticking and cancel the run in flight; wait until it has handed back its unsent rows.

        A send already under way is finished and recorded first, so the default wait covers one send
        timeout; past ``timeout`` the run is left to its lease (nothing is lost, a message may repeat).
        """
        if timeout is None:
            timeout = self.outbox_job.dispatcher.policy.send_timeout + 5.0
        running = self.outbox_job.running
        if self.running:
            self.shutdown(wait=False)
            # AsyncIOScheduler shuts down on the next loop iteration, cancelling the job's task itself.
            await asyncio.sleep(0)
        if running is None or running.done():
            return
        if not running.cancelling():  # a second cancel would interrupt the run's own clean-up
            running.cancel()
        await asyncio.wait({running}, timeout=timeout)


def batch_size(settings: Any) -> int:
    """About one tick's worth of sends at the full rate, so a run usually ends before the next tick."""
    return max(1, math.ceil(settings.send_rate * settings.outbox_interval))


def build_dispatcher(pintu: Any, api: ApiClient, limiter: RateLimiter | None = None,
                     policy: DispatchPolicy | None = None) -> OutboxDispatcher:
    # The bot process's own limiter when it has one: its replies and the outbox share one pace.
    limiter = limiter or getattr(pintu, "limiter", None) or RateLimiter.from_settings(pintu.settings)
    policy = policy or DispatchPolicy(batch=batch_size(pintu.settings))
    # Several bots: each bot's process sends its own chats' rows, at its own limits (domain/bots.py).
    key = getattr(pintu.settings, "bot_key", "")
    return OutboxDispatcher(pintu.uow, pintu.clock, api, limiter, policy, bot=key or None)


def build_scheduler(dispatcher: OutboxDispatcher, interval: float) -> OutboxScheduler:
    """A scheduler with the outbox job, not yet started (start() needs a running event loop)."""
    if interval <= 0:
        raise ValueError("outbox_interval must be positive")
    return OutboxScheduler(OutboxJob(dispatcher, dispatcher.policy.batch), interval)


def start_scheduler(pintu: Any, api: ApiClient, *, limiter: RateLimiter | None = None,
                    policy: DispatchPolicy | None = None) -> OutboxScheduler:
    """Start dispatching ``pintu``'s outbox through ``api`` (a transport's ``.api``); call inside the loop.

    Stop with ``await scheduler.stop()``, which waits until a run in flight has handed back its unsent
    rows. ``scheduler.shutdown(wait=False)`` also works, but does not wait: if the loop or the engine
    is closed right after it, those rows come back only when their lease ends (nothing is lost).
    """
    scheduler = build_scheduler(build_dispatcher(pintu, api, limiter, policy), pintu.settings.outbox_interval)
    scheduler.start()
    return scheduler
