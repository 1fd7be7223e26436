"""Fixtures for the simulator's own tests: a running simulator with one bot and one started user."""

from __future__ import annotations

from typing import Iterator

import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, drain
from simulator.testing import FakeClock, SimulatorHandle, running_simulator


@pytest.fixture
def sim() -> Iterator[SimulatorHandle]:
    """A simulator without rate limits, hosting bot ``TOKEN`` that user ``USER_ID`` has started."""
    with running_simulator(rate_limits=False) as handle:
        handle.register_bot(TOKEN, "pintu_test_bot", "Pintu")
        handle.create_user(USER_ID, "Ayu", username="ayu")
        handle.send_text(BOT_ID, USER_ID, "/start")
        drain(handle)
        yield handle


@pytest.fixture
def clock() -> FakeClock:
    """A hand-moved clock for the rate limiter."""
    return FakeClock()


@pytest.fixture
def limited_sim(clock: FakeClock) -> Iterator[SimulatorHandle]:
    """Like ``sim`` but with Telegram's rate limits, timed by ``clock``."""
    with running_simulator(clock=clock) as handle:
        handle.register_bot(TOKEN, "pintu_test_bot")
        handle.send_text(BOT_ID, USER_ID, "/start")
        drain(handle)
        yield handle
