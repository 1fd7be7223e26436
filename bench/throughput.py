"""Throughput: whole booking conversations per second and update latency, Pintu next to a bare echo bot.

    .venv/bin/python -m bench throughput [--framework ptb|aiogram|both] [--users N] [--seconds S]
    .venv/bin/python bench/throughput.py [same options]

One Bot API simulator (``simulator.testing.running_simulator``, rate limits OFF: no 429 ever, so
what is measured is the bot's own cost, not Telegram's pacing) serves every bot of the run, one after
the other, each under its own token:

1. Pintu on python-telegram-bot (the real ``bot.wiring.build`` + ``bot.transports.make_transport``,
   as the end-to-end tests start it), on a fresh SQLite file (WAL, the production settings) migrated
   and seeded through the repositories with one kecamatan of Samarinda: ``--users`` RT (SLS), each with
   ``--enumerators`` enumerators of its own and a few families registered without Telegram. The bot's
   clock is a FakeClock standing on Monday 23 November 2026, 08.00 WITA, so the offered days and
   times are the same in every run.
2. A bare python-telegram-bot echo bot: every text is answered with the same text (and an inline
   button, so that there is something to press), every button press by editing the pressed message
   and answering the callback. Same concurrency setting as Pintu's transport (64 updates at once).
3. The same two with aiogram (``--framework both``, the default).

Each bot runs in a process of its own (started as ``python -m bench.throughput --serve ...``): the
simulator and the simulated users share this process and its interpreter lock, the bot has the other
core to itself. ``--users`` simulated people (default 50) act concurrently, each waiting for the
bot's answer before the next step, and starting over as a new Telegram user after each conversation:

    /start <resident invite of their RT> -> agree -> family head's name -> KK number -> members (4)
    -> first free day -> first free time -> confirm            (8 updates, 3 new bot messages, 5 edits)

Every simulated person has an RT (and its enumerators) of their own, so nobody ever competes for a
time and every conversation ends with a booking. The echo bot gets the same shape: the same 10 actions
in the same order (3 texts, 5 presses) with the same texts, by the same number of people.

A step's latency is the time from just before the user's action is posted to the simulator until the
bot's resulting message or edit is visible in that chat, observed with the simulator's chat long poll
(``AsyncSimulatorClient.poll_messages(..., wait=...)``: no busy polling). After a ``--warmup`` the
figures are taken over ``--seconds`` (per bot): steps whose answer became visible in the window
(updates/s), steps posted in the window (latency p50/p99), conversations completed in the window
(bookings/s), and CPU time of the bot process and of this process (simulator thread and clients)
read from /proc. Nothing is asserted on time; the exit status is 1 only if a conversation went wrong
(an unexpected answer or none within ``--timeout`` seconds).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import itertools
import datetime as dt
import logging
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(ROOT))

WITA = ZoneInfo("Asia/Makassar")
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 8, 0, tzinfo=WITA)  # no public holiday in the next two weeks
SECRET = "bench-throughput-secret"
FRAMEWORKS = ("ptb", "aiogram")
MAX_CONCURRENT_UPDATES = 64  # the echo bots get what Pintu's transports use (bot/ptb_transport.py)
POLL_TIMEOUT = 10  # getUpdates long poll, as Pintu's transports
STORY_STEPS = 8
PALARAN = ["Rawa Makmur", "Bukuan", "Simpang Pasir", "Handil Bakti", "Bantuas"]  # kelurahan of Palaran
FIRST = ["Ahmad", "Siti", "Budi", "Dewi", "Eko", "Fitri", "Gunawan", "Hartini", "Irfan", "Joko", "Kartika",
         "Lukman", "Maya", "Nur", "Oki", "Putri", "Rahmat", "Sri", "Taufik", "Umi", "Wahyu", "Yuliana"]
LAST = ["Santoso", "Lestari", "Prasetyo", "Handayani", "Hakim", "Susilo", "Sari", "Puspita", "Hidayah",
        "Setiawan", "Wahyuni", "Rahman", "Kalsum", "Nugroho", "Abidin", "Salim", "Sutrisno", "Kirana"]


# --- the data ----------------------------------------------------------------------------------------

def kk_number(index: int) -> str:
    """A structurally valid, distinct KK number for Palaran (64 72 01): issue date and serial from ``index``."""
    issued = dt.date(2001, 1, 1) + dt.timedelta(days=index // 9999)
    return f"647201{issued:%d%m%y}{index % 9999 + 1:04d}"


def head_name(index: int) -> str:
    """A family head's name (letters and spaces only, as the name step requires)."""
    return f"{FIRST[index % len(FIRST)]} {LAST[(index // len(FIRST)) % len(LAST)]}"


