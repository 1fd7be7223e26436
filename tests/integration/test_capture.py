"""Field capture (issue 3) through the handlers on SQLite and PostgreSQL: asking for the location and
the photo, every kind of bad input answered without losing the step, the geofence's confirmation
(which survives a restart) and review flag, live locations, private photo storage, and the GeoJSON
boundary import from the command line (all or nothing).

The questions are asked by a small flow declared here the way the questionnaire declares its question
state (it reads text, locations, files and capture's "gc" presses), so these tests hold capture's
contract, not the questionnaire's.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum
import hashlib
import io
import json
import stat
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from domain import geotag, photos
from domain.clock import FakeClock
from domain.model import Family, Record, RecordPhoto, User
from domain.privacy import current_notice
from domain.records import start_record
from handlers.screens import unstamp
from handlers import capture
from handlers.app import PintuHandlers
from handlers.flow import Accepts, Flow, StateSpec
from handlers.flows import FLOWS
from handlers.states import State
from handlers.context import HandlerConfig
from chat.events import AnswerCallback, Attachment, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import Keyboard, RemoveKeyboard, ReplyKeyboard
from chat.i18n import Translator
from simulator.testing import make_png
from storage.seed import seed_demo

class CaptureTest(str, Enum):
    ASK = "capture_itest.ask"


STATE = CaptureTest.ASK.value
NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
ID, EN = Translator("id"), Translator("en")
RESIDENT, ENUMERATOR, STRANGER = 81001, 81002, 81003
CENTRE = (-0.55, 117.2)


def _step(ctx) -> None:
    """A question of the kind kept in ctx.data; once capture stored the answer, the step ends."""
    record = ctx.uow.records.get(ctx.data["record"])
    ask = ctx.data["ask"]
    done = (capture.on_location_for_record if ask == "location" else capture.on_photo_for_record)(ctx, record)
    if done:
        ctx.stay(State.IDLE, done=record.id)


FLOW = Flow(name="capture_itest", doc="a capture question", states=(
    StateSpec(CaptureTest.ASK, Accepts.TEXT | Accepts.LOCATION | Accepts.MEDIA | Accepts.BUTTON, on_text=_step,
              on_input=_step, presses=frozenset({capture.PREFIX})),))


class Field:
    """The demo kelurahan, a resident and an enumerator in the middle of a capture question."""

    def __init__(self, uow_factory, media_dir: Path) -> None:
        self.uow_factory = uow_factory
        self.clock = FakeClock(NOW)
        self.media_dir = media_dir
        with uow_factory() as uow:
            demo = seed_demo(uow, NOW)
            family = uow.session.scalars(select(Family).where(Family.sls_id == demo.sls_ids[0]).order_by(Family.id)).first()
            for telegram_id, role, language in ((RESIDENT, "resident", "id"), (ENUMERATOR, "enumerator", "en")):
                uow.users.add(User(telegram_id=telegram_id, first_name="U", language=language, role=role,
                                   sls_id=demo.sls_ids[0], family_id=family.id if role == "resident" else None,
                                   consent_version=current_notice(role), consent_at=NOW, created_at=NOW))
            self.record_id = start_record(uow, family.id, "regsosek", "1", NOW).id
            self.family_id, self.sls_id = family.id, family.sls_id
            uow.commit()
        self.restart()
        self.update_id = 0

    def restart(self) -> None:
        config = HandlerConfig(invite_secret="s", media_dir=str(self.media_dir))
        self.handlers = PintuHandlers(self.uow_factory, self.clock, config, flows=[*FLOWS, FLOW])

    def ask(self, who: int, what: str) -> None:
        with self.uow_factory() as uow:
            uow.conversations.save(who, STATE, {"record": self.record_id, "ask": what}, NOW)
            uow.commit()

    def send(self, who: int = RESIDENT, **fields) -> list:
        self.update_id += 1
        return self.handlers.handle(Incoming(Sender(who, "U"), who, update_id=self.update_id, **fields))

    def state(self, who: int = RESIDENT) -> str:
        with self.uow_factory() as uow:
            return uow.conversations.get(who).state

    def record(self) -> Record:
        with self.uow_factory() as uow:
            return uow.records.get(self.record_id)

    def photos(self) -> list[RecordPhoto]:
        with self.uow_factory() as uow:
            return list(uow.records.photos(self.record_id))


@pytest.fixture
def field(uow_factory, tmp_path) -> Field:
    return Field(uow_factory, tmp_path / "media")


def texts(actions) -> list[str]:
    return [a.text for a in actions if isinstance(a, (SendMessage, EditMessage, AnswerCallback)) and a.text]


def buttons(actions) -> list[str]:
    return [unstamp(b.data)[0] for a in actions if isinstance(a, (SendMessage, EditMessage)) and isinstance(a.markup, Keyboard)
            for b in a.markup.buttons]


def jpeg(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 140, 60)).save(buffer, "JPEG")
    return buffer.getvalue()


# --- location -----------------------------------------------------------------------------------------

def test_wrong_input_is_answered_and_the_location_question_stays(field):
    field.ask(RESIDENT, "location")
    cases = [
        ({"text": "Jl. Mangga 3"}, "capture-location-text"),
        ({"attachment": Attachment("photo", "p", content=jpeg()), "photo_file_id": "p"}, "capture-location-wrong-input"),
        ({"attachment": Attachment("sticker", "s")}, "capture-location-wrong-input"),
        ({"attachment": Attachment("voice", "v")}, "capture-location-wrong-input"),
    ]
    for fields, key in cases:
        actions = field.send(**fields)
        assert texts(actions) == [ID(key)]
        assert isinstance(actions[0].markup, ReplyKeyboard) and actions[0].markup.rows[0][0].request_location
        assert field.state() == STATE
    assert field.record().latitude is None


def test_poor_accuracy_is_asked_again_then_a_good_point_is_stored(field):
    field.ask(RESIDENT, "location")
    assert texts(field.send(location=Location(-0.5501, 117.2001, 350.0))) == [ID("capture-location-poor", accuracy=350)]
    assert field.state() == STATE and field.record().latitude is None
    actions = field.send(location=Location(-0.5501, 117.2001, 9.0))
    assert texts(actions) == [ID("capture-location-saved")] and isinstance(actions[0].markup, RemoveKeyboard)
    record = field.record()
    assert (record.latitude, record.longitude, record.geo_accuracy_m) == (-0.5501, 117.2001, 9.0)
    assert (record.geo_by, record.geo_sender, record.geo_flag, record.geo_captured_at) == ("resident", RESIDENT, None, NOW)
    assert field.state() == "idle"


def test_a_point_in_another_province_is_confirmed_across_a_restart_and_flagged(field):
    field.ask(RESIDENT, "location")
    actions = field.send(location=Location(-6.2, 106.8, 10.0))  # Jakarta
    assert texts(actions)[0].startswith(ID("capture-geo-too-far", km="X", village="Rawa Makmur").split("X")[0])
    assert "Rawa Makmur" in texts(actions)[0]
    yes, no = buttons(actions)
    assert yes.startswith("gc:y.") and no.startswith("gc:n.") and field.record().latitude is None
    # Text meanwhile: the question about the point is repeated, nothing is stored.
    assert texts(field.send(text="iya")) == [ID("capture-geo-confirm-pending")]
    field.restart()  # a new process: the pending point lives in the conversation
    assert texts(field.send(callback_id="c1", callback_data="gc:y.000000", message_id=1)) == [ID("stale-button")]
    actions = field.send(callback_id="c2", callback_data=yes, message_id=1)
    assert texts(actions) == [ID("capture-geo-confirmed")]
    record = field.record()
    assert (record.latitude, record.longitude, record.geo_flag) == (-6.2, 106.8, geotag.TOO_FAR)
    with field.uow_factory() as uow:
        assert [r.id for r, _ in geotag.flagged_records(uow, [field.sls_id])] == [field.record_id]
    assert field.state() == "idle"
    # The same button pressed again is stale, and changes nothing.
    assert texts(field.send(callback_id="c3", callback_data=yes, message_id=1)) == [ID("stale-button")]


def test_saying_no_to_an_outside_point_stores_nothing_and_asks_again(field):
    with field.uow_factory() as uow:
        uow.areas.get(field.sls_id).boundary = {"type": "Polygon", "coordinates": [[
            [117.19, -0.56], [117.21, -0.56], [117.21, -0.54], [117.19, -0.54], [117.19, -0.56]]]}
        uow.commit()
    field.ask(RESIDENT, "location")
    actions = field.send(location=Location(-0.53, 117.2, 10.0))
    assert texts(actions) == [ID("capture-geo-outside-sls", rt="RT 001")]
    _, no = buttons(actions)
    actions = field.send(callback_id="c1", callback_data=no, message_id=1)
    assert texts(actions) == [ID("capture-geo-resend"), ID("capture-ask-location")]
    assert field.record().latitude is None and field.state() == STATE
    assert texts(field.send(location=Location(-0.545, 117.195, 10.0))) == [ID("capture-location-saved")]
    assert field.record().geo_flag is None


def test_the_enumerator_at_the_door_overrides_the_residents_hint(field):
    field.ask(RESIDENT, "location")
    field.send(location=Location(-0.5502, 117.2002, 60.0))
    field.ask(ENUMERATOR, "location")
    assert texts(field.send(ENUMERATOR, location=Location(-0.5511, 117.2011, 4.0))) == [EN("capture-location-saved")]
    field.ask(RESIDENT, "location")
    assert texts(field.send(location=Location(-0.5, 117.3, 3.0))) == [ID("capture-location-kept")]
    record = field.record()
    assert (record.latitude, record.geo_by, record.geo_sender) == (-0.5511, "enumerator", ENUMERATOR)


def test_a_live_location_keeps_its_last_point_silently(field):
    field.ask(ENUMERATOR, "location")
    assert texts(field.send(ENUMERATOR, location=Location(-0.5501, 117.2001, 25.0, live_period=900))) == \
        [EN("capture-location-saved")]
    assert field.record().geo_live_until == NOW + dt.timedelta(seconds=900)
    field.clock.advance(dt.timedelta(seconds=30))
    assert field.send(ENUMERATOR, location=Location(-0.5503, 117.2003, 5.0, live_period=900), is_live_update=True) == []
    record = field.record()
    assert (record.latitude, record.longitude, record.geo_accuracy_m) == (-0.5503, 117.2003, 5.0)
    assert record.geo_captured_at == NOW + dt.timedelta(seconds=30)
    # After the live period nothing changes, and nobody is answered.
    field.clock.advance(dt.timedelta(minutes=20))
    assert field.send(ENUMERATOR, location=Location(-0.56, 117.21, 5.0, live_period=900), is_live_update=True) == []
    assert field.record().latitude == -0.5503
    assert field.send(STRANGER, location=Location(-0.56, 117.21, 5.0), is_live_update=True) == []


@pytest.mark.parametrize("point", [(91.0, 117.2, 5.0), (-0.55, 181.0, 5.0), (-90.5, -180.5, None),
                                   (-0.5501, 117.2001, -3.0), (float("nan"), 117.2, 5.0)])
def test_an_impossible_location_gets_a_clear_answer_and_nothing_is_stored(field, point):
    """Out-of-range coordinates or a negative accuracy (a broken GPS, a forged update) are answered in the
    user's language, the question stays, and a good point afterwards is taken."""
    field.ask(RESIDENT, "location")
    actions = field.send(location=Location(*point))
    assert texts(actions) == [ID("capture-location-invalid")]
    assert isinstance(actions[0].markup, ReplyKeyboard) and actions[0].markup.rows[0][0].request_location
    assert field.state() == STATE and field.record().latitude is None
    assert texts(field.send(location=Location(-0.5501, 117.2001, 9.0))) == [ID("capture-location-saved")]
    assert field.record().geo_accuracy_m == 9.0


