"""Reminders end to end through python-telegram-bot and aiogram on the simulator: the reminder arrives in
the resident's chat at its time, and its buttons confirm (recorded, edited in place), move (the old
reminders go, new ones are planned) and cancel (no reminder is sent any more); an old reminder's button
after the visit changed gets a clear answer."""
from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, button, buttons
from test_coordination_e2e import dispatch
from test_story import KK_WATI, no_crash, register_and_book
from sqlalchemy import select
from domain.model import Appointment, OutboxMessage

REMINDERS = ("reminder-evening", "reminder-hour")


def reminder_rows(env: Env, appointment_id: int) -> list[OutboxMessage]:
    def read(uow):
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(REMINDERS))).all()
        return [r for r in rows if r.payload.get("appointment_id") == appointment_id]
    return env.query(read)


def active_appointment(env: Env, family_id: int) -> Appointment | None:
    return env.query(lambda uow: uow.appointments.active_for_family(family_id))


def move(person, message: dict, family_id: int, day: str, time: str, expect: str) -> None:
    """Move the visit from the buttons on ``message``: day, time, confirm."""
    days, _ = person.press(message, f"ap:move:{family_id}", "Pilih")
    times, _ = person.press(days, button(days, f"dy:{day}")[1], "pilih jam")
    confirm, _ = person.press(times, button(times, f"tm:{day}{time}")[1], "Benar?")
    person.press(confirm, "ok:yes", expect)


def test_the_hour_reminder_is_confirmed_then_the_visit_cancelled(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)  # Monday 10.30 WITA
    appointment = active_appointment(env, booked.family_id)
    assert {r.kind for r in reminder_rows(env, appointment.id)} == {"reminder-hour"}  # the evening before has passed
    env.clock.advance(dt.timedelta(minutes=89))  # 09.29: not yet due
    dispatch(env)
    assert not [m for m in wati.messages() if "Sebentar lagi" in (m.get("text") or "")]
    env.clock.advance(dt.timedelta(minutes=1))  # 09.30, one hour before
    dispatch(env)
    reminder = wati.wait("Sebentar lagi")
    assert booked.time_text in reminder["text"] and "WITA" in reminder["text"]
    assert {data for _, data in buttons(reminder)} == {f"rm:ok:{appointment.id}", f"ap:move:{booked.family_id}",
                                                       f"ap:cancel:{booked.family_id}"}

    confirmed, answer = wati.press(reminder, f"rm:ok:{appointment.id}", "sudah dikonfirmasi")
    assert confirmed["message_id"] == reminder["message_id"], "the reminder is edited in place"
    assert answer["text"] == "Terkonfirmasi. Terima kasih!"
    assert active_appointment(env, booked.family_id).confirmed_at == env.clock.now()

    question, _ = wati.press(confirmed, f"ap:cancel:{booked.family_id}", "Batalkan kunjungan")
    done, _ = wati.press(question, f"ap:yes:{booked.family_id}", "dibatalkan")
    assert done["message_id"] == reminder["message_id"]
    assert active_appointment(env, booked.family_id) is None
    assert {r.status for r in reminder_rows(env, appointment.id)} == {"sent"}  # nothing left to send

    # The old reminder's confirm button, pressed after the cancellation: told, nothing changes, no crash.
    _, stale = wati.press(reminder, f"rm:ok:{appointment.id}", force=True)
    assert stale["text"] and stale["show_alert"]
    assert active_appointment(env, booked.family_id) is None
    no_crash(wati)


def test_moving_from_the_evening_reminder_replans_the_reminders(env: Env) -> None:
    budi = env.person(1002, "Budi")
    booked = register_and_book(env, budi, "Budi Santoso", "6472010101208888")  # Monday 10.30
    first = active_appointment(env, booked.family_id)
    # Monday 08.00: moved to Wednesday from /janji, so that it has an evening reminder too.
    menu = budi.say("/janji", "petugas")
    move(budi, menu, booked.family_id, "20261125", "1000", "Rabu, 25 Nov")
    moved = active_appointment(env, booked.family_id)
    assert moved.id != first.id and {r.kind for r in reminder_rows(env, moved.id) if r.status == "pending"} == set(REMINDERS)

    assert {r.status for r in reminder_rows(env, first.id)} == {"skipped"}  # Monday's hour reminder
    env.clock.set(dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone.utc))  # Tuesday 19.00 WITA: the evening one
    dispatch(env)
    evening = budi.wait("Pengingat: besok")
    assert "Rabu, 25 Nov" in evening["text"] and "10.00 WITA" in evening["text"]
    move(budi, evening, booked.family_id, "20261126", "0900", "Kamis, 26 Nov")
    again = active_appointment(env, booked.family_id)
    assert again.start_at == dt.datetime(2026, 11, 26, 1, 0, tzinfo=dt.timezone.utc)
    assert {r.status for r in reminder_rows(env, moved.id) if r.kind == "reminder-hour"} == {"skipped"}
    assert {r.kind for r in reminder_rows(env, again.id) if r.status == "pending"} == set(REMINDERS)

    # Wednesday 09.00, the hour before the old time: nothing is sent for a visit that moved.
    env.clock.set(dt.datetime(2026, 11, 25, 1, 0, tzinfo=dt.timezone.utc))
    dispatch(env)
    assert not [m for m in budi.messages() if "Sebentar lagi" in (m.get("text") or "")]
    _, stale = budi.press(evening, f"rm:ok:{moved.id}", force=True)
    assert stale["show_alert"] and active_appointment(env, booked.family_id).confirmed_at is None
    no_crash(budi)
