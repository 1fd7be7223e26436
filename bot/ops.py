"""Operations: Prometheus metrics, ``/healthz`` and ``/metrics`` on their own port (PINTU_METRICS_LISTEN).

Metrics carry no personal data: no chat id, user id, name or text is ever a label; labels are small
fixed sets (outcome, method). Each :class:`Metrics` has its own registry, so several bots in one process
(tests, several tokens) never collide in prometheus_client's global one.

``/healthz`` answers 200 with a JSON body when the database answers, the outbox scheduler runs (in a
process that dispatches) and the oldest due outbox row has waited less than PINTU_HEALTH_MAX_OUTBOX_LAG
seconds; otherwise 503 with the same body saying what is wrong. The body also gives the registry
backlog (records pending and parked, and how long the oldest pending one has waited); a registry that
is away makes it say ``"registry": "backlog"``, but never 503: restarting Pintu cannot bring another
organisation's server back, and nothing is lost meanwhile. A registry that refuses Pintu's credentials
or URL (401/403) makes it say ``"registry": "setting"`` with ``registry_setting`` naming what to check.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select, text

from bot.config import host_port
from chat.client import ApiClient, Sent, TelegramRefused
from chat.events import AnswerCallback, EditMessage, SendMessage
from domain.model import OutboxMessage, RecordDelivery

log = logging.getLogger(__name__)


class Metrics:
    """The bot's Prometheus metrics (one registry per instance)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("pintu_updates", "Updates handled, by outcome (ok, duplicate, db_error, error)",
                               ["outcome"], registry=r)
        self.handler_seconds = Histogram(
            "pintu_handler_seconds", "Time to handle one update (one database transaction)", registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
        self.sent = Counter("pintu_telegram_requests", "Bot API calls that succeeded, by method", ["method"], registry=r)
        self.refused = Counter("pintu_telegram_refusals", "Bot API calls Telegram refused, by kind "
                               "(retry_after is a 429)", ["kind"], registry=r)
        self.throttled = Counter("pintu_telegram_429", "429 Too Many Requests answers from Telegram", registry=r)
        self.errors = Counter("pintu_errors", "Errors by where they happened", ["where"], registry=r)
        self.replies = Counter("pintu_replies", "Replies to updates by what became of them (sent, retried, "
                               "handed_over to the outbox, undeliverable, failed, dropped; coalesced: updates "
                               "answered together with a later one)", ["outcome"], registry=r)
        self.webhook_refused = Counter("pintu_webhook_refused", "Webhook requests refused (secret, body)", registry=r)
        self.webhook_malformed = Counter("pintu_webhook_malformed", "Webhook updates with the right secret that "
                                         "could not be read (answered 200 and dropped)", registry=r)
        self.outbox_backlog = Gauge("pintu_outbox_backlog", "Outbox rows pending and due now", registry=r)
        self.outbox_lag = Gauge("pintu_outbox_lag_seconds", "How long the oldest due outbox row has waited", registry=r)
        self.registry_backlog = Gauge("pintu_registry_backlog", "Completed records not yet delivered to the "
                                      "registry, by status (pending, parked)", ["status"], registry=r)
        self.registry_lag = Gauge("pintu_registry_oldest_pending_seconds",
                                  "How long the oldest record pending for the registry has waited", registry=r)
        self.registry_deliveries = Counter("pintu_registry_deliveries", "Registry delivery attempts by outcome "
                                           "(delivered, retried, parked)", ["outcome"], registry=r)

    def observe_update(self, outcome: str, seconds: float) -> None:
        """The handlers' hook (PintuHandlers.observe), called from worker threads."""
        self.updates.labels(outcome).inc()
        self.handler_seconds.observe(seconds)
        if outcome in ("error", "db_error"):
            self.errors.labels("handler").inc()

    def observe_reply(self, delivery: Any, action: Any, update_id: int | None) -> None:
        """The reply sender's hook (chat/delivery.py): what became of one reply."""
        self.replies.labels(str(delivery)).inc()

    def instrument(self, api: ApiClient) -> ApiClient:
        return InstrumentedApi(api, self)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class InstrumentedApi(ApiClient):
    """An ApiClient that counts what it sends and what Telegram refuses, then passes everything through."""

    def __init__(self, inner: ApiClient, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics

    async def send_message(self, action: SendMessage) -> Sent:
        return await self._count("sendMessage", self.inner.send_message(action))

    async def edit_message(self, action: EditMessage) -> None:
        return await self._count("editMessageText", self.inner.edit_message(action))

    async def answer_callback(self, action: AnswerCallback) -> None:
        return await self._count("answerCallbackQuery", self.inner.answer_callback(action))

    async def send_document(self, action: Any) -> Sent:
        return await self._count("sendDocument", self.inner.send_document(action))

    async def send_photo(self, action: Any) -> Sent:
        return await self._count("sendPhoto", self.inner.send_photo(action))

    async def set_chat_menu(self, action: Any) -> None:
        return await self._count("setMyCommands", self.inner.set_chat_menu(action))

    async def _count(self, method: str, call: Any) -> Any:
        try:
            result = await call
        except TelegramRefused as refused:
            self.metrics.refused.labels(refused.kind).inc()
            if refused.kind == "retry_after":
                self.metrics.throttled.inc()
            raise
        self.metrics.sent.labels(method).inc()
        return result


# --- /healthz and /metrics ------------------------------------------------------------------------------

def outbox_state(pintu: Any) -> tuple[int, float]:
    """(rows pending and due, seconds the oldest of them has waited) — blocking, run it in a thread."""
    now = pintu.clock.now()
    with pintu.uow() as uow:
        due = (OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now)
        count, oldest = uow.session.execute(select(func.count(), func.min(OutboxMessage.due_at)).where(due)).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return int(count), max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def registry_state(pintu: Any) -> tuple[int, int, float]:
    """(records pending, parked, seconds the oldest pending one has waited) — blocking, run it in a thread."""
    now = pintu.clock.now()
    with pintu.uow() as uow:
        rows = uow.session.execute(select(RecordDelivery.status, func.count(), func.min(RecordDelivery.created_at))
                                   .where(RecordDelivery.status.in_(("pending", "parked")))
                                   .group_by(RecordDelivery.status)).all()
    found = {status: (int(count), oldest) for status, count, oldest in rows}
    pending, oldest = found.get("pending", (0, None))
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    return pending, found.get("parked", (0, None))[0], lag


def update_gauges(pintu: Any) -> None:
    """Read the outbox and registry backlogs into their gauges (blocking)."""
    backlog, lag = outbox_state(pintu)
    pintu.metrics.outbox_backlog.set(backlog)
    pintu.metrics.outbox_lag.set(lag)
    pending, parked, registry_lag = registry_state(pintu)
    pintu.metrics.registry_backlog.labels("pending").set(pending)
    pintu.metrics.registry_backlog.labels("parked").set(parked)
    pintu.metrics.registry_lag.set(registry_lag)


def check_health(pintu: Any, scheduler: Any | None, dispatching: bool) -> tuple[bool, dict[str, Any]]:
    """Blocking: whether this process is healthy, and the facts behind the answer."""
    report: dict[str, Any] = {}
    healthy = True
    started = time.perf_counter()
    try:
        with pintu.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        report["database"] = "ok"
        report["database_ms"] = round((time.perf_counter() - started) * 1000, 1)
    except Exception as error:  # the health check must answer, whatever the database does
        report["database"] = f"unreachable: {type(error).__name__}"
        return False, report
    if dispatching:
        alive = scheduler is not None and bool(getattr(scheduler, "running", False))
        report["scheduler"] = "running" if alive else "stopped"
        healthy = healthy and alive
    backlog, lag = outbox_state(pintu)
    pintu.metrics.outbox_backlog.set(backlog)
    pintu.metrics.outbox_lag.set(lag)
    report["outbox_backlog"], report["outbox_lag_seconds"] = backlog, round(lag, 1)
    if dispatching and lag > pintu.settings.max_outbox_lag:
        report["outbox"] = "lagging"
        healthy = False
    pending, parked, registry_lag = registry_state(pintu)
    pintu.metrics.registry_backlog.labels("pending").set(pending)
    pintu.metrics.registry_backlog.labels("parked").set(parked)
    pintu.metrics.registry_lag.set(registry_lag)
    report["registry_pending"], report["registry_parked"] = pending, parked
    report["registry_oldest_pending_seconds"] = round(registry_lag, 1)
    # Informational only (see the module's docstring): a registry outage never makes this process unhealthy.
    report["registry"] = "backlog" if registry_lag > pintu.settings.max_outbox_lag or parked else "ok"
    refused = registry_refused(pintu)
    if refused:  # not an outage: an operator's setting (credentials, URL); still never a 503
        report["registry"] = "setting"
        report["registry_setting"] = (f"the registry refuses Pintu ({refused}): check PINTU_REGISTRY_AUTH, "
                                      "its credentials and PINTU_REGISTRY_URL")
    return healthy, report


def registry_refused(pintu: Any) -> str | None:
    """The registry's refusal of Pintu's credentials or URL, if the last attempts got one (blocking)."""
    from registry.status import refused_setting

    with pintu.uow() as uow:
        return refused_setting(uow)[0]


class OpsServer:
    """``GET /healthz`` and ``GET /metrics`` on ``listen``; ``scheduler`` may be set after start."""

    def __init__(self, pintu: Any, listen: str, dispatching: bool) -> None:
        self.pintu = pintu
        self.listen = listen
        self.dispatching = dispatching
        self.scheduler: Any | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> None:
        host, port = host_port(self.listen)
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("health and metrics on %s:%s (/healthz, /metrics)", host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        healthy, report = await asyncio.to_thread(check_health, self.pintu, self.scheduler, self.dispatching)
        report["status"] = "ok" if healthy else "unhealthy"
        return web.Response(status=200 if healthy else 503, text=json.dumps(report), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.Response:
        try:  # the backlog gauges are read at scrape time
            await asyncio.to_thread(update_gauges, self.pintu)
        except Exception:
            self.pintu.metrics.errors.labels("metrics").inc()
        body = self.pintu.metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
