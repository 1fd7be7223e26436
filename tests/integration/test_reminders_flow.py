"""Reminders and daily messages end to end, on SQLite and PostgreSQL, on a fake clock (never sleeping).

Book → reminder rows in the same transaction; move → re-planned; cancel → skipped; the dispatcher skips
stale reminders and sends useful ones after a downtime; the confirm button is recorded; the enumerator's
06.00 schedule and the RT head's evening summary are queued once per person and day.
"""
from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from domain.booking import BookingRules, book_visit, cancel_visit, move_visit
from domain.model import OutboxMessage
from domain.reminders import enqueue_daily
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from chat.events import EditMessage, Incoming, Sender
from handlers.notifications import Notification, NotRendered, render_outbox
from scheduling.daily_jobs import run_daily
from scheduling.dispatcher import OutboxDispatcher
from chat.ratelimit import RateLimiter
from tests.factories import SUNDAY, TUESDAY, WITA, at, make_place, resident_of
from tests.integration.test_outbox import FakeTelegram

RULES = BookingRules()
WEDNESDAY = TUESDAY + dt.timedelta(days=1)


def reminders(uow_factory, status=None):
    with uow_factory() as uow:
        query = select(OutboxMessage).where(OutboxMessage.kind.like("reminder-%")).order_by(OutboxMessage.due_at, OutboxMessage.id)
        rows = uow.session.scalars(query).all()
        return [(r.kind, r.chat_id, r.due_at, r.status, r.payload["appointment_id"]) for r in rows
                if status is None or r.status == status]


def setup(uow_factory, clock, enumerators=2):
    place = make_place(uow_factory, clock.now(), enumerator_users=True, families=3, enumerators=enumerators)
    user_id = resident_of(uow_factory, place, place.family_ids[0], clock.now())
    with uow_factory() as uow:
        user = uow.users.get(user_id)
        chats = {"resident": user.telegram_id, "rt": uow.users.get(place.rt_head_id).telegram_id}
    return place, user_id, chats


def book(uow_factory, clock, user_id, family_id, start):
    with uow_factory() as uow:
        appointment = book_visit(uow, uow.users.get(user_id), family_id, start, clock.now(), RULES)
        uow.commit()
        return appointment.id


def dispatch(uow_factory, clock, api):
    dispatcher = OutboxDispatcher(uow_factory, clock, api, RateLimiter(1e6, 0.0))
    return asyncio.run(dispatcher.run_once())


def test_book_move_cancel_plan_and_skip_reminders_in_the_same_transaction(uow_factory, fake_clock):
    place, user_id, chats = setup(uow_factory, fake_clock)
    first = book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 10))
    assert reminders(uow_factory) == [
        ("reminder-evening", chats["resident"], at(TUESDAY - dt.timedelta(days=1), 19), "pending", first),
        ("reminder-unconfirmed", chats["rt"], at(TUESDAY - dt.timedelta(days=1), 21), "pending", first),
        ("reminder-hour", chats["resident"], at(TUESDAY, 9), "pending", first),
    ]
    with uow_factory() as uow:
        _, new = move_visit(uow, uow.users.get(user_id), place.family_ids[0], at(WEDNESDAY, 14), fake_clock.now(), RULES)
        uow.commit()
        second = new.id
    assert [(k, s) for k, _, _, s, a in reminders(uow_factory) if a == first] == [
        ("reminder-evening", "skipped"), ("reminder-unconfirmed", "skipped"), ("reminder-hour", "skipped")]
    assert [(k, d) for k, _, d, _, _ in reminders(uow_factory, "pending")] == [
        ("reminder-evening", at(TUESDAY, 19)), ("reminder-unconfirmed", at(TUESDAY, 21)), ("reminder-hour", at(WEDNESDAY, 13))]
    assert {a for *_, a in reminders(uow_factory, "pending")} == {second}
    with uow_factory() as uow:
        cancel_visit(uow, uow.users.get(user_id), place.family_ids[0], fake_clock.now())
        uow.commit()
    assert reminders(uow_factory, "pending") == []


def test_a_failed_booking_writes_no_reminders(uow_factory, fake_clock):
    place, user_id, _ = setup(uow_factory, fake_clock)
    book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 10))
    before = reminders(uow_factory)
    with uow_factory() as uow:
        try:
            move_visit(uow, uow.users.get(user_id), place.family_ids[0], at(TUESDAY, 3), fake_clock.now(), RULES)
        except Exception:
            uow.rollback()
        else:  # pragma: no cover
            raise AssertionError("03.00 is outside working hours")
    assert reminders(uow_factory) == before


