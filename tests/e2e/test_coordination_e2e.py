"""Coordination end to end through python-telegram-bot and aiogram on the simulator: the RT head's list,
house-photo mark and nudge; the enumerator's "not home" and the family's new time; /grup in a group."""
from __future__ import annotations

import datetime as dt

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import BOT_ID, Env, Person, button, buttons
from test_story import CRASH, KK_WATI, no_crash, register_and_book
from domain.invites import InviteKind
from scheduling.daily_jobs import run_daily
from domain.model import User
from chat.ratelimit import RateLimiter
from scheduling.scheduler import build_dispatcher
from storage.seed import HEADS, synthetic_kk


def dispatch(env: Env) -> None:
    """One run of the outbox dispatcher through the running transport's Bot API client."""
    env.loop.run(build_dispatcher(env.pintu, env.transport.api, RateLimiter(1e6, 0.0)).run_once())


def join(env: Env, person: Person, kind: InviteKind, target: int, expect: str) -> None:
    token = env.invite(kind, target)
    consent = person.say(f"/start {token}", "Selamat datang di Pintu")
    person.press(consent, f"cs:y:{token}", expect)


def member_of(env: Env, person: Person, family_id: int) -> None:
    """A family member already on Pintu (as if they had registered earlier): their chat with the bot exists."""
    person.say("halo", "/start")
    with env.pintu.uow() as uow:
        family = uow.families.get(family_id)
        uow.users.add(User(telegram_id=person.user_id, first_name="Anggota", language="id", role="resident",
                           sls_id=family.sls_id, family_id=family.id, consent_version="1",
                           consent_at=env.clock.now(), created_at=env.clock.now()))
        uow.commit()


def family_id_of(env: Env, head: str) -> int:
    rows = env.query(lambda uow: uow.coordination.rt_page(env.area.sls_ids[0], 0, 100))
    return next(family.id for family, _ in rows if family.head_name == head)


def test_rt_head_lists_marks_a_photo_and_nudges_a_family(env: Env) -> None:
    head = sorted(HEADS[0::3])[0]  # the first family of RT 001 by name
    family_id = family_id_of(env, head)
    member = env.person(1101, "Anggota")
    member_of(env, member, family_id)
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")

    families = slamet.say("/keluarga", "Keluarga di RT")
    assert f"{head} — belum ada janji" in families["text"]
    detail, _ = slamet.press(families, f"rt:fam:{family_id}", "Kunjungan:")
    assert detail["message_id"] == families["message_id"], "the list and the family are one message, edited"
    photo = [data for _, data in buttons(detail) if data.startswith("rh:photo:")]
    if photo:  # families.needs_photo (field capture) is present
        detail, answer = slamet.press(detail, photo[0], "Kunjungan:")
        assert "memotret rumah ini" in answer["text"]
        assert env.query(lambda uow: uow.families.get(family_id).needs_photo) is True
    _, answer = slamet.press(detail, f"nu:fam:{family_id}", "Pengingat dikirim")
    assert "dikirim" in answer["text"]
    _, again = slamet.press(detail, f"nu:fam:{family_id}", "sudah diingatkan hari ini")
    assert "sudah diingatkan" in again["text"]

    dispatch(env)
    nudge = member.wait("belum membuat janji")
    assert head in nudge["text"]
    assert button(nudge, "ap:book:")[1] == f"ap:book:{family_id}"
    assert len([m for m in member.bot_messages() if "belum membuat janji" in (m["text"] or "")]) == 1  # once a day
    days, _ = member.press(nudge, f"ap:book:{family_id}", "Pilih hari")
    assert days["message_id"] == nudge["message_id"] and button(days, "dy:")
    no_crash(slamet)