# --- photo ------------------------------------------------------------------------------------------

def test_every_kind_of_wrong_input_for_a_photo_gets_its_answer(field):
    field.ask(RESIDENT, "photo")
    big = 30 * 1024 * 1024
    cases = [
        ({"text": "foto menyusul"}, "capture-photo-text"),
        ({"location": Location(-0.55, 117.2, 5.0)}, "capture-photo-wrong-kind"),
        ({"attachment": Attachment("sticker", "s")}, "capture-photo-wrong-kind"),
        ({"attachment": Attachment("voice", "v", mime_type="audio/ogg")}, "capture-photo-wrong-kind"),
        ({"attachment": Attachment("document", "d", file_name="rumah.jpg", file_size=big, error=photos.TOO_LARGE)},
         "capture-photo-too-large"),
        ({"attachment": Attachment("document", "d", file_name="rumah.jpg", mime_type="image/jpeg",
                                   content=b"%PDF-1.4\n%%EOF\n")}, "capture-photo-not-image"),
        ({"attachment": Attachment("document", "d", file_name="rumah.jpg", content=b"ini bukan foto")},
         "capture-photo-not-image"),
        ({"attachment": Attachment("photo", "p", error=photos.DOWNLOAD_FAILED)}, "capture-photo-download-failed"),
        ({"attachment": Attachment("document", "d", content=b"")}, "capture-photo-empty"),
    ]
    for fields, key in cases:
        assert texts(field.send(**fields)) == [ID(key)], key
        assert field.state() == STATE
    assert field.photos() == [] and not (field.media_dir / "photos").exists()


