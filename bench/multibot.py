"""Several tokens: each bot's dispatcher sends its own chats' rows at its own cap, side by side.

    .venv/bin/python -m bench multibot [--tokens 2] [--count 6000] [--chats 1200] [--rate 30]

A fresh SQLite file gets ``--count`` due ``visit-new`` rows over ``--chats`` private chats; chat n belongs
to bot n mod ``--tokens`` (``users.bot_key``, as domain/bots.py records it). The Bot API simulator runs
with Telegram's limits ON for every token. One production dispatcher per token (its own
``RateLimiter(--rate)``, ``OutboxDispatcher(bot=key)``: it claims only its chats' rows, as each bot
process does) runs at the same time in one event loop. Reported per token: messages the simulator
accepted per second and the ratio to the cap (goal >= 0.95 each: one token's backlog does not slow
another), 429s, duplicates and rows sent through the wrong token (must be 0).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.dispatch import FIRST_CHAT, seed  # noqa: E402
from domain.clock import SystemClock  # noqa: E402
from domain.model import User  # noqa: E402
from scheduling.dispatcher import DispatchPolicy, OutboxDispatcher  # noqa: E402
from chat.ratelimit import DISPATCH_BURST, RateLimiter  # noqa: E402
from simulator.testing import running_simulator  # noqa: E402
from storage.db import make_engine, make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402


def token(n: int) -> str:
    return f"{5100 + n}:bench-multibot-{n}"


def key(n: int) -> str:
    return f"bot{n}"


def assign_chats(url: str, chats: int, tokens: int, now: dt.datetime) -> None:
    """Every chat's user, recorded with the bot they talk to."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        session.execute(insert(User), [
            {"telegram_id": FIRST_CHAT + c, "first_name": "Warga", "language": "id", "role": "resident",
             "consent_version": "2025-1", "consent_at": now, "created_at": now, "bot_key": key(c % tokens)}
            for c in range(chats)])
        session.commit()
    engine.dispose()


async def introduce(sim, bot_ids: list[int], chats: int) -> None:  # noqa: ANN001
    """Each user writes /start to their own bot, so it may message them."""
    async with sim.async_client() as client:
        gate = asyncio.Semaphore(32)

        async def one(chat: int) -> None:
            async with gate:
                await client.send_text(bot_ids[chat % len(bot_ids)], FIRST_CHAT + chat, "/start")

        await asyncio.gather(*(one(c) for c in range(chats)))


async def run_all(url: str, api_url: str, tokens: int, rate: float) -> list[tuple[float, int]]:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.ptb_transport import PtbApi

    engine = make_engine(url)
    factory = make_session_factory(engine)

    async def one(n: int) -> tuple[float, int]:
        bot = Bot(token(n), base_url=f"{api_url}/bot", request=HTTPXRequest(connection_pool_size=64))
        dispatcher = OutboxDispatcher(lambda: SqlUnitOfWork(factory), SystemClock(), PtbApi(bot),
                                      RateLimiter(rate, 1.0, burst=DISPATCH_BURST), DispatchPolicy(batch=100),
                                      bot=key(n))
        sent, started, last = 0, time.monotonic(), time.monotonic()
        async with bot:
            while True:
                report = await dispatcher.run_once()
                sent += report.sent
                if report.sent:
                    last = time.monotonic()
                if not report.claimed:
                    break  # this bot's rows are all settled (no 429s expected: a retry would come back here)
        return last - started, sent

    results = await asyncio.gather(*(one(n) for n in range(tokens)))
    await asyncio.to_thread(engine.dispose)
    return list(results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench multibot", description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2)
    parser.add_argument("--count", type=int, default=6_000, help="due rows over all tokens")
    parser.add_argument("--chats", type=int, default=1_200)
    parser.add_argument("--rate", type=float, default=30.0, help="each dispatcher's cap, msg/s")
    args = parser.parse_args(argv)

    now = SystemClock().now()
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{os.path.join(work, 'multibot.db')}"
        seed(url, args.count, args.chats, now)
        assign_chats(url, args.chats, args.tokens, now)
        with running_simulator(rate_limits=True) as sim:
            bot_ids = [sim.register_bot(token(n), f"pintu_bench_{n}_bot") for n in range(args.tokens)]
            asyncio.run(introduce(sim, bot_ids, args.chats))
            before = [sim.stats(b) for b in bot_ids]
            results = asyncio.run(run_all(url, sim.url, args.tokens, args.rate))
            after = [sim.stats(b) for b in bot_ids]

    failed = False
    print(f"{args.tokens} tokens, {args.count} rows over {args.chats} chats, cap {args.rate:g} msg/s each")
    for n, ((elapsed, sent), b, a) in enumerate(zip(results, before, after)):
        accepted = {int(c): v - b["new_messages"].get(c, 0) for c, v in a["new_messages"].items()}
        mine = {FIRST_CHAT + c for c in range(args.chats) if c % args.tokens == n}
        expected = {c: args.count // args.chats + (1 if c - FIRST_CHAT < args.count % args.chats else 0) for c in mine}
        wrong = sum(v for c, v in accepted.items() if c not in mine)
        duplicates = sum(max(0, accepted.get(c, 0) - e) for c, e in expected.items())
        missing = sum(max(0, e - accepted.get(c, 0)) for c, e in expected.items())
        too_many = a.get("too_many_requests", 0) - b.get("too_many_requests", 0)
        total = sum(v for c, v in accepted.items() if c in mine)
        rate = total / elapsed if elapsed else 0.0
        print(f"token {n}: {total} messages in {elapsed:.1f} s = {rate:.2f} msg/s = {rate / args.rate:.3f} of its cap; "
              f"429s {too_many}; duplicates {duplicates}; missing {missing}; through the wrong token {wrong}")
        failed |= bool(wrong or duplicates or missing or too_many)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