def test_enumerator_records_not_home_and_the_family_gets_new_times(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    enumerator_id = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id).enumerator_id)
    appointment_id = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id).id)
    officer = env.person(3001, "Petugas")
    join(env, officer, InviteKind.ENUMERATOR, enumerator_id, "terdaftar sebagai petugas pendataan")
    env.clock.set(env.clock.now() + dt.timedelta(hours=3))  # 11.00 WITA: after the visit

    schedule = officer.say("/jadwal", "Jadwal")
    choose, _ = officer.press(schedule, f"oc:v:{appointment_id}", "Bagaimana hasil kunjungan")
    assert {data for _, data in buttons(choose)} >= {f"oc:o:{appointment_id}:{c}" for c in "dhrmn"}
    ask, _ = officer.press(choose, f"oc:o:{appointment_id}:h", "catatan")
    done = officer.say("rumah kosong, kata tetangga pulang sore", "Tercatat")
    assert "waktu kunjungan baru" in done["text"]
    assert env.query(lambda uow: uow.families.get(booked.family_id).status) == "not_home"

    dispatch(env)
    offer = wati.wait("tidak di rumah")
    day_text, day_data = button(offer, "oc:d:")
    times, _ = wati.press(offer, day_data, "pilih jam")
    assert times["message_id"] == offer["message_id"]
    time_text, time_data = button(times, "tm:")
    confirm, _ = wati.press(times, time_data, "Benar?")
    again, _ = wati.press(confirm, "ok:yes", "Janji kunjungan dibuat")
    assert time_text in again["text"]
    assert env.query(lambda uow: uow.families.get(booked.family_id).status) == "booked"
    no_crash(officer)
    no_crash(wati)


def test_grup_links_the_rt_group_and_the_daily_line_has_counts_only(env: Env) -> None:
    group_id = -1001234567
    env.sim.create_group(BOT_ID, group_id, "Warga RT 001", type="supergroup")
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")
    wati = env.person(1001, "Wati")

    def group_texts() -> list[str]:
        return [m["text"] or "" for m in env.sim.messages(BOT_ID, group_id) if m["from_bot"]]

    env.sim.send_text(BOT_ID, wati.user_id, "/grup", chat_id=group_id)
    env.sim.wait_for(lambda: any("hanya Ketua RT" in t for t in group_texts()))
    env.sim.send_text(BOT_ID, wati.user_id, "/janji", chat_id=group_id)  # personal: never answered in a group
    env.sim.send_text(BOT_ID, slamet.user_id, "/grup", chat_id=group_id)
    env.sim.wait_for(lambda: any("terhubung ke RT 001" in t for t in group_texts()))

    env.clock.set(dt.datetime(2026, 11, 23, 10, 5, tzinfo=dt.timezone.utc))  # 18.05 WITA
    run_daily(env.pintu.uow, env.clock, "Asia/Makassar")
    dispatch(env)
    env.sim.wait_for(lambda: any("Pendataan RT 001" in t for t in group_texts()))
    texts = group_texts()
    assert len(texts) == 3, texts  # the refusal, the link, the daily line: nothing for /janji
    line = next(t for t in texts if "Pendataan RT 001" in t)
    assert "10 keluarga" in line
    for index, name in enumerate(HEADS):
        for text in texts:
            assert name not in text and synthetic_kk(index) not in text and synthetic_kk(index)[-4:] not in text
    assert not any(CRASH in t for t in texts)


def test_an_rt_head_gets_their_own_command_menu_and_a_resident_keeps_the_default(env: Env) -> None:
    """setMyCommands with the chat's scope, through the framework; resolved as Telegram resolves it."""
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")
    english = env.person(2002, "Budi", language_code="en")
    token = env.invite(InviteKind.RT_HEAD, env.area.sls_ids[1])
    english.press(english.say(f"/start {token}", "Welcome to Pintu"), f"cs:y:{token}", "RT head")
    resident = env.person(1101, "Wati")
    resident.say("/bantuan", "/start")  # a newcomer: the bot-wide default menu

    def menu(user_id: int, language: str = "") -> list[str]:
        return [c["command"] for c in env.sim.commands(BOT_ID, user_id, language)]

    env.sim.wait_for(lambda: "keluarga" in menu(2001) and "families" in menu(2002, "en"))
    assert "janji" not in menu(2001) and "jadwal" not in menu(2001)
    assert "isi" in menu(2001) and menu(2001)[:2] == ["start", "menu"]
    assert menu(1101)[:5] == ["start", "menu", "janji", "pindah", "batal"] and "keluarga" not in menu(1101)


