"""From /start to a registered family (handlers/onboarding.py): consent, the family's details, choosing
an RT, and the rules of joining by invite. The world: helpers.py."""
from __future__ import annotations

import datetime as dt
import html
from dataclasses import replace

import pytest
from sqlalchemy import select

from domain.bots import BotScope
from domain.invites import InviteKind
from domain.model import Conversation, Family, FamilyClaim, RedeemedInvite, User
from storage.seed import HEADS, synthetic_kk
from handlers.states import State
from tests.unit.flows.helpers import ID, KK_WATI, Person


# --- consent --------------------------------------------------------------------------------------

def test_declining_consent_stores_nothing(world):
    budi = Person(world, 1003, "Budi")
    budi.say("/start")
    budi.press("cs:n")
    assert budi.screen == ID("consent-declined")
    budi.say("halo")
    assert budi.screen == ID("need-start")
    budi.say("/janji")
    assert budi.screen == ID("need-start")
    budi.press("dy:20261123")
    assert budi.answer.text == ID("need-start")
    assert world.count(User) == 0 and world.count(Conversation) == 0
    # Changing their mind later works.
    budi.say("/start")
    budi.press("cs:y")
    assert budi.user() is not None and budi.user().consent_version


def test_pressing_agree_again_just_carries_on(world):
    wati = Person(world, 1001)
    wati.say("/start")
    consent = wati.last_id
    wati.press("cs:y")
    wati.press("cs:y", message_id=consent)
    assert world.count(User) == 1


# --- the family's details -------------------------------------------------------------------------

@pytest.mark.parametrize("typed, key", [
    ("6472O1O1O12O9999", "kk-not-digits"),
    ("KK saya 6472010101209999", "kk-not-digits"),
    ("647201010120999", "kk-wrong-length"),
    ("64720101012099991", "kk-wrong-length"),
    ("9972010101209999", "kk-bad-region"),
    ("6472013201209999", "kk-bad-date"),
    ("6472010101200000", "kk-bad-serial"),
    ("6²72010101209999", "kk-not-digits"),
])
def test_a_wrong_kk_is_explained_and_the_name_is_kept(world, typed, key):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(typed)
    assert wati.screen == ID(key)
    assert wati.conversation().state == State.FAMILY_KK
    wati.say(KK_WATI)
    assert "jumlah anggota" in wati.screen
    wati.press("mb:3")
    wati.give_house()
    # Without the RT's invite the family waits for the RT head (tests/unit/flows/test_claims.py).
    claim = world.scalar(select(FamilyClaim).where(FamilyClaim.kk_number == KK_WATI))
    assert claim.head_name == "Wati Susanti" and claim.members == 3 and ID("claim-sent") in wati.screen


