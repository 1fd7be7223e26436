"""The demo: the Bot API simulator with its chat page, the bot polling it, SQLite, a sample area.

One process, one event loop: the simulator serves http://127.0.0.1:PORT (the page at "/"), the bot
polls it exactly as it would poll api.telegram.org, and the outbox dispatcher sends notifications.
The reference registry (`pintu registry serve`) runs on http://127.0.0.1:PORT+10 with its own SQLite
file, and every completed record is forwarded to it. The web dashboard (`pintu web`, docs/dashboard.md)
runs on http://127.0.0.1:PORT+20; the chat page links to it, and the supervisor's /dasbor signs in.
The page shows four people side by side: a resident and an RT head, each holding the invite link
they would have received, the enumerator Rina, whose Telegram account is set up by the seed (so every
booking notifies her, whenever her pane is opened), and a supervisor of the kelurahan. Each pane shares
locations inside the demo kelurahan by default and shows times in its zone (WITA).
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
from domain.model import Family, User
from domain.privacy import current_notice
from simulator.config import SimulatorConfig
from simulator.server import create_app, make_runner
from storage.db import create_schema
from storage.seed import DEMO_CENTRE, seed_demo

log = logging.getLogger(__name__)

RESIDENT, RT_HEAD, ENUMERATOR, SUPERVISOR = 1001, 2001, 3001, 4001


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
                        media_dir=str(folder / "media"), web_url=f"http://127.0.0.1:{port + 20}")
    runner = await _start_simulator(port)
    try:
        registry = await _start_registry(folder, port + 10, registry_token, _demo_secret(folder, "registry-read-token"))
    except BaseException:
        await runner.cleanup()
        raise
    dashboard: web.AppRunner | None = None
    try:
        pintu = build(settings, clock=clock)
        await asyncio.to_thread(create_schema, pintu.engine)
        personas = await asyncio.to_thread(_prepare_data, pintu)
        dashboard = await _start_dashboard(pintu, port + 20)
        await _introduce(root, personas, settings.web_url)
        print(f"\nPintu demo is running: open {root}  (Ctrl-C to stop)\n"
              f"Completed records are forwarded to the reference registry at {settings.registry_url}\n"
              f"The web dashboard is at {settings.web_url} (send /dasbor in the supervisor's pane)\n", flush=True)
        await serve(pintu, stop)
    finally:
        if dashboard is not None:
            await dashboard.cleanup()
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


async def _start_dashboard(pintu, port: int) -> web.AppRunner:  # type: ignore[no-untyped-def]
    """The web dashboard over the demo's database (the same app `pintu web` serves)."""
    from web.app import WebDeps, build_web_app

    runner = web.AppRunner(build_web_app(WebDeps(pintu.settings, pintu.clock, pintu.uow)), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _prepare_data(pintu) -> list[dict]:  # type: ignore[no-untyped-def]
    """Seed the sample kelurahan, set up Rina's account and issue the invites the other panes start from."""
    now = pintu.clock.now()
    with pintu.uow() as uow:
        area = seed_demo(uow, now)
        _officer_account(uow, area.enumerator_ids[0], now, current_notice("enumerator"))
        _list_demo_family(uow, area.sls_ids[0], now)
        uow.commit()
        rt_001 = uow.areas.get(area.sls_ids[0])
        village = uow.areas.get(area.village_id)
        secret = pintu.settings.invite_secret
        resident = issue_invite(uow, secret, InviteKind.RESIDENT, rt_001.code, now, days=14)
        head = issue_invite(uow, secret, InviteKind.RT_HEAD, rt_001.code, now, days=14)
        supervisor = issue_invite(uow, secret, InviteKind.SUPERVISOR, village.code, now, days=14)
    place = {"latitude": DEMO_CENTRE[0] + 0.0005, "longitude": DEMO_CENTRE[1] + 0.0004, "zone": village.timezone}
    return [
        {"user_id": RESIDENT, "first_name": "Wati", "title": "Warga — Wati (RT 001)", "start": resident.token, **place},
        {"user_id": RT_HEAD, "first_name": "Slamet", "title": "Ketua RT 001 — Pak Slamet", "start": head.token, **place},
        {"user_id": ENUMERATOR, "first_name": "Rina", "title": "Petugas — Rina", "start": "", **place},
        {"user_id": SUPERVISOR, "first_name": "Budi", "title": f"Pengawas — {village.name}", "start": supervisor.token,
         **place},
    ]


def _officer_account(uow, enumerator_id: int, now, consent_version: str) -> None:  # type: ignore[no-untyped-def]
    """Rina's Telegram account, as if she had opened her invite before the demo began: the bookings
    the other panes make are announced to her from the first one on."""
    if uow.users.by_telegram_id(ENUMERATOR) is not None:
        return
    user = uow.users.add(User(telegram_id=ENUMERATOR, first_name="Rina", language="id", role="enumerator",
                              consent_version=consent_version, consent_at=now, created_at=now))
    uow.enumerators.get(enumerator_id).user_id = user.id

# Wati's family, on RT 001's list as if the RT head had imported it: through the RT's invite her KK and
# name link her at once (domain/claims.py); any other family waits for the RT head's approval.
DEMO_FAMILY = ("Wati Susanti", "6472011509230007", 4)


def _list_demo_family(uow, sls_id: int, now) -> None:  # type: ignore[no-untyped-def]
    name, kk, members = DEMO_FAMILY
    if uow.families.by_kk(kk) is None:
        uow.families.add(Family(sls_id=sls_id, head_name=name, kk_number=kk, members=members, created_at=now))


async def _introduce(root: str, personas: list[dict], dashboard_url: str = "") -> None:
    """Register the demo bot and its three users with the simulator, through its user-side API."""
    async with httpx.AsyncClient(base_url=root, timeout=10) as client:
        await _post(client, "/sim/bots", {"token": DEMO_BOT_TOKEN, "username": DEMO_BOT_USERNAME, "first_name": "Pintu"})
        for persona in personas:
            await _post(client, "/sim/users", {"id": persona["user_id"], "first_name": persona["first_name"], "language_code": "id"})
        await _post(client, "/sim/personas", {
            "bot": int(DEMO_BOT_ID),
            "personas": [{k: p[k] for k in ("user_id", "title", "start", "latitude", "longitude", "zone")}
                         for p in personas],
            "links": [{"title": "🖥 Dasbor web (pengawas: /dasbor)", "url": dashboard_url}] if dashboard_url else [],
        })
        # Rina opened the bot before the demo began (her account is seeded): her chat exists, so the
        # notices of the bookings the other panes make reach her, as they would on Telegram.
        await _post(client, f"/sim/{DEMO_BOT_ID}/users/{ENUMERATOR}/messages", {"text": "/start"})


async def _post(client: httpx.AsyncClient, path: str, body: dict) -> None:
    response = await client.post(path, json=body)
    response.raise_for_status()
