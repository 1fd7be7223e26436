"""`pintu run` forwards completed records to the registry in the dispatching roles, never in a bot-only one.

bot.service.serve is run for real: the transport against the Bot API simulator, the scheduler with its
jobs, and the reference registry on loopback.
"""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.config import Settings
from bot.service import serve
from bot.wiring import build
from domain.clock import FakeClock
from registry_support import TOKEN, RegistryServer, make_completed
from simulator.testing import running_simulator
from storage.db import create_schema

BOT_TOKEN = "4242:registry-wiring"
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def registry(tmp_path):
    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    yield server
    server.close()


def delivered_here(pintu) -> int:
    with pintu.uow() as uow:
        return uow.deliveries.counts()["delivered"]


async def run_role(role: str, tmp_path, registry: RegistryServer, until, seconds: float = 20.0):
    """Serve in ``role`` until ``until(registry, pintu)`` holds (or ``seconds``); returns (records stored,
    delivery counts, the process's metrics)."""
    with running_simulator() as sim:
        sim.register_bot(BOT_TOKEN, "wiring_bot", "Pintu")
        settings = Settings(bot_token=BOT_TOKEN, api_url=sim.url, database_url=f"sqlite:///{tmp_path / 'pintu.db'}",
                            invite_secret="s", role=role, registry_url=registry.url, registry_token=TOKEN,
                            registry_interval=0.1, media_dir=str(tmp_path))
        pintu = build(settings, clock=FakeClock(NOW))
        await asyncio.to_thread(create_schema, pintu.engine)
        ids = await asyncio.to_thread(make_completed, pintu.uow, NOW, 4)
        stop = asyncio.Event()
        task = asyncio.create_task(serve(pintu, stop))
        try:
            for _ in range(int(seconds * 10)):
                await asyncio.sleep(0.1)
                if task.done() or await asyncio.to_thread(until, registry, pintu):
                    break
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
        metrics = pintu.metrics.render().decode()
        pintu = build(settings, clock=FakeClock(NOW))
        with pintu.uow() as uow:
            counts = uow.deliveries.counts()
        pintu.engine.dispose()
        assert set(registry.keys()) <= set(ids)
        return len(registry.keys()), counts, metrics


@pytest.mark.parametrize("role", ["dispatcher", "all"])
async def test_a_dispatching_role_forwards_completed_records(role, tmp_path, registry):
    # Wait for the outcome to be written here, not only for the registry to have stored the records:
    # the registry stores a record before it answers.
    stored, counts, metrics = await run_role(role, tmp_path, registry,
                                             lambda r, pintu: len(r.keys()) == 4 and delivered_here(pintu) == 4)
    assert stored == 4 and counts["delivered"] == 4 and counts["pending"] == 0
    assert 'pintu_registry_deliveries_total{outcome="delivered"} 4.0' in metrics


async def test_a_bot_only_role_never_forwards(tmp_path, registry):
    # 2 s: twenty forwarding intervals of a dispatching process.
    stored, counts, _ = await run_role("bot", tmp_path, registry, lambda r, pintu: False, seconds=2.0)
    assert stored == 0 and counts["pending"] == 4 and registry.requests == 0
