"""The daily messages as APScheduler cron jobs, one per Indonesian time zone.

    start_schedule_jobs(scheduler, pintu)     # next to start_scheduler(...) in bot/service.py

As everywhere, APScheduler is only the clock: every 5 minutes of local time (so 06.00 WIB/WITA/WIT
exactly, and any per-area hour on a 5-minute grid) a job queues the day's enumerator schedules and
the RT heads' evening summaries that are due and not yet queued (domain/reminders.py:enqueue_daily);
the dispatcher sends them. ``daily_digests`` holds one row per person, kind and local day, so a
second process, a restart or a catch-up run never queues one twice. Each job also runs once at start:
after a downtime the day's schedule still goes out (until 15.00 local), the evening summary until
midnight. Reminders need no job: they are outbox rows with their own due time, and the dispatcher
skips the stale ones (visit begun, moved or cancelled).
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
from domain.reminders import enqueue_daily
from domain.rt_groups import enqueue_group_progress

log = logging.getLogger(__name__)

ZONES = ("Asia/Jakarta", "Asia/Pontianak", "Asia/Makassar", "Asia/Jayapura")  # WIB, WIB, WITA, WIT
JOB_PREFIX = "daily-"


def run_daily(uow_factory: Callable[[], UnitOfWork], clock: Clock, zone: str | None = None) -> int:
    """One run: queue what is due in ``zone`` (all zones when None); returns how many rows were queued."""
    with uow_factory() as uow:
        queued = enqueue_daily(uow, clock.now(), zone)
        queued += enqueue_group_progress(uow, clock.now(), zone)  # the linked RT groups' progress lines, due at the evening summary's hour
        uow.commit()
    if queued:
        log.info("queued %d daily messages (%s)", queued, zone or "all zones")
    return queued


def start_schedule_jobs(scheduler: Any, pintu: Any, zones: tuple[str, ...] = ZONES) -> list[str]:
    """Add one cron job per zone to ``scheduler`` (an AsyncIOScheduler); returns the job ids."""
    ids = []
    for zone in zones:
        async def tick(zone: str = zone) -> None:
            try:
                await asyncio.to_thread(run_daily, pintu.uow, pintu.clock, zone)
            except Exception:
                log.exception("daily messages run failed (%s)", zone)

        job_id = JOB_PREFIX + zone
        scheduler.add_job(tick, CronTrigger(minute="*/5", timezone=zone), id=job_id, name=f"daily messages {zone}",
                          max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True,
                          next_run_time=dt.datetime.now(dt.timezone.utc))  # a catch-up run at start
        ids.append(job_id)
    return ids

