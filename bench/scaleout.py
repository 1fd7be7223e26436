"""Scale-out: updates per second and p50/p99 handling latency with 1, 2 and 4 workers on one PostgreSQL.

    .venv/bin/python bench/scaleout.py [--users 200] [--updates 4000] [--threads 8] [--workers 1,2,4]

A "worker" is what one bot container is: a separate Python process with a PintuHandlers, its own engine
(its own connection pool) and ``--threads`` handler threads (the transports run handlers in worker threads). ``--users`` residents
are registered first through the real flow (/start … family members) on one worker; then ``--updates``
updates (/janji, /menu and "Pilih hari" button presses: conversation reads and writes under the per-user
lock) of random users are spread round-robin over the workers, all at once. Several updates of one user
are in flight together, as when Telegram delivers to several containers. Figures: updates/s, p50 and
p99 per update (one transaction each), and how many were dropped as late (older than one already applied).

PostgreSQL: a new database ``pintu_bench_<random>`` on PINTU_BENCH_PG_URL (else PINTU_TEST_PG_URL, else
postgresql://postgres@127.0.0.1:5432/test), dropped afterwards. Each worker is its own process, so the
GIL of one does not hold back another; on a machine with fewer cores than workers + PostgreSQL, the cores
are what limits the figures (the first line printed says how many there are).
"""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import itertools
import logging
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy import make_url

from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.model import Family
from handlers.app import PintuHandlers
from handlers.context import HandlerConfig
from chat.events import EditMessage, Incoming, SendMessage, Sender
from chat.keyboard import Keyboard
from storage.db import create_schema, make_engine, make_session_factory
from storage.seed import seed_demo
from storage.uow import SqlUnitOfWork

MONDAY_8_WITA = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
SECRET = "bench-secret"
_ids = itertools.count(1)


class Chat:
    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.keyboard: Keyboard | None = None
        self.message_id = 1

    def event(self, text: str | None = None, data: str | None = None) -> Incoming:
        sender = Sender(self.user_id, "Warga", "id")
        if data is None:
            return Incoming(sender, self.user_id, text=text, update_id=next(_ids))
        return Incoming(sender, self.user_id, callback_id=f"q{next(_ids)}", callback_data=data,
                        message_id=self.message_id, update_id=next(_ids))

    def run(self, worker: PintuHandlers, text: str | None = None, data: str | None = None) -> None:
        for action in worker.handle(self.event(text, data)):
            if isinstance(action, (SendMessage, EditMessage)) and isinstance(action.markup, Keyboard):
                self.keyboard = action.markup
                self.message_id = getattr(action, "message_id", self.message_id + 1)

    def button(self, prefix: str, text: str | None = None) -> str:
        for b in self.keyboard.buttons if self.keyboard else ():
            if b.data and b.data.startswith(prefix) and (text is None or b.text == text):
                return b.data
        raise RuntimeError(f"no button {prefix}")


def family_name(index: int) -> str:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return f"Keluarga {letters[index // 26 % 26]}{letters[index % 26]}"


def family_kk(index: int) -> str:
    return f"647201010120{5000 + index:04d}"


def register(worker: PintuHandlers, chat: Chat, index: int, invite: str) -> None:
    """The RT's invite → agree → the family's details: it is on the RT's list, so it links at once."""
    chat.run(worker, f"/start {invite}")
    chat.run(worker, data=chat.button("cs:y"))
    chat.run(worker, family_name(index))
    chat.run(worker, family_kk(index))
    chat.run(worker, data="mb:4")
    chat.run(worker, f"Jl. Mawar No. {index + 1}")
    chat.run(worker, "Lewati")


def _jobs(users: int, updates: int, workers: int) -> list[list[Incoming]]:
    """Each worker's share of the updates, made up front so every worker starts with its list ready."""
    chats = [Chat(900_000 + i) for i in range(users)]
    rng = random.Random(7)
    shares: list[list[Incoming]] = [[] for _ in range(workers)]
    for n in range(updates):
        chat = rng.choice(chats)
        kind = n % 3
        event = chat.event("/janji") if kind == 0 else chat.event("/menu") if kind == 1 else chat.event(data="nv:days")
        shares[n % workers].append(event)  # round-robin, like a load balancer in front of the containers
    return shares


