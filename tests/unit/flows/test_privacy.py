"""The resident's rights (handlers/flows/privacy.py): /dataku's summary and file, a correction reaching
the RT head and closed by him, withdrawal with erasure, and the notice shown again when its version rises."""
from __future__ import annotations

import datetime as dt
import json
import uuid

from sqlalchemy import select

from chat.events import SendDocument
from domain.model import Conversation, OutboxMessage, PrivacyRequest, Record, RecordDelivery, RecordPhoto, User
from domain import privacy
from domain.invites import InviteKind
from handlers.context import HandlerConfig
from handlers.notices import notice
from handlers.notifications import render_outbox
from tests.unit.flows.helpers import EN, ID, KK_WATI, SECRET, Person, rt_head

CONFIG = HandlerConfig(invite_secret=SECRET)  # the default controller and contact, as the world runs


def _wati(world) -> Person:
    wati = Person(world, 1001)
    wati.register("Wati Susanti", KK_WATI)
    wati.book()
    return wati


def _add_record(world, family_id: int, status: str = "draft", delivered: bool = False, photo: str | None = None) -> str:
    now = world.clock.now()
    record_id = str(uuid.uuid4())
    with world.uow_factory() as uow:
        uow.records.add(Record(id=record_id, family_id=family_id, form_id="regsosek", form_version="1",
                               answers={"r301": "3"}, latitude=-0.5, longitude=117.1, status=status,
                               completed_at=now if status == "completed" else None, created_at=now, updated_at=now))
        if photo:
            uow.records.add_photo(RecordPhoto(record_id=record_id, path=photo, sha256="0" * 64, size=3, mime="image/jpeg"))
        if delivered:
            row = uow.deliveries.add(record_id, "registry", now)
            row.status, row.delivered_at = "delivered", now
        uow.commit()
    return record_id


def test_my_data_shows_a_summary_with_the_kk_masked_and_sends_everything_as_a_file(world):
    wati = _wati(world)
    _add_record(world, wati.user().family_id, status="completed", delivered=True)
    actions = wati.say("/dataku")
    summary = next(a for a in actions if getattr(a, "text", None) and "Wati Susanti" in a.text).text
    assert KK_WATI not in summary and KK_WATI[-4:] in summary
    assert "1 sudah diteruskan ke registri pusat" in summary and "1 lokasi GPS" in summary
    assert "10.00 WITA" in summary  # the visit booked by register(), in the area's time
    document = next(a for a in actions if isinstance(a, SendDocument))
    data = json.loads(document.content)
    assert data["family"]["kk_number"] == KK_WATI
    assert data["records"][0]["answers"] == {"r301": "3"} and data["records"][0]["delivered_to_registry"]
    assert {"pv:fix", "pv:erase"} <= set(wati.buttons(wati.message_with("pv:fix")))


def test_a_correction_reaches_the_rt_head_who_closes_it_and_the_resident_is_told(world):
    darto = rt_head(world)
    wati = _wati(world)
    wati.say("/dataku")
    wati.press("pv:fix", wati.message_with("pv:fix"))
    assert wati.screen == ID("pv-ask-correction")
    wati.say("Jumlah anggota 5, bukan 4")
    request = world.scalar(select(PrivacyRequest))
    assert (request.kind, request.status, request.text) == ("correction", "open", "Jumlah anggota 5, bukan 4")
    assert wati.screen == ID("pv-correction-sent", id=request.id)

    with world.uow_factory() as uow:
        row = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == darto.telegram_id,
                                                             OutboxMessage.kind == "privacy-correction"))
        notice = render_outbox(uow, row, world.clock.now())
    assert "Jumlah anggota 5, bukan 4" in notice.text and "Wati Susanti" in notice.text
    assert [b.data for b in notice.markup.buttons] == [f"pv:done:{request.id}"]

    darto.press(f"pv:done:{request.id}", darto.last_id)
    assert world.scalar(select(PrivacyRequest)).status == "done"
    told = world.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == wati.telegram_id,
                                                    OutboxMessage.kind == "privacy-done"))
    with world.uow_factory() as uow:
        assert render_outbox(uow, told).text == ID("notify-privacy-done", id=request.id, kind=ID("pv-kind-correction"))
    # A second press, or someone else's, closes nothing more.
    darto.press(f"pv:done:{request.id}", darto.last_id)
    assert darto.answer.text == ID("pv-already-closed")
    wati.press(f"pv:done:{request.id}", wati.last_id)
    assert wati.answer.text == ID("stale-button")


