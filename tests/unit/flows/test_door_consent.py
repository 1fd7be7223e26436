"""Consent at the door (domain/door_consent.py, the questionnaire's DOOR_CONSENT): for a family that never
agreed in the chat, the notice is read out and the answer recorded before anything is captured; /kunjungan
offers today's families. The world: helpers.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from domain import audit, privacy, progress
from domain.booking import BookingRules, book_visit
from domain.invites import InviteKind
from domain.model import Appointment, OutboxMessage, Record, VisitOutcome
from domain.reminders import REMINDER_KINDS
from handlers.context import HandlerConfig
from handlers.notices import door_notice
from handlers.states import State
from tests.unit.flows.helpers import ID, KK_WATI, SECRET, WITA, Person, rt_head

CONFIG = HandlerConfig(invite_secret=SECRET)


def _rina(world) -> Person:
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    return rina


def _booked_by_rt_head(world, family_id: int, hour: int = 10) -> int:
    """The RT head books Rina's visit for a family without Telegram: his reminders are planned."""
    darto = rt_head(world)
    with world.uow_factory() as uow:
        appointment = book_visit(uow, darto.user(), family_id, dt.datetime(2026, 11, 23, hour, 0, tzinfo=WITA)
                                 .astimezone(dt.timezone.utc), world.clock.now(), BookingRules())
        assert appointment.enumerator_id == world.rina_id
        uow.commit()
        return appointment.id


def _pending_reminders(world, appointment_id: int) -> list[OutboxMessage]:
    return [m for m in world.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))
            if m.kind in REMINDER_KINDS and m.payload.get("appointment_id") == appointment_id]


def test_kunjungan_without_a_number_offers_todays_families_with_their_numbers(world):
    family = world.families_in(0)[0]
    _booked_by_rt_head(world, family.id)
    rina = _rina(world)
    rina.say("/kunjungan")
    assert rina.screen == ID("qn-visit-pick") and "/keluarga" not in rina.screen
    assert f"qn:go:{family.id}" in rina.buttons()
    assert f"No. {family.id} · 10.00 · {family.head_name}" in rina.labels()
    assert "/keluarga" not in ID("help-enumerator") and "nomor ada di jadwal" not in ID("help-enumerator")


def test_a_family_that_refuses_at_the_door_has_nothing_captured_and_its_visit_closes(world):
    family = world.families_in(0)[0]
    appointment_id = _booked_by_rt_head(world, family.id)
    assert _pending_reminders(world, appointment_id), "the RT head's reminders are planned"
    rina = _rina(world)
    rina.say("/kunjungan")
    rina.press(f"qn:go:{family.id}")
    # Before anything: the resident's notice to read out, naming the controller, and the two answers.
    assert door_notice(ID, CONFIG) in rina.screen and CONFIG.controller_name in rina.screen
    assert rina.buttons()[:2] == [f"qn:dc:y:{family.id}", f"qn:dc:n:{family.id}"]
    assert rina.labels()[:2] == ["✅ Keluarga setuju", "✋ Keluarga menolak"]
    assert rina.conversation().state == State.DOOR_CONSENT
    # A location shared now is not taken.
    rina.say(location=_location())
    assert rina.screen == ID("use-buttons")
    rina.press(f"qn:dc:n:{family.id}")
    assert rina.screen == ID("qn-door-refused", name=family.head_name)
    assert world.count(Record, Record.family_id == family.id) == 0, "nothing captured"
    appointment = world.scalar(select(Appointment).where(Appointment.id == appointment_id))
    assert appointment.status == "cancelled"
    assert not _pending_reminders(world, appointment_id), "no reminder about a visit that is over"
    outcomes = world.scalars(select(VisitOutcome).where(VisitOutcome.family_id == family.id))
    assert [o.outcome for o in outcomes] == ["refused"]
    with world.uow_factory() as uow:  # the supervisor's progress counts the family as closed, refused
        tally = progress.area_progress(uow, uow.areas.get(world.sls_ids[0]), world.clock.now()).total.tally
        assert tally.of("refused") == 1 and tally.closed == 1
    with world.uow_factory() as uow:
        assert [e.action for e in audit.entries(uow, family_id=family.id)].count(audit.DOOR_CONSENT) == 1
    rina.say("/jadwal")  # the family is no stop of her route any more
    assert family.head_name not in rina.screen


def test_a_family_that_agrees_at_the_door_is_recorded_and_the_capture_starts(world):
    family = world.families_in(0)[1]
    _booked_by_rt_head(world, family.id)
    rina = _rina(world)
    rina.say(f"/kunjungan {family.id}")
    notice_id = rina.last_id
    assert door_notice(ID, CONFIG) in rina.screen
    rina.press(f"qn:dc:y:{family.id}")
    kept, markup = rina.messages[notice_id]
    assert door_notice(ID, CONFIG) in kept and "setuju — dicatat Senin, 23 Nov, 08.00 WITA" in kept and markup is None
    assert rina.last_id != notice_id and ID("qn-starting", name=family.head_name) in rina.screen
    assert rina.conversation().state == State.QUESTION
    record = world.scalar(select(Record).where(Record.family_id == family.id))
    assert record.consent_version == privacy.current_notice("resident")
    assert record.consent_at == world.clock.now() and record.consent_recorded_by == rina.user().id
    assert record.latitude is None, "nothing captured before the answer"
    # Asked again later (the questionnaire reopened): the consent on record skips the step.
    rina.say(f"/kunjungan {family.id}")
    assert ID("qn-resuming", name=family.head_name) in rina.screen or ID("qn-starting", name=family.head_name) in rina.screen


def test_consent_given_in_the_chat_skips_the_read_out(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book(time="1100")  # Rina's
    family_id = wati.user().family_id
    rina = _rina(world)
    rina.say(f"/kunjungan {family_id}")
    assert ID("qn-starting", name="Wati Susanti") in rina.screen
    assert rina.conversation().state == State.QUESTION


def test_forged_and_old_door_answers_change_nothing(world):
    first, second = world.families_in(0)[:2]
    _booked_by_rt_head(world, first.id)
    rina = _rina(world)
    rina.say(f"/kunjungan {first.id}")
    rina.press(f"qn:dc:y:{second.id}")  # another family's answer, typed by hand
    assert rina.answer.show_alert and rina.answer.text == ID("stale-button")
    rina.press("qn:dc:x:1")
    rina.press("qn:dc:")
    assert world.count(Record) == 0 and world.count(VisitOutcome) == 0
    assert rina.conversation().state == State.DOOR_CONSENT
    # A draft begun without consent (before the read-out existed) is not resumed past it.
    rina.press("en:today")
    rina.say(f"/kunjungan {first.id}")
    assert door_notice(ID, CONFIG) in rina.screen


def _location():
    from chat.events import Location

    return Location(-0.5035, 117.1305, 10.0)