@pytest.mark.parametrize("kind", ["photo", "document"])
def test_a_photo_or_an_image_file_is_stored_privately(field, kind):
    field.ask(RESIDENT, "photo")
    content = jpeg() if kind == "photo" else make_png(50, 40)
    actions = field.send(attachment=Attachment(kind, "f", file_name="IMG_0001.png", content=content))
    assert texts(actions) == [ID("capture-photo-saved")] and field.state() == "idle"
    [photo] = field.photos()
    assert photo.sha256 == hashlib.sha256(content).hexdigest() and photo.size == len(content)
    assert (photo.width, photo.height) == ((64, 48) if kind == "photo" else (50, 40))
    assert (photo.sender, photo.taken_at) == (RESIDENT, NOW)
    file = field.media_dir / photo.path
    assert file.read_bytes() == content and "IMG_0001" not in photo.path
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


# --- outside a capture question ----------------------------------------------------------------------

def test_a_sticker_or_voice_note_outside_a_question_gets_a_clear_answer(field):
    for attachment in (Attachment("sticker", "s"), Attachment("voice", "v"), Attachment("video", "x")):
        assert texts(field.send(attachment=attachment)) == [ID("capture-attachment-not-expected")]
    assert texts(field.send(attachment=Attachment("photo", "p", content=jpeg()), photo_file_id="p")) == \
        [ID("not-expected-now")]


