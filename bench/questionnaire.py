"""The chat questionnaire: per-answer latency through python-telegram-bot and the simulator, form load
time, and memory per questionnaire in progress.

    .venv/bin/python -m bench questionnaire [--users N] [--framework ptb|aiogram] [--states N]

Figures:

- **form load**: ``Form.load`` of the generated 40-question form (bench/form_engine.py's: integer,
  decimal, text, date, select_one and select_multiple questions, skip logic, constraints, calculates,
  two groups) and of the default first-visit form, cold (pyxform + compiling) and cached (a stat);
- **per answer, end to end**: the real bot (``bot.wiring.build`` + ``bot.transports.make_transport``,
  PTB by default) long-polling the Bot API simulator over HTTP, on a fresh SQLite file (WAL), with
  ``PINTU_FORM`` = the 40-question form. ``--users`` residents (default 4) fill it at the same time
  from start to end (``/isi``, then each question: typed answers for numbers, text and dates, a button
  for select_one, two ticks and "done" for select_multiple). An answer's latency is the time from just
  before the user's message or press is posted until the next question (a new message, or the pressed
  message edited) is visible in the chat (the simulator's long poll). The simulator's rate limits are
  off: with Telegram's one new message per second in a private chat, answers typed faster than one a
  second (no person does) would wait for it, and that is what would be measured. Ticks of a select_multiple are
  reported apart ("per update"). The simulator, the users and the bot share this process (the bot on
  its own event loop thread), so the figures include the simulator's own work;
- **memory per questionnaire in progress**: ``--states`` residents (default 100) each with the form
  half answered, through the handlers directly (no transport). Between updates the bot keeps nothing
  of a questionnaire in memory (the draft is the record's row, the position the conversation's), so
  the figure is what stays allocated per questionnaire after they were all opened (tracemalloc's
  difference, divided by their number) next to the bytes stored per questionnaire in the database
  (``records.answers`` + ``conversations.data`` as JSON). Before that, 20 residents half fill it with
  each handler call timed (no transport, no tracemalloc): the handler-only time per answer (p50/p99).

Nothing is asserted on time; the exit status is 1 only if a conversation went wrong.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

try:
    import forms  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.form_engine import ANSWERS, KINDS, QUESTIONS, generated_form, load_figures, percentile  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.transports import make_transport  # noqa: E402
from bot.wiring import build  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.model import Area, Conversation, Family, Record, User  # noqa: E402
from forms import Form  # noqa: E402
from forms.default import DEFAULT_FORM  # noqa: E402
from handlers.app import PintuHandlers  # noqa: E402
from handlers.context import HandlerConfig  # noqa: E402
from chat.events import Incoming, Sender  # noqa: E402
from simulator.testing import running_simulator  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

TOKEN = "515151:bench-questionnaire"
BOT_ID = 515151
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
TIMEOUT = 30.0
TIMED = 20  # questionnaires half filled through the handlers with each answer timed


def seed_residents(uow_factory, count: int, now: dt.datetime, first_telegram_id: int) -> list[int]:  # noqa: ANN001
    """One RT with ``count`` families, each with a resident who agreed to the notice; their Telegram ids."""
    with uow_factory() as uow:
        village = uow.areas.add(Area(code="B1", level="village", name="Bench", timezone="Asia/Makassar"))
        sls = uow.areas.add(Area(code="B1.0001", level="sls", name="RT 001", parent_id=village.id,
                                 timezone="Asia/Makassar"))
        ids = []
        for n in range(count):
            family = uow.families.add(Family(sls_id=sls.id, head_name=f"Kepala {n}", kk_number=f"97{n:014d}",
                                             members=3, created_at=now))
            telegram_id = first_telegram_id + n
            uow.users.add(User(telegram_id=telegram_id, first_name=f"Warga {n}", language="id", role="resident",
                               sls_id=sls.id, family_id=family.id, consent_version="1", consent_at=now,
                               created_at=now))
            ids.append(telegram_id)
        uow.commit()
    return ids


# --- end to end -----------------------------------------------------------------------------------

class _LoopThread:
    """The bot's event loop in a thread of its own, as ``pintu run`` would run it (tests/e2e does the same)."""

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 30.0):  # noqa: ANN001, ANN201
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


