"""Who may claim a family, end to end through python-telegram-bot and aiogram on the simulator: the RT's
invite and a listed family link at once; anything else waits for the RT head, who approves or rejects
from a message with buttons; KK attempts are rate-limited; the RT head unlinks a wrong claim; and the
resident's screens are the same whether or not a KK number exists."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, Person, button
from test_coordination_e2e import dispatch, join
from test_story import KK_BUDI, KK_WATI, no_crash
from domain import claims
from domain.invites import InviteKind
from storage.seed import HEADS, synthetic_kk

LISTED_NAME, LISTED_KK = HEADS[0], synthetic_kk(0)  # on RT 001's list, nobody linked
SENT = "sudah dikirim ke Ketua RT"


def rt_head(env: Env) -> Person:
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")
    return slamet


def start(person: Person, env: Env, invited: bool) -> None:
    """Agree to the notice: by the RT's invite link, or choosing the RT from the area buttons."""
    if invited:
        token = env.resident_invite()
        consent = person.say(f"/start {token}", "Selamat datang di Pintu")
        person.press(consent, f"cs:y:{token}", "nama kepala keluarga")
        return
    consent = person.say("/start", "Selamat datang di Pintu")
    screen, _ = person.press(consent, "cs:y", "kecamatan")
    screen, _ = person.press(screen, button(screen, "ar:")[1], "kelurahan")
    screen, _ = person.press(screen, button(screen, "ar:")[1], "Di RT berapa")
    person.press(screen, button(screen, "ar:")[1], "nama kepala keluarga")


def send_family(person: Person, name: str, kk: str, expect: str = SENT) -> list[str]:
    """Name, KK, members, address, no location; the texts of the bot's answers, in order."""
    asked_kk = person.say(name, "nomor KK")
    members = person.say(kk, "jumlah anggota keluarga")
    address, _ = person.press(members, "mb:3", "alamat rumah")
    last = person.give_house(expect=expect)
    return [asked_kk["text"], members["text"], address["text"], last["text"]]


def family_of(env: Env, person: Person):
    return env.query(lambda uow: (lambda u: uow.families.get(u.family_id) if u.family_id else None)(
        uow.users.by_telegram_id(person.user_id)))


def test_the_rts_invite_and_a_listed_family_link_at_once(env: Env) -> None:
    wati = env.person(1001, "Wati")
    start(wati, env, invited=True)
    send_family(wati, LISTED_NAME, LISTED_KK, expect="Pilih hari")
    assert family_of(env, wati).kk_number == LISTED_KK
    no_crash(wati)


def test_without_invite_the_rt_head_approves_and_another_is_rejected(env: Env) -> None:
    slamet = rt_head(env)
    wati, budi = env.person(1001, "Wati"), env.person(1002, "Budi")
    start(wati, env, invited=False)
    send_family(wati, "Wati Susanti", KK_WATI)  # not on the list, no invite
    start(budi, env, invited=True)
    send_family(budi, "Nama Keliru", LISTED_KK)  # on the list, but not the listed name
    assert family_of(env, wati) is None and family_of(env, budi) is None

    dispatch(env)
    to_wati = slamet.wait("Wati Susanti")
    to_budi = slamet.wait("Nama Keliru")
    assert "Belum ada di daftar RT" in to_wati["text"] and KK_WATI not in to_wati["text"]
    assert LISTED_NAME in to_budi["text"]
    approved, answer = slamet.press(to_wati, button(to_wati, "kl:ok:")[1], "Disetujui")
    assert approved["message_id"] == to_wati["message_id"], "the request is edited into its outcome"
    reject = button(to_budi, "kl:no:")[1]
    slamet.press(to_budi, reject, "Ditolak")
    _, again = slamet.press(to_budi, reject, force=True)  # a second press of the old button
    assert "sudah diputuskan" in again["text"]
    dispatch(env)
    wati.wait("terhubung dengan keluarga")
    budi.wait("tidak menyetujui")
    assert family_of(env, wati).head_name == "Wati Susanti" and family_of(env, budi) is None
    wati.say("/janji", "Pilih hari")
    no_crash(wati), no_crash(budi), no_crash(slamet)


def test_the_same_answers_whether_or_not_the_kk_exists(env: Env) -> None:
    rt_head(env)
    seen = []
    for user_id, kk in ((1001, LISTED_KK), (1002, KK_BUDI)):
        person = env.person(user_id, "Warga")
        start(person, env, invited=True)
        seen.append(send_family(person, "Nama Keliru", kk))
    assert seen[0] == seen[1]


def test_kk_attempts_are_rate_limited_per_number(env: Env) -> None:
    for user_id in range(1001, 1001 + claims.ATTEMPTS_PER_KK):
        person = env.person(user_id, "Warga")
        start(person, env, invited=False)
        send_family(person, "Nama Keliru", LISTED_KK)
    late = env.person(1099, "Asli")
    start(late, env, invited=True)
    late.say(LISTED_NAME, "nomor KK")
    late.say(LISTED_KK, "Terlalu banyak percobaan nomor KK")
    no_crash(late)


def test_the_rt_head_unlinks_a_wrong_claim_and_the_family_stays(env: Env) -> None:
    slamet = rt_head(env)
    wati = env.person(1001, "Wati")
    start(wati, env, invited=True)
    send_family(wati, LISTED_NAME, LISTED_KK, expect="Pilih hari")
    family = family_of(env, wati)
    user_id = env.query(lambda uow: uow.users.by_telegram_id(wati.user_id).id)
    families = slamet.say("/keluarga", "Keluarga di RT")
    detail, _ = slamet.press(families, f"rt:fam:{family.id}", "Terhubung di Telegram: Wati")
    confirm, _ = slamet.press(detail, f"kl:rm:{family.id}:{user_id}", "Lepaskan Wati")
    slamet.press(confirm, f"kl:rmy:{family.id}:{user_id}", "sudah dilepaskan")
    dispatch(env)
    wati.wait("melepaskan akun Telegram Anda")
    assert family_of(env, wati) is None
    assert env.query(lambda uow: uow.families.get(family.id).kk_number) == LISTED_KK
    no_crash(slamet)


def test_by_invite_a_family_not_on_the_list_and_a_second_member_wait_and_are_approved(env: Env) -> None:
    slamet = rt_head(env)
    wati, budi, ani = env.person(1001, "Wati"), env.person(1002, "Budi"), env.person(1003, "Ani")
    start(wati, env, invited=True)
    send_family(wati, LISTED_NAME, LISTED_KK, expect="Pilih hari")  # linked at once
    start(budi, env, invited=True)
    send_family(budi, LISTED_NAME, LISTED_KK)  # the same family, already claimed: waits
    start(ani, env, invited=True)
    send_family(ani, "Ani Rahayu", KK_WATI)  # not on the list: waits
    dispatch(env)
    second = slamet.wait("Sudah terhubung di Telegram: 1 orang")
    new = slamet.wait("Ani Rahayu")
    assert "Belum ada di daftar RT" in new["text"]
    slamet.press(second, button(second, "kl:ok:")[1], "Disetujui")
    slamet.press(new, button(new, "kl:ok:")[1], "Disetujui")
    dispatch(env)
    budi.wait("terhubung dengan keluarga")
    ani.wait("terhubung dengan keluarga")
    assert family_of(env, budi).id == family_of(env, wati).id
    assert family_of(env, ani).kk_number == KK_WATI and family_of(env, ani).members == 3
    no_crash(slamet)
