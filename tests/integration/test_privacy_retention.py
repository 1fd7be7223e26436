"""Personal data is kept only as long as the privacy notice says (scheduling/retention.py), on SQLite and
PostgreSQL: old drafts and conversations go after PINTU_DRAFT_KEEP_DAYS, records (answers, geotag, photos)
PINTU_RECORD_KEEP_DAYS after the registry received them, in batches; fresh ones, and records the registry
has not received yet, stay. Also: the erasure deletes on both backends."""
from __future__ import annotations

import datetime as dt
import logging
import uuid

import pytest
from sqlalchemy import select

from domain.model import Conversation, Family, OutboxMessage, PrivacyRequest, Record, RecordDelivery, RecordPhoto, User
from domain.privacy import current_notice, erase_person
from scheduling.retention import purge_personal_data, run_personal_retention
from storage.seed import seed_demo

NOW = dt.datetime(2026, 12, 20, 3, 0, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


@pytest.fixture
def media(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    return folder


def _family(uow_factory) -> int:
    with uow_factory() as uow:
        seed_demo(uow, NOW - 400 * DAY)
        uow.commit()
        return uow.session.scalar(select(Family.id).order_by(Family.id).limit(1))


def _record(uow_factory, family_id: int, *, touched_days_ago: float, status: str = "draft",
            delivered_days_ago: float | None = None, pending: bool = False, media=None) -> str:
    when = NOW - touched_days_ago * DAY
    record_id = str(uuid.uuid4())
    with uow_factory() as uow:
        uow.records.add(Record(id=record_id, family_id=family_id, form_id="f", form_version="1", status=status,
                               answers={"q": 1}, created_at=when, updated_at=when))
        if media is not None:
            name = f"{record_id}.jpg"
            (media / name).write_bytes(b"x")
            uow.records.add_photo(RecordPhoto(record_id=record_id, path=name, sha256="0" * 64, size=1, mime="image/jpeg"))
        if delivered_days_ago is not None or pending:
            row = uow.deliveries.add(record_id, "registry", when)
            if delivered_days_ago is not None:
                row.status, row.delivered_at = "delivered", NOW - delivered_days_ago * DAY
        uow.commit()
    return record_id


def _ids(uow_factory, model, column) -> set:
    with uow_factory() as uow:
        return set(uow.session.scalars(select(column)))


def test_old_drafts_and_delivered_records_go_in_batches_and_fresh_ones_stay(uow_factory, media):
    family = _family(uow_factory)
    old_drafts = {_record(uow_factory, family, touched_days_ago=d, media=media) for d in (31, 40, 90)}
    fresh_draft = _record(uow_factory, family, touched_days_ago=29)
    old_delivered = {_record(uow_factory, family, touched_days_ago=500, status="completed", delivered_days_ago=d,
                             media=media) for d in (366, 400)}
    recently_delivered = _record(uow_factory, family, touched_days_ago=500, status="completed", delivered_days_ago=100)
    never_delivered = _record(uow_factory, family, touched_days_ago=500, status="completed", pending=True)
    with uow_factory() as uow:
        uow.conversations.save(5001, "onboarding.family_kk", {"head_name": "Wati"}, NOW - 31 * DAY)
        uow.conversations.save(5002, "onboarding.family_kk", {"head_name": "Budi"}, NOW - 2 * DAY)
        uow.commit()

    with uow_factory() as uow:
        for closed_days_ago in (31, 1):
            uow.privacy.add(PrivacyRequest(kind="correction", status="done", telegram_id=5001, text="KK 6472…",
                                           created_at=NOW - 40 * DAY, closed_at=NOW - closed_days_ago * DAY))
        uow.commit()

    report = purge_personal_data(uow_factory, NOW, media, 30 * DAY, 365 * DAY, batch=2)
    assert (report.drafts, report.records, report.photos, report.conversations) == (3, 2, 5, 1)
    assert report.request_texts == 1
    with uow_factory() as uow:
        assert sorted(uow.session.scalars(select(PrivacyRequest.text)), key=str) == ["KK 6472…", None]
    assert _ids(uow_factory, Record, Record.id) == {fresh_draft, recently_delivered, never_delivered}
    assert _ids(uow_factory, RecordPhoto, RecordPhoto.id) == set()
    assert list(media.iterdir()) == []  # the photo files went with their rows
    assert _ids(uow_factory, RecordDelivery, RecordDelivery.record_id) == {recently_delivered, never_delivered}
    assert _ids(uow_factory, Conversation, Conversation.telegram_id) == {5002}
    again = purge_personal_data(uow_factory, NOW, media, 30 * DAY, 365 * DAY)
    assert (again.drafts, again.records, again.conversations) == (0, 0, 0)


def test_a_replaced_version_is_deleted_with_the_correction_that_names_it(uow_factory, media):
    family = _family(uow_factory)
    first = _record(uow_factory, family, touched_days_ago=500, status="completed", delivered_days_ago=400)
    second = _record(uow_factory, family, touched_days_ago=10, status="completed", delivered_days_ago=10)
    with uow_factory() as uow:
        uow.records.get(second).replaces_id = first
        uow.commit()
    report = purge_personal_data(uow_factory, NOW, media, None, 365 * DAY)
    assert report.records == 1
    assert _ids(uow_factory, Record, Record.id) == {second}


def test_the_nightly_job_logs_counts_and_the_settings(uow_factory, media, caplog):
    from types import SimpleNamespace

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.config import Settings
    from domain.clock import FakeClock
    from scheduling.retention import PERSONAL_JOB_ID, start_personal_data_job

    assert (Settings.from_env({}).draft_keep, Settings.from_env({}).record_keep) == (30 * DAY, 365 * DAY)
    settings = Settings.from_env({"PINTU_DRAFT_KEEP_DAYS": "7", "PINTU_RECORD_KEEP_DAYS": "0"})
    assert (settings.draft_keep, settings.record_keep) == (7 * DAY, None)
    family = _family(uow_factory)
    _record(uow_factory, family, touched_days_ago=8)
    pintu = SimpleNamespace(uow=uow_factory, clock=FakeClock(NOW),
                            settings=Settings.from_env({"PINTU_DRAFT_KEEP_DAYS": "7", "PINTU_MEDIA_DIR": str(media)}))
    with caplog.at_level(logging.INFO, logger="scheduling.retention"):
        assert run_personal_retention(pintu).drafts == 1
    assert "1 drafts, 0 delivered records" in caplog.text
    scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
    assert start_personal_data_job(scheduler, pintu) == PERSONAL_JOB_ID
    off = SimpleNamespace(settings=Settings.from_env({"PINTU_DRAFT_KEEP_DAYS": "0", "PINTU_RECORD_KEEP_DAYS": "0"}))
    assert start_personal_data_job(AsyncIOScheduler(timezone=dt.timezone.utc), off) is None


def test_erasure_deletes_the_account_and_unsent_records_and_forwards_the_rest(uow_factory, media):
    family = _family(uow_factory)
    unsent = _record(uow_factory, family, touched_days_ago=1, status="completed", pending=True, media=media)
    delivered = _record(uow_factory, family, touched_days_ago=1, status="completed", delivered_days_ago=1)
    with uow_factory() as uow:
        user = uow.users.add(User(telegram_id=7001, first_name="Wati", role="resident", family_id=family,
                                  consent_version=current_notice("resident"), consent_at=NOW, created_at=NOW))
        uow.conversations.save(7001, "idle", {}, NOW)
        uow.outbox.add(7001, "reminder-evening", {"appointment_id": 1}, due_at=NOW + DAY, now=NOW)
        uow.commit()
    with uow_factory() as uow:
        request = erase_person(uow, uow.users.by_telegram_id(7001), media, NOW)
        uow.commit()
        assert request.detail == {"drafts": 0, "unsent": 1, "photos": 1, "forwarded": 1, "records": [delivered]}
    assert _ids(uow_factory, User, User.telegram_id) & {7001} == set()
    assert _ids(uow_factory, Conversation, Conversation.telegram_id) == set()
    assert _ids(uow_factory, Record, Record.id) == {delivered}
    with uow_factory() as uow:
        targets = set(uow.session.scalars(select(RecordDelivery.target).where(RecordDelivery.record_id == delivered)))
        assert targets == {"registry", "registry-erasure"}
        assert uow.session.scalar(select(PrivacyRequest.status)) == "open"
        reminder = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == 7001))
        assert reminder.status == "skipped", "nothing more is sent to someone who withdrew"