def test_dispatcher_sends_useful_reminders_after_downtime_and_skips_stale_ones(uow_factory, fake_clock):
    place, user_id, chats = setup(uow_factory, fake_clock)
    book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 10))
    # Down from Sunday evening until Tuesday 09.30: the evening reminder and the RT head's warning are
    # late but the visit is still ahead, so they go out; so does the hour-before one.
    fake_clock.set(at(TUESDAY, 9, 30))
    api = FakeTelegram()
    report = dispatch(uow_factory, fake_clock, api)
    assert report.sent == 4 and report.skipped == 0  # three reminders and the enumerator's visit-new
    assert {m.chat_id for m in api.delivered} >= {chats["resident"], chats["rt"]}
    resident_texts = api.texts_to(chats["resident"])
    assert any("10.00 WITA" in text for text in resident_texts)
    reminder = next(m for m in api.delivered if m.chat_id == chats["resident"])
    buttons = [b.data for b in reminder.markup.buttons]
    assert buttons[0].startswith("rm:ok:") and any(b.startswith("ap:move:") for b in buttons)
    # A second visit, then a downtime past its start: its reminders are skipped, never sent.
    other = resident_of(uow_factory, place, place.family_ids[1], fake_clock.now())
    fake_clock.set(at(TUESDAY, 9, 31))
    book(uow_factory, fake_clock, other, place.family_ids[1], at(WEDNESDAY, 11))
    fake_clock.set(at(WEDNESDAY, 12))
    api = FakeTelegram()
    report = dispatch(uow_factory, fake_clock, api)
    assert report.skipped == 3 and report.sent == 1  # only the enumerator's visit-new (not a reminder)
    with uow_factory() as uow:
        other_chat = uow.users.get(other).telegram_id
    assert all(m.chat_id not in (other_chat, chats["rt"]) for m in api.delivered)
    with uow_factory() as uow:
        errors = {r.last_error for r in uow.session.scalars(select(OutboxMessage).where(OutboxMessage.status == "skipped"))}
    assert errors == {"visit has begun or passed"}


def test_the_confirm_button_is_recorded_and_silences_the_rt_heads_warning(uow_factory, fake_clock):
    place, user_id, chats = setup(uow_factory, fake_clock)
    appointment_id = book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 10))
    fake_clock.set(at(TUESDAY - dt.timedelta(days=1), 19, 5))
    handlers = PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="x" * 32))
    actions = handlers.handle(Incoming(Sender(chats["resident"], "Warga"), chats["resident"], callback_id="c1",
                                       callback_data=f"rm:ok:{appointment_id}", message_id=77))
    edit = next(a for a in actions if isinstance(a, EditMessage))
    assert "dikonfirmasi" in edit.text and "10.00 WITA" in edit.text
    with uow_factory() as uow:
        assert uow.appointments.get(appointment_id).confirmed_at == fake_clock.now()
        warning = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder-unconfirmed"))
        assert isinstance(render_outbox(uow, warning, fake_clock.now()), NotRendered)
        hour = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "reminder-hour"))
        rendered = render_outbox(uow, hour, fake_clock.now())
        assert isinstance(rendered, Notification)
        assert not any(b.data.startswith("rm:") for b in rendered.markup.buttons)  # already confirmed
    # Someone else's button, or a forged id, changes nothing.
    stranger = Sender(9_999_999, "X")
    actions = handlers.handle(Incoming(stranger, stranger.telegram_id, callback_id="c2", callback_data=f"rm:ok:{appointment_id}"))
    assert actions and actions[0].show_alert


