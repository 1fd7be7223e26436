"""A visit that took place closes its appointment (domain/visits.py), on SQLite and PostgreSQL: the
enumerator's "done" at the door or the completed record ends the active visit as ``visited`` in the
same transaction, the reminders not yet sent are skipped, and a visit done early frees its time."""
from __future__ import annotations

from sqlalchemy import select

from domain.booking import BookingRules, book_visit, family_free_slots
from domain.model import OutboxMessage
from domain.outcomes import record_outcome
from domain.records import complete_record, start_record
from domain.reminders import REMINDER_KINDS
from tests.factories import MONDAY, at, make_place, resident_of

RULES = BookingRules()


def pending_reminders(uow_factory, appointment_id: int) -> list[str]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.kind.in_(REMINDER_KINDS),
                                                               OutboxMessage.status == "pending"))
        return [r.kind for r in rows if r.payload.get("appointment_id") == appointment_id]


def free_starts(uow, family_id: int, now) -> set:
    return {slot.start for slot in family_free_slots(uow, uow.families.get(family_id), now, RULES, [MONDAY])}


def booked_place(uow_factory, now, hour: int = 9):
    place = make_place(uow_factory, now, enumerators=1, families=2, enumerator_users=True)
    family_id = place.family_ids[0]
    resident_id = resident_of(uow_factory, place, family_id, now)
    with uow_factory() as uow:
        appointment = book_visit(uow, uow.users.get(resident_id), family_id, at(MONDAY, hour), now, RULES)
        officer = uow.users.get(uow.enumerators.get(place.enumerator_ids[0]).user_id)
        uow.commit()
    return place, family_id, appointment.id, officer.id


def test_done_at_the_door_closes_the_visit_and_drops_its_reminders(uow_factory, fake_clock):
    place, family_id, appointment_id, officer_id = booked_place(uow_factory, fake_clock.now())
    assert pending_reminders(uow_factory, appointment_id), "a booked visit has reminders queued"
    with uow_factory() as uow:
        record_outcome(uow, uow.users.get(officer_id), family_id, "done", None, at(MONDAY, 9, 20))
        uow.commit()
    with uow_factory() as uow:
        appointment = uow.appointments.get(appointment_id)
        assert appointment.status == "visited" and uow.appointments.active_for_family(family_id) is None
        assert uow.appointments.last_visited_for_family(family_id).id == appointment_id
        assert uow.coordination.last_outcome(family_id).appointment_id == appointment_id
    assert pending_reminders(uow_factory, appointment_id) == []


def test_a_completed_record_closes_the_visit_and_an_early_visit_gives_its_time_back(uow_factory, fake_clock):
    now = fake_clock.now()
    place, family_id, appointment_id, _ = booked_place(uow_factory, now, hour=14)
    with uow_factory() as uow:
        assert at(MONDAY, 14) not in free_starts(uow, place.family_ids[1], now)
        record = start_record(uow, family_id, "f", "1", now)
        complete_record(uow, record.id, at(MONDAY, 9))  # the officer came by in the morning
        uow.commit()
    with uow_factory() as uow:
        assert uow.appointments.get(appointment_id).status == "visited"
        assert uow.families.get(family_id).status == "completed"
        assert at(MONDAY, 14) in free_starts(uow, place.family_ids[1], now)
    assert pending_reminders(uow_factory, appointment_id) == []


def test_a_record_without_a_visit_completes_as_before(uow_factory, fake_clock):
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=1, families=1)
    resident_of(uow_factory, place, place.family_ids[0], now)
    with uow_factory() as uow:
        record = start_record(uow, place.family_ids[0], "f", "1", now)
        complete_record(uow, record.id, now)
        uow.commit()
    with uow_factory() as uow:
        assert uow.appointments.last_visited_for_family(place.family_ids[0]) is None
        assert uow.families.get(place.family_ids[0]).status == "completed"
