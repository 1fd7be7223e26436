"""The resident, the RT head and the enumerator, end to end through python-telegram-bot and aiogram.

Every test runs once per framework (the ``env`` fixture in conftest.py): the bot long-polls the Bot API
simulator over HTTP, exactly as it polls api.telegram.org.
"""
from __future__ import annotations

import re

import datetime as dt
from dataclasses import dataclass

import pytest

# PTB 22 warns about its own int-valued RetryAfter.retry_after when it builds the exception for a 429.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import BOT_ID, BOT_USERNAME, Env, HandleGate, Person, button, buttons
from domain.invites import InviteKind
from storage.seed import HEADS

KK_WATI = "6472010101209999"
KK_BUDI = "6472010101208888"
CRASH = "Maaf, terjadi kesalahan"  # the apology the handlers send when a step fails unexpectedly
STALE = "Tombol ini sudah tidak berlaku"
SCREEN_GONE = "Layar ini sudah tidak berlaku"


@dataclass
class Booked:
    """What the resident saw at the end of the booking."""

    first_message_id: int  # the bot's first message (the privacy notice)
    message: dict  # the confirmation, edited in place
    time_text: str  # the time button pressed, e.g. "10.30"
    family_id: int


def register_and_book(env: Env, person: Person, name: str, kk: str, *, bad_kk: str | None = None,
                      time_index: int = 1) -> Booked:
    """The family on RT 001's list; the RT's invite link → consent → name → KK → members → day (today) →
    time → confirm."""
    env.list_family(name, kk)
    consent = person.say(f"/start {env.resident_invite()}", "Selamat datang di Pintu")
    screen, _ = person.press(consent, button(consent, "cs:y")[1], "nama kepala keluarga")
    # What she agreed to stays in the chat, with when; the next step is a message of its own.
    person.wait("sesuai Kartu Keluarga", newer_than=consent["message_id"])
    kept = next(m for m in person.messages() if m["message_id"] == consent["message_id"])
    assert "Anda setuju pada" in kept["text"] and "Pengendali data" in kept["text"] and not kept.get("reply_markup")

    person.say(name, "nomor KK")
    if bad_kk is not None:
        error = person.say(bad_kk, "Nomor KK hanya berisi angka")
        assert "16 angka" in error["text"]
    members = person.say(kk, "jumlah anggota keluarga")
    person.press(members, "mb:4", "alamat rumah")
    days = person.give_house()
    assert any("Keluarga terdaftar ✅" in (m["text"] or "") for m in person.bot_messages(since=members["message_id"]))
    assert name in days["text"], "the name typed before the bad KK was kept"

    day_text, day_data = button(days, "dy:")
    assert day_data == "dy:20261123", f"today (Monday) should be bookable from 10.00: {buttons(days)}"
    times, _ = person.press(days, day_data, "pilih jam")
    assert "(WITA)" in times["text"]
    time_text, time_data = button(times, "tm:", time_index)
    confirm, _ = person.press(times, time_data, "Benar?")
    assert time_text in confirm["text"]
    booked, _ = person.press(confirm, "ok:yes", "Janji kunjungan dibuat")
    family_id = env.query(lambda uow: uow.users.by_telegram_id(person.user_id).family_id)
    assert family_id is not None
    return Booked(consent["message_id"], booked, time_text, family_id)


def active_start(env: Env, family_id: int) -> dt.datetime | None:
    appointment = env.query(lambda uow: uow.appointments.active_for_family(family_id))
    return appointment.start_at if appointment is not None else None


def no_crash(person: Person) -> None:
    texts = [m["text"] or "" for m in person.bot_messages()]
    assert not any(CRASH in text for text in texts), texts


# --- (a) the resident's whole story ----------------------------------------------------------------