# --- GeoJSON boundaries from the command line --------------------------------------------------------

def test_boundaries_import_from_the_command_line_all_or_nothing(field, engine, tmp_path, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    square = [[117.19, -0.56], [117.21, -0.56], [117.21, -0.54], [117.19, -0.54], [117.19, -0.56]]
    good = {"type": "Feature", "properties": {"kode_sls": "64.72.01.1001.0001"},
            "geometry": {"type": "Polygon", "coordinates": [square]}}
    bad = {"type": "Feature", "properties": {"kode_sls": "64.72.01.1001.0099"},
           "geometry": {"type": "Polygon", "coordinates": [square]}}
    path = tmp_path / "sls.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, bad]}))
    assert main(["areas", "boundaries", str(path)]) == 1
    err = capsys.readouterr().err
    assert "feature 1: no SLS with code '64.72.01.1001.0099'" in err and "nothing imported" in err
    with field.uow_factory() as uow:
        assert uow.areas.get(field.sls_id).boundary is None
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good]}))
    assert main(["areas", "boundaries", str(path)]) == 0
    assert "64.72.01.1001.0001" in capsys.readouterr().out
    with field.uow_factory() as uow:
        assert uow.areas.get(field.sls_id).boundary["type"] == "Polygon"
        verdict = geotag.judge_location(uow, field.family_id, -0.53, 117.2, 5.0, geotag.GeoPolicy())
        assert verdict.reason == geotag.OUTSIDE_SLS
    assert main(["areas", "centre", "64.72.01.1001", "-0.6", "117.25"]) == 0
    with field.uow_factory() as uow:
        village = uow.areas.by_code("64.72.01.1001")
        assert (village.centre_latitude, village.centre_longitude) == (-0.6, 117.25)