def test_erasure_says_what_goes_then_deletes_the_account_conversation_drafts_and_unsent_photos(world, tmp_path):
    world.handlers.config = type(world.handlers.config)(**{**world.handlers.config.__dict__, "media_dir": str(tmp_path)})
    wati = _wati(world)
    family_id = wati.user().family_id
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "house.jpg").write_bytes(b"jpg")
    draft = _add_record(world, family_id, photo="p/house.jpg")
    kept = _add_record(world, family_id, status="completed", delivered=True)
    wati.say("/dataku")
    wati.press("pv:erase", wati.message_with("pv:erase"))
    assert ID("pv-erase-now", drafts=1, unsent=0, photos=1) in wati.screen
    assert ID("pv-erase-forwarded", count=1) in wati.screen
    assert world.count(User, User.telegram_id == wati.telegram_id) == 1  # nothing deleted before confirming

    wati.press("pv:eraseok")
    assert wati.screen == ID("pv-erased-forwarded", id=1, count=1)
    assert world.count(User, User.telegram_id == wati.telegram_id) == 0
    assert world.count(Conversation, Conversation.telegram_id == wati.telegram_id) == 0
    assert world.count(Record, Record.id == draft) == 0 and not (tmp_path / "p" / "house.jpg").exists()
    # The registry's copy is the law's to keep; a deletion request goes to it through the delivery queue.
    assert world.count(Record, Record.id == kept) == 1
    assert world.scalar(select(RecordDelivery.status).where(RecordDelivery.record_id == kept,
                                                            RecordDelivery.target == "registry-erasure")) == "pending"
    request = world.scalar(select(PrivacyRequest))
    assert (request.kind, request.status, request.detail["forwarded"]) == ("erasure", "open", 1)
    wati.say("/menu")
    assert wati.screen == ID("need-start")


def test_erasure_without_forwarded_records_is_done_at_once(world):
    wati = _wati(world)
    wati.say("/mydata")
    wati.press("pv:erase", wati.message_with("pv:erase"))
    wati.press("pv:eraseok")
    assert wati.screen == ID("pv-erased")
    assert world.scalar(select(PrivacyRequest.status)) == "done"


def test_an_officer_cannot_erase_their_account_from_the_chat(world):
    darto = rt_head(world)
    darto.say("/dataku")
    darto.press("pv:erase", darto.message_with("pv:erase"))
    assert darto.screen == ID("pv-erase-officer")
    assert world.count(User, User.telegram_id == darto.telegram_id) == 1


def test_a_new_notice_version_is_shown_again_to_who_agreed_to_an_older_one(world):
    wati = _wati(world)
    with world.uow_factory() as uow:
        uow.users.by_telegram_id(wati.telegram_id).consent_version = "2026-1"  # the one notice for everyone
        uow.commit()
    current = privacy.current_notice("resident")
    wati.say("/janji")
    assert wati.screen.startswith(ID("consent-new-version", version=current))
    assert notice(ID, CONFIG, "resident") in wati.screen  # the whole new notice, the resident's
    assert wati.buttons()[0].startswith("cs:y")
    wati.say("/dataku")  # their rights stay open meanwhile
    assert "Wati Susanti" in wati.screen
    wati.say("/janji")
    wati.press(wati.buttons()[0])
    assert wati.user().consent_version == current
    assert ID("consent-renewed") in wati.screen
    wati.say("/janji")
    assert not wati.screen.startswith(ID("consent-new-version", version=current))


