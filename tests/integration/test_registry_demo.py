"""The demo starts the reference registry next to the bot and forwards every completed record to it."""
from __future__ import annotations

import asyncio
import datetime as dt

import httpx

from bot.config import Settings
from bot.demo import run_demo
from bot.wiring import build
from domain.clock import FakeClock
from registry_support import free_port, make_completed

MONDAY_MORNING = dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.timezone.utc)


async def test_the_demo_forwards_completed_records_to_its_reference_registry(tmp_path):
    port = free_port()
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo(port=port, data_dir=str(tmp_path), fresh=True, stop=stop,
                                        clock=FakeClock(MONDAY_MORNING)))
    registry = f"http://127.0.0.1:{port + 10}"
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(200):
                assert not demo.done(), demo.exception()
                try:
                    if (await http.get(f"{registry}/healthz")).status_code == 200 and (tmp_path / "pintu-demo.db").exists():
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)  # the demo seeds its area before it starts serving
            pintu = build(Settings(database_url=f"sqlite:///{tmp_path / 'pintu-demo.db'}"))
            ids = await asyncio.to_thread(make_completed, pintu.uow, MONDAY_MORNING, 2)
            pintu.engine.dispose()
            token = (tmp_path / "registry-read-token").read_text().strip()  # the forwarder's token cannot read
            stored: set[str] = set()
            for _ in range(150):
                for rid in set(ids) - stored:
                    answer = await http.get(f"{registry}/v1/records/{rid}", headers={"Authorization": f"Bearer {token}"})
                    if answer.status_code == 200:
                        stored.add(rid)
                if stored == set(ids):
                    break
                await asyncio.sleep(0.2)
            assert stored == set(ids), "the demo did not forward its completed records"
    finally:
        stop.set()
        await asyncio.wait_for(demo, 30)
