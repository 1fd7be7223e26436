"""Webhook mode: the HTTP endpoint Telegram POSTs updates to, shared by both transports.

Only this much is here: check Telegram's ``X-Telegram-Bot-Api-Secret-Token`` (constant-time), parse the
JSON, and hand the update to the transport's ``feed`` (PTB's update processor or aiogram's dispatcher,
the same path polling takes). A missing secret is refused with 401, a wrong one with 403, and a body that
is not a JSON object with 400 — all before anything reaches the handlers or the database. An update
that carries the right secret but that the framework cannot read (a field of the wrong type: Telegram
changed something, or the secret leaked) is answered 200, logged (its update id, never its content) and
counted (``pintu_webhook_malformed``): a 500 would only make Telegram send it again and again.

The answer is sent when the update has been handled (its transaction committed or rolled back), not
before: if a worker dies half-way, Telegram gets no 200 and delivers the update again (to this or another
worker), and the handlers drop an update that was in fact already applied (``conversations.last_update_id``).
TLS is the reverse proxy's job (docs/operations.md, Deploy); this server speaks plain HTTP on ``PINTU_WEBHOOK_LISTEN``.
"""
from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.config import host_port

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; refuse anything absurd early

Feed = Callable[[dict[str, Any]], Awaitable[None]]


def webhook_path(url: str) -> str:
    """The local path to serve: the public URL's path (the proxy forwards it unchanged), or "/"."""
    return urlsplit(url).path or "/"


class WebhookServer:
    """``await start()`` listens on ``listen`` and serves POST ``path``; ``await stop()`` closes it."""

    def __init__(self, path: str, secret: str, feed: Feed, listen: str,
                 on_refused: Callable[[str], None] | None = None,
                 on_malformed: Callable[[], None] | None = None) -> None:
        if not secret:
            raise ValueError("a webhook without a secret would accept updates from anyone")
        self.path = path
        self._secret = secret.encode()
        self._feed = feed
        self._listen = listen
        self._on_refused = on_refused
        self._on_malformed = on_malformed
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self._receive)
        return app

    async def start(self) -> None:
        host, port = host_port(self._listen)
        self._runner = web.AppRunner(self.app(), access_log=None)  # access logs would only repeat the path
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # the real port when listening on port 0
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("webhook endpoint listening on %s:%s%s", host, self.port, self.path)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return self._refuse(401, "missing secret token")
        if not hmac.compare_digest(given.encode(), self._secret):
            return self._refuse(403, "wrong secret token")
        try:
            update = json.loads(await request.read())
        except ValueError:
            update = None
        if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
            return self._refuse(400, "not an update")
        try:
            await self._feed(update)
        except Exception as error:  # the framework could not read it: sending it again would not help
            log.warning("webhook update %s could not be read (%s); answered 200 and dropped",
                        update["update_id"], type(error).__name__, extra={"update_id": update["update_id"]})
            if self._on_malformed is not None:
                self._on_malformed()
        return web.Response(status=200)

    def _refuse(self, status: int, reason: str) -> web.Response:
        # No body, no address: a scanner learns nothing, and the log holds no personal data.
        log.warning("webhook request refused (%d): %s", status, reason)
        if self._on_refused is not None:
            self._on_refused(reason)
        return web.Response(status=status)


def make_webhook_server(pintu: Any, feed: Feed) -> WebhookServer:
    """The webhook server for ``pintu.settings`` (PINTU_WEBHOOK_URL's path, _LISTEN, _SECRET)."""
    settings = pintu.settings
    metrics = getattr(pintu, "metrics", None)
    return WebhookServer(webhook_path(settings.webhook_url), settings.webhook_secret, feed, settings.webhook_listen,
                         on_refused=(lambda _reason: metrics.webhook_refused.inc()) if metrics is not None else None,
                         on_malformed=metrics.webhook_malformed.inc if metrics is not None else None)
