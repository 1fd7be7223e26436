"""Webhook delivery: each bot's pending updates are POSTed in order to its webhook URL.

As on Telegram, a failed delivery (no connection, or a status other than 2xx) is retried a few times,
then the update is given up and the error shows in getWebhookInfo. A 2xx answer may carry a Bot API
call (``{"method": …, …}``), which is executed like Telegram does ("reply to the webhook").
"""

from __future__ import annotations

import asyncio
import json
from typing import Awaitable, Callable

import aiohttp

from .config import SimulatorConfig
from .world import BotState, Webhook

# Methods Telegram refuses to run from a webhook reply (getters and webhook management).
_NOT_FROM_REPLY = ("deletewebhook", "setwebhook", "close", "logout")

Executor = Callable[[BotState, str, dict], Awaitable[object]]


class WebhookDelivery:
    """One delivery task per bot with a webhook."""

    def __init__(self, config: SimulatorConfig, now: Callable[[], int], execute: Executor) -> None:
        self._config = config
        self._now = now
        self._execute = execute
        self._tasks: dict[int, asyncio.Task] = {}
        self._session: aiohttp.ClientSession | None = None

    def start(self, bot: BotState) -> None:
        """(Re)start delivery for the bot's current webhook."""
        self.stop(bot)
        self._tasks[bot.id] = asyncio.get_running_loop().create_task(self._run(bot, bot.webhook))

    def stop(self, bot: BotState) -> None:
        """Stop delivering; undelivered updates stay pending."""
        task = self._tasks.pop(bot.id, None)
        if task is not None:
            task.cancel()

    async def close(self) -> None:
        """Stop every delivery and release the HTTP client."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self, bot: BotState, webhook: Webhook) -> None:
        while bot.webhook is webhook:
            pending = bot.updates.peek(1)
            if not pending:
                await bot.updates.signal.wait(None)
                continue
            await self._deliver(bot, webhook, pending[0])
            bot.updates.drop(pending[0]["update_id"])

    async def _deliver(self, bot: BotState, webhook: Webhook, update: dict) -> None:
        for attempt in range(max(1, self._config.webhook_attempts)):
            if attempt:
                await asyncio.sleep(self._config.webhook_retry_delay)
            error, reply = await self._post(webhook, update)
            if error is None:
                await self._run_reply(bot, reply)
                return
            webhook.last_error_date, webhook.last_error_message = self._now(), error

    async def _post(self, webhook: Webhook, update: dict) -> tuple[str | None, object]:
        """POST one update; returns (error or None, decoded JSON answer or None)."""
        headers = {"X-Telegram-Bot-Api-Secret-Token": webhook.secret_token} if webhook.secret_token else {}
        timeout = aiohttp.ClientTimeout(total=self._config.webhook_timeout)
        try:
            async with self._client().post(webhook.url, json=update, headers=headers, timeout=timeout) as answer:
                if not 200 <= answer.status < 300:
                    return f"Wrong response from the webhook: {answer.status} {answer.reason}", None
                body = await answer.read()
        except asyncio.TimeoutError:
            return "Read timeout expired", None
        except aiohttp.ClientError as error:
            return f"Connection failed: {error}", None
        try:
            return None, json.loads(body) if body else None
        except ValueError:
            return None, None

    async def _run_reply(self, bot: BotState, reply: object) -> None:
        if not isinstance(reply, dict) or not isinstance(reply.get("method"), str):
            return
        name = reply["method"].lower()
        if name in _NOT_FROM_REPLY or name.startswith("get"):
            return
        params = {k: v for k, v in reply.items() if k != "method"}
        await self._execute(bot, reply["method"], params)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # trust_env=False: a proxy from the environment must not intercept loopback deliveries.
            self._session = aiohttp.ClientSession(trust_env=False)
        return self._session
