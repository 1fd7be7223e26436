"""Shared constants and Bot API call helpers for the simulator tests."""

from __future__ import annotations

from simulator.testing import SimulatorHandle

TOKEN = "123456:test-token"
BOT_ID = 123456
USER_ID = 1001


def call(sim: SimulatorHandle, method: str, **params: object) -> dict:
    """A Bot API call as bot ``TOKEN``; the whole JSON answer."""
    return sim.bot_call(TOKEN, method, **params)


def ok(sim: SimulatorHandle, method: str, **params: object) -> object:
    """A Bot API call that must succeed; its result."""
    answer = call(sim, method, **params)
    assert answer["ok"], answer
    return answer["result"]


def error(sim: SimulatorHandle, method: str, **params: object) -> tuple[int, str]:
    """A Bot API call that must fail; (error_code, description)."""
    answer = call(sim, method, **params)
    assert not answer["ok"], answer
    return answer["error_code"], answer["description"]


def drain(sim: SimulatorHandle) -> list[dict]:
    """Confirm every pending update; returns them."""
    updates = ok(sim, "getUpdates")
    if updates:
        ok(sim, "getUpdates", offset=updates[-1]["update_id"] + 1)
    return updates