def test_daily_schedule_and_rt_summary_are_queued_once_per_person_and_day(uow_factory, fake_clock):
    place, user_id, chats = setup(uow_factory, fake_clock, enumerators=1)
    with uow_factory() as uow:  # two houses ~1.1 km apart
        for family_id, lat, lon in ((place.family_ids[0], -0.55, 117.2), (place.family_ids[1], -0.56, 117.2)):
            family = uow.families.get(family_id)
            family.latitude, family.longitude, family.address = lat, lon, f"Jl. Mawar {family_id}"
        uow.commit()
    other = resident_of(uow_factory, place, place.family_ids[1], fake_clock.now())
    book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 9))
    book(uow_factory, fake_clock, other, place.family_ids[1], at(TUESDAY, 8))
    # Monday 18.00: the RT head's summary of Tuesday is due; a second run (or process) queues nothing.
    fake_clock.set(at(TUESDAY - dt.timedelta(days=1), 18))
    assert run_daily(uow_factory, fake_clock, "Asia/Makassar") == 1
    assert run_daily(uow_factory, fake_clock, "Asia/Makassar") == 0
    assert run_daily(uow_factory, fake_clock, "Asia/Jakarta") == 0  # not this zone
    # Tuesday 05.55: not yet; 06.00: each enumerator with a Telegram account gets one schedule.
    fake_clock.set(at(TUESDAY, 5, 55))
    assert run_daily(uow_factory, fake_clock) == 0
    fake_clock.set(at(TUESDAY, 6))
    assert run_daily(uow_factory, fake_clock) == 1
    fake_clock.set(at(TUESDAY, 6, 5))
    with uow_factory() as uow:
        assert enqueue_daily(uow, fake_clock.now()) == 0
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(("daily-schedule", "rt-summary")))
                                   .order_by(OutboxMessage.id)).all()
        assert [r.kind for r in rows] == ["rt-summary", "daily-schedule"]
        assert rows[0].chat_id == chats["rt"]
        summary = render_outbox(uow, rows[0], fake_clock.now())
        assert "2 kunjungan" in summary.text and summary.text.index("08.00") < summary.text.index("09.00")
        text = render_outbox(uow, rows[1], fake_clock.now()).text
    # One route: the booked visits in time order, with the distance from the previous stop and a map link
    # each; the SLS's family still without an appointment fills the first free time it fits (08.30 would
    # make the 09.00 family wait: the leg to a house without coordinates counts 5 minutes).
    assert text.index("<b>08.00</b>") < text.index("<b>09.00</b>") < text.index("<b>09.35</b>")
    assert text.count("google.com/maps/search/?api=1&amp;query=-0.5") == 2
    assert "1,1 km" in text and text.count(" km ") == 1  # geodesic, Indonesian decimal comma; none before the first
    assert "Jl. Mawar" in text and "belum ada janji" in text.split("<b>09.35</b>")[1]
    assert "saran" in text and "Waktu kosong" not in text  # the free time is filled, not merely listed


def test_a_schedule_missed_by_downtime_goes_out_until_the_afternoon_only(uow_factory, fake_clock):
    setup(uow_factory, fake_clock)
    fake_clock.set(at(TUESDAY, 16))  # too late for today's schedule, too early for the evening summary
    assert run_daily(uow_factory, fake_clock) == 0
    fake_clock.set(at(WEDNESDAY, 10, 30))  # started late on Wednesday: the day's schedules still go out
    assert run_daily(uow_factory, fake_clock) == 2  # both enumerators


def test_no_morning_list_on_a_day_off_or_a_public_holiday(uow_factory, fake_clock):
    setup(uow_factory, fake_clock)
    fake_clock.set(at(SUNDAY, 6))  # not in the default Monday-Saturday week
    assert run_daily(uow_factory, fake_clock) == 0
    christmas = dt.date(2026, 12, 25)  # a Friday, and a public holiday
    fake_clock.set(at(christmas, 6))
    assert run_daily(uow_factory, fake_clock) == 0
    fake_clock.set(at(christmas + dt.timedelta(days=1), 6))  # Saturday 26 Dec: a working day again
    assert run_daily(uow_factory, fake_clock) == 2


def test_per_area_settings_are_inherited_down_the_tree(uow_factory, fake_clock):
    place, user_id, chats = setup(uow_factory, fake_clock)
    with uow_factory() as uow:
        village_id = uow.areas.get(place.sls_id).parent_id
        uow.reminders.save_setting(village_id, fake_clock.now(), evening_at="18:30", before_minutes=30)
        uow.reminders.save_setting(place.sls_id, fake_clock.now(), before_minutes=45)  # the nearer one wins
        uow.commit()
    first = book(uow_factory, fake_clock, user_id, place.family_ids[0], at(TUESDAY, 10))
    monday = TUESDAY - dt.timedelta(days=1)
    assert [(k, d) for k, _, d, _, a in reminders(uow_factory) if a == first] == [
        ("reminder-evening", at(monday, 18, 30)), ("reminder-unconfirmed", at(monday, 21)),
        ("reminder-hour", at(TUESDAY, 9, 15))]


def test_start_schedule_jobs_adds_one_cron_job_per_zone():
    from types import SimpleNamespace

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from scheduling.daily_jobs import ZONES, start_schedule_jobs

    scheduler = AsyncIOScheduler(timezone=dt.timezone.utc)
    ids = start_schedule_jobs(scheduler, SimpleNamespace(uow=None, clock=None))
    assert ids == [f"daily-{zone}" for zone in ZONES]
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert str(jobs["daily-Asia/Jayapura"].trigger.timezone) == "Asia/Jayapura"
    assert "*/5" in str(jobs["daily-Asia/Jayapura"].trigger)