def seed(database_url: str, rts: int, enumerators_per_rt: int, families_per_rt: int) -> list[str]:
    """Migrate and fill a fresh database; return one resident invite per RT (valid for 14 days)."""
    from domain.invites import InviteKind, make_invite
    from storage.db import create_schema, make_engine, make_session_factory
    from domain.model import Area, Enumerator, Family
    from storage.uow import SqlUnitOfWork

    now = MONDAY_8_WITA.astimezone(dt.timezone.utc)
    engine = make_engine(database_url)
    try:
        create_schema(engine)
        with SqlUnitOfWork(make_session_factory(engine)) as uow:
            zone = WITA.key
            province = uow.areas.add(Area(code="64", level="province", name="Kalimantan Timur", timezone=zone))
            city = uow.areas.add(Area(code="64.72", level="regency", name="Kota Samarinda", parent_id=province.id,
                                      timezone=zone))
            district = uow.areas.add(Area(code="64.72.01", level="district", name="Palaran", parent_id=city.id,
                                          timezone=zone))
            sls_ids: list[int] = []
            for v in range(math.ceil(rts / 10)):
                name = PALARAN[v] if v < len(PALARAN) else f"Kelurahan {v + 1}"
                village = uow.areas.add(Area(code=f"64.72.01.{1001 + v}", level="village", name=name,
                                             parent_id=district.id, timezone=zone))
                for n in range(1, min(10, rts - 10 * v) + 1):
                    sls_ids.append(uow.areas.add(Area(code=f"{village.code}.{n:04d}", level="sls", name=f"RT {n:03d}",
                                                      parent_id=village.id, timezone=zone)).id)
            family = 0
            for r, sls_id in enumerate(sls_ids):
                for e in range(enumerators_per_rt):
                    uow.enumerators.add(Enumerator(name=f"Petugas {r + 1}.{e + 1}", visit_minutes=30), [sls_id])
                for _ in range(families_per_rt):
                    uow.families.add(Family(sls_id=sls_id, head_name=head_name(family), kk_number=kk_number(family),
                                            members=2 + family % 5, created_at=now))
                    family += 1
                # The families the person using this RT's invite will book for, on the RT's list: through
                # the invite they link at once (domain/claims.py), as a resident whose RT head imported
                # the list does.
                uow.families.add_many(
                    Family(sls_id=sls_id, head_name=head_name(i), kk_number=kk_number(i), members=4, created_at=now)
                    for i in (conversation_index(r, c) for c in range(LISTED_PER_PERSON)))
            uow.commit()
    finally:
        engine.dispose()
    expires = now + dt.timedelta(days=14)
    return [make_invite(SECRET, InviteKind.RESIDENT, sls_id, expires) for sls_id in sls_ids]


# --- the bots, each in a process of its own (--serve) ---------------------------------------------------

