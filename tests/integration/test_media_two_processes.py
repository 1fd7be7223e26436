"""A house photo taken by a bot process reaches the registry through a dispatcher process, the two
running in separate working directories as two containers would (the shipped deployment's case), on
SQLite and PostgreSQL; and a dispatcher given a folder of its own refuses to start, saying why.

The enumerator's form here is a one-question form (PINTU_FORM): the test is about where the photo
goes, not about the questions before it."""
from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from domain.clock import SystemClock
from domain.invites import new_secret
from domain.model import Family, User
from registry.service.models import StoredPhoto
from registry_support import TOKEN, RegistryServer
from simulator.testing import make_png, running_simulator
from storage.seed import seed_demo
from tests.unit.forms.form_sheets import write_xlsform

ROOT = Path(__file__).resolve().parents[2]
BOT_TOKEN, BOT_ID = "626262:media-test", 626262
OFFICER = 62001
SECRET = new_secret()  # a strong invite secret: `pintu run` refuses a weak one


def pintu_process(role: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=cwd, env=with_checkout(env, PINTU_ROLE=role),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def with_checkout(env: dict[str, str], **more: str) -> dict[str, str]:
    """The environment of a process started in another folder, importing this checkout's code."""
    return {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])), **more}


def photo_form(path: Path) -> Path:
    return write_xlsform(path, [
        {"type": "image", "name": "house_photo", "label": "Foto rumah", "required": "yes",
         "pintu_audience": "enumerator"},
    ], settings={"form_id": "media_test", "version": "1"})


def stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_photo_taken_by_the_bot_reaches_the_registry_through_the_dispatcher(engine, uow_factory, tmp_path):
    now = SystemClock().now()
    with uow_factory() as uow:
        area = seed_demo(uow, now)
        officer = uow.users.add(User(telegram_id=OFFICER, first_name="Rina", language="id", role="enumerator",
                                     consent_version="1", consent_at=now, created_at=now))
        uow.enumerators.get(area.enumerator_ids[0]).user_id = officer.id
        uow.commit()
        family_id = uow.session.query(Family.id).filter(Family.sls_id == area.sls_ids[0]).order_by(Family.id).first()[0]
    registry = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    volume = tmp_path / "media-volume"  # the named volume both containers mount
    try:
        with running_simulator(rate_limits=False) as sim:
            sim.register_bot(BOT_TOKEN, "media_test_bot", "Pintu")
            sim.create_user(OFFICER, "Rina", language_code="id")
            env = dict(os.environ, TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL=sim.url,
                       DATABASE_URL=engine.url.render_as_string(hide_password=False),
                       PINTU_INVITE_SECRET=SECRET, PINTU_MEDIA_DIR=str(volume),
                       PINTU_FORM=str(photo_form(tmp_path / "form.xlsx")), PINTU_REGISTRY_URL=registry.url,
                       PINTU_REGISTRY_TOKEN=TOKEN, PINTU_REGISTRY_INTERVAL="0.2", PINTU_OUTBOX_INTERVAL="0.2",
                       PINTU_LOG_LEVEL="WARNING")
            bot = pintu_process("bot", tmp_path / "bot-container", env)
            dispatcher = pintu_process("dispatcher", tmp_path / "dispatcher-container", env)
            try:
                sent = sim.send_text(BOT_ID, OFFICER, f"/kunjungan {family_id}")
                # the family has no resident on Telegram: the notice is read out and its consent recorded first
                try:
                    notice = sim.wait_for_message(BOT_ID, OFFICER, lambda m: "qn:dc:y" in str(m.get("reply_markup")),
                                                  newer_than=sent["message_id"], timeout=40)
                except TimeoutError:
                    stop(bot, dispatcher)
                    raise AssertionError(f"bot: {bot.stderr.read()[-4000:]}") from None
                agree = next(b["callback_data"] for row in notice["reply_markup"]["inline_keyboard"] for b in row
                             if b["callback_data"].startswith("qn:dc:y"))
                sim.press(BOT_ID, OFFICER, notice["message_id"], agree)
                question = sim.wait_for_message(BOT_ID, OFFICER, lambda m: "Foto rumah" in (m.get("text") or ""),
                                                newer_than=sent["message_id"], timeout=40)
                photo = sim.send_photo(BOT_ID, OFFICER, make_png(320, 240))
                review = sim.wait_for_message(BOT_ID, OFFICER, lambda m: "Kirim data" in (m.get("text") or ""),
                                              newer_than=max(photo["message_id"], question["message_id"]),
                                              timeout=20)
                submit = next(b["callback_data"] for row in review["reply_markup"]["inline_keyboard"] for b in row
                              if b["callback_data"].startswith("qn:submit"))
                sim.press(BOT_ID, OFFICER, review["message_id"], submit)  # the consent goes with the record
                try:
                    stored = sim.wait_for(lambda: registry.keys(), timeout=40)
                except TimeoutError:
                    with engine.connect() as connection:
                        rows = connection.exec_driver_sql("SELECT status, last_error FROM record_deliveries").all()
                    stop(bot, dispatcher)
                    raise AssertionError(f"not delivered: {rows}; dispatcher: {dispatcher.stderr.read()[-4000:]}; "
                                         f"bot: {bot.stderr.read()[-2000:]}") from None
                assert list(stored.values()) == [0], "one record, delivered once"
                taken = [p for p in volume.rglob("*") if p.is_file() and not p.name.startswith(".")]
                assert len(taken) == 1, "the bot stored the photo in the shared volume"
                with registry.engine.connect() as connection:
                    received = connection.execute(select(StoredPhoto.sha256)).scalars().all()
                assert received == [hashlib.sha256(taken[0].read_bytes()).hexdigest()]
            finally:
                stop(bot, dispatcher)
            for process in (bot, dispatcher):
                assert process.returncode == 0, process.stderr.read()[-3000:]
    finally:
        registry.stop()


def test_a_dispatcher_with_its_own_media_folder_refuses_to_start(engine, uow_factory, tmp_path):
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_API_URL="http://127.0.0.1:9",
               DATABASE_URL=engine.url.render_as_string(hide_password=False), PINTU_INVITE_SECRET=SECRET,
               PINTU_LOG_LEVEL="WARNING")
    env.pop("PINTU_MEDIA_DIR", None)  # the default, "media", relative to each container's working dir
    subprocess.run([sys.executable, "-m", "bot.cli", "media", "check"], cwd=tmp_path, env=with_checkout(env), check=True,
                   capture_output=True)  # the bot's container made its own folder the store
    dispatcher = pintu_process("dispatcher", tmp_path / "elsewhere", env)
    try:
        dispatcher.wait(60)
    finally:
        stop(dispatcher)
    error = dispatcher.stderr.read()
    assert dispatcher.returncode == 3, error[-3000:]
    assert re.search(r"PINTU_MEDIA_DIR \S+elsewhere/media is not the shared media folder", error), error[-3000:]
