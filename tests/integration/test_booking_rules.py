"""The booking rules over a real database, on SQLite and PostgreSQL: book, move, cancel, and every
reason a time cannot be booked. Each call runs in its own unit of work and commits, as in the bot.

The clock stands still on Sunday 22 November 2026, 18.00 WITA unless a test moves it.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from domain.booking import BookingRules, book_visit, cancel_visit, family_free_slots, move_visit, sls_timezone
from domain.clock import FakeClock
from domain.errors import FamilyAlreadyBooked, NoAppointment, NotAllowed, SlotTaken, SlotUnavailable
from domain.model import Appointment, BusyBlock, OutboxMessage
from domain.slots import blocks_between
from factories import FRIDAY, MONDAY, SUNDAY, TUESDAY, UTC, WIB, WITA, Place, at, make_place, resident_of

RULES = BookingRules()


@pytest.fixture
def place(uow_factory, fake_clock: FakeClock) -> Place:
    """An RT in Samarinda (WITA) with two enumerators (30-minute visits, Mon-Sat 08-16) and 6 families."""
    return make_place(uow_factory, fake_clock.now(), tz=WITA, enumerators=2, families=6, enumerator_users=True)


# --- helpers: one unit of work per action, committed like a handler would -------------------------

def book(uow_factory, clock, user_id: int, family_id: int, start: dt.datetime) -> Appointment:
    with uow_factory() as uow:
        appointment = book_visit(uow, uow.users.get(user_id), family_id, start, clock.now(), RULES)
        uow.commit()
        return appointment


def move(uow_factory, clock, user_id: int, family_id: int, start: dt.datetime) -> tuple[Appointment, Appointment]:
    with uow_factory() as uow:
        old, new = move_visit(uow, uow.users.get(user_id), family_id, start, clock.now(), RULES)
        uow.commit()
        return old, new


def cancel(uow_factory, clock, user_id: int, family_id: int) -> Appointment:
    with uow_factory() as uow:
        appointment = cancel_visit(uow, uow.users.get(user_id), family_id, clock.now())
        uow.commit()
        return appointment


def appointments_of(uow_factory, family_id: int) -> list[Appointment]:
    with uow_factory() as uow:
        return list(uow.session.scalars(select(Appointment).where(Appointment.family_id == family_id)
                                        .order_by(Appointment.id)))


def blocks_of(uow_factory, appointment_id: int) -> list[dt.datetime]:
    with uow_factory() as uow:
        return sorted(uow.session.scalars(select(BusyBlock.block_start)
                                          .where(BusyBlock.appointment_id == appointment_id)))


def free_enumerators_at(uow_factory, clock, family_id: int, start: dt.datetime) -> tuple[int, ...]:
    with uow_factory() as uow:
        family = uow.families.get(family_id)
        day = start.astimezone(sls_timezone(uow, family.sls_id)).date()
        slot = next((s for s in family_free_slots(uow, family, clock.now(), RULES, [day]) if s.start == start), None)
        return slot.enumerator_ids if slot else ()


def outbox_kinds(uow_factory) -> list[str]:
    with uow_factory() as uow:
        return list(uow.session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


# --- booking --------------------------------------------------------------------------------------

def test_booking_claims_the_enumerators_blocks(uow_factory, fake_clock, place: Place) -> None:
    start = at(MONDAY, 8)
    appointment = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], start)

    assert appointment.status == "booked"
    assert appointment.start_at == start and appointment.end_at == start + dt.timedelta(minutes=30)
    assert appointment.start_at.tzinfo is not None
    assert appointment.booked_by_user_id == place.rt_head_id
    assert appointment.enumerator_id in place.enumerator_ids
    # Read back from the database in a new session: UTC-aware, both 15-minute blocks claimed.
    stored = appointments_of(uow_factory, place.family_ids[0])
    assert [(a.status, a.start_at) for a in stored] == [("booked", start)]
    assert stored[0].start_at.utcoffset() == dt.timedelta(0)
    assert blocks_of(uow_factory, appointment.id) == blocks_between(start, start + dt.timedelta(minutes=30))
    # The enumerator hears about it through the outbox, written in the same transaction (so are the
    # reminders: booked on Sunday 18.00 for Monday, the evening one is still ahead; tests/integration/test_reminders_flow.py).
    assert [k for k in outbox_kinds(uow_factory) if not k.startswith("reminder-")] == ["visit-new"]
    # The other enumerator is still free at that time; the booked one is not.
    others = tuple(e for e in place.enumerator_ids if e != appointment.enumerator_id)
    assert free_enumerators_at(uow_factory, fake_clock, place.family_ids[1], start) == others


def test_a_time_holds_as_many_visits_as_there_are_free_enumerators(uow_factory, fake_clock, place: Place) -> None:
    start = at(MONDAY, 9)
    first = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], start)
    second = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[1], start)
    assert {first.enumerator_id, second.enumerator_id} == set(place.enumerator_ids)
    with pytest.raises(SlotTaken):
        book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[2], start)
    assert appointments_of(uow_factory, place.family_ids[2]) == []


def test_visits_are_spread_over_the_enumerators(uow_factory, fake_clock, place: Place) -> None:
    first = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 8))
    second = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[1], at(MONDAY, 10))
    assert first.enumerator_id != second.enumerator_id


# --- moving ---------------------------------------------------------------------------------------

def test_moving_keeps_history_and_frees_the_old_time(uow_factory, fake_clock, place: Place) -> None:
    family = place.family_ids[0]
    original = book(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 8))
    fake_clock.advance(dt.timedelta(minutes=5))
    old, new = move(uow_factory, fake_clock, place.rt_head_id, family, at(TUESDAY, 10, 30))

    assert old.id == original.id
    rows = appointments_of(uow_factory, family)
    assert [(a.id, a.status, a.start_at) for a in rows] == [
        (original.id, "moved", at(MONDAY, 8)),
        (new.id, "booked", at(TUESDAY, 10, 30)),
    ]
    assert rows[0].replaced_by_id == new.id and rows[1].replaced_by_id is None
    assert rows[0].updated_at == fake_clock.now()
    assert blocks_of(uow_factory, original.id) == []
    assert blocks_of(uow_factory, new.id) == blocks_between(at(TUESDAY, 10, 30), at(TUESDAY, 11))
    # The old time is free again for everyone.
    assert set(free_enumerators_at(uow_factory, fake_clock, place.family_ids[1], at(MONDAY, 8))) == set(place.enumerator_ids)


def test_moving_within_the_same_time_of_another_enumerator_is_allowed(uow_factory, fake_clock, place: Place) -> None:
    """Moving to an overlapping time works: the old blocks are released before the new are claimed."""
    family = place.family_ids[0]
    book(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 8))
    old, new = move(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 8, 30))
    assert (old.status, new.status) == ("moved", "booked")


def test_a_failed_move_changes_nothing(uow_factory, fake_clock, place: Place) -> None:
    family = place.family_ids[0]
    original = book(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 8))
    # The target time is full: both enumerators are booked at 10.00.
    book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[1], at(MONDAY, 10))
    book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[2], at(MONDAY, 10))
    with pytest.raises(SlotTaken):
        move(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 10))
    with pytest.raises(SlotUnavailable):
        move(uow_factory, fake_clock, place.rt_head_id, family, at(SUNDAY, 10))

    rows = appointments_of(uow_factory, family)
    assert [(a.id, a.status, a.replaced_by_id) for a in rows] == [(original.id, "booked", None)]
    assert blocks_of(uow_factory, original.id) == blocks_between(at(MONDAY, 8), at(MONDAY, 8, 30))


def test_moving_without_an_appointment(uow_factory, fake_clock, place: Place) -> None:
    with pytest.raises(NoAppointment):
        move(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 8))


# --- cancelling -----------------------------------------------------------------------------------

def test_cancelling_frees_the_time(uow_factory, fake_clock, place: Place) -> None:
    start = at(MONDAY, 11)
    first = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], start)
    book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[1], start)
    with pytest.raises(SlotTaken):
        book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[2], start)

    cancelled = cancel(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0])
    assert cancelled.id == first.id and cancelled.status == "cancelled"
    assert blocks_of(uow_factory, first.id) == []
    third = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[2], start)
    assert third.enumerator_id == first.enumerator_id
    # The cancelled family may book again; its history keeps the cancelled visit.
    again = book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 13))
    assert [a.status for a in appointments_of(uow_factory, place.family_ids[0])] == ["cancelled", "booked"]
    assert again.status == "booked"
    with pytest.raises(NoAppointment):
        cancel(uow_factory, fake_clock, place.rt_head_id, place.family_ids[3])


# --- times that can never be booked ---------------------------------------------------------------

def assert_unavailable(uow_factory, clock, place: Place, start: dt.datetime) -> None:
    with pytest.raises(SlotUnavailable):
        book(uow_factory, clock, place.rt_head_id, place.family_ids[0], start)
    assert appointments_of(uow_factory, place.family_ids[0]) == []


def test_booking_in_the_past(uow_factory, fake_clock, place: Place) -> None:
    fake_clock.set(at(MONDAY, 12))
    assert_unavailable(uow_factory, fake_clock, place, at(MONDAY, 9))
    assert_unavailable(uow_factory, fake_clock, place, at(MONDAY, 8) - dt.timedelta(days=7))


def test_booking_inside_the_lead_time(uow_factory, fake_clock, place: Place) -> None:
    fake_clock.set(at(MONDAY, 7))  # the lead time is 2 hours: 09.00 is the first bookable start
    assert_unavailable(uow_factory, fake_clock, place, at(MONDAY, 8))
    assert_unavailable(uow_factory, fake_clock, place, at(MONDAY, 8, 30))
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 9)).status == "booked"


def test_booking_on_a_public_holiday(uow_factory, fake_clock, place: Place) -> None:
    independence_day = dt.date(2026, 8, 17)  # Hari Kemerdekaan, a Monday
    fake_clock.set(at(dt.date(2026, 8, 10), 9))
    assert_unavailable(uow_factory, fake_clock, place, at(independence_day, 9))
    assert_unavailable(uow_factory, fake_clock, place, at(dt.date(2026, 8, 25), 9))  # Maulid Nabi, a Tuesday
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0],
                at(independence_day + dt.timedelta(days=1), 9)).status == "booked"


@pytest.mark.parametrize("hour, minute", [(11, 30), (12, 0), (12, 30)])
def test_booking_during_friday_prayer(uow_factory, fake_clock, place: Place, hour: int, minute: int) -> None:
    assert_unavailable(uow_factory, fake_clock, place, at(FRIDAY, hour, minute))


def test_friday_around_the_prayer_break_is_bookable(uow_factory, fake_clock, place: Place) -> None:
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(FRIDAY, 11)).end_at == at(FRIDAY, 11, 30)
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[1], at(FRIDAY, 13)).status == "booked"


@pytest.mark.parametrize("start", [
    pytest.param(at(MONDAY, 7, 30), id="before-08"),
    pytest.param(at(MONDAY, 16), id="at-16"),
    pytest.param(at(MONDAY, 15, 45), id="ends-after-16"),
    pytest.param(at(MONDAY, 20), id="evening"),
    pytest.param(at(SUNDAY, 9), id="sunday"),
    pytest.param(at(MONDAY, 8, 15), id="off-the-grid"),
    pytest.param(at(MONDAY, 8) + dt.timedelta(days=30), id="beyond-horizon"),
])
def test_booking_outside_working_hours(uow_factory, fake_clock, place: Place, start: dt.datetime) -> None:
    assert_unavailable(uow_factory, fake_clock, place, start)


def test_the_last_visit_of_the_day_ends_at_closing_time(uow_factory, fake_clock, place: Place) -> None:
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 15, 30)).end_at == at(MONDAY, 16)


# --- one active appointment per family ------------------------------------------------------------

def test_a_family_cannot_have_two_active_appointments(uow_factory, fake_clock, place: Place) -> None:
    family = place.family_ids[0]
    book(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 8))
    with pytest.raises(FamilyAlreadyBooked):
        book(uow_factory, fake_clock, place.rt_head_id, family, at(MONDAY, 10))
    resident = resident_of(uow_factory, place, family, fake_clock.now())
    with pytest.raises(FamilyAlreadyBooked):
        book(uow_factory, fake_clock, resident, family, at(TUESDAY, 10))
    assert [a.status for a in appointments_of(uow_factory, family)] == ["booked"]


def test_the_database_itself_refuses_a_second_active_appointment(uow_factory, fake_clock, place: Place) -> None:
    """The partial unique index, not only the service's check, holds the rule."""
    family, enumerator = place.family_ids[0], place.enumerator_ids[0]
    now = fake_clock.now()

    def insert(status: str, start: dt.datetime) -> None:
        with uow_factory() as uow:
            uow.session.add(Appointment(family_id=family, enumerator_id=enumerator, start_at=start,
                                        end_at=start + dt.timedelta(minutes=30), status=status,
                                        created_at=now, updated_at=now))
            uow.commit()

    insert("booked", at(MONDAY, 8))
    insert("cancelled", at(MONDAY, 9))  # any number of inactive rows is fine
    insert("moved", at(MONDAY, 10))
    with pytest.raises(IntegrityError):
        insert("booked", at(MONDAY, 11))


