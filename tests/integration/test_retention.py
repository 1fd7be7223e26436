"""Settled outbox rows are purged after the retention period; pending ones never are (both backends)."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from domain.model import OutboxMessage
from scheduling.retention import purge_expired_sign_ins, purge_old_kk_attempts, purge_settled_outbox

NOW = dt.datetime(2026, 12, 20, 3, 0, tzinfo=dt.timezone.utc)
KEEP = dt.timedelta(days=30)


def add(uow_factory, status: str, due_days_ago: float, sent_days_ago: float | None = None) -> int:
    with uow_factory() as uow:
        due = NOW - dt.timedelta(days=due_days_ago)
        uow.outbox.add(4001, "visit-new", {"family_id": 1}, due_at=due, now=due)
        row = uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)).one()
        row.status = status
        row.sent_at = NOW - dt.timedelta(days=sent_days_ago) if sent_days_ago is not None else None
        uow.commit()
        return row.id


def remaining(uow_factory) -> set[int]:
    with uow_factory() as uow:
        return set(uow.session.scalars(select(OutboxMessage.id)))


def test_old_settled_rows_go_and_everything_else_stays(uow_factory):
    gone = {add(uow_factory, "sent", 45, 45), add(uow_factory, "undeliverable", 40), add(uow_factory, "failed", 31),
            add(uow_factory, "skipped", 60)}
    kept = {add(uow_factory, "pending", 90),  # never sent (e.g. the dispatcher was down): never purged
            add(uow_factory, "sent", 10, 10), add(uow_factory, "failed", 29),
            add(uow_factory, "sent", 45, 5)}  # due long ago, but sent only recently (after a backlog)
    assert purge_settled_outbox(uow_factory, NOW, KEEP, batch=2) == len(gone)
    assert remaining(uow_factory) == kept
    assert purge_settled_outbox(uow_factory, NOW, KEEP) == 0  # a second run finds nothing more


def test_kk_attempts_are_forgotten_once_the_rate_limits_no_longer_count_them(uow_factory):
    from domain.model import User

    with uow_factory() as uow:
        user = uow.users.add(User(telegram_id=4002, first_name="Wati", language="id", consent_version="2026-1",
                                   consent_at=NOW, created_at=NOW))
        for hours_ago in (1, 30, 50, 24 * 9):
            uow.claims.add_attempt(user.id, f"digest-{hours_ago}", NOW - dt.timedelta(hours=hours_ago))
        uow.commit()
        user_id = user.id
    assert purge_old_kk_attempts(uow_factory, NOW) == 2  # 50 h and 9 days ago: past the 24 h window + a day
    with uow_factory() as uow:
        assert uow.claims.attempts_by_user(user_id, NOW - dt.timedelta(days=30)) == 2


def test_expired_dashboard_links_and_sessions_are_forgotten_a_day_later(uow_factory):
    from domain.model import User

    with uow_factory() as uow:
        user = uow.users.add(User(telegram_id=4003, first_name="Pak Pengawas", language="id", role="supervisor",
                                  consent_version="staff-2026-2", consent_at=NOW, created_at=NOW))
        for n, expired_hours_ago in enumerate((30, 2, -5)):
            expires = NOW - dt.timedelta(hours=expired_hours_ago)
            uow.web.add_link(f"link-{n}".ljust(64, "0"), user.id, expires - dt.timedelta(minutes=10), expires)
            uow.web.add_session(f"session-{n}".ljust(64, "0"), user.id, "id", expires - dt.timedelta(hours=8), expires)
        uow.commit()
    assert purge_expired_sign_ins(uow_factory, NOW) == 2  # the link and the session that expired 30 h ago
    with uow_factory() as uow:
        assert uow.web.link("link-1".ljust(64, "0")) is not None  # expired 2 h ago: still says "expired"
        assert uow.web.session_of("session-2".ljust(64, "0")) is not None


def test_the_retention_setting_and_its_nightly_job():
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.config import Settings
    from scheduling.retention import JOB_ID, start_retention_job

    assert Settings.from_env({}).outbox_keep == dt.timedelta(days=30)
    assert Settings.from_env({"PINTU_OUTBOX_KEEP_DAYS": "90"}).outbox_keep == dt.timedelta(days=90)
    assert Settings.from_env({"PINTU_OUTBOX_KEEP_DAYS": "0"}).outbox_keep is None  # kept for ever
    with pytest.raises(ValueError):
        Settings.from_env({"PINTU_OUTBOX_KEEP_DAYS": "a month"})
    scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
    assert start_retention_job(scheduler, object(), None) is None and scheduler.get_jobs() == []
    assert start_retention_job(scheduler, object(), dt.timedelta(days=30)) == JOB_ID
    trigger = str(scheduler.get_job(JOB_ID).trigger)
    assert "hour='2'" in trigger and "minute='30'" in trigger