def _worker(url: str, threads: int, events: list[Incoming], ready, go, results) -> None:
    """One bot container: its own process, engine (pool) and handler threads."""
    logging.basicConfig(level=logging.WARNING)
    engine = make_engine(url, pool_size=threads)
    factory = make_session_factory(engine)
    handlers = PintuHandlers(lambda: SqlUnitOfWork(factory), FakeClock(MONDAY_8_WITA), HandlerConfig(invite_secret=SECRET))
    latencies: list[float] = []
    outcomes: list[str] = []
    lock = threading.Lock()

    def observe(outcome: str, seconds: float) -> None:
        with lock:
            latencies.append(seconds)
            outcomes.append(outcome)

    handlers.observe = observe
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda _: engine.connect().close(), range(threads)))  # open the pool before the clock starts
        ready.set()
        go.wait()
        for future in [pool.submit(handlers.handle, event) for event in events]:
            future.result()
    engine.dispose()
    results.put((latencies, outcomes))


def run(url: str, users: int, updates: int, threads: int, workers: int) -> dict:
    """Start ``workers`` processes, release them together, and time until the last one is done."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter each, as a container would be
    go = context.Event()
    results = context.Queue()
    readies, processes = [], []
    for share in _jobs(users, updates, workers):
        ready = context.Event()
        # By its importable name: run as a script or through `python -m bench`, this module is __main__,
        # which a spawned process cannot look functions up in.
        target = importlib.import_module("bench.scaleout")._worker
        process = context.Process(target=target, args=(url, threads, share, ready, go, results))
        process.start()
        readies.append(ready)
        processes.append(process)
    for ready in readies:
        if not ready.wait(120):
            raise RuntimeError("a worker did not start")
    started = time.perf_counter()
    go.set()
    collected = [results.get(timeout=600) for _ in processes]
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join(30)
    latencies = sorted(seconds for share, _ in collected for seconds in share)
    outcomes = [outcome for _, share in collected for outcome in share]
    return {"workers": workers, "updates/s": updates / elapsed, "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000, "dropped": outcomes.count("duplicate"),
            "errors": sum(o in ("error", "db_error") for o in outcomes)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--updates", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    base = os.environ.get("PINTU_BENCH_PG_URL") or os.environ.get("PINTU_TEST_PG_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    failed = False
    rates: dict[int, float] = {}
    print(f"{os.cpu_count()} CPU cores on this machine: more worker processes than cores cannot add throughput")
    for workers in [int(w) for w in args.workers.split(",")]:
        name = f"pintu_bench_{secrets.token_hex(4)}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
        try:
            engine = make_engine(url)
            create_schema(engine)
            factory = make_session_factory(engine)
            clock = FakeClock(MONDAY_8_WITA)
            with SqlUnitOfWork(factory) as uow:
                demo = seed_demo(uow, clock.now())
                for i in range(args.users):  # the users' families, on RT 001's list (domain/claims.py)
                    uow.families.add(Family(sls_id=demo.sls_ids[0], head_name=family_name(i), kk_number=family_kk(i),
                                            members=4, created_at=clock.now()))
                uow.commit()
            invite = make_invite(SECRET, InviteKind.RESIDENT, demo.sls_ids[0], clock.now() + dt.timedelta(days=7))
            setup = PintuHandlers(lambda: SqlUnitOfWork(factory), clock, HandlerConfig(invite_secret=SECRET))
            for i in range(args.users):
                register(setup, Chat(900_000 + i), i, invite)
            engine.dispose()
            result = run(url, args.users, args.updates, args.threads, workers)
            failed |= result["errors"] > 0
            rates[workers] = result["updates/s"]
            base_rate = rates.get(min(rates))
            print(f"{result['workers']} worker process(es) x {args.threads} threads: {result['updates/s']:7.0f} updates/s "
                  f"({result['updates/s'] / base_rate:4.2f}x of {min(rates)})   "
                  f"p50 {result['p50_ms']:6.1f} ms   p99 {result['p99_ms']:6.1f} ms   "
                  f"dropped as late {result['dropped']}   errors {result['errors']}", flush=True)
        finally:
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
