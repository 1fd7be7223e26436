"""What every role shares (handlers/common.py): the home screen, help, the language, and answers to
input the bot did not ask for. The world: helpers.py."""
from __future__ import annotations

from sqlalchemy import select

from chat.events import Location
from domain.invites import InviteKind
from domain.model import FamilyClaim, User
from handlers.states import State
from tests.unit.flows.helpers import EN, ID, KK_WATI, Person


# --- help and language ----------------------------------------------------------------------------

def test_help_works_before_consent_and_by_role(world):
    guest = Person(world, 1004)
    guest.say("/bantuan")
    assert guest.screen == ID("help-newcomer")
    guest.agree_and_choose_rt()
    guest.say("/help")
    assert guest.screen == ID("help-resident")
    assert world.count(User) == 1


def test_english_for_an_english_telegram_and_switching_language(world):
    ann = Person(world, 1002, "Ann", "en")
    world.list_family("Ann Wijaya", KK_WATI, members=2)
    token = world.invite(InviteKind.RESIDENT, world.sls_ids[0])
    ann.say(f"/start {token}")
    assert "Welcome to Pintu" in ann.screen
    ann.press(f"cs:y:{token}")
    assert "family head's name" in ann.screen
    ann.say("Ann Wijaya")
    ann.say(KK_WATI)
    ann.press("mb:2")
    ann.give_house()
    assert ann.labels()[0] == "Mon 23 Nov"
    ann.book()
    assert "Monday, 23 Nov, 10:00 WITA — officer Rina" in ann.screen
    assert ann.user().language == "en"

    ann.say("/bahasa")
    assert ann.buttons() == ["lg:id", "lg:en"]
    ann.press("lg:id")
    assert ann.screen == ID("language-set")
    ann.say("/janji")  # her Telegram is still English; her choice wins
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in ann.screen
    ann.say("/language")
    ann.press("lg:en")
    assert ann.screen == EN("language-set")
    ann.say("/janji")
    assert "Monday, 23 Nov, 10:00 WITA — officer Rina" in ann.screen


def test_a_newcomer_chooses_english_before_agreeing(world):
    siti = Person(world, 1005, "Siti", "id")
    siti.say("/bahasa")
    siti.press("lg:en")
    assert "Welcome to Pintu" in siti.screen
    assert world.count(User) == 0, "choosing a language is not consent"
    siti.press(siti.buttons()[0])
    assert "district" in siti.screen
    assert siti.user().language == "en"
    siti.say("/help")
    assert siti.screen == EN("help-resident")


# --- the home screen ------------------------------------------------------------------------------

def test_the_start_command_again_shows_where_the_user_is(world):
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.say("/start")
    assert "Pilih <b>hari</b>" in wati.screen
    wati.book()
    wati.say("/start")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen
    wati.say("/menu")
    assert "Senin, 23 Nov, 10.00 WITA — petugas Rina" in wati.screen


# --- input the bot did not ask for ----------------------------------------------------------------

def test_text_where_a_button_is_expected(world):
    wati = Person(world, 1001)
    wati.say("/start")
    wati.press("cs:y")
    wati.say("Palaran")
    assert wati.screen == ID("use-buttons")
    world.list_family("Wati Susanti", KK_WATI)
    wati.say(f"/start {world.invite(InviteKind.RESIDENT, world.sls_ids[0])}")  # the RT's link after all
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    wati.press("mb:4")
    wati.give_house()
    wati.say("besok saja")
    assert wati.screen == ID("use-buttons")
    assert wati.conversation().state == State.PICK_DAY
    wati.press("dy:20261124")
    wati.say("jam 10")
    assert wati.screen == ID("use-buttons") and wati.conversation().state == State.PICK_TIME


def test_a_photo_sticker_or_location_out_of_place(world):
    wati = Person(world, 1001)
    wati.say(photo_file_id="AgAD-sticker")
    assert wati.screen == ID("need-start")
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    wati.say(photo_file_id="AgAD-photo")
    assert wati.screen == ID("not-expected-now")
    wati.say(location=Location(-0.5, 117.1))
    assert wati.screen == ID("not-expected-now")
    wati.say("terima kasih")
    assert wati.screen == ID("not-understood")


def test_a_photo_while_we_wait_for_typed_details_asks_again(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say(photo_file_id="AgAD-photo")
    assert "nama kepala keluarga" in wati.screen
    assert wati.conversation().state == State.FAMILY_NAME
    wati.say("Wati Susanti")
    wati.say(photo_file_id="AgAD-kk-photo")
    assert "nomor KK" in wati.screen and "Wati Susanti" in wati.screen
    assert wati.conversation().state == State.FAMILY_KK
    wati.say(KK_WATI)
    wati.press("mb:2")
    wati.give_house()
    assert world.scalar(select(FamilyClaim.head_name).where(FamilyClaim.kk_number == KK_WATI)) == "Wati Susanti"