def test_the_database_itself_refuses_overlapping_blocks(uow_factory, fake_clock, place: Place) -> None:
    """The busy_blocks primary key: one enumerator cannot hold the same 15 minutes twice."""
    now = fake_clock.now()
    enumerator = place.enumerator_ids[0]

    def insert(family_id: int, start: dt.datetime) -> None:
        with uow_factory() as uow:
            appointment = Appointment(family_id=family_id, enumerator_id=enumerator, start_at=start,
                                      end_at=start + dt.timedelta(minutes=30), status="booked",
                                      created_at=now, updated_at=now)
            uow.appointments.add_with_blocks(appointment, blocks_between(start, appointment.end_at))
            uow.commit()

    insert(place.family_ids[0], at(MONDAY, 8))
    with pytest.raises(IntegrityError):
        insert(place.family_ids[1], at(MONDAY, 8, 15))  # shares the 08.15 block
    insert(place.family_ids[1], at(MONDAY, 8, 30))  # adjacent is fine
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(BusyBlock)) == 4
        assert uow.session.scalar(select(func.count()).select_from(Appointment)) == 2


# --- who may book for whom ------------------------------------------------------------------------

def test_an_rt_head_books_for_families_of_their_own_rt_only(uow_factory, fake_clock, place: Place) -> None:
    other = make_place(uow_factory, fake_clock.now(), tz=WITA, enumerators=1, families=2)
    assert book(uow_factory, fake_clock, place.rt_head_id, place.family_ids[0], at(MONDAY, 8)).status == "booked"
    with pytest.raises(NotAllowed):
        book(uow_factory, fake_clock, place.rt_head_id, other.family_ids[0], at(MONDAY, 8))
    with pytest.raises(NotAllowed):
        book(uow_factory, fake_clock, other.rt_head_id, place.family_ids[1], at(MONDAY, 8))
    assert appointments_of(uow_factory, other.family_ids[0]) == []
    # Moving and cancelling follow the same rule.
    with pytest.raises(NotAllowed):
        move(uow_factory, fake_clock, other.rt_head_id, place.family_ids[0], at(MONDAY, 9))
    with pytest.raises(NotAllowed):
        cancel(uow_factory, fake_clock, other.rt_head_id, place.family_ids[0])
    assert [a.status for a in appointments_of(uow_factory, place.family_ids[0])] == ["booked"]