async def serve(kind: str, framework: str, api_url: str, token: str, database_url: str) -> None:
    """Run one bot until SIGTERM; print READY once it polls."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if kind == "pintu":
        from bot.config import Settings
        from bot.transports import make_transport
        from bot.wiring import build
        from domain.clock import FakeClock

        settings = Settings(bot_token=token, api_url=api_url, database_url=database_url, framework=framework,
                            invite_secret=SECRET)
        pintu = build(settings, clock=FakeClock(MONDAY_8_WITA))
        transport = make_transport(pintu)
        start, finish = transport.start, transport.stop
    else:
        pintu = None
        start, finish = (_ptb_echo if framework == "ptb" else _aiogram_echo)(api_url, token)
    profiles = Profiles(os.environ.get("PINTU_BENCH_PROFILE"), f"{kind}-{framework}")
    if pintu is not None:
        pintu.handlers.handle = profiles.wrap(pintu.handlers.handle)  # the transport looks it up per update
    await start()
    print("READY", flush=True)
    try:
        with profiles.event_loop():
            await stop.wait()
    finally:
        await finish()
        if pintu is not None:
            pintu.engine.dispose()
        profiles.dump()


class Profiles:
    """``--profile DIR``: cProfile of the bot's event loop thread and, for Pintu, of the handlers in their
    worker threads (one profile per thread, merged), timed in CPU time of the profiled thread; off when
    ``directory`` is None."""

    def __init__(self, directory: str | None, name: str) -> None:
        self.directory, self.name = directory, name
        self.loop_profile = None
        self.handler_profiles: list = []
        self._local = threading.local()

    @contextlib.contextmanager
    def event_loop(self):  # noqa: ANN201
        if not self.directory:
            yield
            return
        import cProfile

        self.loop_profile = cProfile.Profile(time.thread_time)
        self.loop_profile.enable()
        try:
            yield
        finally:
            self.loop_profile.disable()

    def wrap(self, handle: Callable) -> Callable:
        if not self.directory:
            return handle
        import cProfile

        def profiled(event):  # noqa: ANN001, ANN202
            profile = getattr(self._local, "profile", None)
            if profile is None:
                profile = self._local.profile = cProfile.Profile(time.thread_time)
                self.handler_profiles.append(profile)
            profile.enable()
            try:
                return handle(event)
            finally:
                profile.disable()

        return profiled

    def dump(self) -> None:
        import pstats

        if not self.directory:
            return
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        if self.loop_profile is not None:
            self.loop_profile.dump_stats(Path(self.directory) / f"{self.name}-loop.prof")
        if self.handler_profiles:
            stats = pstats.Stats(self.handler_profiles[0])
            for profile in self.handler_profiles[1:]:
                stats.add(profile)
            stats.dump_stats(Path(self.directory) / f"{self.name}-handlers.prof")


def _ptb_echo(api_url: str, token: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """A bare python-telegram-bot echo bot: text back with a button; a press edits the message."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.constants import ParseMode
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

    def markup(n: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(f"e:{n}", callback_data=f"e:{n}")]])

    async def on_text(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_chat.send_message(update.message.text, parse_mode=ParseMode.HTML, reply_markup=markup(1))

    async def on_press(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.edit_message_text(query.data, parse_mode=ParseMode.HTML, reply_markup=markup(int(query.data[2:]) + 1))
        await query.answer()

    app = (ApplicationBuilder().token(token).base_url(f"{api_url}/bot").base_file_url(f"{api_url}/file/bot")
           .concurrent_updates(MAX_CONCURRENT_UPDATES).job_queue(None).build())
    app.add_handler(MessageHandler(filters.TEXT, on_text))
    app.add_handler(CallbackQueryHandler(on_press))

    async def start() -> None:
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0.0, timeout=POLL_TIMEOUT,
                                        allowed_updates=["message", "callback_query"])

    async def stop() -> None:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()

    return start, stop


def _aiogram_echo(api_url: str, token: str) -> tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]:
    """The same echo bot with aiogram 3."""
    from aiogram import Bot, Dispatcher, F, Router
    from aiogram.client.default import DefaultBotProperties
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

    def markup(n: int) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=f"e:{n}", callback_data=f"e:{n}")]])

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
              default=DefaultBotProperties(parse_mode="HTML"))
    dispatcher = Dispatcher(disable_fsm=True)
    router = Router()

    @router.message(F.text)
    async def on_text(message: Message) -> None:
        await message.answer(message.text, reply_markup=markup(1))

    @router.callback_query()
    async def on_press(query: CallbackQuery) -> None:
        await query.message.edit_text(query.data, reply_markup=markup(int(query.data[2:]) + 1))
        await query.answer()

    dispatcher.include_router(router)
    started = asyncio.Event()
    dispatcher.startup.register(started.set)
    polling: list[asyncio.Task[None]] = []

    async def start() -> None:
        await bot.delete_webhook()
        polling.append(asyncio.create_task(dispatcher.start_polling(
            bot, polling_timeout=POLL_TIMEOUT, handle_signals=False, close_bot_session=False,
            allowed_updates=["message", "callback_query"], tasks_concurrency_limit=MAX_CONCURRENT_UPDATES)))
        await started.wait()

    async def stop() -> None:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await polling[0]
        await bot.session.close()

    return start, stop


# --- the simulated people -----------------------------------------------------------------------------

class Unexpected(Exception):
    """The bot answered something other than the story's next screen (or not at all)."""


class Stopped(Exception):
    """The measurement is over: the person stops before their next action (not a failure)."""


class Gate:
    """When one bot's people may act: open during that bot's slices of the run, closed otherwise.

    Closing lets the steps in progress finish (:meth:`drained`) while nobody starts a new one, so
    the people pause between two steps of their conversation and go on from there next time.
    """

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.in_flight = 0
        self.finished = False
        self.arrivals: asyncio.Queue[float | None] | None = None  # open loop: when each step is due
        self._pacer: asyncio.Task[None] | None = None

    def pace(self, rate: float, rng: random.Random) -> None:
        """Open loop from now on: a step starts only at an arrival, arrivals coming at ``rate`` per second
        (Poisson: exponential gaps) while the gate is open, whoever is free taking the next one. A step's
        latency then counts from its arrival, waiting for a free person included."""
        if self.arrivals is None:
            self.arrivals = asyncio.Queue()
        while not self.arrivals.empty():  # arrivals nobody took in an earlier slice are not this one's
            self.arrivals.get_nowait()
        if self._pacer is not None:
            self._pacer.cancel()

        async def arrive() -> None:
            while True:
                await asyncio.sleep(rng.expovariate(rate))
                if self._open.is_set() and not self.finished:
                    self.arrivals.put_nowait(time.perf_counter())

        self._pacer = asyncio.create_task(arrive())

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def finish(self) -> None:
        """The run is over: everyone waiting at the gate stops."""
        self.finished = True
        self._open.set()
        if self._pacer is not None:
            self._pacer.cancel()
        if self.arrivals is not None:
            for _ in range(10_000):  # more than people waiting for an arrival
                self.arrivals.put_nowait(None)

    @contextlib.asynccontextmanager
    async def step(self):  # noqa: ANN201
        """Wait for the gate to be open, then yield the moment the step starts."""
        await self._open.wait()
        arrival = await self.arrivals.get() if self.arrivals is not None and not self.finished else None
        if self.finished:
            raise Stopped()
        self.in_flight += 1
        self._idle.clear()
        try:
            yield arrival if arrival is not None else time.perf_counter()
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def drained(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)


