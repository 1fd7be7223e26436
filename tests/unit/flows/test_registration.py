"""Registration's address and house location, and "back" at every step (handlers/flows/onboarding.py),
for the resident and for the RT head registering a family without Telegram; where the address then
shows (family card, /jadwal, the officer's notices). The world: helpers.py."""
from __future__ import annotations

import csv
import html
import io

from sqlalchemy import select

from chat.events import Location
from chat.keyboard import RemoveKeyboard, ReplyKeyboard
from domain.exports import export_area
from domain.invites import InviteKind
from domain.model import Family, FamilyClaim, OutboxMessage
from handlers.states import State
from storage.seed import DEMO_CENTRE
from tests.unit.flows.helpers import AT_HOME, HOUSE_ADDRESS, ID, KK_BUDI, KK_SARI, KK_WATI, Person, rt_head

KK_TYPO = "6472010101209998"


def family(world, kk: str) -> Family:
    return world.scalar(select(Family).where(Family.kk_number == kk))


def test_a_resident_gives_the_address_and_shares_the_house_location(world):
    world.list_family("Wati Susanti", KK_WATI)
    wati = Person(world, 1001)
    wati.agree_by_invite()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    wati.press("mb:4")
    assert wati.screen.startswith(ID("ask-address", name="Wati Susanti")[:20])
    assert wati.conversation().state == State.FAMILY_ADDRESS
    wati.say(HOUSE_ADDRESS)
    assert wati.screen == ID("ask-location")
    keys = wati.messages[wati.last_id][1]
    assert isinstance(keys, ReplyKeyboard) and keys.rows[0][0].request_location
    assert [b.text for b in keys.rows[1]] == [ID("btn-skip"), ID("btn-back")]
    wati.say(location=Location(*AT_HOME, 8.0))
    assert ID("reg-location-saved") in wati.previous and ID("family-registered") in wati.previous
    assert isinstance(wati.messages[wati.last_id - 1][1], RemoveKeyboard), "the location keyboard goes away"
    assert "Pilih <b>hari</b>" in wati.screen
    house = family(world, KK_WATI)
    assert house.address == "Jl. Mawar Gg. 3 No. 12, RT 001/RW 005"
    assert (house.latitude, house.longitude) == AT_HOME
    wati.say("/dataku")  # the resident sees what is kept of the house
    shown = "\n".join(text for text, _ in wati.messages.values())
    assert ID("pv-house", address=HOUSE_ADDRESS, position=ID("pv-house-located")) in shown


