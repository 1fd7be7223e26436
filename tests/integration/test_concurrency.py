"""No double booking under concurrency, on SQLite and PostgreSQL.

Hundreds of threads each open their own unit of work (their own session and connection) and are
released at once by a barrier. Afterwards the database must hold no two overlapping visits of one
enumerator, no family with two active visits, and busy_blocks exactly matching the active visits;
every attempt that lost must have lost with the error the bot turns into a message (SlotTaken,
FamilyAlreadyBooked), never with an unexpected one (a deadlock, "database is locked", ...).
"""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from sqlalchemy import select, text

from domain.booking import BookingRules, book_visit, cancel_visit, family_free_slots, move_visit
from domain.errors import FamilyAlreadyBooked, NoAppointment, SlotTaken
from domain.model import Appointment, BusyBlock, EnumeratorAssignment
from domain.slots import WorkWeek, blocks_between
from factories import MONDAY, WIB, WITA, Outcome, Place, at, make_place, race

RULES = BookingRules()
ATTEMPTS = 200


# --- attempts: each opens its own unit of work, as one bot update would ----------------------------

def booking(uow_factory, user_id: int, family_id: int, start: dt.datetime, now: dt.datetime):
    def attempt() -> tuple[int, int]:
        with uow_factory() as uow:
            appointment = book_visit(uow, uow.users.get(user_id), family_id, start, now, RULES)
            uow.commit()
            return appointment.id, appointment.enumerator_id
    return attempt


def moving(uow_factory, user_id: int, family_id: int, start: dt.datetime, now: dt.datetime):
    def attempt() -> tuple[int, int]:
        with uow_factory() as uow:
            old, new = move_visit(uow, uow.users.get(user_id), family_id, start, now, RULES)
            uow.commit()
            return old.id, new.id
    return attempt


# --- what must hold afterwards --------------------------------------------------------------------

def booked_appointments(uow_factory) -> list[Appointment]:
    with uow_factory() as uow:
        return list(uow.session.scalars(select(Appointment).where(Appointment.status == "booked")))


def assert_no_double_booking(uow_factory) -> list[Appointment]:
    """The invariants, checked on both tables; returns the active appointments."""
    with uow_factory() as uow:
        appointments = list(uow.session.scalars(select(Appointment)))
        blocks = list(uow.session.execute(select(BusyBlock.enumerator_id, BusyBlock.block_start,
                                                 BusyBlock.appointment_id)))
    booked = [a for a in appointments if a.status == "booked"]

    # One active appointment per family.
    per_family = Counter(a.family_id for a in booked)
    assert [f for f, n in per_family.items() if n > 1] == []

    # No two active visits of one enumerator overlap in time (not merely: start at the same time).
    per_enumerator: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in booked:
        per_enumerator[appointment.enumerator_id].append(appointment)
    for visits in per_enumerator.values():
        visits.sort(key=lambda a: a.start_at)
        for earlier, later in zip(visits, visits[1:]):
            assert earlier.end_at <= later.start_at, f"overlap: {earlier.id} and {later.id}"

    # busy_blocks is exactly the active visits' blocks: none missing, none left behind by a move or
    # a cancellation, none claimed twice (the primary key would refuse that, but check anyway).
    expected = {(a.enumerator_id, b, a.id) for a in booked for b in blocks_between(a.start_at, a.end_at)}
    assert len(blocks) == len(set(blocks))
    assert set(blocks) == expected
    return booked


def errors_of(outcomes: list[Outcome]) -> Counter:
    return Counter(type(o.error).__name__ for o in outcomes if o.error is not None)


def assert_only(outcomes: list[Outcome], *allowed: type[BaseException]) -> None:
    unexpected = [o.error for o in outcomes if o.error is not None and not isinstance(o.error, allowed)]
    assert not unexpected, f"{len(unexpected)} unexpected errors, first: {unexpected[0]!r}"


# --- (a) many families, few slots -----------------------------------------------------------------

