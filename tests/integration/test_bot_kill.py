"""The bot process killed with SIGKILL while 20 newcomers' /start are in flight (handled and not,
replies not yet through: Telegram is hanging), then started again: every one of them gets the privacy
notice exactly once — on SQLite and PostgreSQL, python-telegram-bot and aiogram, by long polling.

Newcomers are the hard case: before they agree nothing is stored about them, so no update-id check
would catch a second handling; only the inbox (bot/inbox.py) and the replies written ahead with the step
(bot/replies.py) make it once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from domain.clock import SystemClock
from domain.model import OutboxMessage
from simulator.testing import running_simulator
from storage.seed import seed_demo

ROOT = Path(__file__).resolve().parents[2]
TOKEN, BOT_ID = "515151:kill-test", 515151
PEOPLE = range(61000, 61020)
CONSENT = "Selamat datang di Pintu"


def start_bot(engine, sim, framework: str) -> subprocess.Popen:
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sim.url, PINTU_FRAMEWORK=framework,
               DATABASE_URL=engine.url.render_as_string(hide_password=False), PINTU_INVITE_SECRET="4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI",
               PINTU_REPLY_DEADLINE="1", PINTU_REPLY_GRACE="3", PINTU_OUTBOX_INTERVAL="0.2", PINTU_LOG_LEVEL="WARNING")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(condition, process: subprocess.Popen, what: str, seconds: float = 40.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the bot exited while waiting for {what}: {process.stderr.read().decode()[-2000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def notices(sim, user_id: int) -> int:
    return sum(1 for m in sim.messages(BOT_ID, user_id) if m["from_bot"] and CONSENT in (m.get("text") or ""))


def settled(engine) -> bool:
    """Nothing left to do: no reply waiting in the outbox, no update waiting in the inbox."""
    with engine.connect() as connection:
        replies = connection.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "reply",
                                                                    OutboxMessage.status == "pending")).first()
        inbox = connection.execute(text("SELECT 1 FROM inbox WHERE handled_at IS NULL")).first()
    return replies is None and inbox is None


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
def test_a_killed_bot_answers_every_update_once_after_the_restart(engine, uow_factory, framework):
    with uow_factory() as uow:
        seed_demo(uow, SystemClock().now())
        uow.commit()
    with running_simulator(rate_limits=False) as sim:
        sim.register_bot(TOKEN, "kill_test_bot", "Pintu")
        for user_id in PEOPLE:
            sim.create_user(user_id, "Warga", language_code="id")
        bot = start_bot(engine, sim, framework)
        try:
            sim.send_text(BOT_ID, 60999, "/start")  # the bot is up and polling once this is answered
            wait_until(lambda: notices(sim, 60999) == 1, bot, "the bot to answer")
            sim.inject_fault(BOT_ID, "sendMessage", kind="hang", seconds=60, count=1000)
            for user_id in PEOPLE:
                sim.send_text(BOT_ID, user_id, "/start")
            wait_until(lambda: sim.faults_fired(BOT_ID) >= 5, bot, "replies to hang")
            bot.send_signal(signal.SIGKILL)
            bot.wait(10)
        finally:
            if bot.poll() is None:
                bot.kill()
        assert all(notices(sim, user_id) == 0 for user_id in PEOPLE), "nothing got through before the kill"
        sim.clear_faults(BOT_ID)
        bot = start_bot(engine, sim, framework)
        try:
            wait_until(lambda: all(notices(sim, u) >= 1 for u in PEOPLE) and settled(engine), bot,
                       "every newcomer to be answered")
            assert [notices(sim, u) for u in PEOPLE] == [1] * len(PEOPLE)
        finally:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()
