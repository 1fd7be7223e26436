"""Settled outbox rows are kept for a while, then purged, so the queue table does not grow for ever.

A city's campaign writes about four rows per family (reminders, notices, daily lists): a million rows
for Samarinda. Rows still pending are never touched. A settled row (sent, skipped, undeliverable,
failed) is kept ``keep`` long after it was due and sent: long enough to answer "did the family get
the reminder?" and to look into failures; after that it only slows the dispatcher's index down.

    start_retention_job(scheduler, pintu, keep=dt.timedelta(days=30))   # next to the other jobs

The same nightly round keeps the privacy notice's promise on personal data (:func:`purge_personal_data`):
half-finished registrations and questionnaires after ``PINTU_DRAFT_KEEP_DAYS``, records with their
answers, geotag and photos ``PINTU_RECORD_KEEP_DAYS`` after the central registry received them.

Deleting happens in small batches, each its own transaction, so the dispatcher (which claims rows of
the same table) never waits long for a lock, also on PostgreSQL with several processes.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from domain.claims import ATTEMPT_WINDOW
from domain.clock import Clock
from domain.ports import UnitOfWork
from domain.privacy import remove_files

log = logging.getLogger(__name__)

JOB_ID = "outbox-retention"
BATCH = 5_000


def purge_settled_outbox(uow_factory: Callable[[], UnitOfWork], now: dt.datetime, keep: dt.timedelta,
                         batch: int = BATCH) -> int:
    """Delete settled rows due and sent more than ``keep`` before ``now``; returns how many were deleted."""
    cutoff = now - keep
    return _in_batches(uow_factory, lambda uow: uow.retention.purge_settled_outbox(cutoff, batch))


def _in_batches(uow_factory: Callable[[], UnitOfWork], purge: Callable[[UnitOfWork], int]) -> int:
    """Run ``purge`` (one batch) in a unit of work of its own, committed, until it deletes nothing: short
    transactions that never hold a big lock; returns how many rows were deleted in all."""
    deleted = 0
    while True:
        with uow_factory() as uow:
            purged = purge(uow)
            if not purged:
                return deleted
            uow.commit()
        deleted += purged


def purge_old_kk_attempts(uow_factory: Callable[[], UnitOfWork], now: dt.datetime) -> int:
    """The KK attempts the rate limits no longer look at (older than their window, with a day's margin):
    a keyed digest of a typed number is still a trace of someone's card, kept no longer than needed. A
    day's attempts are a few thousand rows at most: one statement."""
    with uow_factory() as uow:
        deleted = uow.claims.forget_attempts(now - ATTEMPT_WINDOW - dt.timedelta(days=1))
        uow.commit()
    return deleted


def run_retention(uow_factory: Callable[[], UnitOfWork], clock: Clock, keep: dt.timedelta) -> int:
    deleted = purge_settled_outbox(uow_factory, clock.now(), keep)
    if deleted:
        log.info("purged %d settled outbox rows older than %d days", deleted, keep.days)
    attempts = purge_old_kk_attempts(uow_factory, clock.now())
    if attempts:
        log.info("purged %d KK attempts past the rate limits' window", attempts)
    sign_ins = purge_expired_sign_ins(uow_factory, clock.now())
    if sign_ins:
        log.info("purged %d expired dashboard links and sessions", sign_ins)
    return deleted


def purge_expired_sign_ins(uow_factory: Callable[[], UnitOfWork], now: dt.datetime) -> int:
    """The web dashboard's links and sessions that expired more than a day ago: they open nothing, and a
    day's margin keeps "this link has expired" (rather than "unknown link") for whoever opens one late."""
    with uow_factory() as uow:
        deleted = uow.web.forget_before(now - dt.timedelta(days=1))
        uow.commit()
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


# --- personal data (the privacy notice's "how long") ------------------------------------------------

PERSONAL_JOB_ID = "personal-data-retention"
RECORD_BATCH = 500  # records per transaction: each takes its photos and delivery rows with it


@dataclass
class PurgeReport:
    """What one run deleted (logged as counts, never as names)."""

    drafts: int = 0
    records: int = 0
    photos: int = 0
    conversations: int = 0
    request_texts: int = 0  # closed correction requests whose words were blanked


def purge_personal_data(uow_factory: Callable[[], UnitOfWork], now: dt.datetime, media_dir: str | Path,
                        draft_keep: dt.timedelta | None, record_keep: dt.timedelta | None,
                        batch: int = RECORD_BATCH) -> PurgeReport:
    """Delete, in batches of one transaction each: drafts and conversations (a half-finished
    registration's name and KK) untouched for ``draft_keep``; records every registry received more than
    ``record_keep`` ago, with their answers, geotag and photos (files too). None keeps that kind."""
    report = PurgeReport()
    if draft_keep is not None:
        cutoff = now - draft_keep
        report.drafts, photos = _records_in_batches(uow_factory, lambda uow: uow.privacy.stale_drafts(cutoff, batch), media_dir)
        report.photos += photos
        report.conversations = _conversations(uow_factory, cutoff, batch)
        with uow_factory() as uow:  # a few rows a night: one statement
            report.request_texts = uow.privacy.forget_closed_texts(cutoff)
            uow.commit()
    if record_keep is not None:
        cutoff = now - record_keep
        report.records, photos = _records_in_batches(uow_factory, lambda uow: uow.privacy.delivered_before(cutoff, batch), media_dir)
        report.photos += photos
    return report


def _records_in_batches(uow_factory: Callable[[], UnitOfWork], pick: Callable[[UnitOfWork], list[str]],
                        media_dir: str | Path) -> tuple[int, int]:
    """Delete the records ``pick`` names, batch by batch, then their photo files; (records, photos)."""
    records = photos = 0
    while True:
        with uow_factory() as uow:
            ids = pick(uow)
            if not ids:
                return records, photos
            paths = uow.privacy.delete_records(ids)
            uow.commit()
        # Files go once their rows are gone for good: a failed commit leaves both in place.
        remove_files(media_dir, paths)
        records, photos = records + len(ids), photos + len(paths)


def _conversations(uow_factory: Callable[[], UnitOfWork], cutoff: dt.datetime, batch: int) -> int:
    return _in_batches(uow_factory, lambda uow: uow.privacy.stale_conversations(cutoff, batch))


def run_personal_retention(pintu: Any) -> PurgeReport:
    settings = pintu.settings
    report = purge_personal_data(pintu.uow, pintu.clock.now(), settings.media_dir, settings.draft_keep,
                                 settings.record_keep)
    log.info("personal data retention: %d drafts, %d delivered records, %d photos, %d conversations deleted; "
             "%d closed requests' texts blanked", report.drafts, report.records, report.photos, report.conversations,
             report.request_texts)
    return report


def start_personal_data_job(scheduler: Any, pintu: Any) -> str | None:
    """Nightly at 02.45 UTC (after the outbox purge); None when both kinds are kept for ever."""
    if pintu.settings.draft_keep is None and pintu.settings.record_keep is None:
        return None

    async def tick() -> None:
        try:
            await asyncio.to_thread(run_personal_retention, pintu)
        except Exception:
            log.exception("personal data retention run failed")

    scheduler.add_job(tick, CronTrigger(hour=2, minute=45, timezone=dt.timezone.utc), id=PERSONAL_JOB_ID,
                      name="personal data retention", max_instances=1, coalesce=True, misfire_grace_time=3600,
                      replace_existing=True)
    return PERSONAL_JOB_ID
