"""Field capture end to end through python-telegram-bot and aiogram on the simulator: the "share
location" button, a shared location, a live location's later point (an edited_message), a real photo
fetched with getFile and downloaded, an image sent as a file, and every refusal (text, sticker, voice
note, a 30 MB file, a PDF named .jpg, a point in another province).

The questions are asked by a small flow declared here as the questionnaire declares its question
state; the user is put in that step through the database.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import re
from enum import Enum

import pytest
from PIL import Image

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from domain.model import Family, User
from domain.records import start_record
from e2e_support import BOT_ID, Env, Person, buttons
from handlers import capture
from handlers.app import Router
from handlers.flow import Accepts, Flow, StateSpec
from handlers.flows import FLOWS
from handlers.states import State
from chat.i18n import Translator

class CaptureTest(str, Enum):
    ASK = "capture_e2e.ask"


STATE = CaptureTest.ASK.value
ID = Translator("id")


def _step(ctx) -> None:
    record = ctx.uow.records.get(ctx.data["record"])
    on_event = capture.on_location_for_record if ctx.data["ask"] == "location" else capture.on_photo_for_record
    if on_event(ctx, record):
        ctx.stay(State.IDLE)


FLOW = Flow(name="capture_e2e", doc="a capture question", states=(
    StateSpec(CaptureTest.ASK, Accepts.TEXT | Accepts.LOCATION | Accepts.MEDIA | Accepts.BUTTON, on_text=_step,
              on_input=_step, presses=frozenset({capture.PREFIX}), wants_file=lambda ctx: ctx.data["ask"] == "photo"),))


def plain(key: str, **args) -> str:
    """A catalog text as the chat shows it (HTML tags gone)."""
    return re.sub(r"<[^>]+>", "", ID(key, **args))


def at_the_question(env: Env, person: Person, ask: str, tmp_path) -> str:
    """``person`` (a resident of RT 001's first family) is at a capture question; returns the record id."""
    env.pintu.handlers.config = dataclasses.replace(env.pintu.handlers.config, media_dir=str(tmp_path / "media"))
    env.pintu.handlers.router = Router([*FLOWS, FLOW])
    with env.pintu.uow() as uow:
        family = uow.session.query(Family).filter(Family.sls_id == env.area.sls_ids[0]).order_by(Family.id).first()
        if uow.users.by_telegram_id(person.user_id) is None:
            uow.users.add(User(telegram_id=person.user_id, first_name="Wati", language="id", role="resident",
                               sls_id=family.sls_id, family_id=family.id, consent_version="1",
                               consent_at=env.clock.now(), created_at=env.clock.now()))
        record = start_record(uow, family.id, "regsosek", "1", env.clock.now())
        uow.conversations.save(person.user_id, STATE, {"record": record.id, "ask": ask}, env.clock.now())
        uow.commit()
        return record.id


def record_of(env: Env, record_id: str):
    return env.query(lambda uow: uow.records.get(record_id))


def jpeg(size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_location_button_shared_point_and_live_update(env: Env, tmp_path) -> None:
    wati = env.person(3001, "Wati")
    record_id = at_the_question(env, wati, "location", tmp_path)
    sim = env.sim

    answer = wati.say("rumah saya di Jl. Mangga", plain("capture-location-text"))
    keyboard = sim.keyboard(BOT_ID, wati.user_id)
    assert keyboard["keyboard"][0][0] == {"text": ID("btn-capture-share-location"), "request_location": True}

    # A point in another province: asked to confirm, with buttons; "no" stores nothing.
    sent = sim.share_location(BOT_ID, wati.user_id, -6.2, 106.8, horizontal_accuracy=10)
    question = wati.wait("Rawa Makmur", newer_than=sent["message_id"])
    no = next(data for _, data in buttons(question) if data.startswith("gc:n."))
    wati.press(question, no, plain("capture-geo-resend"))
    assert record_of(env, record_id).latitude is None

    # A live location from the house: stored, then its next point (an edited_message) replaces it.
    sent = sim.share_location(BOT_ID, wati.user_id, -0.5501, 117.2001, horizontal_accuracy=25, live_period=900)
    wati.wait(plain("capture-location-saved"), newer_than=sent["message_id"])
    record = record_of(env, record_id)
    assert (record.latitude, record.longitude, record.geo_by, record.geo_sender) == (-0.5501, 117.2001, "resident", 3001)
    sim.move_live_location(BOT_ID, wati.user_id, sent["message_id"], -0.5504, 117.2004, horizontal_accuracy=6)
    moved = sim.wait_for(lambda: (r := record_of(env, record_id)).latitude == -0.5504 and r, timeout=5)
    assert (moved.longitude, moved.geo_accuracy_m) == (117.2004, 6.0)
    before = len(wati.bot_messages())
    sim.move_live_location(BOT_ID, wati.user_id, sent["message_id"], -0.5505, 117.2005, horizontal_accuracy=5)
    sim.wait_for(lambda: record_of(env, record_id).latitude == -0.5505, timeout=5)
    assert len(wati.bot_messages()) == before, "a live location's points are taken silently"


def test_photo_refusals_then_a_real_photo_and_an_image_file(env: Env, tmp_path) -> None:
    wati = env.person(3002, "Wati")
    sim = env.sim
    record_id = at_the_question(env, wati, "photo", tmp_path)

    wati.say("nanti saya kirim", plain("capture-photo-text"))
    sent = sim.send_sticker(BOT_ID, wati.user_id, "🏠")
    wati.wait(plain("capture-photo-wrong-kind"), newer_than=sent["message_id"])
    sent = sim.send_voice(BOT_ID, wati.user_id, b"OggS" + b"\x00" * 200, duration=2)
    wati.wait(plain("capture-photo-wrong-kind"), newer_than=sent["message_id"])
    sent = sim.send_document(BOT_ID, wati.user_id, b"\xff\xd8" + b"\x00" * (30 * 1024 * 1024), "rumah.jpg",
                             mime_type="image/jpeg")
    wati.wait(plain("capture-photo-too-large"), newer_than=sent["message_id"])
    sent = sim.send_document(BOT_ID, wati.user_id, b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "rumah.jpg",
                             mime_type="image/jpeg")
    wati.wait(plain("capture-photo-not-image"), newer_than=sent["message_id"])
    sent = sim.share_location(BOT_ID, wati.user_id, -0.55, 117.2)
    wati.wait(plain("capture-photo-wrong-kind"), newer_than=sent["message_id"])
    assert env.query(lambda uow: list(uow.records.photos(record_id))) == []

    # A real photo: the bot takes the largest size through getFile and downloads it.
    content = jpeg()
    get_file_before = sim.stats(BOT_ID)["methods"].get("getFile", 0)
    sent = sim.send_photo(BOT_ID, wati.user_id, content, "rumah.jpg")
    wati.wait(plain("capture-photo-saved"), newer_than=sent["message_id"])
    assert sim.stats(BOT_ID)["methods"].get("getFile", 0) == get_file_before + 1
    [photo] = env.query(lambda uow: list(uow.records.photos(record_id)))
    assert (photo.sha256, photo.size, photo.width, photo.height, photo.mime, photo.sender) == \
        (hashlib.sha256(content).hexdigest(), len(content), 640, 480, "image/jpeg", 3002)
    assert (tmp_path / "media" / photo.path).read_bytes() == content

    # The same resident, another record: this time the photo comes as a file (a PNG named .jpg).
    second = at_the_question(env, wati, "photo", tmp_path)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (10, 200, 10)).save(buffer, "PNG")
    sent = sim.send_document(BOT_ID, wati.user_id, buffer.getvalue(), "IMG_20261123.jpg", mime_type="image/jpeg")
    wati.wait(plain("capture-photo-saved"), newer_than=sent["message_id"])
    [as_file] = env.query(lambda uow: list(uow.records.photos(second)))
    assert (as_file.mime, as_file.width, as_file.height) == ("image/png", 300, 200)
    assert (tmp_path / "media" / as_file.path).read_bytes() == buffer.getvalue()
    assert env.query(lambda uow: uow.conversations.get(wati.user_id).state) == "idle"


def test_a_sticker_outside_any_question_gets_a_clear_answer(env: Env) -> None:
    wati = env.person(3003, "Wati")
    with env.pintu.uow() as uow:
        uow.users.add(User(telegram_id=wati.user_id, first_name="Wati", language="id", role="resident",
                           sls_id=env.area.sls_ids[0], consent_version="1", consent_at=env.clock.now(),
                           created_at=env.clock.now()))
        uow.commit()
    sent = env.sim.send_sticker(BOT_ID, wati.user_id)
    wati.wait(plain("capture-attachment-not-expected"), newer_than=sent["message_id"])


def test_files_nobody_asked_for_are_never_downloaded(env: Env, tmp_path) -> None:
    """A stranger's photos and large files, and a file sent at a location question, are answered without
    one getFile; the photo question then downloads exactly its photo."""
    sim = env.sim
    before = sim.stats(BOT_ID)["methods"].get("getFile", 0)
    stranger = env.person(3010, "Eve")
    big = b"\xff\xd8" + b"\x00" * (19 * 1024 * 1024)
    for _ in range(3):
        sent = sim.send_document(BOT_ID, stranger.user_id, big, "besar.jpg", mime_type="image/jpeg")
        stranger.wait(plain("need-start"), newer_than=sent["message_id"])
    sent = sim.send_photo(BOT_ID, stranger.user_id, jpeg(), "rumah.jpg")
    stranger.wait(plain("need-start"), newer_than=sent["message_id"])
    wati = env.person(3011, "Wati")
    at_the_question(env, wati, "location", tmp_path)
    sent = sim.send_photo(BOT_ID, wati.user_id, jpeg(), "rumah.jpg")
    wati.wait(plain("capture-location-wrong-input"), newer_than=sent["message_id"])
    assert sim.stats(BOT_ID)["methods"].get("getFile", 0) == before
    record_id = at_the_question(env, wati, "photo", tmp_path)
    sent = sim.send_photo(BOT_ID, wati.user_id, jpeg(), "rumah.jpg")
    wati.wait(plain("capture-photo-saved"), newer_than=sent["message_id"])
    assert sim.stats(BOT_ID)["methods"].get("getFile", 0) == before + 1
    assert len(env.query(lambda uow: list(uow.records.photos(record_id)))) == 1


def test_an_impossible_accuracy_gets_a_clear_answer_not_an_error(env: Env, tmp_path) -> None:
    """A location with a negative accuracy (a broken GPS, a forged client) is answered in the user's
    language, nothing is stored, and a good point afterwards answers the question."""
    wati = env.person(3012, "Wati")
    record_id = at_the_question(env, wati, "location", tmp_path)
    sent = env.sim.share_location(BOT_ID, wati.user_id, -0.5501, 117.2001, horizontal_accuracy=-5)
    wati.wait(plain("capture-location-invalid"), newer_than=sent["message_id"])
    assert record_of(env, record_id).latitude is None
    sent = env.sim.share_location(BOT_ID, wati.user_id, -0.5501, 117.2001, horizontal_accuracy=8)
    wati.wait(plain("capture-location-saved"), newer_than=sent["message_id"])
    assert record_of(env, record_id).geo_accuracy_m == 8
    assert not any(plain("error-unexpected") in (m["text"] or "") for m in wati.bot_messages())
