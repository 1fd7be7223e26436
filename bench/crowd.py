"""Crowd: N people registering at the same moment, with the simulator's Telegram limits ON.

    python3 scripts/dev.py bench crowd [--people 100 300] [--framework ptb|aiogram]

The bot runs as its own process (``pintu run``, long polling, a fresh SQLite file, the demo kelurahan)
against the Bot API simulator with Telegram's limits (30 new messages/s per bot, 1/s per private chat
with a burst of 3, 429 with retry_after). All N people take each step of the registration together:

    /start -> agree -> kecamatan -> kelurahan -> RT -> name -> KK number -> members (the days to book)

For each step it prints how long until the first and the last of them saw their answer, and at the end
how many 429s the bot provoked (goal: 0) and whether everyone got every answer. A step that sends a new
message to each of N people cannot finish before N/30 seconds (Telegram's cap); steps that edit the
pressed message are not paced. Nothing is asserted on time.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.clock import SystemClock  # noqa: E402
from domain.invites import InviteKind, make_invite  # noqa: E402
from domain.model import Family  # noqa: E402
from simulator.testing import SimulatorHandle, running_simulator  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.seed import seed_demo, synthetic_kk  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOKEN, BOT_ID = "626262:crowd-bench", 626262
WAIT = 120.0


def latest(sim: SimulatorHandle, user: int, expect: str, newer_than: int) -> dict:
    return sim.wait_for_message(BOT_ID, user, lambda m: m["from_bot"] and expect in (m.get("text") or ""),
                                newer_than=newer_than, timeout=WAIT)


def first_button(message: dict, prefix: str) -> str:
    for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            if button.get("callback_data", "").startswith(prefix):
                return button["callback_data"]
    raise LookupError(prefix)


class Person:
    def __init__(self, sim: SimulatorHandle, user: int, index: int) -> None:
        self.sim, self.user, self.index = sim, user, index
        self.screen: dict = {}

    def say(self, text: str, expect: str) -> None:
        sent = self.sim.send_text(BOT_ID, self.user, text)
        self.screen = latest(self.sim, self.user, expect, sent["message_id"])

    def press(self, prefix: str, expect: str) -> None:
        self.sim.press(BOT_ID, self.user, self.screen["message_id"], first_button(self.screen, prefix))
        self.screen = latest(self.sim, self.user, expect, self.screen["message_id"] - 1)


def family_name(index: int) -> str:
    return f"Warga {chr(65 + index % 26)}{chr(65 + index // 26 % 26)}"


SECRET = "c" * 43  # the bot's invite secret (PINTU_INVITE_SECRET)
INVITE: dict[str, str] = {}  # RT 001's resident invite, made by crowd() once the area is seeded

# Everyone opens RT 001's invite link and types a family on its list (linked at once: domain/claims.py).
STEPS = [
    ("/start invite", lambda p: p.say(f"/start {INVITE['token']}", "Selamat datang di Pintu")),
    ("agree", lambda p: p.press("cs:y", "nama kepala keluarga")),
    ("name (typed)", lambda p: p.say(family_name(p.index), "nomor KK")),
    ("KK (typed)", lambda p: p.say(synthetic_kk(100 + p.index), "jumlah anggota keluarga")),
    ("members", lambda p: p.press("mb:4", "alamat rumah")),
    ("address (typed)", lambda p: p.say(f"Jl. Mawar No. {p.index + 1}", "Kirim lokasi rumah")),
    ("no location (Lewati)", lambda p: p.say("Lewati", "Pilih hari")),
]


def crowd(people: int, framework: str, start_at: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pintu-crowd-"))
    url = f"sqlite:///{folder / 'pintu.db'}"
    engine = make_engine(url)
    create_schema(engine)
    now = SystemClock().now()
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        demo = seed_demo(uow, now)
        for i in range(people):
            uow.families.add(Family(sls_id=demo.sls_ids[0], head_name=family_name(i), kk_number=synthetic_kk(100 + i),
                                    members=4, created_at=now))
        uow.commit()
    engine.dispose()
    INVITE["token"] = make_invite(SECRET, InviteKind.RESIDENT, demo.sls_ids[0], now + dt.timedelta(days=7))
    with running_simulator(rate_limits=True) as sim:
        sim.register_bot(TOKEN, "crowd_bench_bot", "Pintu")
        # One HTTP client per person: a shared one's pool (100 connections) would make the harness, not
        # the bot, keep people waiting.
        crowd_ = [Person(SimulatorHandle(sim.url, sim.config), start_at + i, i) for i in range(people)]
        for person in crowd_:
            sim.create_user(person.user, "Warga", language_code="id")
        env = dict(os.environ, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_URL=sim.url, PINTU_FRAMEWORK=framework,
                   DATABASE_URL=url, PINTU_INVITE_SECRET=SECRET, PINTU_LOG_LEVEL="WARNING")
        bot = subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env,
                               stdout=(folder / "bot.log").open("w"), stderr=subprocess.STDOUT)
        try:
            warm = Person(sim, start_at - 1, 0)
            sim.create_user(warm.user, "Warga", language_code="id")
            warm.say("/bantuan", "Pintu")  # the bot is polling
            print(f"\n{framework}, {people} people at once (Telegram limits on)")
            print(f"  {'step':<14} {'first answer':>13} {'last answer':>12}")
            failures = 0
            with ThreadPoolExecutor(people) as pool:
                for name, step in STEPS:
                    started = time.monotonic()
                    done: list[float] = []

                    def run(person: Person) -> None:
                        step(person)
                        done.append(time.monotonic() - started)

                    results = list(pool.map(lambda p: _safe(run, p), crowd_))
                    failures += sum(1 for r in results if r is not None)
                    if done:
                        print(f"  {name:<14} {min(done):>11.2f} s {max(done):>10.2f} s")
                    if failures:
                        print(f"  {failures} people got no answer in {WAIT:.0f} s: {results[0]}")
                        break
            stats = sim.stats(BOT_ID)
            print(f"  429s provoked: {stats['too_many_requests']}; everyone answered at every step: {failures == 0}")
            registered = _registered(url)
            print(f"  families registered: {registered} of {people}; bot log: {folder / 'bot.log'}")
            if failures:
                stuck = [p for p, r in zip(crowd_, results) if r is not None]
                for person, error in [(p, r) for p, r in zip(crowd_, results) if r is not None][:3]:
                    texts = [(m["message_id"], (m.get("text") or "")[:40]) for m in sim.messages(BOT_ID, person.user)]
                    print(f"  {person.user}: {type(error).__name__}: {error}; chat: {texts}")
        finally:
            for person in crowd_:
                person.sim.close()
            bot.terminate()
            try:
                bot.wait(20)
            except subprocess.TimeoutExpired:
                bot.kill()


def _registered(url: str) -> int:
    from sqlalchemy import text
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT count(*) FROM users WHERE family_id IS NOT NULL")).scalar_one()
    finally:
        engine.dispose()


def _safe(run, person: Person) -> Exception | None:
    try:
        run(person)
    except Exception as error:  # reported as a failure, the run goes on
        return error
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--framework", choices=("ptb", "aiogram", "both"), default="aiogram")
    args = parser.parse_args()
    frameworks = ("ptb", "aiogram") if args.framework == "both" else (args.framework,)
    for framework in frameworks:
        for n, people in enumerate(args.people):
            crowd(people, framework, 70000 + 1000 * n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
