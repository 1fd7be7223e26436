"""Registry forwarding: throughput against a bare httpx loop, and draining a backlog after an outage.

    .venv/bin/python -m bench registry [--records 3000] [--concurrency 16] [--batch 500] [--count 50000]
                                       [--profile DIR]

The reference registry runs as its own process (`pintu registry serve`, SQLite) on loopback; Pintu's
database is an SQLite file (production settings). Figures:

1. records/s forwarded by the worker (claim with a lease, build the document, POST with
   Idempotency-Key, settle) next to two bare httpx POST loops of pre-built documents at the same
   concurrency, to the same service, in the same run, taking turns (bare, worker, worker, bare):
   "pooled" is one AsyncClient with a pool of ``--concurrency`` connections (the obvious loop),
   "per-connection" is ``--concurrency`` clients of one connection each (the worker's layout); the
   ratio worker / bare for each (goal >= 0.8).
2. a backlog of ``--count`` records completed during a one-hour outage, with the worker running
   through it (a run every PINTU_REGISTRY_INTERVAL = 5 s of fake time, real refused connections);
   then the registry is back and the figure is the time until everything is delivered: real seconds
   of sending, plus the fake-clock wait for the worker's next probe.

Records are inserted in bulk (already completed, consent copied), not through complete_record: the
subject is forwarding. Exit status 1 if anything is not delivered exactly once.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, insert, select, update

from domain.clock import FakeClock
from domain.model import Area, Enumerator, Family, Record, RecordDelivery
from registry.client import RegistryTarget
from registry.payload import PayloadBuilder
from registry.service.app import stored_keys
from registry.worker import ForwardPolicy, RegistryWorker
from storage.db import create_schema, make_engine, make_session_factory
from storage.uow import SqlUnitOfWork

TOKEN = "bench-token"
START = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(directory: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PINTU_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "registry", "serve", "--port", str(port), "--token", TOKEN,
         "--database", f"sqlite:///{directory / 'registry.db'}"],
        cwd=Path(__file__).resolve().parent.parent, env=env)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    raise SystemExit("the registry did not start")


def seed(engine, count: int, created: list[dt.datetime], queued: bool) -> list[str]:
    """``count`` completed records in one SLS (bulk); with deliveries when ``queued``."""
    sessions = make_session_factory(engine)
    with sessions() as session:
        tag = uuid.uuid4().hex[:6]
        parent = None
        for level, code in (("province", "64"), ("regency", "64.72"), ("district", "64.72.01"),
                            ("village", "64.72.01.1001"), ("sls", "64.72.01.1001.0001")):
            area = Area(code=f"{code}-{tag}", level=level, name=level, parent_id=parent, timezone="Asia/Makassar")
            session.add(area)
            session.flush()
            parent = area.id
        enumerator = Enumerator(name="Rina", visit_minutes=30)
        session.add(enumerator)
        session.flush()
        first = session.scalar(select(func.coalesce(func.max(Family.id), 0))) + 1
        session.execute(insert(Family), [
            {"id": first + i, "sls_id": parent, "head_name": f"Kepala {i}", "kk_number": None, "members": 4,
             "address": None, "created_at": START} for i in range(count)])
        ids = [str(uuid.uuid4()) for _ in range(count)]
        answers = {"atap": "seng", "dinding": "kayu", "jumlah_art": 4, "anggota": [{"nama": "A", "umur": 40}] * 4}
        session.execute(insert(Record), [
            {"id": rid, "family_id": first + i, "form_id": "regsosek", "form_version": "2026.1", "answers": answers,
             "latitude": -0.55, "longitude": 117.15, "geo_accuracy_m": 8.0, "geo_source": "gps",
             "geo_captured_at": created[i], "status": "completed", "completed_at": created[i],
             "consent_version": "1", "consent_at": START, "enumerator_id": enumerator.id, "version": 1,
             "created_at": created[i], "updated_at": created[i]} for i, rid in enumerate(ids)])
        if queued:
            session.execute(insert(RecordDelivery), [
                {"record_id": rid, "target": "registry", "status": "pending", "attempts": 0,
                 "next_attempt_at": created[i], "created_at": created[i]} for i, rid in enumerate(ids)])
        session.commit()
    return ids


async def bare_loop(url: str, bodies: list[tuple[str, bytes]], concurrency: int, layout: str) -> float:
    """The baseline: pre-built documents POSTed with nothing else around them; returns seconds."""
    if layout == "pooled":
        shared = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency,
                                                       max_keepalive_connections=concurrency))
        clients = [shared] * concurrency
    else:
        clients = [httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) for _ in range(concurrency)]
    queue = list(reversed(bodies))

    async def sender(client: httpx.AsyncClient) -> None:
        while queue:
            key, body = queue.pop()
            response = await client.post(url + "/v1/records", content=body, headers={
                "Idempotency-Key": key, "Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            assert response.status_code == 201, response.text

    try:
        started = time.perf_counter()
        await asyncio.gather(*(sender(c) for c in clients))
        return time.perf_counter() - started
    finally:
        for client in set(clients):
            await client.aclose()


async def worker_drain(worker: RegistryWorker, clock: FakeClock) -> tuple[float, float]:
    """Run until every delivery is settled; returns (real seconds, fake-clock seconds waited).

    When nothing is due, the fake clock jumps to the next moment something is (a row's backoff, or
    the worker's next probe of a registry it found unreachable): that wait is counted apart."""
    waited = 0.0
    started = time.perf_counter()
    while True:
        await worker.drain(max_seconds=3600)
        with worker.uow_factory() as uow:
            if uow.deliveries.counts()["pending"] == 0:
                return time.perf_counter() - started, waited
            due = uow.session.scalar(select(func.min(RecordDelivery.next_attempt_at))
                                     .where(RecordDelivery.status == "pending"))
        due = max(due, worker.probe_at or due)
        jump = max((due - clock.now()).total_seconds(), 0.0) + 0.001
        clock.advance(dt.timedelta(seconds=jump))
        waited += jump


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000, help="records per throughput measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--count", "--backlog", dest="count", type=int, default=50_000,
                        help="records in the backlog after the outage")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between worker runs in the outage")
    parser.add_argument("--profile", metavar="DIR", help="write cProfile files of the worker's drain there")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="pintu-bench-registry-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    service = start_service(directory, port)
    ok = True
    print(f"{os.cpu_count()} CPU cores; reference registry: its own process, SQLite; Pintu: SQLite")
    try:
        engine = make_engine(f"sqlite:///{directory / 'pintu.db'}")
        create_schema(engine)
        sessions = make_session_factory(engine)
        uow = lambda: SqlUnitOfWork(sessions)  # noqa: E731
        clock = FakeClock(START)
        policy = ForwardPolicy(batch=args.batch, concurrency=args.concurrency)

        # 1. Throughput, side by side, taking turns: bare, worker, worker, bare (each half of --records).
        n = args.records
        half = n // 2
        seconds = {"pooled": 0.0, "per-connection": 0.0, "worker": 0.0}
        all_ids: set[str] = set()
        worker_total = 0
        for turn in range(2):
            order = ["pooled", "per-connection", "worker"] if turn == 0 else ["worker", "per-connection", "pooled"]
            for what in order:
                if what == "worker":
                    ids = seed(engine, half, [START] * half, queued=True)
                    worker = RegistryWorker(uow, clock, RegistryTarget(url, TOKEN), media_dir=directory, policy=policy)
                    seconds["worker"] += asyncio.run(_drain_and_close(worker, clock))[0]
                    worker_total += half
                else:
                    ids = seed(engine, half, [START] * half, queued=False)
                    with sessions() as session:
                        payloads = PayloadBuilder(directory).build_many(session, ids)
                    bodies = [(rid, payloads[rid].body) for rid in ids]
                    seconds[what] += asyncio.run(bare_loop(url, bodies, args.concurrency, what))
                all_ids |= set(ids)
        rate = {what: 2 * half / spent for what, spent in seconds.items()}
        print(f"throughput, {2 * half} records each, concurrency {args.concurrency}, batch {args.batch}")
        print(f"  bare httpx POST loop, pooled client          {rate['pooled']:8.0f} records/s")
        print(f"  bare httpx POST loop, per-connection clients {rate['per-connection']:8.0f} records/s")
        print(f"  registry worker                              {rate['worker']:8.0f} records/s")
        print(f"  ratio worker / pooled loop                   {rate['worker'] / rate['pooled']:8.2f}   (goal >= 0.8)")
        print(f"  ratio worker / per-connection loop           {rate['worker'] / rate['per-connection']:8.2f}"
              "   (goal >= 0.8)")

        # 2. A backlog completed during a one-hour outage.
        m = args.count
        outage_start = START + dt.timedelta(hours=1)
        clock.set(outage_start)
        created = [outage_start + dt.timedelta(seconds=3600 * i / m) for i in range(m)]
        t0 = time.perf_counter()
        backlog_ids = seed(engine, m, created, queued=True)
        seeded = time.perf_counter() - t0
        down = f"http://127.0.0.1:{free_port()}"  # nothing listens: every connection is refused
        worker = RegistryWorker(uow, clock, RegistryTarget(down, TOKEN, timeout=1), media_dir=directory, policy=policy)
        t0 = time.perf_counter()
        runs = asyncio.run(_outage(worker, clock, outage_start + dt.timedelta(hours=1), args.interval))
        outage_real = time.perf_counter() - t0
        with uow() as u:
            attempts = u.session.scalar(select(func.sum(RecordDelivery.attempts)).where(
                RecordDelivery.record_id.in_(backlog_ids[:1000])))
        # The registry is back: the same worker (it saw the outage) drains the backlog.
        worker.target = RegistryTarget(url, TOKEN)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        real, waited = asyncio.run(_drain_and_close(worker, clock))
        if profiler is not None:
            profiler.disable()
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(str(Path(args.profile) / "registry-drain.prof"))
        print(f"backlog of {m} records completed during a one-hour outage (seeded in {seeded:.1f} s)")
        print(f"  the outage: {runs} worker runs ({outage_real:.1f} s real), "
              f"{attempts / 1000:.3f} attempts per record on average")
        print(f"  drained in {real:.1f} s of real sending + {waited:.1f} s waiting for the worker's next probe "
              f"({m / real:.0f} records/s)")
        print(f"  time to drain after the registry is back: {real + waited:.1f} s")

        keys = stored_keys(make_engine(f"sqlite:///{directory / 'registry.db'}"))
        expected = all_ids | set(backlog_ids)
        with uow() as u:
            counts = u.deliveries.counts()
        ok = set(keys) == expected and counts["delivered"] == worker_total + len(backlog_ids)
        print(f"exactly once: {'yes' if ok else 'NO'} ({len(keys)} keys stored, {sum(keys.values())} duplicates "
              f"absorbed, deliveries {counts})")
    finally:
        service.terminate()
        service.wait(10)
    return 0 if ok else 1


async def _drain_and_close(worker: RegistryWorker, clock: FakeClock) -> tuple[float, float]:
    try:
        return await worker_drain(worker, clock)
    finally:
        await worker.aclose()


async def _outage(worker: RegistryWorker, clock: FakeClock, until: dt.datetime, interval: float) -> int:
    """The worker keeps running through the outage, as the bot's interval job would: each run refused."""
    runs = 0
    while clock.now() < until:
        await worker.drain(max_seconds=5)
        runs += 1
        clock.advance(dt.timedelta(seconds=interval))
    await worker.aclose()
    return runs


if __name__ == "__main__":
    sys.exit(main())