def test_many_families_race_for_few_slots(uow_factory, fake_clock) -> None:
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=3, families=ATTEMPTS)
    times = [at(MONDAY, 8), at(MONDAY, 8, 30), at(MONDAY, 9), at(MONDAY, 9, 30)]
    places = len(times) * len(place.enumerator_ids)  # 12 slot-places for 200 families

    outcomes = race([booking(uow_factory, place.rt_head_id, family, times[i % len(times)], now)
                     for i, family in enumerate(place.family_ids)])

    winners = [o for o in outcomes if o.error is None]
    assert_only(outcomes, SlotTaken)
    assert len(winners) == places
    assert errors_of(outcomes) == Counter({"SlotTaken": ATTEMPTS - places})
    booked = assert_no_double_booking(uow_factory)
    assert len(booked) == places
    # Every (enumerator, time) place was taken exactly once, each by a family that aimed at that time.
    assert Counter((a.enumerator_id, a.start_at) for a in booked) == Counter(
        {(e, t): 1 for e in place.enumerator_ids for t in times})
    for outcome in winners:
        family = place.family_ids[outcome.index]
        assert any(a.family_id == family and a.start_at == times[outcome.index % len(times)] for a in booked)


# --- (b) one family racing with itself ------------------------------------------------------------

def test_one_family_races_with_itself_for_many_times(uow_factory, fake_clock) -> None:
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=2, families=1, visit_minutes=15)
    family = place.family_ids[0]
    with uow_factory() as uow:
        starts = [s.start for s in family_free_slots(uow, uow.families.get(family), now, RULES)][:ATTEMPTS]
    assert len(starts) == ATTEMPTS and len(set(starts)) == ATTEMPTS

    outcomes = race([booking(uow_factory, place.rt_head_id, family, start, now) for start in starts])

    assert_only(outcomes, FamilyAlreadyBooked)
    assert sum(o.error is None for o in outcomes) == 1
    booked = assert_no_double_booking(uow_factory)
    assert [a.family_id for a in booked] == [family]
    with uow_factory() as uow:  # the losers left nothing behind, not even inactive rows
        assert len(list(uow.session.scalars(select(Appointment)))) == 1


# --- (c) moves racing with bookings ---------------------------------------------------------------

