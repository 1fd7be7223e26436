"""A family's home times end to end through python-telegram-bot and aiogram on the simulator: the
resident says "Malam hari kerja" (weekday evenings) while booking, on a multi-select edited in place, and
is offered the evening times first, marked 🏠 (the enumerator Rina works 16.00–20.00 too)."""
from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, button, buttons
from test_story import KK_WATI, no_crash
from domain.working_time import set_day_windows

MORNING_AND_EVENING = ((dt.time(8), dt.time(12)), (dt.time(16), dt.time(20)))


def test_a_resident_home_on_weekday_evenings_is_offered_evening_times_first(env: Env) -> None:
    with env.pintu.uow() as uow:
        set_day_windows(uow, uow.enumerators.get(env.area.enumerator_ids[0]), [0, 1, 2, 3, 4], MORNING_AND_EVENING)
        uow.commit()
    env.list_family("Wati Lestari", KK_WATI)
    wati = env.person(1001, "Wati")
    consent = wati.say(f"/start {env.resident_invite()}", "Selamat datang di Pintu")
    wati.press(consent, button(consent, "cs:y")[1], "nama kepala keluarga")
    wati.say("Wati Lestari", "nomor KK")
    members = wati.say(KK_WATI, "jumlah anggota keluarga")
    wati.press(members, "mb:4", "alamat rumah")
    days = wati.give_house()
    family_id = env.query(lambda uow: uow.users.by_telegram_id(1001).family_id)

    question, _ = wati.press(days, f"hm:open:{family_id}:b", "biasanya ada di rumah")
    assert question["message_id"] == days["message_id"], "the multi-select edits the days in place"
    evening_text, evening_data = button(question, f"hm:t:{family_id}:2:")
    assert evening_text == "Malam hari kerja"
    chosen, _ = wati.press(question, evening_data, "Dipilih")
    assert ("✅ Malam hari kerja", evening_data) in buttons(chosen)
    days, _ = wati.press(chosen, f"hm:done:{family_id}:b", "Pilih hari")
    assert days["message_id"] == question["message_id"]
    assert button(days, "dy:")[0] == "🏠 Sen 23 Nov"

    times, _ = wati.press(days, "dy:20261123", "pilih jam")
    offered = [text for text, data in buttons(times) if data.startswith("tm:")]
    assert offered[:6] == ["🏠 17.00", "🏠 17.30", "🏠 18.00", "🏠 18.30", "🏠 19.00", "🏠 19.30"]
    assert offered[6] == "10.00", "then the other free times, earliest first"
    confirm, _ = wati.press(times, "tm:202611231730", "Benar?")
    wati.press(confirm, "ok:yes", "Janji kunjungan dibuat")
    visit = env.query(lambda uow: uow.appointments.active_for_family(family_id))
    assert visit.start_at.astimezone(dt.timezone(dt.timedelta(hours=8))).time() == dt.time(17, 30)
    no_crash(wati)
