"""Dispatch: due outbox rows through the real dispatcher to a simulator that enforces Telegram's limits.

    .venv/bin/python -m bench dispatch [--count 20000] [--chats 4000] [--rate 30] [--batch 100]
                                       [--database-url URL]

A fresh SQLite file (or ``--database-url``, e.g. a PostgreSQL database) is created and seeded with the
demo area and ``--count`` due ``visit-new`` rows spread round-robin over ``--chats`` distinct private
chats. The Bot API simulator runs with its rate limits ON, as Telegram's published guidance: 30 new
messages/s per bot (burst 30), 1/s per private chat (burst 3); beyond that it answers 429 with
retry_after. Every chat's user has written to the bot first (otherwise Telegram refuses with 403).

The production pieces send: ``scheduling.dispatcher.OutboxDispatcher`` with
``chat.ratelimit.RateLimiter(--rate, 1.0, burst=DISPATCH_BURST)`` (as in production)
over python-telegram-bot (``bot.ptb_transport.PtbApi``),
on the real clock, ``run_once`` repeated until nothing is due. Reported:

- achieved rate: messages the simulator accepted / seconds from the first to the last accepted message,
  and its ratio to the configured cap ``--rate`` (goal >= 0.95);
- 429s received (from the simulator's counters; goal 0);
- duplicates: messages the simulator accepted beyond one per row (must be 0), and rows not ``sent``.

The exit status is 1 when a duplicate, a lost row or a 429 occurred.
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

from domain.clock import SystemClock  # noqa: E402
from scheduling.dispatcher import DispatchPolicy, OutboxDispatcher  # noqa: E402
from chat.ratelimit import DISPATCH_BURST, RateLimiter  # noqa: E402
from simulator.testing import running_simulator  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.seed import seed_demo  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

TOKEN = "424242:bench-dispatch"
FIRST_CHAT = 7_000_000


def seed(url: str, count: int, chats: int, now: dt.datetime) -> None:
    engine = make_engine(url)
    create_schema(engine)
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as uow:
        demo = seed_demo(uow, now)
        uow.commit()
    from domain.model import Family, OutboxMessage
    from sqlalchemy import insert, select
    with factory() as session:
        family_id = session.scalars(select(Family.id).where(Family.sls_id == demo.sls_ids[0]).order_by(Family.id)).first()
        payload = {"appointment_id": None, "family_id": family_id,
                   "start": (now + dt.timedelta(days=1)).isoformat(), "old_start": None}
        columns = {c.name for c in OutboxMessage.__table__.columns}
        rows = []
        for n in range(count):
            row = {"chat_id": FIRST_CHAT + n % chats, "kind": "visit-new", "payload": payload,
                   "due_at": now, "created_at": now, "status": "pending", "attempts": 0}
            rows.append({k: v for k, v in row.items() if k in columns})
        for start in range(0, count, 5000):
            session.execute(insert(OutboxMessage), rows[start:start + 5000])
        session.commit()
    engine.dispose()


async def introduce(sim, bot_id: int, chats: int) -> None:  # noqa: ANN001
    """Every chat's user writes to the bot once, so the bot may message them."""
    async with sim.async_client() as client:
        gate = asyncio.Semaphore(32)

        async def one(chat: int) -> None:
            async with gate:
                await client.send_text(bot_id, chat, "/start")

        await asyncio.gather(*(one(FIRST_CHAT + n) for n in range(chats)))


async def dispatch(url: str, api_url: str, rate: float, batch: int) -> tuple[float, int]:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    from bot.ptb_transport import PtbApi

    engine = make_engine(url)
    factory = make_session_factory(engine)
    bot = Bot(TOKEN, base_url=f"{api_url}/bot", request=HTTPXRequest(connection_pool_size=64))
    limiter = RateLimiter(rate, 1.0, burst=DISPATCH_BURST)  # as RateLimiter.from_settings
    dispatcher = OutboxDispatcher(lambda: SqlUnitOfWork(factory), SystemClock(), PtbApi(bot), limiter,
                                  DispatchPolicy(batch=batch))
    sent = 0
    started = time.monotonic()
    async with bot:
        while True:
            report = await dispatcher.run_once()
            sent += report.sent
            if not report.claimed:
                with SqlUnitOfWork(factory) as uow:
                    left = uow.outbox.counts().get("pending", 0)
                if not left:
                    break
                await asyncio.sleep(0.2)  # rows waiting for a retry_after / backoff
    elapsed = time.monotonic() - started
    await asyncio.to_thread(engine.dispose)
    return elapsed, sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench dispatch", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000, help="due rows (default 20000)")
    parser.add_argument("--chats", type=int, default=4_000, help="distinct private chats (default 4000)")
    parser.add_argument("--rate", type=float, default=30.0, help="the dispatcher's configured cap, msg/s")
    parser.add_argument("--batch", type=int, default=100, help="rows claimed per run_once")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args(argv)

    now = SystemClock().now()
    with tempfile.TemporaryDirectory() as work:
        url = args.database_url or f"sqlite:///{os.path.join(work, 'dispatch.db')}"
        t0 = time.monotonic()
        seed(url, args.count, args.chats, now)
        print(f"seeded {args.count} due rows over {args.chats} chats in {time.monotonic() - t0:.1f} s", flush=True)
        with running_simulator(rate_limits=True) as sim:
            bot_id = sim.register_bot(TOKEN, "pintu_bench_bot")
            t0 = time.monotonic()
            asyncio.run(introduce(sim, bot_id, args.chats))
            print(f"{args.chats} users wrote /start in {time.monotonic() - t0:.1f} s", flush=True)
            before = sim.stats(bot_id)
            elapsed, sent = asyncio.run(dispatch(url, sim.url, args.rate, args.batch))
            stats = sim.stats(bot_id)
        engine = make_engine(url)
        with SqlUnitOfWork(make_session_factory(engine)) as uow:
            counts = uow.outbox.counts()
        engine.dispose()

    per_chat = {int(c): n for c, n in stats["new_messages"].items()}
    base = {int(c): n for c, n in before["new_messages"].items()}
    delivered = {c: n - base.get(c, 0) for c, n in per_chat.items()}
    expected = {FIRST_CHAT + c: args.count // args.chats + (1 if c < args.count % args.chats else 0)
                for c in range(args.chats)}
    accepted = sum(delivered.values())
    duplicates = sum(max(0, delivered.get(c, 0) - n) for c, n in expected.items())
    missing = sum(max(0, n - delivered.get(c, 0)) for c, n in expected.items())
    too_many = stats.get("too_many_requests", 0) - before.get("too_many_requests", 0)
    achieved = accepted / elapsed if elapsed else 0.0
    print(f"rows {args.count}, chats {args.chats}, cap {args.rate:g} msg/s, batch {args.batch}")
    print(f"sent (dispatcher) {sent}; outbox statuses {counts}")
    print(f"accepted by the simulator {accepted} in {elapsed:.1f} s = {achieved:.2f} msg/s = "
          f"{achieved / args.rate:.3f} of the cap")
    print(f"429s received {too_many}; duplicates {duplicates}; missing {missing}")
    return 1 if duplicates or missing or too_many or counts.get("sent", 0) != args.count else 0


if __name__ == "__main__":
    sys.exit(main())