def test_an_rt_head_imports_a_family_list_sent_as_a_document(env: Env) -> None:
    """The file goes through the framework's getFile and download; the import is all or nothing."""
    import openpyxl
    import io

    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")
    families = lambda: env.query(lambda uow: uow.coordination.count_in_sls(env.area.sls_ids[0]))  # noqa: E731
    before = families()
    menu = slamet.say("/menu", "Menu Ketua RT")
    slamet.press(menu, "rh:import", "Kirim berkas CSV atau Excel")

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["DAFTAR KELUARGA VK1 — RT 001"])
    sheet.append(["Nama Kepala Keluarga", "Nomor KK", "Jumlah Anggota", "Alamat"])
    sheet.append(["Siti Rahmawati", 6472010101200001, 4, "Jl. Mawar 1"])
    sheet.append(["Agus Salim", "6472011332200005", 3, "Jl. B"])  # month 32: a bad KK
    data = io.BytesIO()
    book.save(data)
    sent = env.sim.send_document(BOT_ID, slamet.user_id, data.getvalue(), "VK1 RT001.xlsx")
    failed = slamet.wait("Tidak ada yang diimpor", newer_than=sent["message_id"])
    assert "Baris 4" in failed["text"] and families() == before

    sheet.delete_rows(4)
    data = io.BytesIO()
    book.save(data)
    sent = env.sim.send_document(BOT_ID, slamet.user_id, data.getvalue(), "VK1 RT001.xlsx")
    slamet.wait("1 keluarga diimpor ke RT 001", newer_than=sent["message_id"])
    assert families() == before + 1
    no_crash(slamet)


def test_a_visit_done_early_sends_no_later_reminder_and_janji_says_it_took_place(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)  # Monday 10.30 WITA, reminder at 09.30
    visit = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id))
    officer = env.person(3001, "Petugas")
    join(env, officer, InviteKind.ENUMERATOR, visit.enumerator_id, "terdaftar sebagai petugas pendataan")
    env.clock.set(env.clock.now() + dt.timedelta(minutes=45))  # 08.45: the officer passes by early

    schedule = officer.say("/jadwal", "Jadwal")
    choose, _ = officer.press(schedule, f"oc:v:{visit.id}", "Bagaimana hasil kunjungan")
    ask, _ = officer.press(choose, f"oc:o:{visit.id}:d", "catatan")
    officer.press(ask, "oc:skip", "Tercatat")
    schedule = officer.say("/jadwal", "sudah dikunjungi")
    assert f"oc:v:{visit.id}" not in {data for _, data in buttons(schedule)}, "nothing left to record"
    # The day's route as a picture, numbered as the schedule's stops, as a photo under it.
    picture, _ = officer.press(schedule, "en:map:today", "Rute")
    assert picture["photo_url"] and picture["message_id"] > schedule["message_id"]

    env.clock.set(env.clock.now() + dt.timedelta(hours=2))  # past the hour reminder and the visit itself
    dispatch(env)
    assert not [m for m in wati.messages() if "Sebentar lagi" in (m.get("text") or "")]
    janji = wati.say("/janji", "sudah dilakukan")
    assert env.query(lambda uow: uow.enumerators.get(visit.enumerator_id).name) in janji["text"]
    assert not [data for _, data in buttons(janji) if data.startswith(("ap:move", "ap:cancel"))]
    no_crash(officer)
    no_crash(wati)