def test_a_kk_already_registered_is_not_revealed(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Ahmad Yani")
    wati.say(synthetic_kk(0))
    assert "jumlah anggota" in wati.screen  # as for any number: no "already registered"
    wati.press("mb:3")
    wati.give_house()
    assert ID("claim-sent") in wati.screen and wati.user().family_id is None
    assert world.count(Family) == len(HEADS)


@pytest.mark.parametrize("bad, why", [
    ("W", "name-too-short"), ("Wati 12345", "name-digits"), ("Wati <b>", "name-markup"), ("x" * 121, "name-too-long"),
    ("*Wati*", "name-formatting"), ("Wati 🌸", "name-symbol"), ("https://t.me/promo", "name-markup"),
])
def test_a_bad_name_is_refused_saying_what_is_wrong(world, bad, why):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say(bad)
    assert wati.screen == ID(why) and wati.conversation().state == State.FAMILY_NAME


@pytest.mark.parametrize("name", ["Siti Nur'aini", "Budi & Ani", "Hasan, S.Pd.", "Ni Made O'Neil-Putri"])
def test_real_names_and_titles_are_taken(world, name):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say(name)
    assert wati.conversation().state == State.FAMILY_KK
    assert html.escape(name, quote=False) in wati.screen  # "&" as &amp;: the message stays valid HTML


def test_members_typed_instead_of_pressed(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    for bad in ("nol", "0", "31", "²", "-1", "3.5"):
        wati.say(bad)
        assert wati.screen == ID("bad-members", max=30)
    wati.say("12")
    wati.give_house()
    assert world.scalar(select(FamilyClaim.members).where(FamilyClaim.kk_number == KK_WATI)) == 12


def test_member_buttons_outside_one_to_thirty_are_refused(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    for forged in ("mb:0", "mb:31", "mb:99999", "mb:-1", "mb:1e3"):
        wati.press(forged)
        assert wati.answer.text == ID("stale-button")
    assert world.count(FamilyClaim) == 0
    wati.press("mb:10")
    wati.give_house()
    assert world.scalar(select(FamilyClaim.members).where(FamilyClaim.kk_number == KK_WATI)) == 10


# --- choosing an RT (several bots: domain/bots.py) ------------------------------------------------

def test_a_bot_offers_only_its_own_kecamatan_and_refuses_a_forged_one(world):
    world.handlers.config = replace(world.handlers.config, bot=BotScope("tng", ("36.74",)))
    guest = Person(world, 1005)
    guest.say("/start")
    guest.press(guest.buttons()[0])
    assert not any(b.startswith("ar:") and b != "ar:0" for b in guest.buttons())  # Samarinda's are not offered
    guest.press(f"ar:{world.district_id}", message_id=guest.last_id)  # a forged press for Samarinda's kecamatan
    assert guest.answers[-1].show_alert and guest.user().sls_id is None


# --- joining by invite: links that are expired, used, forged, or for someone already an officer ---

def test_an_expired_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0], days=1)
    world.clock.advance(dt.timedelta(days=2))
    pak_rt = Person(world, 2001, "Pak Darto")
    pak_rt.say(f"/start {token}")
    pak_rt.press(f"cs:y:{token}")
    assert any(text == ID("invite-expired") for text, _ in pak_rt.messages.values())
    assert pak_rt.user().role == "resident"
    assert "kecamatan" in pak_rt.screen  # carries on as a resident instead of a dead end


def test_a_reused_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    first, second = Person(world, 2001, "Pak Darto"), Person(world, 2002, "Bu Sri")
    first.say(f"/start {token}")
    first.press(f"cs:y:{token}")
    second.say(f"/start {token}")
    second.press(f"cs:y:{token}")
    assert any(text == ID("invite-used") for text, _ in second.messages.values())
    assert second.user().role == "resident"
    first.say(f"/start {token}")  # the same person opening it again is told, and stays RT head
    assert first.screen == ID("invite-used") and first.user().role == "rt_head"
    assert world.count(RedeemedInvite) == 1


@pytest.mark.parametrize("forged", ["A" * 34, "not-a-token", "x" * 64, "../../etc", "😀" * 30, "abc def"])
def test_a_forged_or_malformed_invite(world, forged):
    guest = Person(world, 2003, "Tamu")
    guest.say(f"/start {forged}")
    assert "Selamat datang di Pintu" in guest.screen
    guest.press(guest.buttons()[0])
    assert any(text == ID("invite-invalid") for text, _ in guest.messages.values())
    assert guest.user().role == "resident"


def test_a_tampered_rt_head_invite(world):
    token = world.invite(InviteKind.RT_HEAD, world.sls_ids[0])
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    guest = Person(world, 2003, "Tamu")
    guest.agree_and_choose_rt()
    guest.say(f"/start {forged}")
    assert guest.screen == ID("invite-invalid") and guest.user().role == "resident"


def test_an_enumerator_invite_used_twice(world):
    token = world.invite(InviteKind.ENUMERATOR, world.agus_id)
    agus = Person(world, 4002, "Agus")
    agus.say(f"/start {token}")
    agus.press(f"cs:y:{token}")
    impostor = Person(world, 4003, "Bukan Agus")
    impostor.say(f"/start {token}")
    impostor.press(f"cs:y:{token}")
    assert any(text == ID("invite-used") for text, _ in impostor.messages.values())
    assert impostor.user().role == "resident"


def test_a_second_enumerators_invite_on_one_account_is_refused_and_not_used_up(world):
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {world.invite(InviteKind.ENUMERATOR, world.rina_id)}")
    rina.press(rina.buttons()[0])
    agus_token = world.invite(InviteKind.ENUMERATOR, world.agus_id)
    rina.say(f"/start {agus_token}")  # Agus's link forwarded to Rina by mistake
    assert rina.screen == ID("invite-already-officer")
    assert rina.user().role == "enumerator"
    agus = Person(world, 4002, "Agus")  # the link still works for Agus himself
    agus.say(f"/start {agus_token}")
    agus.press(f"cs:y:{agus_token}")
    assert agus.user().role == "enumerator"
    assert not any(text == ID("invite-used") for text, _ in agus.messages.values())


def test_an_officer_opening_a_resident_link_keeps_their_role(world):
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    rina.say(f"/start {world.invite(InviteKind.RESIDENT, world.sls_ids[0])}")
    assert rina.user().role == "enumerator"
    assert "Jadwal Rina" in rina.screen
    assert rina.conversation().state == "idle"
