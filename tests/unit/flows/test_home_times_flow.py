"""When the family is home, in the chat: the multi-select while booking and from the RT head's family
page, the days and times it puts first (🏠), the reminder and the enumerator's day that show it; and
the enumerator's own working hours (/jamkerja). The world: helpers.py (Monday 23 Nov 2026, 08.00 WITA)."""
from __future__ import annotations

import datetime as dt

from domain.invites import InviteKind
from domain.model import Family
from domain.slots import WorkWeek
from domain.working_time import set_day_windows
from tests.unit.flows.helpers import ID, KK_WATI, WITA, Person, rt_head

SPLIT = ((dt.time(8), dt.time(12)), (dt.time(16), dt.time(20)))
EVENING_INDEX = 2  # weekday evenings, third in the list


def give_rina_evenings(world) -> None:
    with world.uow_factory() as uow:
        set_day_windows(uow, uow.enumerators.get(world.rina_id), [0, 1, 2, 3, 4], SPLIT)
        uow.commit()


def family_of(person: Person) -> int:
    return person.user().family_id


def test_a_resident_says_they_are_home_on_weekday_evenings_and_is_offered_evenings_first(world):
    give_rina_evenings(world)
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    family_id = family_of(wati)
    assert ID("home-times-ask-hint") in wati.screen
    days_message = wati.last_id
    wati.press(f"hm:open:{family_id}:b")
    assert wati.last_id == days_message, "the multi-select is the same message, edited in place"
    assert "Kapan keluarga Wati Susanti biasanya ada di rumah" in wati.screen
    assert wati.labels()[:5] == ["Pagi hari kerja", "Siang/sore hari kerja", "Malam hari kerja", "Sabtu", "Minggu"]
    wati.press(f"hm:t:{family_id}:{EVENING_INDEX}:b")
    assert wati.labels()[EVENING_INDEX] == "✅ Malam hari kerja" and "Dipilih: <b>Malam hari kerja</b>" in wati.screen
    wati.press(f"hm:t:{family_id}:4:b")  # Sunday too…
    wati.press(f"hm:t:{family_id}:4:b")  # …no: pressed again, undone
    assert wati.labels()[4] == "Minggu"
    assert world.scalar(Family.__table__.select().with_only_columns(Family.__table__.c.home_times)
                        .where(Family.__table__.c.id == family_id)) == ["weekday_evening"]
    wati.press(f"hm:done:{family_id}:b")
    assert wati.last_id == days_message and "Pilih <b>hari</b>" in wati.screen
    assert "🏠 = saat keluarga biasanya di rumah (Malam hari kerja)" in wati.screen
    assert wati.labels()[0] == "🏠 Sen 23 Nov"
    wati.press("dy:20261123")
    labels = wati.labels()
    # Rina works 16.00–20.00 too: the evening times (from 17.00) come first, marked; then the rest.
    assert labels[:6] == ["🏠 17.00", "🏠 17.30", "🏠 18.00", "🏠 18.30", "🏠 19.00", "🏠 19.30"]
    assert labels[6] == "10.00" and "16.00" in labels and "🏠 16.00" not in labels
    wati.press("tm:202611231800")
    wati.press("ok:yes")
    assert "Senin, 23 Nov, 18.00 WITA" in wati.screen