class Filler:
    """One resident filling the whole form through the simulator, timing each answer."""

    def __init__(self, sim, user_id: int, form: Form) -> None:  # noqa: ANN001
        self.sim, self.user_id, self.form = sim, user_id, form
        self.answers: list[float] = []  # seconds per stored answer
        self.updates: list[float] = []  # seconds per update (answers and ticks)
        self.error: BaseException | None = None

    def wait(self, expect: str, newer_than: int) -> dict:
        return self.sim.wait_for_message(BOT_ID, self.user_id, lambda m: m["from_bot"] and expect in (m["text"] or ""),
                                         newer_than=newer_than, timeout=TIMEOUT)

    def run(self) -> None:
        try:
            sent = self.sim.send_text(BOT_ID, self.user_id, "/isi")
            message = self.wait("Pertanyaan 1 dari", sent["message_id"])
            for number in range(1, QUESTIONS + 1):
                message = self.answer(number, message)
        except BaseException as error:  # noqa: BLE001 - reported by the caller
            self.error = error

    def answer(self, number: int, message: dict) -> dict:
        kind = KINDS[(number - 1) % len(KINDS)]
        index = next(i for i, f in enumerate(self.form.fields) if f.name == f"q{number}")
        expect = f"Pertanyaan {number + 1} dari" if number < QUESTIONS else "Jawaban untuk keluarga"
        if kind.startswith("select_one"):
            return self.timed(lambda: self.press(message, f"qa:{index}:2"), expect, message["message_id"] - 1)
        if kind.startswith("select_multiple"):
            for tick in (1, 3):
                self.timed(lambda: self.press(message, f"qa:{index}:t{tick}"), "✅", message["message_id"] - 1,
                           answer=False, ticks=tick)
            return self.timed(lambda: self.press(message, f"qn:done:{index}"), expect, message["message_id"] - 1)
        return self.timed(lambda: self.sim.send_text(BOT_ID, self.user_id, ANSWERS[kind])["message_id"], expect, None)

    def press(self, message: dict, data: str) -> int:
        self.sim.press(BOT_ID, self.user_id, message["message_id"], data)
        return message["message_id"] - 1

    def timed(self, act, expect: str, newer_than: int | None, *, answer: bool = True,  # noqa: ANN001
              ticks: int = 0) -> dict:
        started = time.perf_counter()
        posted = act()
        if ticks:  # a tick is visible when the message shows that many ticked choices
            found = self.sim.wait_for_message(
                BOT_ID, self.user_id, lambda m: m["from_bot"] and str(m.get("reply_markup")).count("✅") == (
                    1 if ticks == 1 else 2), newer_than=newer_than, timeout=TIMEOUT)
        else:
            found = self.wait(expect, newer_than if newer_than is not None else posted)
        seconds = time.perf_counter() - started
        self.updates.append(seconds)
        if answer:
            self.answers.append(seconds)
        return found