def test_each_role_agrees_to_its_own_notice_naming_the_controller_and_a_contact(world):
    wati = _wati(world)
    darto = rt_head(world)
    assert wati.user().consent_version == privacy.NOTICES["resident"][-1]
    assert darto.user().consent_version == privacy.NOTICES["rt_head"][-1]
    token = world.invite(InviteKind.ENUMERATOR, world.rina_id)
    rina = Person(world, 4001, "Rina")
    rina.say(f"/start {token}")
    assert "petugas" in rina.screen and CONFIG.controller_name in rina.screen and CONFIG.controller_contact in rina.screen
    assert rina.screen == notice(ID, CONFIG, "staff")
    rina.press(f"cs:y:{token}")
    assert rina.user().consent_version == privacy.NOTICES["staff"][-1]
    for t in (ID, EN):
        texts = {kind: notice(t, CONFIG, kind) for kind in privacy.NOTICES}
        assert len(set(texts.values())) == 3, "three different notices"
        assert all(CONFIG.controller_name in text and CONFIG.controller_contact in text for text in texts.values())


def test_a_role_changed_by_an_invite_sees_its_own_notice_first(world):
    wati = _wati(world)
    with world.uow_factory() as uow:  # Wati becomes an enumerator (the admin's doing)
        uow.users.by_telegram_id(wati.telegram_id).role = "enumerator"
        uow.commit()
    wati.say("/jadwal")
    assert notice(ID, CONFIG, "staff") in wati.screen and wati.buttons()[0].startswith("cs:y")


def test_the_agreed_notice_stays_in_the_chat_and_privasi_shows_it_again(world):
    wati = Person(world, 1001)
    wati.say("/start")
    notice_id = wati.last_id
    wati.press(wati.buttons()[0])
    kept, markup = wati.messages[notice_id]
    assert kept.startswith(notice(ID, CONFIG, "resident")) and markup is None  # the text kept, no buttons
    assert "Anda setuju pada Senin, 23 Nov" in kept and "07.00 WIB" in kept  # no area yet: WIB, said so
    assert notice_id != wati.last_id  # the area choice came as a new message
    wati.say("/privasi")
    assert notice(ID, CONFIG, "resident") in wati.screen and "Anda setuju pada" in wati.screen
    assert wati.buttons() == []
    assert "/privasi" in ID("help-resident") and "/privacy" in EN("help-enumerator")


def test_privasi_before_agreeing_is_the_notice_to_agree_to(world):
    stranger = Person(world, 1999)
    stranger.say("/privasi")
    assert stranger.screen == notice(ID, CONFIG, "resident") and stranger.buttons()[0].startswith("cs:y")


def test_the_notice_names_every_category_its_recipient_and_the_rights():
    for t, words in ((ID, ("GPS", "foto rumah", "sosial ekonomi", "registri pusat", "/dataku", "30 hari")),
                     (EN, ("GPS", "photo of the house", "socio-economic", "central registry", "/mydata", "30 days"))):
        text = notice(t, CONFIG, "resident")
        assert all(word in text for word in words), text


def test_a_role_taken_back_asks_for_no_notice_again():
    # An RT head or officer made a resident again (or whose staff invite failed) agreed to more already.
    assert not privacy.needs_reconsent(privacy.current_notice("supervisor"), "resident")
    assert not privacy.needs_reconsent(privacy.current_notice("rt_head"), "resident")
    assert privacy.needs_reconsent(privacy.current_notice("resident"), "rt_head")  # more to do: its notice
    assert privacy.needs_reconsent("2026-1", "resident") and not privacy.needs_reconsent("1", "enumerator")


def test_the_controller_and_its_contact_come_from_the_settings():
    from bot.config import Settings

    settings = Settings.from_env({"PINTU_CONTROLLER_NAME": "BPS Kota Samarinda",
                                  "PINTU_CONTROLLER_CONTACT": "https://samarindakota.bps.go.id"})
    assert (settings.controller_name, settings.controller_contact) == ("BPS Kota Samarinda",
                                                                       "https://samarindakota.bps.go.id")
    assert Settings.from_env({}).controller_name == CONFIG.controller_name  # the default: the BPS office
    config = HandlerConfig(invite_secret=SECRET, controller_name=settings.controller_name,
                           controller_contact=settings.controller_contact)
    for kind in privacy.NOTICES:
        assert "BPS Kota Samarinda" in notice(ID, config, kind) and "samarindakota.bps.go.id" in notice(EN, config, kind)
