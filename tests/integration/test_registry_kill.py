"""The standalone worker (`pintu registry forward`) killed with SIGKILL in the middle of deliveries:
another worker takes over once the leases end, and every record is in the registry exactly once."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from domain.clock import SystemClock
from domain.model import RecordDelivery
from registry.client import RegistryTarget
from registry.worker import ForwardPolicy, RegistryWorker
from registry_support import TOKEN, RegistryServer, make_completed

ROOT = Path(__file__).resolve().parents[2]


async def test_worker_killed_mid_delivery_then_another_finishes_exactly_once(engine, uow_factory, tmp_path):
    clock = SystemClock()
    ids = make_completed(uow_factory, clock.now(), 60)
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    server.mode, server.delay = "slow", 0.05  # every answer takes a while: kills land mid-request
    env = dict(os.environ, DATABASE_URL=engine.url.render_as_string(hide_password=False),
               PINTU_REGISTRY_URL=server.url, PINTU_REGISTRY_TOKEN=TOKEN, PINTU_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "registry", "forward", "--batch", "20", "--concurrency", "4",
         "--lease", "2", "--idle", "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while len(server.keys()) < 15:
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker delivered nothing"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        stored_at_kill = len(server.keys())
        with uow_factory() as uow:
            rows = uow.session.scalars(select(RecordDelivery)).all()
            in_flight = [r for r in rows if r.status == "pending" and r.claimed_until is not None]
            delivered = sum(r.status == "delivered" for r in rows)
        assert in_flight, "the kill should leave claimed rows behind"
        assert delivered < stored_at_kill or in_flight  # the registry knows more than Pintu recorded

        # A second worker: the dead one's rows wait for their lease (2 s), then go again.
        server.mode = "ok"
        worker = RegistryWorker(uow_factory, clock, RegistryTarget(server.url, TOKEN),
                                policy=ForwardPolicy(batch=50, concurrency=8, lease=dt.timedelta(seconds=2),
                                                     lease_margin=dt.timedelta(seconds=0.2)))
        deadline = time.monotonic() + 30
        while True:
            await worker.drain()
            with uow_factory() as uow:
                counts = uow.deliveries.counts()
            if counts["delivered"] == len(ids):
                break
            assert time.monotonic() < deadline, counts
            time.sleep(0.2)
        await worker.aclose()
        keys = server.keys()
        assert set(keys) == set(ids)  # exactly once by key: no key missing, none twice (primary key)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        server.close()
