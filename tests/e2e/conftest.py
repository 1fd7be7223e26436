"""Fixtures of the end-to-end tests: the simulator, a fresh database and the bot, once per framework
(helpers and the story of what is running are in e2e_support.py)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.transports import make_transport
from bot.wiring import build
from domain.clock import FakeClock
from e2e_support import BOT_USERNAME, MONDAY_8_WITA, SECRET, TOKEN, Env, LoopThread
from simulator.testing import running_simulator
from storage.db import create_schema
from storage.seed import seed_demo


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "telegram_limits: run the simulator with Telegram's rate limits (429s)")


@pytest.fixture(params=["ptb", "aiogram"])
def env(request: pytest.FixtureRequest, tmp_path) -> Iterator[Env]:
    """Simulator + fresh migrated and seeded SQLite file + the bot polling with the chosen framework."""
    framework = request.param
    limits = request.node.get_closest_marker("telegram_limits") is not None
    with running_simulator(rate_limits=limits) as sim:
        sim.register_bot(TOKEN, BOT_USERNAME, "Pintu")
        clock = FakeClock(MONDAY_8_WITA)
        settings = Settings(bot_token=TOKEN, api_url=sim.url, database_url=f"sqlite:///{tmp_path / 'pintu.db'}",
                            framework=framework, invite_secret=SECRET)
        pintu = build(settings, clock=clock)
        create_schema(pintu.engine)
        with pintu.uow() as uow:
            area = seed_demo(uow, clock.now())
            uow.commit()
        loop = LoopThread()
        transport = make_transport(pintu)
        try:
            loop.run(transport.start())
            yield Env(framework, sim, pintu, clock, area, transport, loop)
        finally:
            try:
                loop.run(transport.stop())
            finally:
                loop.close()
                pintu.engine.dispose()
