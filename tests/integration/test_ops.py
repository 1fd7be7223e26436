"""/healthz and /metrics: the database, the scheduler and the outbox lag, on their own port."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import aiohttp
import pytest

from bot.config import Settings
from bot.ops import OpsServer
from bot.wiring import build
from domain.clock import FakeClock
from chat.events import Incoming, Sender
from storage.db import create_schema

NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def pintu(tmp_path):
    pintu = build(Settings(database_url=f"sqlite:///{tmp_path / 'ops.db'}", invite_secret="s", max_outbox_lag=300),
                  clock=FakeClock(NOW))
    create_schema(pintu.engine)
    yield pintu
    pintu.engine.dispose()


async def get(server: OpsServer, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(trust_env=False) as http:
        async with http.get(f"http://127.0.0.1:{server.port}{path}") as answer:
            return answer.status, await answer.text()


async def test_healthz_reports_database_scheduler_and_outbox_lag(pintu) -> None:
    server = OpsServer(pintu, "127.0.0.1:0", dispatching=True)
    server.scheduler = SimpleNamespace(running=True)
    await server.start()
    try:
        status, body = await get(server, "/healthz")
        assert status == 200, body
        assert '"database": "ok"' in body and '"scheduler": "running"' in body and '"outbox_backlog": 0' in body

        server.scheduler.running = False  # the dispatcher died: the container must be replaced
        status, body = await get(server, "/healthz")
        assert status == 503 and '"scheduler": "stopped"' in body
        server.scheduler.running = True

        with pintu.uow() as uow:  # a message due ten minutes ago and still pending: the outbox lags
            uow.outbox.add(1234, "test", {}, NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=10))
            uow.commit()
        status, body = await get(server, "/healthz")
        assert status == 503 and '"outbox": "lagging"' in body and '"outbox_lag_seconds": 600.0' in body

        status, text = await get(server, "/metrics")
        assert status == 200
        assert "pintu_outbox_backlog 1.0" in text and "pintu_outbox_lag_seconds 600.0" in text
        assert "1234" not in text, "no chat id in the metrics"

    finally:
        await server.stop()


async def test_a_bot_only_worker_is_healthy_without_a_scheduler_and_unhealthy_without_its_database(tmp_path) -> None:
    from storage.db import make_engine

    pintu = build(Settings(database_url=f"sqlite:///{tmp_path / 'ops.db'}", invite_secret="s"), clock=FakeClock(NOW))
    create_schema(pintu.engine)
    server = OpsServer(pintu, "127.0.0.1:0", dispatching=False)
    await server.start()
    try:
        status, body = await get(server, "/healthz")
        assert status == 200 and "scheduler" not in body
        pintu.engine.dispose()
        pintu.engine = make_engine("sqlite:////nonexistent/dir/pintu.db")
        status, body = await get(server, "/healthz")
        assert status == 503 and "unreachable" in body
    finally:
        await server.stop()
        pintu.engine.dispose()


def test_handled_updates_and_their_latency_are_counted(pintu) -> None:
    pintu.handlers.handle(Incoming(Sender(42, "Wati", "id"), 42, text="/bantuan", update_id=7))
    pintu.handlers.handle(Incoming(Sender(42, "Wati", "id"), 42, text="/bantuan", update_id=8))
    text = pintu.metrics.render().decode()
    assert 'pintu_updates_total{outcome="ok"} 2.0' in text
    assert "pintu_handler_seconds_count 2.0" in text
    assert "Wati" not in text and "chat" not in text and "user" not in text


async def test_healthz_and_metrics_show_the_registry_backlog_without_failing(pintu) -> None:
    from registry_support import make_completed

    ids = make_completed(pintu.uow, NOW - dt.timedelta(hours=1), 3)
    with pintu.uow() as uow:  # one refused for good by the registry
        uow.deliveries.mark_parked(uow.deliveries.for_record(ids[0])[0].id, "HTTP 422: schema")
        uow.commit()
    server = OpsServer(pintu, "127.0.0.1:0", dispatching=False)
    await server.start()
    try:
        status, body = await get(server, "/healthz")
        assert status == 200, body  # another organisation's outage is no reason to restart Pintu
        assert '"registry_pending": 2' in body and '"registry_parked": 1' in body
        assert '"registry_oldest_pending_seconds": 3600.0' in body and '"registry": "backlog"' in body
        status, text = await get(server, "/metrics")
        assert 'pintu_registry_backlog{status="pending"} 2.0' in text
        assert 'pintu_registry_backlog{status="parked"} 1.0' in text
        assert "pintu_registry_oldest_pending_seconds 3600.0" in text
        assert ids[0] not in text and "Siti" not in text
    finally:
        await server.stop()