@pytest.mark.telegram_limits  # Telegram's real limits: four quick messages in one chat meet a 429
def test_resident_books_a_visit_in_few_messages(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI, bad_kk="64720101O1209999")

    text = booked.message["text"]
    assert "WITA — petugas" in text and booked.time_text in text and "Wati Lestari" in text
    assert {b[1] for b in buttons(booked.message)} == {f"ap:move:{booked.family_id}", f"ap:cancel:{booked.family_id}",
                                                      f"qn:go:{booked.family_id}"}  # and the family's own questions
    sent = wati.bot_messages(since=booked.first_message_id)
    # The privacy notice (it stays in the chat, agreed), "type the name", "type the KK", the KK error, "the
    # address", "share the location", "registered" (it takes the location keyboard away) and the days:
    # everything else is an edit.
    assert len(sent) <= 8, [m["text"][:40] for m in sent]
    stats = env.sim.stats(BOT_ID)
    assert stats["new_messages"][str(wati.user_id)] == len(sent)
    family = env.query(lambda uow: uow.families.get(booked.family_id))
    assert (family.head_name, family.kk_number, family.members) == ("Wati Lestari", KK_WATI, 4)
    no_crash(wati)


@pytest.mark.telegram_limits
def test_quick_messages_are_answered_in_order_at_telegrams_pace(env: Env) -> None:
    """Five commands at once: per-user ordering keeps the replies in order, and the replies keep to the
    chat's limit (about one a second) instead of provoking Telegram's 429."""
    ayu = env.person(1005, "Ayu")
    for text in ("/bantuan", "/bahasa", "/start", "halo", "/bantuan"):
        env.sim.send_text(BOT_ID, ayu.user_id, text)
    env.sim.wait_for(lambda: len(ayu.bot_messages()) == 5, timeout=8)
    replies = [m["text"] for m in ayu.bot_messages()]
    assert replies[0].startswith("Pintu membantu") and replies[4].startswith("Pintu membantu")
    assert replies[1].startswith("Pilih bahasa")
    assert "Selamat datang di Pintu" in replies[2]
    assert replies[3] == "Ketik /start untuk mulai."
    assert env.sim.stats(BOT_ID)["too_many_requests"] == 0


# --- (b) look at, move and cancel the visit --------------------------------------------------------

