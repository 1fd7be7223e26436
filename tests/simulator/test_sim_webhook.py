"""Webhook delivery to a small aiohttp receiver on loopback."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager
from typing import AsyncIterator

import pytest
from aiohttp import web

from sim_helpers import BOT_ID, TOKEN, USER_ID, error, ok
from simulator.testing import running_simulator


class Receiver:
    """Records the POSTs it gets; answers with the queued statuses first, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict, str | None]] = []
        self.statuses: list[int] = []
        self.reply: dict | None = None
        self.hangs = 0  # this many first requests never get an answer (the simulator times out)
        self.arrived = asyncio.Event()
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.arrived.set()
        if self.hangs:
            self.hangs -= 1
            await asyncio.Event().wait()  # until the simulator gives up and hangs up
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200 and self.reply is not None:
            return web.json_response(self.reply)
        return web.Response(status=status)

    async def wait(self, count: int) -> None:
        while len(self.requests) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 5)


@asynccontextmanager
async def serving(hook: Receiver) -> AsyncIterator[Receiver]:
    """Serve ``hook`` at ``hook.url`` on a free loopback port."""
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)  # hung handlers end with their client
    await runner.setup()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        hook.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
        try:
            yield hook
        finally:
            await runner.cleanup()


async def nothing_pending(user) -> None:
    """Wait until the simulator has seen the receiver's answers (the queue is empty)."""

    async def empty() -> bool:
        return (await user.bot_call(TOKEN, "getWebhookInfo"))["result"]["pending_update_count"] == 0

    await user.wait_for(empty)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serving(Receiver()) as hook:
        yield hook


async def test_updates_are_posted_with_the_secret_token(sim, receiver):
    assert ok(sim, "setWebhook", url=receiver.url, secret_token="s3cret_-Token") is True
    async with sim.async_client() as user:
        await user.send_text(BOT_ID, USER_ID, "one")
        await user.send_text(BOT_ID, USER_ID, "two")
        await receiver.wait(2)
        await nothing_pending(user)
    texts = [(update["message"]["text"], secret) for update, secret in receiver.requests]
    assert texts == [("one", "s3cret_-Token"), ("two", "s3cret_-Token")]
    assert ok(sim, "getWebhookInfo")["url"] == receiver.url


async def test_no_secret_header_without_a_secret(sim, receiver):
    ok(sim, "setWebhook", url=receiver.url)
    async with sim.async_client() as user:
        await user.send_text(BOT_ID, USER_ID, "hi")
        await receiver.wait(1)
    assert receiver.requests[0][1] is None


async def test_failed_deliveries_are_retried_then_given_up(receiver):
    receiver.statuses = [500, 500, 500, 503]
    with running_simulator(rate_limits=False, webhook_attempts=3, webhook_retry_delay=0.01) as sim:
        sim.register_bot(TOKEN, "pintu_test_bot")
        ok(sim, "setWebhook", url=receiver.url)
        async with sim.async_client() as user:
            await user.send_text(BOT_ID, USER_ID, "lost")  # 3 attempts, all 500: given up
            await user.send_text(BOT_ID, USER_ID, "kept")  # 503, then delivered
            await receiver.wait(5)
            await nothing_pending(user)
        assert [update["message"]["text"] for update, _ in receiver.requests] == ["lost"] * 3 + ["kept"] * 2
        info = ok(sim, "getWebhookInfo")
        assert info["last_error_message"] == "Wrong response from the webhook: 503 Service Unavailable"
        assert isinstance(info["last_error_date"], int)


async def test_a_timed_out_delivery_is_redelivered(receiver):
    receiver.hangs = 1
    settings = {"webhook_attempts": 3, "webhook_retry_delay": 0.01, "webhook_timeout": 0.3}
    with running_simulator(rate_limits=False, **settings) as sim:
        sim.register_bot(TOKEN, "pintu_test_bot")
        ok(sim, "setWebhook", url=receiver.url)
        async with sim.async_client() as user:
            await user.send_text(BOT_ID, USER_ID, "slow webhook")
            await user.send_text(BOT_ID, USER_ID, "next")
            await receiver.wait(3)
            await nothing_pending(user)
        updates = [update for update, _ in receiver.requests]
        # The unanswered update comes again, with the same update_id, before the next one.
        assert [u["message"]["text"] for u in updates] == ["slow webhook", "slow webhook", "next"]
        assert updates[0]["update_id"] == updates[1]["update_id"]
        assert ok(sim, "getWebhookInfo")["last_error_message"] == "Read timeout expired"


async def test_unreachable_webhook_reports_the_error(sim):
    ok(sim, "setWebhook", url="http://127.0.0.1:9/unreachable")
    async with sim.async_client() as user:
        await user.send_text(BOT_ID, USER_ID, "nowhere")

        async def failed() -> bool:
            return "last_error_message" in (await user.bot_call(TOKEN, "getWebhookInfo"))["result"]

        await user.wait_for(failed, timeout=10)
    assert ok(sim, "getWebhookInfo")["last_error_message"].startswith("Connection failed")


async def test_a_webhook_reply_can_carry_a_method_call(sim, receiver):
    receiver.reply = {"method": "sendMessage", "chat_id": USER_ID, "text": "replied in the webhook answer"}
    ok(sim, "setWebhook", url=receiver.url)
    async with sim.async_client() as user:
        await user.send_text(BOT_ID, USER_ID, "hello")
        reply = await user.wait_for_message(BOT_ID, USER_ID)
    assert reply["text"] == "replied in the webhook answer"


def test_set_webhook_validation(sim):
    assert error(sim, "setWebhook", url="ftp://example.com/hook") == (400, "Bad Request: invalid webhook URL specified")
    assert error(sim, "setWebhook", url="https://example.com/hook", secret_token="no spaces") == (
        400,
        "Bad Request: secret token contains unallowed characters",
    )
    assert error(sim, "setWebhook", url="https://example.com/hook", secret_token="x" * 257) == (
        400,
        "Bad Request: secret token is too long",
    )


def test_webhook_info_without_a_webhook(sim):
    sim.send_text(BOT_ID, USER_ID, "pending")
    assert ok(sim, "getWebhookInfo") == {"url": "", "has_custom_certificate": False, "pending_update_count": 1}
    ok(sim, "setWebhook", url="https://example.com/hook", allowed_updates=["message"], max_connections=5)
    info = ok(sim, "getWebhookInfo")
    assert (info["allowed_updates"], info["max_connections"]) == (["message"], 5)
    ok(sim, "setWebhook", url="")  # an empty URL removes the webhook
    assert ok(sim, "getWebhookInfo")["url"] == ""