@dataclasses.dataclass
class Phase:
    """One bot under load: what the people saw and what it cost, over its measured slices."""

    framework: str
    kind: str  # pintu | echo
    rate: float | None = None  # open loop: arrivals per second (None: the closed loop)
    windows: list[tuple[float, float]] = dataclasses.field(default_factory=list)
    steps: list[tuple[float, float]] = dataclasses.field(default_factory=list)  # (posted, visible)
    conversations: list[float] = dataclasses.field(default_factory=list)  # completion times
    errors: Counter = dataclasses.field(default_factory=Counter)
    bot_cpu: float = 0.0
    sim_cpu: float = 0.0
    harness_cpu: float = 0.0
    other_cpu: float = 0.0  # everything else the machine ran meanwhile (other programs, the kernel)
    bot_log_problems: int = 0

    @property
    def seconds(self) -> float:
        return sum(end - start for start, end in self.windows)

    def in_window(self, t: float) -> bool:
        return any(start <= t < end for start, end in self.windows)

    @property
    def updates(self) -> int:
        return sum(1 for _, visible in self.steps if self.in_window(visible))

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def conversations_per_second(self) -> float:
        return sum(1 for t in self.conversations if self.in_window(t)) / self.seconds

    def latencies(self, measured: bool = True) -> list[float]:
        return sorted(visible - posted for posted, visible in self.steps if not measured or self.in_window(posted))

    def latency_ms(self, quantile: float) -> float:
        samples = self.latencies()
        if len(samples) < 2:
            return samples[0] * 1000 if samples else math.nan
        return statistics.quantiles(samples, n=100, method="inclusive")[round(quantile * 100) - 1] * 1000

    @property
    def bot_ms_per_update(self) -> float:
        return self.bot_cpu / self.updates * 1000 if self.updates else math.nan


class Chat:
    """One simulated person's private chat with the bot: act, then wait for the bot's visible answer."""

    def __init__(self, client, bot_id: int, user_id: int, phase: Phase, gate: Gate, timeout: float) -> None:  # noqa: ANN001
        self.client, self.bot_id, self.user_id, self.phase, self.gate = client, bot_id, user_id, phase, gate
        self.timeout = timeout
        self.revision = 0  # the chat's revision up to which everything has been seen

    async def say(self, text: str, expect: str) -> dict:
        """Write ``text``; return the bot's next new message, which must contain ``expect``."""
        async with self.gate.step() as posted:
            sent = await self.client.send_text(self.bot_id, self.user_id, text)
            # The user's own message is the chat's next revision: the long poll starts after it.
            return await self._answer(posted, sent["message_id"] + 1, self.revision + 1, expect)

    async def press(self, message: dict, data: str, expect: str) -> dict:
        """Press a button of ``message``; return its edit (or a newer message), which must contain ``expect``."""
        async with self.gate.step() as posted:
            await self.client.press(self.bot_id, self.user_id, message["message_id"], data)
            return await self._answer(posted, message["message_id"], self.revision, expect)

    async def _answer(self, posted: float, first_id: int, after: int, expect: str) -> dict:
        """The first bot message with id >= ``first_id`` changed since the action (chat long poll, no sleeps)."""
        seen, deadline = self.revision, posted + self.timeout
        while True:
            wait = deadline - time.perf_counter()
            if wait <= 0:
                raise Unexpected(f"no answer within {self.timeout:g} s (waiting for {expect!r})")
            result = await self.client.poll_messages(self.bot_id, self.user_id, after=after, wait=wait)
            visible = time.perf_counter()
            after = result["revision"]
            found = next((m for m in result["messages"] if m["from_bot"] and not m["deleted"]
                          and m["revision"] > seen and m["message_id"] >= first_id), None)
            if found is not None:
                self.revision = after
                self.phase.steps.append((posted, visible))
                text = found["text"] or ""
                if expect not in text:
                    raise Unexpected(f"expected {expect!r}, got {text[:60]!r}")
                return found


