"""Who may claim a family (domain/claims.py): linked at once only by the RT's invite to a family on the
RT's list; anything else waits for the RT head, who approves, rejects, or later unlinks. The resident
never learns whether a KK number exists, and KK attempts are rate-limited. The world: helpers.py."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from domain import claims
from domain.invites import InviteKind
from domain.model import Appointment, Family, FamilyClaim, User
from handlers.states import State
from storage.seed import HEADS, synthetic_kk
from tests.unit.flows.helpers import EN, HOUSE_ADDRESS, ID, KK_BUDI, KK_WATI, Person, rt_head

LISTED_NAME, LISTED_KK = HEADS[0], synthetic_kk(0)  # on RT 001's list, nobody linked


def by_invite(world, person: Person, rt: int = 0) -> None:
    person.agree_by_invite(rt)


def by_area(world, person: Person, rt: int = 0) -> None:
    person.agree_and_choose_rt(rt)


def send_family(person: Person, name: str, kk: str, members: int = 4) -> list[str]:
    """Type the family's details; the screens the resident saw, in order."""
    screens = []
    for step in (lambda: person.say(name), lambda: person.say(kk), lambda: person.press(f"mb:{members}"),
                 lambda: person.say(HOUSE_ADDRESS), lambda: person.say("Lewati")):
        step()
        screens.append(person.screen)
    return screens


def family_of(person: Person) -> Family | None:
    user = person.user()
    return person.world.scalar(select(Family).where(Family.id == user.family_id)) if user.family_id else None


# --- linked at once --------------------------------------------------------------------------------

def test_the_rts_invite_and_a_listed_family_link_at_once(world):
    wati = Person(world, 1001)
    by_invite(world, wati)
    send_family(wati, LISTED_NAME.upper().replace(" ", "  "), LISTED_KK)  # case and spacing do not matter
    assert ID("family-registered") in wati.previous and "Pilih <b>hari</b>" in wati.screen
    family = family_of(wati)
    assert family.kk_number == LISTED_KK and family.head_name == LISTED_NAME  # the list's name is kept
    assert world.scalar(select(FamilyClaim.status)) == claims.LINKED
    wati.book()
    assert "petugas Rina" in wati.screen


# --- pending: the RT head decides ------------------------------------------------------------------

@pytest.mark.parametrize("how, name, kk", [
    ("no invite", LISTED_NAME, LISTED_KK),
    ("wrong name", "Orang Lain", LISTED_KK),
    ("not on the list", "Wati Susanti", KK_WATI),
])
def test_anything_else_waits_for_the_rt_head_who_approves(world, how, name, kk):
    pak_rt = rt_head(world)
    wati = Person(world, 1001)
    (by_area if how == "no invite" else by_invite)(world, wati)
    send_family(wati, name, kk, members=3)
    assert ID("claim-sent") in wati.screen and wati.user().family_id is None
    wati.say("/janji")
    assert wati.screen == ID("claim-waiting")  # no booking before the RT head says yes

    [request] = pak_rt.receive()
    assert name in request and kk[-4:] in request and kk not in request  # the KK masked
    assert ("Belum ada di daftar RT" in request) == (how == "not on the list")
    assert ("Tidak melalui tautan undangan" in request) == (how == "no invite")
    claim_id = world.scalar(select(FamilyClaim.id))
    assert pak_rt.buttons() == [f"kl:ok:{claim_id}", f"kl:no:{claim_id}"]
    pak_rt.press(f"kl:ok:{claim_id}")
    assert "Disetujui" in pak_rt.screen

    [told] = wati.receive()
    assert "terhubung dengan keluarga" in told
    family = family_of(wati)
    assert family.kk_number == kk
    if how == "not on the list":
        assert family.head_name == name and family.members == 3 and family.sls_id == world.sls_ids[0]
    else:
        assert family.head_name == LISTED_NAME  # the list's details stay
    wati.say("/janji")
    assert "Pilih <b>hari</b>" in wati.screen