def end_to_end(form_path: Path, users: int, framework: str, work: Path) -> list[Filler]:
    form = Form.load(form_path)
    with running_simulator(rate_limits=False) as sim:  # the bot's own cost, not Telegram's 1 msg/s pacing
        sim.register_bot(TOKEN, "pintu_bench_bot", "Pintu")
        clock = FakeClock(MONDAY_8_WITA)
        settings = Settings(bot_token=TOKEN, api_url=sim.url, database_url=f"sqlite:///{work / 'pintu.db'}",
                            framework=framework, invite_secret="bench-secret", media_dir=str(work / "media"),
                            form_path=str(form_path))
        pintu = build(settings, clock=clock)
        create_schema(pintu.engine)
        ids = seed_residents(pintu.uow, users, clock.now(), 8_100_000)
        for telegram_id in ids:
            sim.create_user(telegram_id, f"Warga {telegram_id}", language_code="id")
        loop = _LoopThread()
        transport = make_transport(pintu)
        try:
            loop.run(transport.start())
            warm = Filler(sim, ids[0], form)  # the first conversation pays for imports and caches
            warm.run()
            if warm.error:
                raise warm.error
            fillers = [Filler(sim, telegram_id, form) for telegram_id in ids[1:]]
            threads = [threading.Thread(target=f.run) for f in fillers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return fillers
        finally:
            loop.run(transport.stop())
            loop.close()
            pintu.engine.dispose()


# --- memory ---------------------------------------------------------------------------------------

def memory(form_path: Path, count: int) -> tuple[float, float, list[float]]:
    """(bytes retained per open questionnaire, bytes stored per questionnaire, handler seconds per answer)."""
    engine = make_engine("sqlite://")
    create_schema(engine)
    session_factory = make_session_factory(engine)
    clock = FakeClock(MONDAY_8_WITA)
    handlers = PintuHandlers(lambda: SqlUnitOfWork(session_factory), clock,
                             HandlerConfig(invite_secret="bench-secret", form_path=str(form_path)))
    ids = seed_residents(lambda: SqlUnitOfWork(session_factory), count + TIMED + 1, clock.now(), 9_100_000)
    typed = [n for n in range(1, QUESTIONS // 2 + 1)]

    def half_fill(telegram_id: int, timings: list[float] | None) -> None:
        sender = Sender(telegram_id, "Warga", "id")
        handlers.handle(Incoming(sender, telegram_id, text="/isi"))
        for number in typed:
            kind = KINDS[(number - 1) % len(KINDS)]
            started = time.perf_counter()
            handlers.handle(Incoming(sender, telegram_id, text=ANSWERS[kind]))  # choices may be typed too
            if timings is not None:
                timings.append(time.perf_counter() - started)

    half_fill(ids[0], None)  # warm-up
    timings: list[float] = []
    for telegram_id in ids[1:TIMED + 1]:  # timed without tracemalloc (it slows every allocation)
        half_fill(telegram_id, timings)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for telegram_id in ids[TIMED + 1:]:
        half_fill(telegram_id, None)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    retained = sum(stat.size_diff for stat in after.compare_to(before, "filename")) / count
    with SqlUnitOfWork(session_factory) as uow:
        records = list(uow.session.query(Record))
        conversations = list(uow.session.query(Conversation))
        assert all(len(r.answers["history"]) == len(typed) for r in records), "a half fill went wrong"
        stored = (sum(len(json.dumps(r.answers)) for r in records)
                  + sum(len(json.dumps(c.data)) for c in conversations)) / len(records)
    engine.dispose()
    return retained, stored, timings


def ms(values: list[float], fraction: float) -> str:
    return f"{percentile(values, fraction) * 1000:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="residents filling the form at the same time")
    parser.add_argument("--framework", choices=["ptb", "aiogram"], default="ptb")
    parser.add_argument("--states", type=int, default=100, help="questionnaires held open for the memory figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        path = generated_form(work / "bench_40.xlsx")
        load_figures(path)  # warm-up: pyxform's and elementpath's first use
        default_cold, default_cached = load_figures(DEFAULT_FORM)
        cold, cached = load_figures(path)
        fillers = end_to_end(path, args.users + 1, args.framework, work)
        retained, stored, handler_times = memory(path, args.states)
    failed = [f for f in fillers if f.error is not None]
    answers = [s for f in fillers for s in f.answers]
    updates = [s for f in fillers for s in f.updates]
    print(f"form load, generated form ({QUESTIONS} questions): cold {cold * 1000:.0f} ms, cached {cached * 1e6:.0f} µs")
    print(f"form load, default first-visit form: cold {default_cold * 1000:.0f} ms, cached {default_cached * 1e6:.0f} µs")
    print(f"per answer, {args.framework} + simulator, {args.users} residents at once, {len(answers)} answers: "
          f"p50 {ms(answers, 0.5)}, p99 {ms(answers, 0.99)}, mean {statistics.fmean(answers) * 1000:.1f} ms" if answers
          else "per answer: no answers measured")
    if updates:
        print(f"per update (answers and select_multiple ticks, {len(updates)}): p50 {ms(updates, 0.5)}, "
              f"p99 {ms(updates, 0.99)}")
    print(f"handlers only (in-memory SQLite, no transport), {len(handler_times)} typed answers: p50 {ms(handler_times, 0.5)}, "
          f"p99 {ms(handler_times, 0.99)}")
    print(f"memory per questionnaire in progress ({args.states} half filled): {retained / 1024:.1f} KiB retained "
          f"in the bot process, {stored:.0f} bytes stored (record answers + conversation)")
    for filler in failed:
        print(f"FAILED user {filler.user_id}: {type(filler.error).__name__}: {filler.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