def button(message: dict, prefix: str) -> str:
    """The callback data of the first inline button whose data starts with ``prefix``."""
    for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
        for b in row:
            if (b.get("callback_data") or "").startswith(prefix):
                return b["callback_data"]
    raise Unexpected(f"no {prefix!r} button on {(message['text'] or '')[:60]!r}")


async def pintu_story(chat: Chat, invite: str, name: str, kk: str) -> None:
    """The resident's booking, as in tests/e2e/test_story.py, but joining the RT by a resident invite."""
    consent = await chat.say(f"/start {invite}", "Selamat datang di Pintu")
    await chat.press(consent, button(consent, "cs:y"), "nama kepala keluarga")
    await chat.say(name, "nomor KK")
    members = await chat.say(kk, "jumlah anggota keluarga")
    await chat.press(members, "mb:4", "alamat rumah")
    await chat.say("Jl. Mawar No. 12, RT 001/RW 005", "Kirim lokasi rumah")
    days = await chat.say("Lewati", "Pilih hari")
    times = await chat.press(days, button(days, "dy:"), "pilih jam")
    confirm = await chat.press(times, button(times, "tm:"), "Benar?")
    await chat.press(confirm, "ok:yes", "Janji kunjungan dibuat")


async def echo_story(chat: Chat, invite: str, name: str, kk: str) -> None:
    """The same ten actions with the same texts; the presses go to the newest message with a button."""
    first = await chat.say(f"/start {invite}", "/start")
    await chat.press(first, "e:1", "e:1")
    await chat.say(name, name)
    last = await chat.say(kk, kk)
    last = await chat.press(last, "e:1", "e:1")
    await chat.say("Jl. Mawar No. 12, RT 001/RW 005", "Jl. Mawar")
    last = await chat.say("Lewati", "Lewati")
    for n in range(1, 4):
        last = await chat.press(last, f"e:{n}", f"e:{n}")


STORIES = {"pintu": pintu_story, "echo": echo_story}


# Conversations per person whose family is on the RT's list (seed); more in one run would wait for the
# RT head and count as failed. A person manages some tens in a default run.
LISTED_PER_PERSON = 300


def conversation_index(number: int, conversation: int) -> int:
    """Person ``number``'s ``conversation``-th: distinct users, KK numbers and names."""
    return 1_000_000 + number * 10_000 + conversation


async def person(number: int, sim, bot_id: int, phase: Phase, gate: Gate, invite: str, timeout: float) -> None:  # noqa: ANN001
    """One simulated person: conversations back to back, each as a new Telegram user, until the run ends."""
    story = STORIES[phase.kind]
    async with sim.async_client() as client:
        for conversation in itertools.count():
            index = conversation_index(number, conversation)
            chat = Chat(client, bot_id, 100_000_000 + index, phase, gate, timeout)
            try:
                await story(chat, invite, head_name(index), kk_number(index))
            except Stopped:
                return
            except Unexpected as error:
                phase.errors[str(error)] += 1
                continue
            except Exception as error:  # noqa: BLE001 - an HTTP failure: counted, the run goes on
                phase.errors[f"{type(error).__name__}: {error}"[:120]] += 1
                await asyncio.sleep(0.1)  # not a tight loop if the simulator is gone
                continue
            phase.conversations.append(time.perf_counter())


# --- CPU time from /proc --------------------------------------------------------------------------------