def test_resident_sees_moves_and_cancels_the_visit(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    family_id = booked.family_id

    shown = wati.say("/janji", "Janji kunjungan keluarga Wati Lestari")
    assert booked.time_text in shown["text"] and "WITA — petugas" in shown["text"]

    days, _ = wati.press(shown, f"ap:move:{family_id}", "Pindah jadwal keluarga")
    assert days["message_id"] == shown["message_id"]
    times, _ = wati.press(days, button(days, "dy:")[1], "pilih jam")
    new_text, new_data = next(b for b in buttons(times) if b[1].startswith("tm:") and b[0] != booked.time_text)
    confirm, _ = wati.press(times, new_data, "Benar?")
    moved, _ = wati.press(confirm, "ok:yes", "Jadwal dipindah")
    assert new_text in moved["text"] and booked.time_text not in moved["text"]
    start = active_start(env, family_id)
    assert start is not None and start.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%H.%M") == new_text

    question = wati.say("/batal", "Batalkan kunjungan")
    assert new_text in question["text"]
    cancelled, answer = wati.press(question, f"ap:yes:{family_id}", "dibatalkan")
    assert answer["answered"]
    assert active_start(env, family_id) is None
    assert button(cancelled, "ap:book:")
    no_crash(wati)


# --- (c) the RT head --------------------------------------------------------------------------------

def test_rt_head_joins_by_invite_and_sees_the_families(env: Env) -> None:
    slamet = env.person(2001, "Slamet")
    token = env.invite(InviteKind.RT_HEAD, env.area.sls_ids[0])
    consent = slamet.say(f"/start {token}", "Selamat datang di Pintu")
    assert button(consent, "cs:y")[1] == f"cs:y:{token}"
    welcome, _ = slamet.press(consent, f"cs:y:{token}", "terdaftar sebagai Ketua RT")
    assert "Selamat datang, Slamet" in welcome["text"]
    menu = slamet.wait("Menu Ketua RT 001")
    assert "Keluarga terdaftar: 10" in menu["text"]

    families = slamet.say("/keluarga", "Keluarga di RT")
    assert "(halaman 1/2)" in families["text"]
    in_rt_001 = sorted(HEADS[0::3])  # the seed puts every third family in RT 001; the list is by name
    for head in in_rt_001[:8]:
        assert f"{head} — belum ada janji" in families["text"]
    page_2, _ = slamet.press(families, "rt:list:1", "(halaman 2/2)")
    assert all(head in page_2["text"] for head in in_rt_001[8:])

    invite, _ = slamet.press(page_2, "rt:menu", "Menu Ketua")
    link, _ = slamet.press(invite, "rt:invite", "Bagikan tautan")
    assert f"https://t.me/{BOT_USERNAME}?start=" in link["text"], "the username was learnt from getMe"
    no_crash(slamet)


# --- (d) stale and forged buttons -------------------------------------------------------------------

def test_stale_and_forged_buttons_are_answered_and_change_nothing(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    start = active_start(env, booked.family_id)

    # A time keyboard left behind: /pindah, a day, then /janji instead of choosing a time.
    days = wati.say("/pindah", "Pindah jadwal keluarga")
    times, _ = wati.press(days, button(days, "dy:")[1], "pilih jam")
    current = wati.say("/janji", "Janji kunjungan keluarga")
    _, answer = wati.press(times, button(times, "tm:", 2)[1])
    assert SCREEN_GONE in answer["text"]  # and the current screen is shown again, as a new message
    assert "Janji kunjungan keluarga" in wati.wait("Janji kunjungan keluarga", newer_than=current["message_id"])["text"]

    # The old confirmation's button pressed again, and hand-made presses.
    _, answer = wati.press(booked.message, "ok:yes", force=True)
    assert answer["show_alert"] and STALE in answer["text"]
    for forged in ("tm:209901010900", "garbage", "ar:99999999999", "x" * 64):
        _, answer = wati.press(booked.message, forged, force=True)
        assert answer["answered"] and answer["show_alert"], (forged, answer)

    stranger = env.person(1009, "Orang Asing")
    env.sim.send_text(BOT_ID, stranger.user_id, "halo")  # the chat must exist for a press
    stranger.wait("Ketik /start")
    message = stranger.bot_messages()[0]
    _, answer = stranger.press(message, "tm:202611231000", force=True)
    assert answer["show_alert"] and "/start" in answer["text"]

    assert active_start(env, booked.family_id) == start
    still = wati.say("/janji", "Janji kunjungan keluarga")
    assert booked.time_text in still["text"]
    no_crash(wati)


# --- (e) a user who blocked the bot ------------------------------------------------------------------

def test_blocked_user_gets_403_bot_keeps_serving_and_the_visit_stays(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    gate = HandleGate(env.pintu, wati.user_id)
    env.pintu.handlers.handle_journaled = gate  # the transport looks the method up per update

    sent = env.sim.send_text(BOT_ID, wati.user_id, "/janji")
    assert gate.entered.wait(5), "the update reached the handlers"
    env.sim.block(BOT_ID, wati.user_id)  # ... while the reply is being prepared

    # Another resident is served meanwhile: one user's update in progress holds up nobody else.
    budi = env.person(1002, "Budi")
    budi.say("/start", "Selamat datang di Pintu")
    gate.release.set()

    env.sim.wait_for(lambda: env.sim.stats(BOT_ID)["errors"].get("403", 0) >= 1)
    env.sim.wait_for(lambda: env.query(lambda uow: uow.users.by_telegram_id(wati.user_id).blocked_at) is not None)
    assert [m for m in wati.bot_messages() if m["message_id"] > sent["message_id"]] == []

    # Still polling, still answering others; the blocked resident's visit is kept.
    budi_consent = budi.bot_messages()[0]
    budi.press(budi_consent, "cs:y", "kecamatan")
    assert active_start(env, booked.family_id) is not None

    # Unblocking and writing again works, and clears the mark.
    env.sim.unblock(BOT_ID, wati.user_id)
    back = wati.say("/janji", "Janji kunjungan keluarga")
    assert booked.time_text in back["text"]
    assert env.query(lambda uow: uow.users.by_telegram_id(wati.user_id).blocked_at) is None
    no_crash(wati)


# --- the enumerator --------------------------------------------------------------------------------

def test_enumerator_joins_by_invite_and_sees_the_visit(env: Env) -> None:
    wati = env.person(1001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", KK_WATI)
    enumerator_id = env.query(lambda uow: uow.appointments.active_for_family(booked.family_id).enumerator_id)
    officer = env.query(lambda uow: uow.enumerators.get(enumerator_id).name)

    person = env.person(3001, officer)
    token = env.invite(InviteKind.ENUMERATOR, enumerator_id)
    consent = person.say(f"/start {token}", "Selamat datang di Pintu")
    welcome, _ = person.press(consent, f"cs:y:{token}", "terdaftar sebagai petugas pendataan")
    assert f"Selamat datang, {officer}" in welcome["text"]
    person.wait(f"Jadwal {officer}")

    schedule = person.say("/jadwal", f"Jadwal {officer}")
    assert "1 kunjungan" in schedule["text"]
    assert re.search(rf"\d+\. {booked.time_text} — Wati Lestari \(RT 001\)\n", schedule["text"]), schedule["text"]
    assert booked.time_text in booked.message["text"] and f"petugas {officer}" in booked.message["text"]
    no_crash(person)


# --- messages that are not text ---------------------------------------------------------------------

def test_photos_locations_contacts_and_files_are_answered(env: Env) -> None:
    from simulator.testing import make_png

    budi = env.person(1002, "Budi")
    consent = budi.say("/start", "Selamat datang di Pintu")
    screen, _ = budi.press(consent, "cs:y", "kecamatan")
    screen, _ = budi.press(screen, button(screen, "ar:")[1], "kelurahan")
    screen, _ = budi.press(screen, button(screen, "ar:")[1], "Di RT berapa")
    budi.press(screen, button(screen, "ar:")[1], "nama kepala keluarga")

    photo = env.sim.send_photo(BOT_ID, budi.user_id, make_png(64, 48))
    again = budi.wait("Ketik nama kepala keluarga", newer_than=photo["message_id"])
    assert again["message_id"] > photo["message_id"], "a photo while the name is awaited repeats the question"

    budi.say("Budi Santoso Jr", "nomor KK")
    budi.say(KK_BUDI, "jumlah anggota keluarga")
    location = env.sim.share_location(BOT_ID, budi.user_id, -0.5877, 117.1925)
    budi.wait("pilih salah satu tombol", newer_than=location["message_id"])
    contact = env.sim.share_contact(BOT_ID, budi.user_id, "+6281234567890")
    budi.wait("pilih salah satu tombol", newer_than=contact["message_id"])
    document = env.sim.send_document(BOT_ID, budi.user_id, b"%PDF-1.4 KK scan", "kk.pdf")
    budi.wait("pilih salah satu tombol", newer_than=document["message_id"])
    no_crash(budi)


# --- a failing update -------------------------------------------------------------------------------

def test_a_crashing_update_is_logged_and_polling_goes_on(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """The handlers never raise by contract; if something does anyway, it is logged and polling goes on."""
    inner = env.pintu.handlers.handle_journaled

    def handle(event):
        if event.sender.telegram_id == 1666:
            raise RuntimeError("boom from a test")
        return inner(event)

    env.pintu.handlers.handle_journaled = handle
    env.sim.send_text(BOT_ID, 1666, "/start")
    env.person(1001, "Wati").say("/start", "Selamat datang di Pintu")
    env.sim.wait_for(lambda: any(r.exc_info and "boom from a test" in str(r.exc_info[1]) for r in caplog.records))
    env.person(1002, "Budi").say("/bantuan", "Pintu membantu")
