"""The demo: the Bot API simulator with its chat page, the bot polling it, SQLite, a sample area.

One process, one event loop: the simulator serves http://127.0.0.1:PORT (the page at "/"), the bot
polls it exactly as it would poll api.telegram.org, and the outbox dispatcher sends notifications.
The reference registry (`pintu registry serve`) runs on http://127.0.0.1:PORT+10 with its own SQLite
file, and every completed record is forwarded to it.
The page shows three people side by side: a resident, an RT head and an enumerator, each holding the
invite link they would have received.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from pathlib import Path

import httpx
from aiohttp import web

from bot.config import Settings
from bot.demo_constants import DEMO_BOT_ID, DEMO_BOT_TOKEN, DEMO_BOT_USERNAME
from bot.service import serve
from bot.wiring import build
from domain.admin import issue_invite
from domain.clock import Clock
from domain.invites import InviteKind
from simulator.config import SimulatorConfig
from simulator.server import create_app, make_runner
from storage.db import create_schema
from storage.seed import seed_demo

log = logging.getLogger(__name__)

RESIDENT, RT_HEAD, ENUMERATOR = 1001, 2001, 3001


async def run_demo(port: int = 8080, framework: str = "ptb", data_dir: str = "var/demo", fresh: bool = False,
                   stop: asyncio.Event | None = None, clock: Clock | None = None) -> None:
    """Start everything and run until interrupted (or until ``stop`` is set; tests also pass a clock)."""
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "pintu-demo.db"
    if fresh:
        for leftover in [*folder.glob("pintu-demo.db*"), *folder.glob("registry.db*")]:
            leftover.unlink()
    root = f"http://127.0.0.1:{port}"
    registry_token = _demo_secret(folder, "registry-token")
    settings = Settings(bot_token=DEMO_BOT_TOKEN, api_url=root, database_url=f"sqlite:///{database}",
                        framework=framework, invite_secret=_demo_secret(folder), bot_username=DEMO_BOT_USERNAME,
                        registry_url=f"http://127.0.0.1:{port + 10}", registry_token=registry_token,
                        media_dir=str(folder / "media"))
    runner = await _start_simulator(port)
    registry = await _start_registry(folder, port + 10, registry_token, _demo_secret(folder, "registry-read-token"))
    try:
        pintu = build(settings, clock=clock)
        await asyncio.to_thread(create_schema, pintu.engine)
        personas = await asyncio.to_thread(_prepare_data, pintu)
        await _introduce(root, personas)
        print(f"\nPintu demo is running: open {root}  (Ctrl-C to stop)\n"
              f"Completed records are forwarded to the reference registry at {settings.registry_url}\n", flush=True)
        await serve(pintu, stop)
    finally:
        await registry.cleanup()
        await runner.cleanup()


def _demo_secret(folder: Path, name: str = "invite-secret") -> str:
    """Keep the invite secret (and the registry tokens) across restarts so links handed out keep working."""
    path = folder / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip()


async def _start_simulator(port: int) -> web.AppRunner:
    runner = make_runner(create_app(SimulatorConfig()))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _start_registry(folder: Path, port: int, token: str, read_token: str) -> web.AppRunner:
    """The reference registry the demo forwards completed records to (its own SQLite file); records are
    read back with ``read_token`` (var/demo/registry-read-token), which the bot never holds."""
    from registry.service.app import create_app as create_registry
    from storage.db import make_engine

    engine = make_engine(f"sqlite:///{folder / 'registry.db'}")
    runner = web.AppRunner(create_registry(engine, token, read_token=read_token), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _prepare_data(pintu) -> list[dict]:  # type: ignore[no-untyped-def]
    """Seed the sample kelurahan and issue the three invites the people on the page start from."""
    now = pintu.clock.now()
    with pintu.uow() as uow:
        area = seed_demo(uow, now)
        uow.commit()
        rt_001 = uow.areas.get(area.sls_ids[0]).code
        secret = pintu.settings.invite_secret
        resident = issue_invite(uow, secret, InviteKind.RESIDENT, rt_001, now, days=14)
        head = issue_invite(uow, secret, InviteKind.RT_HEAD, rt_001, now, days=14)
        officer = issue_invite(uow, secret, InviteKind.ENUMERATOR, str(area.enumerator_ids[0]), now, days=14)
    return [
        {"user_id": RESIDENT, "first_name": "Wati", "title": "Warga — Wati (RT 001)", "start": resident.token},
        {"user_id": RT_HEAD, "first_name": "Slamet", "title": "Ketua RT 001 — Pak Slamet", "start": head.token},
        {"user_id": ENUMERATOR, "first_name": "Rina", "title": "Petugas — Rina", "start": officer.token},
    ]


async def _introduce(root: str, personas: list[dict]) -> None:
    """Register the demo bot and its three users with the simulator, through its user-side API."""
    async with httpx.AsyncClient(base_url=root, timeout=10) as client:
        await _post(client, "/sim/bots", {"token": DEMO_BOT_TOKEN, "username": DEMO_BOT_USERNAME, "first_name": "Pintu"})
        for persona in personas:
            await _post(client, "/sim/users", {"id": persona["user_id"], "first_name": persona["first_name"], "language_code": "id"})
        await _post(client, "/sim/personas", {
            "bot": int(DEMO_BOT_ID),
            "personas": [{k: p[k] for k in ("user_id", "title", "start")} for p in personas],
        })


async def _post(client: httpx.AsyncClient, path: str, body: dict) -> None:
    response = await client.post(path, json=body)
    response.raise_for_status()