def _cpu_of(stat_path: str) -> float:
    """utime + stime of a process or thread, in seconds (nan where /proc is not there)."""
    try:
        fields = Path(stat_path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds all processors of the machine spent busy since boot (nan without /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _simulator_thread_stat() -> str:
    thread = next((t for t in threading.enumerate() if t.name == "bot-api-simulator"), None)
    return f"/proc/self/task/{thread.native_id}/stat" if thread is not None else "/nonexistent"


# --- the bot processes ------------------------------------------------------------------------------------

class BotProcess:
    """``python -m bench.throughput --serve KIND FRAMEWORK ...``: started, READY awaited, SIGTERM to stop."""

    def __init__(self, kind: str, framework: str, log_path: Path) -> None:
        self.kind, self.framework, self.log_path = kind, framework, log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def stat(self) -> str:
        return f"/proc/{self.process.pid}/stat"

    async def start(self, api_url: str, token: str, database_url: str, profile: str | None) -> None:
        env = {**os.environ, "PTB_TIMEDELTA": "1", "PINTU_BENCH_PROFILE": profile or "",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with open(self.log_path, "wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.throughput", "--serve", self.kind, self.framework, api_url, token,
                database_url, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=log_file)
        with contextlib.suppress(TimeoutError):
            if (await asyncio.wait_for(self.process.stdout.readline(), 60)).strip() == b"READY":
                return
        raise RuntimeError(f"the {self.kind} bot on {self.framework} did not start:\n"
                           f"{self.log_path.read_text(errors='replace')[-3000:]}")

    async def stop(self) -> int:
        """Stop the bot; return how many warning, error or traceback lines it logged."""
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines()
                   if " ERROR " in line or " WARNING " in line or line.startswith("Traceback"))


# --- one framework: Pintu and the echo bot, in alternating slices -------------------------------------------

KINDS = ("pintu", "echo")


async def measure(sim, framework: str, number: int, work: Path, args: argparse.Namespace) -> list[Phase]:  # noqa: ANN001
    """Pintu and the echo bot on one framework: both bots polling the simulator, their people taking turns."""
    database_url = f"sqlite:///{work / f'pintu-{framework}.db'}"  # a fresh database per framework
    invites = await asyncio.to_thread(seed, database_url, args.users, args.enumerators, args.families)
    bots = {kind: BotProcess(kind, framework, work / f"{kind}-{framework}.log") for kind in KINDS}
    phases = {kind: Phase(framework, kind) for kind in KINDS}
    gates = {kind: Gate() for kind in KINDS}
    people: list[asyncio.Task[None]] = []
    try:
        for k, kind in enumerate(KINDS):
            token = f"{700000 + 10 * number + k}:bench-{kind}-{framework}"
            bot_id = await asyncio.to_thread(sim.register_bot, token, f"bench_{kind}_{framework}_bot", kind)
            await bots[kind].start(sim.url, token, database_url if kind == "pintu" else "-", args.profile)
            people += [asyncio.create_task(person(n, sim, bot_id, phases[kind], gates[kind], invites[n % len(invites)],
                                                  args.timeout)) for n in range(args.users)]
        for kind in KINDS:  # warm up each bot alone: connections, caches, the first conversations
            print(f"  {framework}: warming up {kind} ...", file=sys.stderr, flush=True)
            await run_slice(phases[kind], gates[kind], bots, args.warmup, settle=0.0, args=args, measured=False)
        # Measured slices, in the order A B B A A B ...: a drift in the machine's other load touches both alike.
        order = [kind for r in range(args.rounds) for kind in (KINDS if r % 2 == 0 else KINDS[::-1])]
        for kind in order:
            print(f"  {framework}: measuring {kind} ...", file=sys.stderr, flush=True)
            # Settle: the people take up their conversations again before the window opens.
            latencies = phases[kind].latencies(measured=False)
            settle = min(3.0, max(0.3, 2 * latencies[len(latencies) // 2])) if latencies else 1.0
            await run_slice(phases[kind], gates[kind], bots, args.seconds / args.rounds, settle, args)
        open_loop = [await open_loop_slice(phases["pintu"], gates["pintu"], bots, rate, args) for rate in args.rate]
    finally:
        for gate in gates.values():
            gate.finish()
        await asyncio.gather(*people, return_exceptions=True)
        for kind in KINDS:
            phases[kind].bot_log_problems = await bots[kind].stop()
    return [phases[kind] for kind in KINDS] + open_loop


async def open_loop_slice(closed: Phase, gate: Gate, bots: dict[str, BotProcess], rate: float,
                          args: argparse.Namespace) -> Phase:
    """Pintu's people acting at Poisson arrivals (``rate`` per second) for ``--seconds``: what a person
    waits at that load, not how fast the bot can go. Seeded: the same arrivals in every run."""
    print(f"  {closed.framework}: open loop at {rate:g}/s ...", file=sys.stderr, flush=True)
    gate.pace(rate, random.Random(int(rate * 1000)))
    phase = Phase(closed.framework, closed.kind, rate=rate)
    await run_slice(phase, gate, bots, args.seconds, 1.0, args)
    phase.steps = [step for step in closed.steps if phase.in_window(step[0])]
    phase.conversations = [t for t in closed.conversations if phase.in_window(t)]
    return phase


async def run_slice(phase: Phase, gate: Gate, bots: dict[str, BotProcess], seconds: float, settle: float,
                    args: argparse.Namespace, measured: bool = True) -> None:
    """Let this bot's people act for ``settle`` + ``seconds``; measure the ``seconds``; then let the steps in
    progress finish (the next slice starts with no backlog)."""
    gate.open()
    await asyncio.sleep(settle)
    sim_stat = _simulator_thread_stat()

    def readings() -> tuple[float, ...]:
        return (_cpu_of(bots[phase.kind].stat), _cpu_of(sim_stat), time.process_time(), _machine_busy(),
                sum(_cpu_of(bot.stat) for bot in bots.values()))

    start, before = time.perf_counter(), readings()
    await asyncio.sleep(seconds)
    end, after = time.perf_counter(), readings()
    gate.close()
    await gate.drained(args.timeout + 1)
    if measured:
        bot, sim_cpu, harness, machine, all_bots = (b - a for a, b in zip(before, after))
        phase.windows.append((start, end))
        phase.bot_cpu += bot
        phase.sim_cpu += sim_cpu
        phase.harness_cpu += harness
        phase.other_cpu += machine - all_bots - harness


async def run(args: argparse.Namespace) -> list[Phase]:
    from simulator.testing import running_simulator

    frameworks = FRAMEWORKS if args.framework == "both" else (args.framework,)
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="pintu-throughput-") as directory, \
            running_simulator(rate_limits=False) as sim:
        args.simulator_url = sim.url
        work = Path(directory)
        try:
            for number, framework in enumerate(frameworks):
                phases += await measure(sim, framework, number, work, args)
        finally:
            if args.keep_logs:
                keep = Path(args.keep_logs)
                keep.mkdir(parents=True, exist_ok=True)
                for file in work.glob("*.log"):
                    (keep / file.name).write_bytes(file.read_bytes())
    return phases


# --- output --------------------------------------------------------------------------------------------

def report(phases: list[Phase], args: argparse.Namespace) -> None:
    capacity = args.users * args.enumerators * 188  # 12 working days: 12 times on Monday from 10.00, 16 on the rest
    slice_seconds = args.seconds / args.rounds
    print(f"throughput: {args.users} simulated people at once per bot, {STORY_STEPS} steps per conversation; "
          f"per bot {args.warmup:g} s warm-up, then {args.rounds} x {slice_seconds:g} s measured, "
          f"Pintu and echo taking turns")
    print(f"simulator: one instance for every bot ({args.simulator_url}), rate limits OFF (never a 429: the figures "
          f"are the bot's own cost); each bot in its own process")
    print(f"Pintu: SQLite (WAL), {args.users} RT x {args.enumerators} enumerators ({capacity} free visit times), "
          f"FakeClock Mon 23 Nov 2026 08.00 WITA; echo: text back + button, press -> edit + answer; "
          f"both up to {MAX_CONCURRENT_UPDATES} updates at once")
    open_loop = [p for p in phases if p.rate is not None]
    phases = [p for p in phases if p.rate is None]
    by = {(p.framework, p.kind): p for p in phases}
    frameworks = [f for f in FRAMEWORKS if (f, "pintu") in by]
    columns = [(f, kind) for f in frameworks for kind in ("pintu", "echo", "ratio")]
    width = 12
    print()
    print(f"{'':<26}" + "".join(f"{({'ptb': 'PTB', 'aiogram': 'aiogram'}[f] if kind == 'pintu' else ''):>{width}}"
                                for f, kind in columns))
    print(f"{'':<26}" + "".join(f"{ {'pintu': 'Pintu', 'echo': 'echo', 'ratio': 'Pintu/echo'}[kind]:>{width}}"
                                for _, kind in columns))

    def row(label: str, value: Callable[[Phase], float], fmt: str, ratio: bool = True) -> None:
        cells = []
        for f, kind in columns:
            if kind == "ratio":
                a, b = value(by[(f, "pintu")]), value(by[(f, "echo")])
                cells.append(f"{a / b:.2f}x" if ratio and b and not math.isnan(a / b) else "")
            else:
                v = value(by[(f, kind)])
                cells.append("-" if isinstance(v, float) and math.isnan(v) else format(v, fmt))
        print(f"{label:<26}" + "".join(f"{c:>{width}}" for c in cells))

    row("conversations/s", lambda p: p.conversations_per_second, ".2f")
    row("updates/s", lambda p: p.updates_per_second, ".1f")
    row("latency p50 (ms)", lambda p: p.latency_ms(0.50), ".0f")
    row("latency p99 (ms)", lambda p: p.latency_ms(0.99), ".0f")
    row("bot CPU per update (ms)", lambda p: p.bot_ms_per_update, ".2f")
    row("bot CPU (% of a core)", lambda p: p.bot_cpu / p.seconds * 100, ".0f")
    row("simulator CPU (%)", lambda p: p.sim_cpu / p.seconds * 100, ".0f", ratio=False)
    row("sim. people CPU (%)", lambda p: (p.harness_cpu - p.sim_cpu) / p.seconds * 100, ".0f", ratio=False)
    row("other processes CPU (%)", lambda p: max(0.0, p.other_cpu) / p.seconds * 100, ".0f", ratio=False)
    row("failed conversations", lambda p: sum(p.errors.values()), "d", ratio=False)
    row("bot log warnings/errors", lambda p: p.bot_log_problems, "d", ratio=False)
    print()
    print("conversations/s: whole conversations per second (Pintu: bookings confirmed); updates/s: steps answered per "
          "second;\nlatency: the user's action posted -> the bot's message or edit visible in the chat; CPU in % of "
          "one core; Pintu/echo: Pintu's figure over the bare bot's.")
    bound = [p for p in phases if p.harness_cpu / p.seconds > 0.85]
    if bound:
        print("note: this process (simulator + simulated people) was near a full core while "
              + ", ".join(f"{p.kind} on {p.framework}" for p in bound)
              + " was measured: that bot may be faster than shown (compare its bot CPU per update)")
    busy = [p for p in phases if p.other_cpu / p.seconds > 0.2]
    if busy:
        print("warning: other processes used " + ", ".join(
            f"{p.other_cpu / p.seconds * 100:.0f}% of a core while {p.kind} on {p.framework} was measured" for p in busy)
            + ": absolute figures are low and noisy; ratios hold better (the bots took turns)")
    if open_loop:
        print()
        print("open loop: Pintu's people act at Poisson arrivals (seeded), whoever is free taking the next; latency "
              "from the arrival to the answer visible")
        print(f"{'':<10}{'rate (/s)':>10}{'answered/s':>12}{'p50 (ms)':>10}{'p99 (ms)':>10}{'CPU/update (ms)':>17}")
        for p in open_loop:
            print(f"{p.framework:<10}{p.rate:>10g}{p.updates_per_second:>12.1f}{p.latency_ms(0.50):>10.0f}"
                  f"{p.latency_ms(0.99):>10.0f}{p.bot_ms_per_update:>17.2f}")
    for p in phases:
        for error, count in p.errors.most_common(5):
            print(f"{p.kind} on {p.framework}: {count} x {error}")
        if p.bot_log_problems:
            print(f"{p.kind} on {p.framework}: {p.bot_log_problems} warning/error line(s) in its log"
                  + (f" (kept in {args.keep_logs})" if args.keep_logs else " (--keep-logs DIR keeps them)"))


def _cheap_missing_sniffio() -> None:
    """httpcore (under httpx, which the simulated people use) tries ``import sniffio`` on every
    connection-pool operation; when sniffio is not installed, each failed import searches sys.path
    (~0.1 ms here), several times per request. Recording it as absent makes the failure immediate, for
    this process only (the simulator and the simulated people; the bots are measured as they are)."""
    try:
        import sniffio  # noqa: F401
    except ImportError:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:  # a bot process started by BotProcess.start
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for noisy in ("httpx", "httpcore", "apscheduler", "aiogram.event"):  # as `pintu run` does
            logging.getLogger(noisy).setLevel(logging.WARNING)
        asyncio.run(serve(*argv[1:6]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--framework", choices=("ptb", "aiogram", "both"), default="both")
    parser.add_argument("--users", type=int, default=50, help="simulated people acting at once, per bot (default 50)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per bot (default 20)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="slices the measured seconds are cut into, per bot (default 2: Pintu, echo, echo, Pintu)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load per bot before measuring (default 3)")
    parser.add_argument("--enumerators", type=int, default=2, help="enumerators per RT (default 2)")
    parser.add_argument("--families", type=int, default=10,
                        help="families per RT registered beforehand, without Telegram (default 10)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds a step may wait for its answer (default 15)")
    parser.add_argument("--rate", type=float, nargs="*", default=[20.0, 60.0], metavar="R",
                        help="open loop after the closed one: Pintu's updates arriving at R per second (Poisson), "
                             "p50/p99 latency at each rate, e.g. --rate 20 60 (default); --rate alone: none")
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the bots' logs into DIR")
    parser.add_argument("--profile", metavar="DIR",
                        help="write cProfile files of each bot process into DIR (slows the bots down: for finding "
                             "where the time goes, not for the figures; read with python -m pstats FILE)")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.warmup < 0 or args.enumerators < 1 or args.rounds < 1:
        parser.error("--users, --enumerators and --rounds must be at least 1, --seconds positive, --warmup not negative")
    if args.profile:
        args.profile = str(Path(args.profile).resolve())
    logging.basicConfig(level=logging.ERROR)  # keep library chatter out of the figures
    _cheap_missing_sniffio()
    phases = asyncio.run(run(args))
    report(phases, args)
    return 1 if any(p.errors for p in phases) else 0


if __name__ == "__main__":
    sys.exit(main())