def test_moves_race_with_bookings(uow_factory, fake_clock) -> None:
    now = fake_clock.now()
    place = make_place(uow_factory, now, enumerators=3, families=60)
    times = [at(MONDAY, 8) + dt.timedelta(minutes=30 * i) for i in range(6)]  # 18 slot-places
    movers, bookers = place.family_ids[:9], place.family_ids[9:]
    for i, family in enumerate(movers):  # half the places are taken before the race starts
        booking(uow_factory, place.rt_head_id, family, times[i % len(times)], now)()
    originals = {a.family_id: a.id for a in booked_appointments(uow_factory)}
    assert len(originals) == len(movers)

    rng = random.Random(20261123)
    attempts, kinds = [], []
    for i in range(ATTEMPTS):
        if i % 2 == 0:  # 100 moves: each mover family moves ~11 times at once
            attempts.append(moving(uow_factory, place.rt_head_id, movers[i // 2 % len(movers)], rng.choice(times), now))
            kinds.append("move")
        else:  # 100 bookings by 51 families: some families try twice
            attempts.append(booking(uow_factory, place.rt_head_id, bookers[i // 2 % len(bookers)], rng.choice(times), now))
            kinds.append("book")
    outcomes = race(attempts)

    moves = [o for o, kind in zip(outcomes, kinds) if kind == "move"]
    bookings = [o for o, kind in zip(outcomes, kinds) if kind == "book"]
    assert_only(moves, SlotTaken)
    assert_only(bookings, SlotTaken, FamilyAlreadyBooked)
    booked = assert_no_double_booking(uow_factory)
    assert len(booked) <= len(times) * len(place.enumerator_ids)

    # A move never loses the visit: every mover still has exactly one, reached from its original
    # through the chain of replaced_by_id, one link per successful move.
    with uow_factory() as uow:
        rows = {a.id: a for a in uow.session.scalars(select(Appointment))}
    active = {a.family_id: a for a in booked}
    assert set(movers) <= set(active)
    successful_moves = Counter(movers[o.index // 2 % len(movers)] for o in moves if o.error is None)
    for family in movers:
        chain, current = [], rows[originals[family]]
        while current.replaced_by_id is not None:
            assert current.status == "moved" and current.family_id == family
            chain.append(current.id)
            current = rows[current.replaced_by_id]
        assert current.id == active[family].id
        assert len(chain) == successful_moves[family]
        assert sum(1 for a in rows.values() if a.family_id == family) == 1 + successful_moves[family]
    assert sum(o.error is None for o in moves) == sum(1 for a in rows.values() if a.status == "moved")
    # Each successful booking is one active visit of a booker family, and nothing else was written.
    assert sum(o.error is None for o in bookings) == sum(1 for a in booked if a.family_id in set(bookers))
    assert all(a.status in ("booked", "moved") for a in rows.values())


# --- (d) visits that overlap without starting together ----------------------------------------------

def test_partially_overlapping_visits_across_time_zones(uow_factory, fake_clock) -> None:
    """One enumerator serves an RT in WIB and one in WITA with 45-minute visits: the two grids are
    an hour apart, so their visits overlap by 15 or 30 minutes instead of coinciding. Only the busy
    blocks stand between them."""
    now = fake_clock.now()
    week = WorkWeek({d: (dt.time(8), dt.time(11)) for d in range(6)})
    wita = make_place(uow_factory, now, tz=WITA, enumerators=1, families=ATTEMPTS // 2, visit_minutes=45, work_week=week)
    wib = make_place(uow_factory, now, tz=WIB, enumerators=0, families=ATTEMPTS // 2)
    enumerator = wita.enumerator_ids[0]
    with uow_factory() as uow:
        uow.session.add(EnumeratorAssignment(enumerator_id=enumerator, sls_id=wib.sls_id))
        uow.commit()
    # WITA 08.00-11.00 is 00.00-03.00 UTC, WIB 08.00-11.00 is 01.00-04.00 UTC, both in 45-minute steps.
    wita_times = [at(MONDAY, 8) + dt.timedelta(minutes=45 * i) for i in range(4)]
    wib_times = [at(MONDAY, 8, tz=WIB) + dt.timedelta(minutes=45 * i) for i in range(4)]

    attempts = []
    for i in range(ATTEMPTS // 2):
        attempts.append(booking(uow_factory, wita.rt_head_id, wita.family_ids[i], wita_times[i % 4], now))
        attempts.append(booking(uow_factory, wib.rt_head_id, wib.family_ids[i], wib_times[i % 4], now))
    outcomes = race(attempts)

    assert_only(outcomes, SlotTaken)
    booked = assert_no_double_booking(uow_factory)
    assert len(booked) == sum(o.error is None for o in outcomes)
    # Nothing freed a time during the race, so every time someone tried is now either booked or
    # overlaps a booked visit (no attempt lost to a visit that was not kept). 00.00-04.00 UTC fits
    # at most five 45-minute visits; any such maximal choice among these eight times has four or five.
    visit = dt.timedelta(minutes=45)
    for start in wita_times + wib_times:
        assert any(a.start_at < start + visit and start < a.end_at for a in booked), start
    assert 4 <= len(booked) <= 5


# --- (e) a move and a cancellation of the same visit, interleaved -----------------------------------

def _wait_until_blocked(engine, thread: threading.Thread, seconds: float = 5.0) -> None:
    """Let ``thread`` reach the point where it waits for the other transaction's lock."""
    deadline = time.monotonic() + seconds
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            while time.monotonic() < deadline and thread.is_alive():
                waiting = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'")).scalar()
                connection.rollback()
                if waiting:
                    return
                time.sleep(0.01)
    else:  # SQLite: the second transaction waits in BEGIN IMMEDIATE's busy handler
        time.sleep(0.2)


def _interleave(engine, uow_factory, first, second):
    """Run ``first`` in a transaction that stays open until ``second`` is blocked on it, then commit.
    Returns (result of first, outcome of second)."""
    outcome = Outcome(0)
    with uow_factory() as uow:
        result = first(uow)
        uow.flush()

        def run() -> None:
            try:
                with uow_factory() as other:
                    outcome.result = second(other)
                    other.commit()
            except BaseException as error:  # noqa: BLE001
                outcome.error = error

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        _wait_until_blocked(engine, thread)
        uow.commit()
    thread.join(30)
    assert not thread.is_alive()
    return result, outcome


@pytest.fixture
def booked_place(uow_factory, fake_clock) -> tuple[Place, int]:
    place = make_place(uow_factory, fake_clock.now(), enumerators=2, families=2)
    booking(uow_factory, place.rt_head_id, place.family_ids[0], at(MONDAY, 8), fake_clock.now())()
    return place, place.family_ids[0]


def _statuses(uow_factory, family: int) -> list[tuple[str, int | None]]:
    with uow_factory() as uow:
        rows = uow.session.scalars(select(Appointment).where(Appointment.family_id == family).order_by(Appointment.id))
        return [(a.status, a.replaced_by_id) for a in rows]


def test_a_cancellation_waiting_on_a_move_cancels_the_moved_visit(engine, uow_factory, fake_clock, booked_place) -> None:
    place, family = booked_place
    now = fake_clock.now()
    (old, new), cancelled = _interleave(
        engine, uow_factory,
        lambda uow: move_visit(uow, uow.users.get(place.rt_head_id), family, at(MONDAY, 10), now, RULES),
        lambda uow: cancel_visit(uow, uow.users.get(place.rt_head_id), family, now).id,
    )
    # Serially: the move, then the cancellation of the visit as it is now. The cancellation must not
    # overwrite the moved row and leave the new visit standing while the user is told "cancelled".
    assert cancelled.error is None, repr(cancelled.error)
    assert cancelled.result == new.id
    assert _statuses(uow_factory, family) == [("moved", new.id), ("cancelled", None)]
    assert booked_appointments(uow_factory) == []
    assert_no_double_booking(uow_factory)


def test_a_move_waiting_on_a_cancellation_finds_nothing_to_move(engine, uow_factory, fake_clock, booked_place) -> None:
    place, family = booked_place
    now = fake_clock.now()
    _, moved = _interleave(
        engine, uow_factory,
        lambda uow: cancel_visit(uow, uow.users.get(place.rt_head_id), family, now),
        lambda uow: move_visit(uow, uow.users.get(place.rt_head_id), family, at(MONDAY, 10), now, RULES),
    )
    # Serially: the cancellation, then a move of a visit that no longer exists. It must not revive it.
    assert isinstance(moved.error, NoAppointment), repr(moved.error)
    assert _statuses(uow_factory, family) == [("cancelled", None)]
    assert booked_appointments(uow_factory) == []
    assert_no_double_booking(uow_factory)


def test_two_moves_of_one_visit_one_after_the_other(engine, uow_factory, fake_clock, booked_place) -> None:
    place, family = booked_place
    now = fake_clock.now()
    (_, first), second = _interleave(
        engine, uow_factory,
        lambda uow: move_visit(uow, uow.users.get(place.rt_head_id), family, at(MONDAY, 10), now, RULES),
        lambda uow: move_visit(uow, uow.users.get(place.rt_head_id), family, at(MONDAY, 11), now, RULES)[1].id,
    )
    assert second.error is None, repr(second.error)
    assert _statuses(uow_factory, family) == [("moved", first.id), ("moved", second.result), ("booked", None)]
    assert [a.start_at for a in booked_appointments(uow_factory)] == [at(MONDAY, 11)]
    assert_no_double_booking(uow_factory)
