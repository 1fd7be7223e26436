"""Consent at the door and old screens, end to end on both frameworks: a family without Telegram refuses
(nothing captured, the visit closed, no later reminder) or agrees (the capture starts); /kunjungan offers
today's families; a button of the confirmation before a move answers "no longer current"."""
from __future__ import annotations

import datetime as dt

from e2e_support import Env, Person, buttons
from test_coordination_e2e import dispatch, join
from test_story import KK_WATI, no_crash, register_and_book
from domain.booking import BookingRules, book_visit
from domain.invites import InviteKind
from domain.model import Record

WITA = dt.timezone(dt.timedelta(hours=8))


def _booked_by_rt_head(env: Env, head: Person, family_index: int, hour: int) -> tuple[int, int, str]:
    """The RT head books a visit for a family of RT 001 without Telegram (his reminders are planned)."""
    with env.pintu.uow() as uow:
        family = uow.coordination.rt_page(env.area.sls_ids[0], 0, 100)[family_index][0]
        appointment = book_visit(uow, uow.users.by_telegram_id(head.user_id), family.id,
                                 dt.datetime(2026, 11, 23, hour, 0, tzinfo=WITA).astimezone(dt.timezone.utc),
                                 env.clock.now(), BookingRules())
        uow.commit()
        return family.id, appointment.id, family.head_name


def _officer_of(env: Env, appointment_id: int) -> Person:
    enumerator_id = env.query(lambda uow: uow.appointments.get(appointment_id).enumerator_id)
    officer = env.person(3001, "Petugas")
    join(env, officer, InviteKind.ENUMERATOR, enumerator_id, "terdaftar sebagai petugas pendataan")
    return officer


def test_a_family_refusing_at_the_door_has_nothing_captured_and_no_later_reminder(env: Env) -> None:
    head = env.person(2001, "Slamet")
    join(env, head, InviteKind.RT_HEAD, env.area.sls_ids[0], "Ketua RT")
    family_id, appointment_id, name = _booked_by_rt_head(env, head, 0, 10)
    officer = _officer_of(env, appointment_id)

    pick = officer.say("/kunjungan", "pilih keluarga hari ini")
    assert "/keluarga" not in pick["text"]
    label = next(text for text, data in buttons(pick) if data == f"qn:go:{family_id}")
    assert label.startswith(f"No. {family_id} · 10.00")
    notice, _ = officer.press(pick, f"qn:go:{family_id}", "Bacakan kepada keluarga")
    assert "Pengendali data" in notice["text"]
    refused, _ = officer.press(notice, f"qn:dc:n:{family_id}", "menolak")
    assert env.query(lambda uow: uow.session.query(Record).filter_by(family_id=family_id).count()) == 0
    assert env.query(lambda uow: uow.appointments.get(appointment_id).status) == "cancelled"
    assert env.query(lambda uow: uow.families.get(family_id).status) == "refused"

    env.clock.set(env.clock.now() + dt.timedelta(hours=1, minutes=30))  # 09.30: past the hour reminder's time
    dispatch(env)
    assert not [m for m in head.messages() if "Sebentar lagi" in (m.get("text") or "")], "no reminder"
    no_crash(officer)


def test_a_family_agreeing_at_the_door_is_recorded_and_the_questionnaire_starts(env: Env) -> None:
    head = env.person(2001, "Slamet")
    join(env, head, InviteKind.RT_HEAD, env.area.sls_ids[0], "Ketua RT")
    family_id, appointment_id, name = _booked_by_rt_head(env, head, 1, 11)
    officer = _officer_of(env, appointment_id)

    notice = officer.say(f"/kunjungan {family_id}", "Bacakan kepada keluarga")
    started, _ = officer.press(notice, f"qn:dc:y:{family_id}", "Setiap jawaban langsung tersimpan")
    assert started["message_id"] > notice["message_id"]
    kept = next(m for m in officer.messages() if m["message_id"] == notice["message_id"])
    assert "setuju — dicatat" in kept["text"] and not kept.get("reply_markup")
    officer_id = env.query(lambda uow: uow.users.by_telegram_id(officer.user_id).id)
    record = env.query(lambda uow: uow.questionnaires.draft_of(family_id))
    assert record.consent_recorded_by == officer_id and record.consent_at is not None
    no_crash(officer)


def test_a_button_of_the_confirmation_before_a_move_is_no_longer_current(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    days = wati.say("/pindah", "Pindah jadwal keluarga")
    times, _ = wati.press(days, buttons(days)[1][1], "pilih jam")
    confirm, _ = wati.press(times, next(d for _, d in buttons(times) if d.startswith("tm:")), "Petugas:")
    moved, _ = wati.press(confirm, "ok:yes", "Jadwal dipindah")
    _, answer = wati.press(booked.message, f"ap:cancel:{booked.family_id}")
    assert "Layar ini sudah tidak berlaku" in answer["text"]
    assert env.query(lambda uow: uow.appointments.active_for_family(booked.family_id)) is not None, "not cancelled"
    no_crash(wati)