def test_a_weekend_family_sees_saturday_first_among_the_days(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    family_id = family_of(wati)
    wati.press(f"hm:open:{family_id}:b")
    wati.press(f"hm:t:{family_id}:3:b")  # Saturday
    wati.press(f"hm:done:{family_id}:b")
    days = wati.buttons()
    assert days[:2] == ["dy:20261128", "dy:20261205"]  # the two Saturdays of the horizon, then the rest by date
    assert days[2] == "dy:20261123"
    assert wati.labels()[0].startswith("🏠 ") and not wati.labels()[2].startswith("🏠")


def test_home_time_buttons_of_another_family_or_forged_ones_are_stale(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    other = world.families_in(1)[0].id
    for forged in (f"hm:open:{other}:b", f"hm:t:{family_of(wati)}:9:b", f"hm:t:{family_of(wati)}:x:b",
                   f"hm:open:{family_of(wati)}:z", "hm:t:999999999999:0:b", "hm:", "hm:t"):
        wati.press(forged)
        assert wati.answer.text == ID("stale-button"), forged


def test_the_rt_head_sets_a_familys_home_times_from_its_page(world):
    darto = rt_head(world)
    family = world.families_in(0)[0]
    darto.press(f"rt:fam:{family.id}")
    assert "🏠 Di rumah: -" in darto.screen
    darto.press(f"hm:open:{family.id}:r")
    darto.press(f"hm:t:{family.id}:4:r")  # Sunday
    assert "rt:fam:" + str(family.id) in darto.buttons(), "Selesai goes back to the family's page"
    darto.press(f"rt:fam:{family.id}")
    assert "🏠 Di rumah: Minggu" in darto.screen


def test_the_reminder_and_the_enumerators_views_show_the_home_times(world):
    give_rina_evenings(world)
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    family_id = family_of(wati)
    wati.press(f"hm:open:{family_id}:b")
    wati.press(f"hm:t:{family_id}:{EVENING_INDEX}:b")
    wati.press(f"hm:done:{family_id}:b")
    wati.book("20261124", "1000")  # a morning, although they are home in the evening (Rina has the visit)
    assert any("Kunjungan baru" in text and "🏠 Di rumah: Malam hari kerja" in text for text in rina.receive())
    rina.say("/jadwal")
    rina.press("en:tomorrow")
    assert "Wati Susanti" in rina.screen and "🏠 Di rumah: Malam hari kerja" in rina.screen

    world.clock.set(dt.datetime(2026, 11, 23, 19, 5, tzinfo=WITA))
    reminder = next(text for text in wati.receive() if "Pengingat" in text)
    assert "🏠 Keluarga biasanya di rumah: Malam hari kerja." in reminder
    assert ID("reminder-home-mismatch") in reminder


def test_an_enumerator_sets_their_own_evening_window_within_the_limits(world):
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    rina.say("/jamkerja")
    assert "Jam kerja Rina" in rina.screen and "Senin: 08.00–16.00" in rina.screen and "Minggu: libur" in rina.screen
    assert "07.00–21.00" in rina.screen
    rina.press("jk:d:0")
    assert "Ketik jam kerja hari <b>Senin</b>" in rina.screen
    rina.say("06.00-10.00")
    assert rina.screen == ID("hours-error-limits", window="06.00–10.00", earliest="07.00", latest="21.00")
    rina.say("kapan saja")
    assert "bukan jam kerja yang bisa dibaca" in rina.screen
    rina.say("x" * 5000)
    assert "bukan jam kerja yang bisa dibaca" in rina.screen
    rina.say("08.00-12.00, 11.00-13.00")
    assert rina.screen == ID("hours-error-overlap", window="11.00–13.00")
    rina.say("08.00-12.00, 16.00-20.00")
    assert "✅ Jam kerja hari Senin disimpan: 08.00–12.00, 16.00–20.00." in rina.screen
    assert "Senin: 08.00–12.00, 16.00–20.00" in rina.screen
    rina.press("jk:d:6")
    rina.say("libur")
    with world.uow_factory() as uow:
        week = WorkWeek.from_json(uow.enumerators.get(world.rina_id).work_week)
    assert week.hours[0] == SPLIT and 6 not in week.hours
    rina.press("jk:d:9")
    assert rina.answer.text == ID("stale-button")


def test_only_an_enumerator_has_working_hours(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/jamkerja")
    assert wati.screen == ID("not-allowed")
    wati.press("jk:d:0")
    assert wati.answer.text == ID("not-allowed")


def test_a_family_not_found_at_home_is_offered_its_home_days_first(world):
    from domain.booking import BookingRules
    from handlers.notifications import render_offer

    family_id = world.families_in(0)[0].id
    with world.uow_factory() as uow:
        uow.families.get(family_id).home_times = ["saturday"]
        uow.commit()
    with world.uow_factory() as uow:
        _, markup = render_offer(uow, family_id, ID, world.clock.now(), BookingRules())
    labels = [b.text for b in markup.buttons]
    assert labels[:2] == ["🏠 Sab 28 Nov", "🏠 Sab 5 Des"] and labels[2] == "Sen 23 Nov"
