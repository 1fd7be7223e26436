"""Helpers of the end-to-end tests (a module of its own, so that test files import it by a unique name).

The whole bot, end to end: a real framework (python-telegram-bot or aiogram) long-polling the Bot API
simulator over HTTP, the real handlers, a fresh SQLite file migrated and seeded with the demo kelurahan
(Rawa Makmur, Samarinda, WITA), and a clock standing still on Monday 23 November 2026, 08.00 WITA.

The bot runs on its own event loop in a background thread, exactly as ``pintu run`` would run it; the
tests act as Telegram users through the simulator's blocking user-side helpers and wait with its long
poll (``wait_for_message``), never with sleeps.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.wiring import Pintu
from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.model import Family
from chat.events import Incoming
from handlers.screens import unstamp
from simulator.testing import SimulatorHandle
from storage.seed import DemoArea

TOKEN = "424242:pintu-e2e-token"
BOT_ID = 424242
BOT_USERNAME = "pintu_e2e_bot"
SECRET = "test-secret"
MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
WAIT = 5.0  # seconds any single expected answer may take
HOUSE_ADDRESS = "Jl. Mawar Gg. 3 No. 12, RT 001/RW 005"
AT_HOME = (-0.551, 117.201)  # inside the demo kelurahan (storage/seed.py DEMO_CENTRE)


class LoopThread:
    """An event loop in a daemon thread: the bot lives there, the test thread stays blocking."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pintu-bot-loop", daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 20.0) -> Any:
        """Run ``coroutine`` on the bot's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        if not self.thread.is_alive():
            self.loop.close()


@dataclass
class Env:
    """One running bot and what a test needs to drive and inspect it."""

    framework: str
    sim: SimulatorHandle
    pintu: Pintu
    clock: FakeClock
    area: DemoArea
    transport: Any
    loop: LoopThread
    people: dict[int, "Person"] = field(default_factory=dict)

    def person(self, user_id: int, first_name: str, language_code: str = "id") -> "Person":
        """A Telegram user (created in the simulator with this name and language)."""
        self.sim.create_user(user_id, first_name, language_code=language_code)
        self.people[user_id] = Person(self, user_id)
        return self.people[user_id]

    def invite(self, kind: InviteKind, target_id: int, days: int = 7) -> str:
        return make_invite(SECRET, kind, target_id, self.clock.now() + dt.timedelta(days=days))

    def list_family(self, name: str, kk: str, rt: int = 0, members: int = 4) -> None:
        """The family on RT ``rt``'s list, as the RT head's import puts it: its resident links at once
        through the RT's invite (domain/claims.py)."""
        with self.pintu.uow() as uow:
            uow.families.add(Family(sls_id=self.area.sls_ids[rt], head_name=name, kk_number=kk, members=members,
                                    created_at=self.clock.now()))
            uow.commit()

    def resident_invite(self, rt: int = 0) -> str:
        return self.invite(InviteKind.RESIDENT, self.area.sls_ids[rt])

    def query(self, read: Callable[[Any], Any]) -> Any:
        """Read the database in a fresh unit of work (as the bot would see it now)."""
        with self.pintu.uow() as uow:
            return read(uow)


def _text(message: dict) -> str:
    return message.get("text") or ""