def test_a_resident_books_for_their_own_family_only(uow_factory, fake_clock, place: Place) -> None:
    resident = resident_of(uow_factory, place, place.family_ids[0], fake_clock.now())
    with pytest.raises(NotAllowed):
        book(uow_factory, fake_clock, resident, place.family_ids[1], at(MONDAY, 8))
    with pytest.raises(NotAllowed):
        book(uow_factory, fake_clock, resident, 10**6, at(MONDAY, 8))  # no such family
    assert book(uow_factory, fake_clock, resident, place.family_ids[0], at(MONDAY, 8)).booked_by_user_id == resident


# --- time zones -----------------------------------------------------------------------------------

def test_jakarta_and_makassar_open_at_the_same_local_time_at_different_instants(uow_factory, fake_clock) -> None:
    now = fake_clock.now()
    jakarta = make_place(uow_factory, now, tz=WIB, enumerators=1, families=1)
    makassar = make_place(uow_factory, now, tz=WITA, enumerators=1, families=1)

    firsts = {}
    for name, where in (("jakarta", jakarta), ("makassar", makassar)):
        with uow_factory() as uow:
            slots = family_free_slots(uow, uow.families.get(where.family_ids[0]), now, RULES, [MONDAY])
        firsts[name] = slots[0].start
        assert slots[0].start.astimezone(where.tz).time() == dt.time(8, 0)
        assert slots[-1].end.astimezone(where.tz).time() == dt.time(16, 0)
    assert firsts["jakarta"] == dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08.00 WIB = UTC+7
    assert firsts["makassar"] == dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # 08.00 WITA = UTC+8
    assert firsts["jakarta"] - firsts["makassar"] == dt.timedelta(hours=1)

    in_jakarta = book(uow_factory, fake_clock, jakarta.rt_head_id, jakarta.family_ids[0], firsts["jakarta"])
    in_makassar = book(uow_factory, fake_clock, makassar.rt_head_id, makassar.family_ids[0], firsts["makassar"])
    assert appointments_of(uow_factory, jakarta.family_ids[0])[0].start_at == dt.datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert appointments_of(uow_factory, makassar.family_ids[0])[0].start_at == dt.datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    assert in_jakarta.start_at.astimezone(WIB).hour == in_makassar.start_at.astimezone(WITA).hour == 8


