"""Booking, moving and cancelling a visit (handlers/booking.py): the days and times offered, the
confirmation, and two people after the same time. The world: helpers.py."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from domain.invites import InviteKind
from domain.model import Appointment, Family
from handlers.states import State
from tests.unit.flows.helpers import ID, KK_BUDI, KK_WATI, WITA, Person, appointments, make_world


# --- the resident's booking -----------------------------------------------------------------------

def test_a_resident_books_a_visit_from_start_to_confirmation(world):
    wati = Person(world, 1001)
    world.list_family("Wati Susanti", KK_WATI)  # the RT head's list has her family
    token = world.invite(InviteKind.RESIDENT, world.sls_ids[0])
    wati.say(f"/start {token}")  # the RT's resident link
    assert "Selamat datang di Pintu" in wati.screen
    assert wati.buttons() == [f"cs:y:{token}", "cs:n"]
    wati.press(f"cs:y:{token}")
    assert "nama kepala keluarga" in wati.screen
    wati.say("Wati Susanti")
    assert "nomor KK" in wati.screen and "Wati Susanti" in wati.screen
    wati.say("6472 0101 0120 9999")
    assert "jumlah anggota" in wati.screen
    wati.press("mb:4")
    wati.give_house()
    assert ID("family-registered") in wati.previous
    assert "Pilih <b>hari</b>" in wati.screen and wati.buttons()[0] == "dy:20261123"
    assert wati.labels()[0] == "Sen 23 Nov"
    wati.press("dy:20261123")
    assert "Senin, 23 Nov" in wati.screen and "WITA" in wati.screen
    # Lead time: at 08.00 the first visit that can be offered is 10.00.
    times = wati.buttons()
    assert times[0] == "tm:202611231000" and "tm:202611230930" not in times
    assert wati.labels()[0] == "10.00"
    wati.press("tm:202611231000")
    assert "<b>Senin, 23 Nov, 10.00 WITA</b>" in wati.screen and "Benar?" in wati.screen
    assert "Petugas: Rina" in wati.screen  # the confirm screen names the officer
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen
    assert "Janji kunjungan dibuat" in wati.screen
    # The notice she agreed to stays in the chat (a message of its own), one answer per typed step (name, KK,
    # address: the last asks for the location), the note that takes the location keyboard away, and the days.
    assert wati.sent <= 7, "from /start to the confirmation the resident gets at most seven new messages"

    family = world.scalar(select(Family).where(Family.kk_number == KK_WATI))
    assert family.head_name == "Wati Susanti" and family.members == 4 and family.sls_id == world.sls_ids[0]
    [visit] = appointments(world, Appointment.family_id == family.id)
    assert visit.status == "booked" and visit.enumerator_id == world.rina_id
    assert visit.start_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)
    assert wati.user().family_id == family.id and wati.conversation().state == "idle"
    # The confirmation offers the family's own part of the questionnaire, while the visit is in mind.
    assert f"qn:go:{family.id}" in wati.buttons()
    wati.press(f"qn:go:{family.id}")
    assert "Data keluarga <b>Wati Susanti</b>" in wati.screen


def test_lead_time_follows_the_clock(world):
    world.clock.advance(dt.timedelta(minutes=10))  # 08.10 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    assert wati.buttons()[0] == "tm:202611231030"
    # A time inside the lead time cannot be picked even with a hand-made button.
    wati.press("tm:202611231000")
    assert "Kunjungan ke keluarga" not in wati.screen
    assert wati.conversation().state == State.PICK_TIME


def test_the_confirmation_waits_too_long_and_the_time_is_no_longer_bookable(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")
    world.clock.advance(dt.timedelta(hours=1))  # 09.00: 10.00 is now inside the lead time
    wati.press("ok:yes")
    assert appointments(world) == []
    assert "petugas Rina" not in wati.screen
    assert ID("slot-taken") not in wati.screen, "nobody took it: the time just passed the lead time"
    assert "tm:202611231000" not in wati.buttons() and "tm:202611231100" in wati.buttons()


# --- the days and times offered -------------------------------------------------------------------

def test_the_days_offered_are_two_weeks_without_sundays_and_fridays_keep_the_prayer_break(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    days = [d for d in wati.buttons() if d.startswith("dy:")]
    expected = [f"dy:{dt.date(2026, 11, 23) + dt.timedelta(days=i):%Y%m%d}" for i in range(14)
                if (dt.date(2026, 11, 23) + dt.timedelta(days=i)).weekday() != 6]
    assert days == expected and days[-1] == "dy:20261205"
    assert wati.buttons()[-1] == "nv:close"
    wati.press("dy:20261127")
    assert "Jumat, 27 Nov" in wati.screen
    times = {b[-4:] for b in wati.buttons() if b.startswith("tm:")}
    assert {"1100", "1300"} <= times and not {"1130", "1200", "1230"} & times


def test_late_in_the_day_today_is_no_longer_offered():
    world = make_world(dt.datetime(2026, 11, 23, 7, 0, tzinfo=dt.timezone.utc))  # 15.00 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    assert wati.buttons()[0] == "dy:20261124"


def test_christmas_and_its_cuti_bersama_are_not_offered():
    world = make_world(dt.datetime(2026, 12, 21, 0, 0, tzinfo=dt.timezone.utc))  # Monday 08.00 WITA
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    days = wati.buttons()
    assert "dy:20261223" in days and "dy:20261226" in days
    assert "dy:20261225" not in days  # Natal
    assert "dy:20261224" not in days  # Cuti Bersama Hari Raya Natal: closed like the holiday by default
    # A hand-made button for Christmas day or a time on it leads nowhere.
    wati.press("dy:20261225")
    assert not any(b.startswith("tm:20261225") for b in wati.buttons())
    wati.press("dy:20261223")
    wati.press("tm:202612251000")
    assert "Kunjungan ke keluarga" not in wati.screen
    assert wati.conversation().state != "confirm"
    assert appointments(world) == []


def test_officers_with_different_visit_lengths_show_each_time_once(world):
    with world.uow_factory() as uow:
        uow.enumerators.get(world.agus_id).visit_minutes = 60
        uow.commit()
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    times = wati.buttons()[:-1]
    assert len(times) == len(set(times))
    assert {"tm:202611231000", "tm:202611231030", "tm:202611231100"} <= set(times)
    wati.press("tm:202611231000")
    wati.press("ok:yes")
    assert "10.00 WITA — petugas" in wati.screen


def test_an_rt_in_papua_sees_wit_times(world):
    with world.uow_factory() as uow:
        for sls_id in world.sls_ids:
            uow.areas.get(sls_id).timezone = "Asia/Jayapura"
        uow.commit()
    # 00.00 UTC is 09.00 WIT: with two hours' notice the first visit is at 11.00 WIT.
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    assert "(WIT)" in wati.screen and wati.buttons()[0] == "tm:202611231100"
    wati.press("tm:202611231100")
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 11.00 WIT — petugas Rina" in wati.screen
    [visit] = appointments(world)
    assert visit.start_at == dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


# --- cancelling and moving ------------------------------------------------------------------------

def test_a_resident_cannot_cancel_or_move_another_familys_visit(world):
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    budi.register("Budi Hartono", KK_BUDI)
    wati_family = wati.user().family_id
    for forged in (f"ap:yes:{wati_family}", f"ap:cancel:{wati_family}", f"ap:move:{wati_family}", f"ap:keep:{wati_family}"):
        budi.press(forged)
        assert budi.answer.text == ID("stale-button")
        assert "Wati" not in budi.screen
    [visit] = appointments(world, Appointment.family_id == wati_family)
    assert visit.status == "booked"


def test_a_resident_cancels_their_own_visit_and_the_time_is_free_again(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    family = wati.user().family_id
    wati.press(f"ap:cancel:{family}")
    assert "Batalkan kunjungan <b>Senin, 23 Nov, 10.00 WITA</b>" in wati.screen
    wati.press(f"ap:yes:{family}")
    assert "dibatalkan" in wati.screen
    assert [a.status for a in appointments(world)] == ["cancelled"]
    wati.press(f"ap:yes:{family}")  # pressed twice
    assert wati.answer.text == ID("no-appointment")
    wati.press("dy:20261123")
    assert "tm:202611231000" in wati.buttons()


def test_a_resident_moves_their_visit(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say("/pindah")
    assert "Pindah jadwal" in wati.screen
    wati.book(day="20261124", time="0900")
    assert "Jadwal dipindah" in wati.screen and "Selasa, 24 Nov, 09.00 WITA" in wati.screen
    assert [a.status for a in appointments(world)] == ["moved", "booked"]


def test_cancel_command_without_a_visit(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/batal")
    assert wati.screen == ID("no-appointment")


def test_moving_a_visit_that_was_cancelled_meanwhile(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say("/pindah")
    wati.press("dy:20261124")
    wati.press("tm:202611240900")
    # Meanwhile, in another chat, the visit is cancelled.
    with world.uow_factory() as uow:
        uow.appointments.active_for_family(wati.user().family_id).status = "cancelled"
        uow.commit()
    wati.press("ok:yes")
    assert wati.screen.startswith(ID("no-appointment"))
    assert ID("not-allowed") not in wati.screen
    assert wati.buttons()[0].startswith("dy:")
    wati.book(day="20261124", time="0900")
    assert "Selasa, 24 Nov, 09.00 WITA" in wati.screen


# --- races: the same time, the same family --------------------------------------------------------

def test_two_residents_pick_the_same_last_time_and_the_second_is_told(world):
    # Agus is already out at 10.00, so only Rina is left at that time.
    world.book_directly(world.families_in(0)[0].id, world.agus_id, dt.datetime(2026, 11, 23, 10, 0, tzinfo=WITA))
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        person.press("tm:202611231000")
    wati.press("ok:yes")
    assert "10.00 WITA — petugas Rina" in wati.screen
    budi.press("ok:yes")
    assert budi.answer.text == ID("slot-taken-short") == "Waktu itu baru saja diambil"
    assert "baru saja diambil" in budi.screen
    assert "tm:202611231000" not in budi.buttons() and "tm:202611231030" in budi.buttons()
    assert budi.conversation().state == State.PICK_TIME
    budi.press("tm:202611231030")
    budi.press("ok:yes")
    assert "10.30 WITA — petugas" in budi.screen
    assert len(appointments(world, Appointment.status == "booked")) == 3


def test_two_residents_at_the_same_time_with_two_officers_both_get_it(world):
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        person.press("tm:202611231000")
    wati.press("ok:yes")
    budi.press("ok:yes")
    assert "10.00 WITA — petugas Rina" in wati.screen and "10.00 WITA — petugas Agus" in budi.screen


def test_the_last_free_time_of_a_day_taken_sends_back_to_the_days(world):
    # Everything on Monday is taken except 15.30 with Rina.
    rt1 = world.families_in(0) + world.families_in(1) + world.families_in(2)
    slots = [dt.datetime(2026, 11, 23, h, m, tzinfo=WITA) for h in range(10, 16) for m in (0, 30)]
    index = 0
    for start in slots:
        for enumerator in (world.rina_id, world.agus_id):
            if start.hour == 15 and start.minute == 30 and enumerator == world.rina_id:
                continue
            world.book_directly(rt1[index].id, enumerator, start)
            index += 1
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    wati.register("Wati Susanti", KK_WATI)
    budi.register("Budi Hartono", KK_BUDI)
    for person in (wati, budi):
        person.press("dy:20261123")
        assert person.buttons()[0] == "tm:202611231530"
        person.press("tm:202611231530")
    wati.press("ok:yes")
    budi.press("ok:yes")
    assert "baru saja diambil" in budi.screen
    assert "dy:20261123" not in budi.buttons() and "dy:20261124" in budi.buttons()


def test_a_family_already_booked_in_another_chat(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.press("dy:20261123")
    wati.press("tm:202611231000")
    family_id = wati.user().family_id
    world.book_directly(family_id, world.agus_id, dt.datetime(2026, 11, 24, 9, 0, tzinfo=WITA))
    wati.press("ok:yes")
    assert "Selasa, 24 Nov, 09.00 WITA — petugas Agus" in wati.screen
    assert len(appointments(world, Appointment.family_id == family_id)) == 1