def test_a_second_member_of_a_claimed_family_waits_and_both_may_be_linked(world):
    pak_rt = rt_head(world)
    wati, budi = Person(world, 1001), Person(world, 1002, "Budi")
    by_invite(world, wati)
    send_family(wati, LISTED_NAME, LISTED_KK)
    by_invite(world, budi)
    send_family(budi, LISTED_NAME, LISTED_KK)  # the same invite and details: already claimed, so it waits
    assert ID("claim-sent") in budi.screen
    [request] = pak_rt.receive()
    assert "Sudah terhubung di Telegram: 1 orang" in request
    pak_rt.press(pak_rt.buttons()[0])
    assert family_of(budi).id == family_of(wati).id
    pak_rt.press(f"rt:fam:{family_of(wati).id}")
    assert "Wati" in pak_rt.screen and "Budi" in pak_rt.screen


def test_the_rt_head_rejects_and_nothing_is_created(world):
    pak_rt = rt_head(world)
    wati = Person(world, 1001)
    by_area(world, wati)
    send_family(wati, "Wati Susanti", KK_WATI)
    pak_rt.receive()
    claim_id = world.scalar(select(FamilyClaim.id))
    pak_rt.press(f"kl:no:{claim_id}")
    assert "Ditolak" in pak_rt.screen
    [told] = wati.receive()
    assert told == ID("notify-claim-rejected")
    assert wati.user().family_id is None and world.count(Family, Family.kk_number == KK_WATI) == 0
    pak_rt.press(f"kl:ok:{claim_id}")  # the old button again: decided already
    assert pak_rt.answer.text == ID("claim-decided-already")
    assert wati.user().family_id is None
    wati.say("/start")  # she may send her details again
    assert "nama kepala keluarga" in wati.screen


def test_the_pending_list_in_the_rt_menu_and_a_request_decided_before_it_was_sent(world):
    pak_rt = rt_head(world)
    wati = Person(world, 1001)
    by_area(world, wati)
    send_family(wati, "Wati Susanti", KK_WATI)
    pak_rt.say("/menu")
    assert "kl:list" in pak_rt.buttons() and "(1)" in " ".join(pak_rt.labels())
    pak_rt.press("kl:list")
    assert "Wati Susanti" in pak_rt.screen
    pak_rt.press(pak_rt.buttons()[0])  # approve from the list
    assert pak_rt.receive() == []  # the queued request is not sent once decided
    assert family_of(wati).kk_number == KK_WATI


def test_only_the_rt_head_of_the_claims_rt_decides(world):
    rt_head(world)
    other_rt, wati = rt_head(world, rt=1, telegram_id=2002), Person(world, 1001)
    by_area(world, wati)
    send_family(wati, "Wati Susanti", KK_WATI)
    claim_id = world.scalar(select(FamilyClaim.id))
    other_rt.press(f"kl:ok:{claim_id}")
    assert other_rt.answer.text == ID("stale-button")
    budi = Person(world, 1002, "Budi")
    budi.register("Budi Santoso", KK_BUDI)
    budi.press(f"kl:ok:{claim_id}")
    assert budi.answer.text == ID("not-allowed")
    assert wati.user().family_id is None
    assert world.scalar(select(FamilyClaim.status).where(FamilyClaim.id == claim_id)) == claims.PENDING


# --- no oracle -------------------------------------------------------------------------------------

@pytest.mark.parametrize("invited", [False, True])
def test_the_answer_is_the_same_whether_or_not_the_kk_exists(world, invited):
    pak_rt = rt_head(world)
    seen = []
    for telegram_id, kk in ((1001, LISTED_KK), (1002, KK_WATI)):  # one on the list, one nobody has
        person = Person(world, telegram_id)
        (by_invite if invited else by_area)(world, person)
        seen.append(send_family(person, "Nama Keliru", kk))  # a name that is not the listed one
    assert seen[0] == seen[1]
    assert ID("claim-sent") in seen[0][-1]
    assert len(pak_rt.receive()) == 2


