"""Registration end to end through python-telegram-bot and aiogram on the simulator: the resident gives
the address and shares the house's location with the location button, goes back from the members step
to fix the KK, and the RT head registers a family with its address, which the family card and the
enumerator's /jadwal then show."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import AT_HOME, BOT_ID, HOUSE_ADDRESS, Env, button, buttons  # noqa: E402
from test_coordination_e2e import dispatch, join  # noqa: E402
from test_story import KK_WATI, no_crash  # noqa: E402
from domain.invites import InviteKind  # noqa: E402

KK_TYPO = KK_WATI[:-1] + "8"
KK_SARI = "6472010101207777"


def test_a_resident_gives_the_address_shares_the_location_and_goes_back_to_fix_the_kk(env: Env) -> None:
    env.list_family("Wati Lestari", KK_WATI)
    wati = env.person(1001, "Wati")
    token = env.resident_invite()
    consent = wati.say(f"/start {token}", "Selamat datang di Pintu")
    wati.press(consent, f"cs:y:{token}", "nama kepala keluarga")
    wati.say("Wati Lestari", "nomor KK")
    members = wati.say(KK_TYPO, "jumlah anggota keluarga")

    # The typo is seen at the members step: back to the KK, in place, with what was typed.
    kk_again, _ = wati.press(members, "rg:bk:members", "6472 0101 0120 9998")
    assert kk_again["message_id"] == members["message_id"]
    members = wati.say(KK_WATI, "jumlah anggota keluarga")
    address, _ = wati.press(members, "mb:4", "alamat rumah")
    assert address["message_id"] == members["message_id"] and button(address, "rg:bk:")

    location = wati.say(HOUSE_ADDRESS, "Kirim lokasi rumah")
    assert location.get("reply_markup") is None or not buttons(location)  # a reply keyboard, not inline buttons
    sent = env.sim.share_location(BOT_ID, wati.user_id, *AT_HOME, horizontal_accuracy=8.0)
    days = wati.wait("Pilih hari", newer_than=sent["message_id"])
    assert button(days, "dy:")
    saved = [m for m in wati.bot_messages(since=sent["message_id"]) if "Lokasi rumah tersimpan" in (m["text"] or "")]
    assert saved and "Keluarga terdaftar" in saved[0]["text"]

    family = env.query(lambda uow: uow.families.by_kk(KK_WATI))
    assert (family.head_name, family.members, family.address) == ("Wati Lestari", 4, HOUSE_ADDRESS)
    assert (family.latitude, family.longitude) == AT_HOME
    no_crash(wati)


def test_the_rt_head_registers_a_family_with_its_address_card_and_schedule_show_it(env: Env) -> None:
    # Both officers of the kelurahan use the bot: the booking is announced to the one it goes to.
    officers = {enumerator_id: env.person(4001 + n, name) for n, (enumerator_id, name)
                in enumerate(zip(env.area.enumerator_ids, ("Rina", "Agus")))}
    for enumerator_id, officer in officers.items():
        join(env, officer, InviteKind.ENUMERATOR, enumerator_id, "terdaftar sebagai petugas pendataan")
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")

    families = slamet.say("/keluarga", "Keluarga di RT 001")
    menu, _ = slamet.press(families, "rt:menu", "Menu Ketua")
    slamet.press(menu, "rt:add", "tanpa Telegram")
    slamet.say("Budi & Ani", "nomor KK")
    members = slamet.say(KK_SARI, "jumlah anggota keluarga")
    slamet.press(members, "mb:5", "alamat rumah")
    address = "Jl. Cempaka No. 7, RT 001/RW 002"
    days = slamet.give_house(address)
    assert button(days, "dy:")[1] == "dy:20261123"  # today, Monday, from 10.00
    times, _ = slamet.press(days, "dy:20261123", "pilih jam")
    confirm, _ = slamet.press(times, button(times, "tm:")[1], "Benar?")
    slamet.press(confirm, "ok:yes", "Janji untuk keluarga Budi & Ani")

    family = env.query(lambda uow: uow.families.by_kk(KK_SARI))
    assert (family.head_name, family.address, family.latitude) == ("Budi & Ani", address, None)
    families = slamet.say("/keluarga", "Keluarga di RT 001")
    card, _ = slamet.press(families, f"rt:fam:{family.id}", "Alamat:")
    assert f"Alamat: {address}" in card["text"]

    dispatch(env)
    visit = env.query(lambda uow: uow.appointments.active_for_family(family.id))
    officer = officers[visit.enumerator_id]
    notice = officer.wait("Kunjungan baru")
    assert "Budi & Ani" in notice["text"] and f"Alamat: {address}" in notice["text"]
    schedule = officer.say("/jadwal", "Jadwal")
    assert "Budi & Ani" in schedule["text"] and address in schedule["text"]
    no_crash(slamet)
    no_crash(officer)
