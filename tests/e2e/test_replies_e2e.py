"""No answer is lost, on python-telegram-bot and aiogram against the simulator with Telegram's limits:
a crowd registering at once is answered at every step without a single 429; a 500 on a reply or on an
edit, and a Telegram that answers ten seconds late, each still show the answer exactly once."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import BOT_ID, Env, Person, button  # noqa: E402
from storage.seed import synthetic_kk  # noqa: E402

CROWD = 100
STEP_WAIT = 30.0  # a crowd step may queue behind Telegram's 30 messages a second


def wait(person: Person, expect: str, newer_than: int, timeout: float = STEP_WAIT) -> dict:
    return person.sim.wait_for_message(BOT_ID, person.user_id, lambda m: m["from_bot"] and expect in (m.get("text") or ""),
                                       newer_than=newer_than, timeout=timeout)


def say(person: Person, text: str, expect: str, timeout: float = STEP_WAIT) -> dict:
    sent = person.sim.send_text(BOT_ID, person.user_id, text)
    return wait(person, expect, sent["message_id"], timeout)


def press(person: Person, message: dict, data: str, expect: str) -> dict:
    person.sim.press(BOT_ID, person.user_id, message["message_id"], person._carried(message, data))  # with its screen number
    return wait(person, expect, message["message_id"] - 1)


def family_name(index: int) -> str:
    return f"Warga {chr(65 + index % 26)}{chr(65 + index // 26)}"


def list_families(env: Env, count: int) -> None:
    """The crowd's families on RT 001's list, before anyone starts (not while the bot is busy)."""
    for index in range(count):
        env.list_family(family_name(index), synthetic_kk(500 + index))


def register(person: Person, index: int) -> dict:
    """The RT's invite → agree → name → KK → members → address → no location (a family on RT 001's list):
    the days to book."""
    name = family_name(index)
    consent = say(person, f"/start {person.env.resident_invite()}", "Selamat datang di Pintu")
    press(person, consent, button(consent, "cs:y")[1], "nama kepala keluarga")
    say(person, name, "nomor KK")
    members = say(person, synthetic_kk(500 + index), "jumlah anggota keluarga")
    press(person, members, "mb:4", "alamat rumah")
    say(person, f"Jl. Mawar No. {index + 1}", "Kirim lokasi rumah")
    return say(person, "Lewati", "Pilih hari")


def bot_texts(person: Person) -> list[str]:
    return [re.sub(r"\s+", " ", m.get("text") or "") for m in person.messages() if m["from_bot"]]


@pytest.mark.telegram_limits
def test_a_crowd_registering_at_once_is_answered_at_every_step_without_a_429(env: Env) -> None:
    people = [env.person(30000 + i, f"Warga{i}") for i in range(CROWD)]
    list_families(env, CROWD)
    with ThreadPoolExecutor(CROWD) as pool:
        screens = list(pool.map(register, people, range(CROWD)))
    assert all("Pilih hari" in s["text"] for s in screens)
    stats = env.sim.stats(BOT_ID)
    assert stats["too_many_requests"] == 0, "the replies keep to Telegram's limits instead of provoking 429"
    assert env.query(lambda uow: sum(1 for p in people if uow.users.by_telegram_id(p.user_id).family_id)) == CROWD


@pytest.mark.telegram_limits
def test_a_500_on_a_reply_and_on_an_edit_still_shows_the_answer_once(env: Env) -> None:
    wati = env.person(1001, "Wati")
    env.sim.inject_fault(BOT_ID, "sendMessage", kind="500", count=1, chat_id=wati.user_id)
    consent = say(wati, "/start", "Selamat datang di Pintu")
    env.sim.inject_fault(BOT_ID, "editMessageText", kind="502", count=2, chat_id=wati.user_id)
    screen = press(wati, consent, button(consent, "cs:y")[1], "kecamatan")
    assert screen["message_id"] > consent["message_id"]
    assert env.sim.faults_fired(BOT_ID) == 3
    # The notice agreed to stays, edited once the 502s passed ("you agreed on …"); the next step is sent once.
    assert wati.wait("Anda setuju pada", newer_than=consent["message_id"] - 1)["message_id"] == consent["message_id"]
    assert len(bot_texts(wati)) == 2, "the kept notice, and the next step sent once"


def test_a_reply_telegram_acknowledges_ten_seconds_late_is_shown_once(env: Env) -> None:
    wati = env.person(1001, "Wati")
    env.sim.inject_fault(BOT_ID, "sendMessage", kind="hang-after", seconds=10, count=1, chat_id=wati.user_id)
    say(wati, "/bantuan", "Pintu membantu")
    env.sim.wait_for(lambda: env.sim.faults(BOT_ID)[0]["fired"] == 1, timeout=5)
    after = say(wati, "/bahasa", "Pilih bahasa", timeout=20)  # queued behind the slow one, in order
    assert after and sum(t.startswith("Pintu membantu") for t in bot_texts(wati)) == 1