def test_the_location_can_be_skipped_and_a_bad_one_is_explained(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    for step in ("Wati Susanti", KK_WATI):
        wati.say(step)
    wati.press("mb:3")
    wati.say(HOUSE_ADDRESS)
    wati.say(location=Location(DEMO_CENTRE[0] + 1.0, DEMO_CENTRE[1], 5.0))  # 110 km away
    assert wati.screen == ID("reg-location-outside", rt="RT 001")
    wati.say(location=Location(*AT_HOME, 900.0))
    assert wati.screen == ID("reg-location-poor", accuracy=900)
    wati.say("di dekat masjid")
    assert wati.screen == ID("reg-location-buttons")
    assert wati.conversation().state == State.FAMILY_LOCATION
    wati.say("Lewati")
    # Without the invite the family waits for the RT head; the claim keeps the address for it.
    claim = world.scalar(select(FamilyClaim))
    assert ID("claim-sent") in wati.screen and ID("reg-location-skipped") in wati.screen
    assert (claim.address, claim.latitude) == (HOUSE_ADDRESS, None)


def test_an_approved_claim_gives_the_new_family_its_address_and_position(world):
    pak_rt = rt_head(world)
    budi = Person(world, 1002, "Budi")
    budi.agree_and_choose_rt()
    budi.say("Budi & Ani")
    budi.say(KK_BUDI)
    budi.press("mb:2")
    budi.give_house("Jl. Kenanga No. 4", at=AT_HOME)
    [note] = pak_rt.receive()
    assert "Budi &amp; Ani" in note and "Jl. Kenanga No. 4" in note
    claim = world.scalar(select(FamilyClaim))
    pak_rt.press(f"kl:ok:{claim.id}")
    house = family(world, KK_BUDI)
    assert (house.head_name, house.address, house.latitude, house.longitude) == ("Budi & Ani", "Jl. Kenanga No. 4", *AT_HOME)


def test_back_from_members_to_the_kk_fixes_a_typo_and_keeps_the_rest(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_TYPO)
    assert "rg:bk:members" in wati.buttons()
    wati.press("rg:bk:members")
    assert wati.conversation().state == State.FAMILY_KK
    assert "6472 0101 0120 9998" in wati.screen and "rg:nx:kk" in wati.buttons()  # what was typed, to check
    wati.say(KK_WATI)
    assert wati.conversation().state == State.FAMILY_MEMBERS
    wati.press("mb:4")
    wati.say(HOUSE_ADDRESS)
    wati.say("« Kembali")  # from the location back to the address: the address given is shown
    assert wati.conversation().state == State.FAMILY_ADDRESS and html.escape(HOUSE_ADDRESS) in wati.screen
    wati.press("rg:nx:address")  # kept as it was
    assert wati.screen == ID("ask-location")
    wati.say("Lewati")
    claim = world.scalar(select(FamilyClaim))
    assert (claim.kk_number, claim.head_name, claim.members, claim.address) == (KK_WATI, "Wati Susanti", 4, HOUSE_ADDRESS)


def test_back_walks_every_step_and_stale_back_buttons_are_refused(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    kk_prompt = wati.last_id
    wati.say(KK_WATI)
    wati.press("mb:2")
    wati.press("rg:bk:address")
    assert wati.conversation().state == State.FAMILY_MEMBERS
    wati.press("rg:bk:kk", message_id=kk_prompt)  # the KK screen's button, while at the members step
    assert wati.answer.text == ID("screen-gone") and wati.conversation().state == State.FAMILY_MEMBERS
    wati.press("rg:bk:members")
    wati.press("rg:bk:kk")
    assert wati.conversation().state == State.FAMILY_NAME and "Wati Susanti" in wati.screen
    wati.press("rg:nx:name")
    assert wati.conversation().state == State.FAMILY_KK
    wati.press("rg:bk:kk")
    wati.press("rg:bk:name")  # before the name: the RT choice
    assert wati.conversation().state == State.CHOOSE_AREA
    for forged in ("rg:bk:", "rg:xx:kk", "rg:nx:members", "rg:"):
        wati.press(forged)
        assert wati.answer.text == ID("stale-button")


def test_an_address_is_checked_with_a_clear_answer(world):
    wati = Person(world, 1001)
    wati.agree_and_choose_rt()
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    wati.press("mb:2")
    for bad, why in (("12", "address-too-short"), ("x" * 201, "address-too-long"),
                     ("<a href='x'>rumah</a>", "address-markup"), ("www.rumah.com", "address-markup")):
        wati.say(bad)
        assert wati.screen == ID(why) and wati.conversation().state == State.FAMILY_ADDRESS
    wati.say("Gg. Durian 2  RT 01")
    assert wati.conversation().state == State.FAMILY_LOCATION and wati.conversation().data["address"] == "Gg. Durian 2 RT 01"


def test_the_rt_head_registers_a_family_with_its_address_and_the_card_and_schedule_show_it(world):
    pak_rt = rt_head(world)
    pak_rt.press("rt:add")
    pak_rt.say("Hasan, S.Pd.")
    pak_rt.say(KK_SARI)
    pak_rt.press("mb:5")
    pak_rt.say("Jl. Cempaka No. 7, RT 001/RW 002")
    assert pak_rt.screen == ID("ask-location-rt", name="Hasan, S.Pd.")
    pak_rt.say("Lewati")
    assert ID("family-registered") in pak_rt.previous and "Pilih <b>hari</b>" in pak_rt.screen
    house = family(world, KK_SARI)
    assert (house.head_name, house.address, house.latitude) == ("Hasan, S.Pd.", "Jl. Cempaka No. 7, RT 001/RW 002", None)
    rina = Person(world, 4001, "Rina")  # the officer uses the bot: the booking is announced to her
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina.say(f"/start {token}")
    rina.press(f"cs:y:{token}")
    pak_rt.book(time="1100")

    pak_rt.press(f"rt:fam:{house.id}")
    assert ID("rh-address", address="Jl. Cempaka No. 7, RT 001/RW 002") in pak_rt.screen

    notices = rina.receive()
    assert any("Hasan, S.Pd." in n and ID("notify-visit-address", address="Jl. Cempaka No. 7, RT 001/RW 002") in n
               for n in notices), notices
    rina.say("/jadwal")
    assert "Jl. Cempaka No. 7, RT 001/RW 002" in rina.screen

    with world.uow_factory() as uow:  # the supervisor's export carries it too
        exported = export_area(uow, uow.areas.get(world.village_id), "csv", world.clock.now())
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert next(r for r in rows if r["kepala_keluarga"] == "Hasan, S.Pd.")["alamat"] == "Jl. Cempaka No. 7, RT 001/RW 002"


def test_the_rt_heads_first_step_goes_back_to_the_menu(world):
    pak_rt = rt_head(world)
    pak_rt.press("rt:add")
    pak_rt.press("rg:bk:name")
    assert "Menu Ketua RT 001" in pak_rt.screen and pak_rt.conversation().state == State.IDLE


def test_a_blocked_familys_note_names_the_failed_nudge(world):
    from domain.reminders import tell_rt_head_undeliverable
    from handlers.notifications import render_outbox

    pak_rt = rt_head(world)
    listed = world.families_in(0)[0]
    now = world.clock.now()
    with world.uow_factory() as uow:
        tell_rt_head_undeliverable(uow, "nudge", {"family_id": listed.id}, 99, now)
        tell_rt_head_undeliverable(uow, "reminder-evening", {"family_id": listed.id, "appointment_id": 1}, 99, now)
        uow.commit()
    with world.uow_factory() as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == pak_rt.telegram_id)
                                   .order_by(OutboxMessage.id)).all()
        texts = [render_outbox(uow, row).text for row in rows if row.kind == "reminder-undeliverable"]
    assert texts == [ID("notify-reminder-undeliverable-nudge", name=listed.head_name, rt="RT 001"),
                     ID("notify-reminder-undeliverable", name=listed.head_name, rt="RT 001")]
    assert "sampaikan jadwal" not in texts[0]


def test_an_invited_resident_has_no_back_before_the_name_and_back_can_be_typed_at_the_location(world):
    wati = Person(world, 1001)
    wati.agree_by_invite()
    assert "rg:bk:name" not in wati.buttons()
    wati.press("rg:bk:name")  # forged: nothing before the name for an invited resident
    assert wati.answer.text == ID("stale-button") and wati.conversation().state == State.FAMILY_NAME
    wati.say("Wati Susanti")
    wati.say(KK_WATI)
    wati.press("mb:2")
    wati.say(HOUSE_ADDRESS)
    wati.say("kembali")
    assert wati.conversation().state == State.FAMILY_ADDRESS
