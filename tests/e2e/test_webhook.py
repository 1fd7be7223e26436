"""Webhook mode, end to end, for python-telegram-bot and aiogram: the bot registers its webhook with the
simulator (setWebhook with secret_token and allowed_updates), the simulator POSTs every update to it, and
the whole booking story works. With a wrong secret the endpoint refuses (403; 401 without one) and not
one SQL statement runs; with the right one again, the user carries on.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event

from bot.config import Settings
from bot.transports import make_transport
from bot.webhook import SECRET_HEADER
from bot.wiring import build
from domain.clock import FakeClock
from e2e_support import BOT_ID, BOT_USERNAME, MONDAY_8_WITA, SECRET, TOKEN, Env, LoopThread, button
from simulator.testing import running_simulator
from storage.db import create_schema
from storage.seed import seed_demo
from test_story import register_and_book

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

WEBHOOK_SECRET = "pintu-webhook-Secret_42"
PATH = "/telegram/pintu"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["ptb", "aiogram"])
def webhook_env(request: pytest.FixtureRequest, tmp_path) -> Iterator[Env]:
    """Simulator + fresh seeded SQLite + the bot in webhook mode on a local port."""
    port = free_port()
    with running_simulator() as sim:
        sim.register_bot(TOKEN, BOT_USERNAME, "Pintu")
        clock = FakeClock(MONDAY_8_WITA)
        settings = Settings(bot_token=TOKEN, api_url=sim.url, database_url=f"sqlite:///{tmp_path / 'pintu.db'}",
                            framework=request.param, invite_secret=SECRET, mode="webhook",
                            webhook_url=f"http://127.0.0.1:{port}{PATH}", webhook_listen=f"127.0.0.1:{port}",
                            webhook_secret=WEBHOOK_SECRET)
        pintu = build(settings, clock=clock)
        create_schema(pintu.engine)
        with pintu.uow() as uow:
            area = seed_demo(uow, clock.now())
            uow.commit()
        loop = LoopThread()
        transport = make_transport(pintu)
        try:
            loop.run(transport.start())
            yield Env(request.param, sim, pintu, clock, area, transport, loop)
        finally:
            try:
                loop.run(transport.stop())
            finally:
                loop.close()
                pintu.engine.dispose()


def webhook_info(env: Env) -> dict:
    return env.sim.bot_call(TOKEN, "getWebhookInfo")["result"]


def test_the_bot_registers_its_webhook_and_books_through_it(webhook_env: Env) -> None:
    env = webhook_env
    info = webhook_info(env)
    assert info["url"] == env.pintu.settings.webhook_url
    assert sorted(info.get("allowed_updates") or []) == ["callback_query", "edited_message", "message"]
    # getUpdates is refused while a webhook is set: every update below came through the webhook.
    assert env.sim.bot_call(TOKEN, "getUpdates")["error_code"] == 409

    wati = env.person(5001, "Wati")
    booked = register_and_book(env, wati, "Wati Lestari", "6472010101209999")
    assert "Janji kunjungan dibuat" in booked.message["text"]
    assert env.query(lambda uow: uow.appointments.active_for_family(booked.family_id)) is not None
    # The conversation remembers the last update applied (what lets several workers drop redeliveries).
    last = env.query(lambda uow: uow.conversations.get(5001).last_update_id)
    assert last is not None and last > 0
    metrics = env.pintu.metrics.render().decode()
    assert 'pintu_updates_total{outcome="ok"}' in metrics
    assert 'pintu_telegram_requests_total{method="sendMessage"}' in metrics


def test_a_wrong_or_missing_secret_is_refused_before_the_database(webhook_env: Env) -> None:
    env = webhook_env
    url = env.pintu.settings.webhook_url
    statements: list[str] = []
    handled: list[object] = []
    inner = env.pintu.handlers.handle_journaled

    def counting_handle(incoming):  # the transport looks the method up per update
        handled.append(incoming)
        return inner(incoming)

    env.pintu.handlers.handle_journaled = counting_handle
    event.listen(env.pintu.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    # Someone who is not Telegram: no header → 401, a wrong one → 403, and nothing else happens.
    update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "text": "/start",
                                            "chat": {"id": 5002, "type": "private"},
                                            "from": {"id": 5002, "is_bot": False, "first_name": "Eve"}}}
    with httpx.Client(trust_env=False) as http:
        assert http.post(url, json=update).status_code == 401
        assert http.post(url, json=update, headers={SECRET_HEADER: "guess"}).status_code == 403
        assert http.post(url, content=b"not json", headers={SECRET_HEADER: WEBHOOK_SECRET}).status_code == 400

    # Telegram itself with a wrong secret (as after a leaked or rotated secret): the simulator POSTs
    # the update, is refused, retries, gives up — and the user, the conversation, the database saw nothing.
    assert env.sim.bot_call(TOKEN, "setWebhook", url=url, secret_token="wrong-secret")["ok"]
    budi = env.person(5003, "Budi")
    env.sim.send_text(BOT_ID, 5003, "/start")
    env.sim.wait_for(lambda: "403" in (webhook_info(env).get("last_error_message") or ""), timeout=10)
    env.sim.wait_for(lambda: webhook_info(env)["pending_update_count"] == 0, timeout=10)
    assert statements == [] and handled == []
    assert not any(m["from_bot"] for m in budi.messages())
    assert 'pintu_webhook_refused_total 6.0' in env.pintu.metrics.render().decode()  # 3 by hand + 3 attempts

    # The right secret again (the bot sets it at every start): Budi carries on.
    assert env.sim.bot_call(TOKEN, "setWebhook", url=url, secret_token=WEBHOOK_SECRET,
                            allowed_updates=["message", "callback_query"])["ok"]
    consent = budi.say("/start", "Selamat datang di Pintu")
    budi.press(consent, button(consent, "cs:y")[1], "kecamatan")
    assert handled and statements


def test_a_malformed_update_with_the_right_secret_is_answered_200_and_counted(webhook_env: Env) -> None:
    """Telegram would resend an update answered 500 forever; one the framework cannot read is dropped
    (200), logged and counted, and the next update is handled as usual."""
    env = webhook_env
    url = env.pintu.settings.webhook_url
    broken = [{"update_id": 990, "message": "not a message"},
              {"update_id": 991, "message": {"message_id": 1, "date": 0, "text": "/start", "chat": "nope",
                                             "from": {"id": 5004, "is_bot": False, "first_name": "Eve"}}},
              {"update_id": 992, "callback_query": {"id": 7}}]
    with httpx.Client(trust_env=False) as http:
        for update in broken:
            assert http.post(url, json=update, headers={SECRET_HEADER: WEBHOOK_SECRET}).status_code == 200
    assert "pintu_webhook_malformed_total 3.0" in env.pintu.metrics.render().decode()
    budi = env.person(5005, "Budi")
    budi.say("/start", "Selamat datang di Pintu")