# --- rate limit ------------------------------------------------------------------------------------

def test_kk_attempts_are_limited_per_user(world):
    pak_rt = rt_head(world)
    wati = Person(world, 1001)
    by_area(world, wati)
    for attempt in range(claims.ATTEMPTS_PER_USER):
        if attempt:
            wati.say("/start")
        send_family(wati, "Wati Susanti", f"647201010120{8000 + attempt}")
        pak_rt.receive()
        pak_rt.press(pak_rt.buttons()[1])  # rejected
    wati.say("/start")
    wati.say("Wati Susanti")
    wati.say(LISTED_KK)
    assert wati.screen == ID("kk-too-many-attempts") and wati.conversation().state == State.FAMILY_KK
    world.clock.advance(claims.ATTEMPT_WINDOW + dt.timedelta(minutes=1))
    wati.say(LISTED_KK)
    assert "jumlah anggota" in wati.screen


def test_kk_attempts_are_limited_per_number(world):
    for telegram_id in range(1001, 1001 + claims.ATTEMPTS_PER_KK):
        person = Person(world, telegram_id)
        by_area(world, person)
        send_family(person, "Nama Keliru", LISTED_KK)
    late = Person(world, 1099, "Asli")
    by_invite(world, late)
    late.say(LISTED_NAME)
    late.say(LISTED_KK)
    assert late.screen == ID("kk-too-many-attempts")
    late.say(KK_WATI)  # another number is fine
    assert "jumlah anggota" in late.screen


# --- the RT head removes a wrong claim --------------------------------------------------------------

def test_the_rt_head_unlinks_a_wrong_claim_and_the_family_keeps_its_data(world):
    pak_rt = rt_head(world)
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    family = family_of(wati)
    pak_rt.press(f"rt:fam:{family.id}")
    user_id = wati.user().id
    assert f"kl:rm:{family.id}:{user_id}" in pak_rt.buttons()
    pak_rt.press(f"kl:rm:{family.id}:{user_id}")
    assert "Lepaskan" in pak_rt.screen and wati.user().family_id == family.id  # asked first
    pak_rt.press(f"kl:rmy:{family.id}:{user_id}")
    assert ID("claim-removed-rt", person="Wati") in pak_rt.screen
    assert wati.user().family_id is None
    kept = world.scalar(select(Family).where(Family.id == family.id))
    assert kept.head_name == "Wati Susanti" and kept.kk_number == KK_WATI
    assert world.count(Appointment, Appointment.family_id == family.id, Appointment.status == "booked") == 1
    assert world.scalar(select(FamilyClaim.status)) == claims.REMOVED
    assert "melepaskan" in wati.receive()[-1]
    wati.say("/janji")
    assert "Pilih <b>hari</b>" not in wati.screen and "Rina" not in wati.screen
    pak_rt.press(f"kl:rmy:{family.id}:{user_id}")  # again: nothing left to unlink
    assert pak_rt.answer.text == ID("stale-button")


def test_english_for_the_resident_and_the_rt_head(world):
    pak_rt = rt_head(world)
    ann = Person(world, 1002, "Ann", "en")
    by_area(world, ann)
    send_family(ann, "Ann Wijaya", KK_WATI)
    assert EN("claim-sent") in ann.screen
    pak_rt.receive()
    pak_rt.press(pak_rt.buttons()[0])
    [told] = ann.receive()
    assert "Your RT head has checked" in told


def test_a_user_row_of_another_role_cannot_claim(world):
    pak_rt = rt_head(world)
    with world.uow_factory() as uow:
        head = uow.users.by_telegram_id(pak_rt.telegram_id)
        with pytest.raises(claims.NotAllowed):
            claims.claim_family(uow, head, world.sls_ids[0], "Pak Darto", KK_WATI, 3, world.clock.now(), via_invite=True)
    assert world.count(User, User.family_id.is_not(None)) == 0
