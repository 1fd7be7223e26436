"""The other XLSForm question types end to end through python-telegram-bot and aiogram on the simulator:
a voice note answering an audio question, a document answering a file question (each downloaded only
at its question, stored privately with its hash), and a geotrace from successive shared locations and
a live location's later points (edited_message), closed with "done"; an audio file and a video, and a
recording over the question's limit refused without a download."""
from __future__ import annotations

import dataclasses
import hashlib
import re
import stat
from pathlib import Path

import pytest
from openpyxl import Workbook

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from chat.i18n import Translator
from domain.model import Family, User
from e2e_support import BOT_ID, Env, Person, button, buttons
from forms import Form
from forms.parsing import parse_geotrace

ID = Translator("id")
VOICE = b"OggS\x00\x02" + bytes(range(200))
LETTER = b"%PDF-1.4 surat keterangan domisili"
SURVEY = [("audio", "statement", "Rekam pernyataan kepala keluarga", "Record the head's statement"),
          ("file", "letter", "Kirim surat keterangan domisili", "Send the residence letter"),
          ("geotrace", "road", "Telusuri jalan ke rumah", "Trace the road to the house")]


def plain(key: str, **args) -> str:
    return re.sub(r"<[^>]+>", "", ID(key, **args))


def write_form(path: Path, rows=SURVEY) -> Path:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label::Indonesian (id)", "label::English (en)", "required"])
    for row in rows:
        survey.append([*row, "yes"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "version", "default_language"])
    settings.append(["types_e2e", "1", "Indonesian (id)"])
    book.save(path)
    return path


def resident_with_the_form(env: Env, person: Person, tmp_path: Path, rows=SURVEY) -> int:
    """``person`` is a resident of RT 001's first family; the questionnaire runs the form above."""
    form_path = write_form(tmp_path / "types.xlsx", rows)
    env.pintu.handlers.config = dataclasses.replace(env.pintu.handlers.config, media_dir=str(tmp_path / "media"),
                                                    form_path=str(form_path))
    with env.pintu.uow() as uow:
        family = uow.session.query(Family).filter(Family.sls_id == env.area.sls_ids[0]).order_by(Family.id).first()
        uow.users.add(User(telegram_id=person.user_id, first_name="Wati", language="id", role="resident",
                           sls_id=family.sls_id, family_id=family.id, consent_version="1",
                           consent_at=env.clock.now(), created_at=env.clock.now()))
        uow.commit()
        return family.id


def downloads(env: Env) -> int:
    return env.sim.stats(BOT_ID)["methods"].get("getFile", 0)


def values_of(env: Env, family_id: int) -> dict[str, str]:
    return env.query(lambda uow: uow.questionnaires.draft_of(family_id)).answers["values"]