def test_makassar_eight_oclock_is_too_early_in_jakarta(uow_factory, fake_clock) -> None:
    jakarta = make_place(uow_factory, fake_clock.now(), tz=WIB, enumerators=1, families=1)
    with pytest.raises(SlotUnavailable):  # 08.00 WITA is 07.00 WIB, before the working day
        book(uow_factory, fake_clock, jakarta.rt_head_id, jakarta.family_ids[0], at(MONDAY, 8, tz=WITA))
    # The Friday prayer break is local too: 11.30 WIB is 12.30 WITA.
    with pytest.raises(SlotUnavailable):
        book(uow_factory, fake_clock, jakarta.rt_head_id, jakarta.family_ids[0], at(FRIDAY, 11, 30, tz=WIB))
    assert book(uow_factory, fake_clock, jakarta.rt_head_id, jakarta.family_ids[0],
                at(FRIDAY, 11, 30, tz=WITA)).start_at.astimezone(WIB).time() == dt.time(10, 30)


# --- travel-aware offers (domain/travel.py) ------------------------------------------------------------

def test_a_days_times_far_from_the_officers_round_are_offered_last(uow_factory, fake_clock) -> None:
    from domain.appointments import time_choices

    place = make_place(uow_factory, fake_clock.now(), tz=WITA, enumerators=1, families=3, enumerator_users=True)
    near_a, far_b, newcomer = place.family_ids
    with uow_factory() as uow:  # A and the newcomer live 100 m apart, B 5.5 km away
        for family_id, (lat, lon) in zip(place.family_ids, [(-0.50, 117.150), (-0.50, 117.200), (-0.50, 117.151)]):
            family = uow.families.get(family_id)
            family.latitude, family.longitude = lat, lon
        uow.commit()
    book(uow_factory, fake_clock, place.rt_head_id, far_b, at(MONDAY, 10))
    book(uow_factory, fake_clock, place.rt_head_id, near_a, at(MONDAY, 14))
    with uow_factory() as uow:
        offered = [s.start for s in time_choices(uow, newcomer, MONDAY, fake_clock.now(), RULES).slots]
    # Before 10.00 the officer would ride 5.5 km on to B: those times come last. From B's visit on, the
    # newcomer lies on the way to A (or next door after it): those first, the earliest first.
    before_b = [t for t in offered if t < at(MONDAY, 10)]
    assert before_b and offered[-len(before_b):] == before_b
    assert offered[0] == at(MONDAY, 10, 30)
    assert sorted(offered) == sorted(set(offered))  # the same times, only in another order
