"""Settled outbox rows are kept for a while, then purged, so the queue table does not grow for ever.

A city's campaign writes about four rows per family (reminders, notices, daily lists): a million rows
for Samarinda. Rows still pending are never touched. A settled row (sent, skipped, undeliverable,
failed) is kept ``keep`` long after it was due and sent: long enough to answer "did the family get
the reminder?" and to look into failures; after that it only slows the dispatcher's index down.

    start_retention_job(scheduler, pintu, keep=dt.timedelta(days=30))   # next to the other jobs

Deleting happens in small batches, each its own transaction, so the dispatcher (which claims rows of
the same table) never waits long for a lock, also on PostgreSQL with several processes.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from domain.clock import Clock
from domain.ports import UnitOfWork

log = logging.getLogger(__name__)

JOB_ID = "outbox-retention"
BATCH = 5_000


def purge_settled_outbox(uow_factory: Callable[[], UnitOfWork], now: dt.datetime, keep: dt.timedelta,
                         batch: int = BATCH) -> int:
    """Delete settled rows due and sent more than ``keep`` before ``now``; returns how many were deleted."""
    cutoff = now - keep
    deleted = 0
    while True:
        with uow_factory() as uow:
            purged = uow.retention.purge_settled_outbox(cutoff, batch)
            if not purged:
                return deleted
            uow.commit()
        deleted += purged


def run_retention(uow_factory: Callable[[], UnitOfWork], clock: Clock, keep: dt.timedelta) -> int:
    deleted = purge_settled_outbox(uow_factory, clock.now(), keep)
    if deleted:
        log.info("purged %d settled outbox rows older than %d days", deleted, keep.days)
    return deleted


def start_retention_job(scheduler: Any, pintu: Any, keep: dt.timedelta | None) -> str | None:
    """A nightly purge (02.30 UTC: before dawn in every Indonesian zone, far from the 06.00 lists);
    None when retention is switched off (``keep`` None)."""
    if keep is None:
        return None

    async def tick() -> None:
        try:
            await asyncio.to_thread(run_retention, pintu.uow, pintu.clock, keep)
        except Exception:
            log.exception("outbox retention run failed")

    scheduler.add_job(tick, CronTrigger(hour=2, minute=30, timezone=dt.timezone.utc), id=JOB_ID,
                      name="outbox retention", max_instances=1, coalesce=True, misfire_grace_time=3600,
                      replace_existing=True)
    return JOB_ID