def test_voice_note_document_and_geotrace_answer_the_form(env: Env, tmp_path: Path) -> None:
    sim, wati = env.sim, env.person(3101, "Wati")
    family_id = resident_with_the_form(env, wati, tmp_path)
    index = {f.name: i for i, f in enumerate(Form.load(tmp_path / "types.xlsx").fields)}

    # A file sent where nothing asks for one is not downloaded.
    sent = sim.send_document(BOT_ID, wati.user_id, LETTER, "surat.pdf")
    wati.wait("", newer_than=sent["message_id"])
    assert downloads(env) == 0

    wati.say("/isi", "Rekam pernyataan kepala keluarga")
    # The audio question: a document that is no recording is refused after its download, typed text at once.
    sent = sim.send_document(BOT_ID, wati.user_id, LETTER, "surat.pdf")
    wati.wait(plain("capture-audio-wrong-kind"), newer_than=sent["message_id"])
    wati.say("ini pernyataan saya", plain("capture-audio-wrong-kind"))
    before = downloads(env)
    sent = sim.send_voice(BOT_ID, wati.user_id, VOICE, duration=4)
    wati.wait("Kirim surat keterangan domisili", newer_than=sent["message_id"])
    assert downloads(env) == before + 1
    statement = values_of(env, family_id)["statement"]
    assert statement.endswith(".ogg")

    # The file question: a voice note is not a file (and is not downloaded); the document is.
    before = downloads(env)
    sent = sim.send_voice(BOT_ID, wati.user_id, VOICE)
    wati.wait(plain("capture-file-wrong-kind"), newer_than=sent["message_id"])
    assert downloads(env) == before
    sent = sim.send_document(BOT_ID, wati.user_id, LETTER, "surat.pdf", mime_type="application/pdf")
    trace = wati.wait("Telusuri jalan ke rumah", newer_than=sent["message_id"])
    letter = values_of(env, family_id)["letter"]
    stored = env.query(lambda uow: {Path(p.path).name: p for p in uow.records.photos(
        uow.questionnaires.draft_of(family_id).id)})
    assert letter.endswith(".pdf") and stored[letter].mime == "application/pdf"
    assert stored[letter].sha256 == hashlib.sha256(LETTER).hexdigest()
    assert stored[statement].sha256 == hashlib.sha256(VOICE).hexdigest() and stored[statement].mime == "audio/ogg"
    on_disk = tmp_path / "media" / stored[letter].path
    assert on_disk.read_bytes() == LETTER and stat.S_IMODE(on_disk.stat().st_mode) == 0o600

    # The geotrace: one point is not a line; successive locations, then a live location's points.
    assert not any(data.startswith("qn:done") for _, data in buttons(trace))
    sent = sim.share_location(BOT_ID, wati.user_id, -0.5500, 117.2000, horizontal_accuracy=8)
    first = wati.wait(plain("qn-trace-added", count=1), newer_than=sent["message_id"])
    _, done = button(first, "qn:done")
    assert done == f"qn:done:{index['road']}"
    _, answer = wati.press(first, done)
    assert "2 titik" in answer["text"], "one point is not a line: told, and the point is kept"
    sent = sim.share_location(BOT_ID, wati.user_id, -0.5503, 117.2002, horizontal_accuracy=6)
    wati.wait(plain("qn-trace-added", count=2), newer_than=sent["message_id"])
    live = sim.share_location(BOT_ID, wati.user_id, -0.5506, 117.2004, horizontal_accuracy=5, live_period=900)
    shown = wati.wait(plain("qn-trace-live", count=3), newer_than=live["message_id"])
    silent = len(wati.bot_messages())
    sim.move_live_location(BOT_ID, wati.user_id, live["message_id"], -0.5510, 117.2007, horizontal_accuracy=5)
    points = lambda: len(env.query(lambda uow: uow.conversations.get(wati.user_id)).data.get("trace") or [])  # noqa: E731
    sim.wait_for(lambda: points() == 4, timeout=5)
    assert len(wati.bot_messages()) == silent, "a live location's points are taken without a word"
    review, _ = wati.press(shown, button(shown, "qn:done")[1], "Jawaban untuk keluarga")
    road = values_of(env, family_id)["road"]
    assert road == ("-0.55 117.2 0 8;-0.5503 117.2002 0 6;-0.5506 117.2004 0 5;-0.551 117.2007 0 5")
    assert parse_geotrace(road) == road, "stored as ODK stores a geotrace"
    assert "4 titik" in review["text"] and "rekaman tersimpan" in review["text"] and "berkas tersimpan" in review["text"]
    wati.wait(plain("qn-trace-saved", count=4))


def test_an_audio_file_and_a_video_answer_and_oversized_ones_are_never_downloaded(env: Env, tmp_path: Path) -> None:
    sim, wati = env.sim, env.person(3102, "Wati")
    family_id = resident_with_the_form(env, wati, tmp_path, [
        ("audio", "statement", "Rekam pernyataan kepala keluarga", "Record the head's statement"),
        ("video", "tour", "Video keliling rumah", "A video around the house")])
    wati.say("/isi", "Rekam pernyataan kepala keluarga")
    sent = sim.send_audio(BOT_ID, wati.user_id, b"ID3" + bytes(11 * 1024 * 1024), "panjang.mp3")
    wati.wait(plain("capture-media-too-large", mb=10), newer_than=sent["message_id"])
    assert downloads(env) == 0, "refused by the size Telegram announces, before any download"
    sent = sim.send_audio(BOT_ID, wati.user_id, b"ID3\x04\x00" + bytes(500), "pernyataan.mp3", duration=20)
    wati.wait("Video keliling rumah", newer_than=sent["message_id"])
    sent = sim.send_video(BOT_ID, wati.user_id, b"\x00\x00\x00\x18ftypmp42" + bytes(800), duration=9)
    review = wati.wait("Jawaban untuk keluarga", newer_than=sent["message_id"])
    assert "rekaman tersimpan" in review["text"] and "video tersimpan" in review["text"]
    assert downloads(env) == 2
    values = values_of(env, family_id)
    assert values["statement"].endswith(".mp3") and values["tour"].endswith(".mp4")