@dataclass
class Person:
    """One user's private chat with the bot, driven through the simulator."""

    env: Env
    user_id: int

    @property
    def sim(self) -> SimulatorHandle:
        return self.env.sim

    def say(self, text: str, expect: str) -> dict:
        """Write ``text``; return the first new bot message containing ``expect``."""
        sent = self.sim.send_text(BOT_ID, self.user_id, text)
        return self.wait(expect, newer_than=sent["message_id"])

    def press(self, message: dict, data: str, expect: str | None = None, *, force: bool = False) -> tuple[dict | None, dict]:
        """Press the button ``data`` on ``message``; wait until the press is answered and (with
        ``expect``) until that message, or a newer one, contains ``expect``. Returns (screen, answer)."""
        query_id = self.sim.press(BOT_ID, self.user_id, message["message_id"], self._carried(message, data), force=force)
        screen = self.wait(expect, newer_than=message["message_id"] - 1) if expect else None
        answer = self.sim.wait_for(lambda: (a := self.sim.callback_answer(BOT_ID, query_id))["answered"] and a, WAIT)
        return screen, answer

    def give_house(self, address: str = HOUSE_ADDRESS, at: tuple[float, float] | None = None,
                   expect: str = "Pilih hari") -> dict:
        """Registration's last steps: the address typed, then the house's location shared (``at``) with
        the location button, or "Lewati"; the first bot message after it that contains ``expect``."""
        self.say(address, "Kirim lokasi rumah")
        if at is None:
            sent = self.sim.send_text(BOT_ID, self.user_id, "Lewati")
        else:
            sent = self.sim.share_location(BOT_ID, self.user_id, at[0], at[1], horizontal_accuracy=10.0)
        return self.wait(expect, newer_than=sent["message_id"])
    def _carried(self, message: dict, data: str) -> str:
        """What the button ``data`` (the flow's own callback data) of the message carries now, with its
        screen number (handlers/screens.py); ``data`` itself when the message has no such button."""
        current = next((m for m in self.messages() if m["message_id"] == message["message_id"]), message)
        keyboard = (current.get("reply_markup") or {}).get("inline_keyboard") or []
        carried = [b.get("callback_data") for row in keyboard for b in row]
        return next((c for c in carried if c and unstamp(c)[0] == data), data)

    def wait(self, expect: str, newer_than: int = 0) -> dict:
        """The first bot message above ``newer_than`` whose current text contains ``expect``."""
        return self.sim.wait_for_message(
            BOT_ID, self.user_id, lambda m: m["from_bot"] and expect in _text(m), newer_than=newer_than, timeout=WAIT
        )

    def messages(self) -> list[dict]:
        return self.sim.messages(BOT_ID, self.user_id)

    def bot_messages(self, since: int = 0) -> list[dict]:
        """The bot's messages in this chat with id >= ``since`` (edits change a message, never add one)."""
        return [m for m in self.messages() if m["from_bot"] and m["message_id"] >= since]


def buttons(message: dict) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button on a message, row by row."""
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [(b["text"], unstamp(b.get("callback_data") or "")[0] or "") for row in keyboard for b in row]


def button(message: dict, prefix: str, index: int = 0) -> tuple[str, str]:
    """The ``index``-th button whose callback data starts with ``prefix``."""
    found = [b for b in buttons(message) if b[1].startswith(prefix)]
    assert len(found) > index, f"no button {prefix!r}#{index} on {_text(message)!r}: {buttons(message)}"
    return found[index]


class HandleGate:
    """Wraps the handlers' ``handle_journaled`` (what the transports call) to hold one user's replies
    until the test says go.

    The update is handled (and committed) first; then the worker thread waits, so the test can act
    (block the bot in the simulator, say) between the decision and the reply being sent.
    """

    def __init__(self, pintu: Pintu, user_id: int) -> None:
        self.inner = pintu.handlers.handle_journaled
        self.user_id = user_id
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, event: Incoming):
        actions = self.inner(event)
        if event.sender.telegram_id == self.user_id:
            self.entered.set()
            self.release.wait(WAIT * 2)
        return actions


@contextlib.contextmanager
def bot_on_simulator(framework: str, tmp_path: Any, **settings: Any) -> Iterator[Env]:
    """The bot on a fresh simulator and its own SQLite file, photos under ``tmp_path``, the demo area
    seeded; ``settings`` override Settings fields (e.g. ``form_path``). Stops cleanly afterwards."""
    from bot.config import Settings
    from bot.transports import make_transport
    from bot.wiring import build
    from simulator.testing import running_simulator
    from storage.db import create_schema
    from storage.seed import seed_demo

    with running_simulator(rate_limits=False) as sim:
        sim.register_bot(TOKEN, BOT_USERNAME, "Pintu")
        clock = FakeClock(MONDAY_8_WITA)
        pintu = build(Settings(bot_token=TOKEN, api_url=sim.url, database_url=f"sqlite:///{tmp_path / 'pintu.db'}",
                               framework=framework, invite_secret=SECRET, media_dir=str(tmp_path / "media"),
                               **settings), clock=clock)
        create_schema(pintu.engine)
        with pintu.uow() as uow:
            area = seed_demo(uow, clock.now())
            uow.commit()
        loop = LoopThread()
        env = Env(framework, sim, pintu, clock, area, make_transport(pintu), loop)
        try:
            loop.run(env.transport.start())
            yield env
        finally:
            try:
                loop.run(env.transport.stop())
            finally:
                loop.close()
                env.pintu.engine.dispose()
