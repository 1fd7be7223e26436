"""The bot side: ``{root}/bot{token}/{method}`` and ``{root}/file/bot{token}/{file_path}``."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from aiohttp import web

# Imported for their side effect: they register the Bot API methods in calls.METHODS.
from . import bot_methods, messages  # noqa: F401
from .calls import METHODS, Call
from .errors import ApiError
from .faults import ERRORS, Fault
from .params import Params, read_params
from .ratelimit import RateLimiter
from .webhook import WebhookDelivery
from .world import BotState, World

_dumps = functools.partial(json.dumps, ensure_ascii=False)


def _answer(body: dict, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=_dumps)


class BotApi:
    """Routes Bot API requests to the registered methods."""

    def __init__(self, world: World, limiter: RateLimiter) -> None:
        self.world = world
        self.limiter = limiter
        self.webhooks = WebhookDelivery(world.config, world.now, self.run_method)

    def add_routes(self, app: web.Application) -> None:
        """Register the bot-side routes."""
        app.router.add_route("*", "/bot{token}/{method}", self.handle)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self.download)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one Bot API call as ``{"ok": …}`` JSON."""
        bot = self.world.bot_by_token(request.match_info["token"])
        if bot is None:
            return _answer(ApiError(401, "Unauthorized").to_json(), 401)
        try:
            params = await read_params(request)
        except web.HTTPRequestEntityTooLarge:
            return _answer(ApiError(413, "Request Entity Too Large").to_json(), 413)
        except ApiError as error:
            return _answer(error.to_json(), error.code)
        name = request.match_info["method"]
        fault = self._fault_for(bot, name, params)
        if fault is None:
            return await self.run_method(bot, name, params)
        return await self._misbehave(bot, name, params, fault)

    def _fault_for(self, bot: BotState, name: str, params: Params) -> Fault | None:
        """The armed fault this call fires, if any (see faults.py)."""
        if not bot.faults.armed or name.lower() not in METHODS:
            return None
        chat_id = params.chat_id()
        if isinstance(chat_id, str):
            group = bot.group_by_username(chat_id)
            chat_id = group.id if group is not None else chat_id
        return bot.faults.take(name.lower(), chat_id)

    async def _misbehave(self, bot: BotState, name: str, params: Params, fault: Fault) -> web.Response:
        """Answer a call as the fault says: an error without performing it, or a late answer."""
        if fault.kind in ERRORS:
            error = fault.error()
            bot.stats.methods[METHODS[name.lower()][0]] += 1
            bot.stats.errors[error.code] += 1
            return _answer(error.to_json(), error.code)
        if fault.kind == "hang-after":
            response = await self.run_method(bot, name, params)
            await asyncio.sleep(fault.seconds)
            return response
        try:
            await asyncio.sleep(fault.seconds)
        except asyncio.CancelledError:
            # The client hung up while the request was "on its way": it never reaches the method.
            fault.abandoned += 1
            raise
        return await self.run_method(bot, name, params)

    async def run_method(self, bot: BotState, name: str, params: Params | dict) -> web.Response:
        """Run a method for a bot (also used for calls in webhook replies) and record stats."""
        if name.lower() not in METHODS:
            return _answer(ApiError(404, "Not Found").to_json(), 404)
        canonical, handler = METHODS[name.lower()]
        if isinstance(params, dict):
            params = Params(params)
        bot.stats.methods[canonical] += 1
        try:
            result: Any = await handler(Call(self.world, bot, self.limiter, self.webhooks), params)
        except ApiError as error:
            bot.stats.errors[error.code] += 1
            return _answer(error.to_json(), error.code)
        return _answer({"ok": True, "result": result})

    async def download(self, request: web.Request) -> web.StreamResponse:
        """Serve a file's bytes at the path getFile gave out."""
        bot = self.world.bot_by_token(request.match_info["token"])
        if bot is None:
            return _answer(ApiError(401, "Unauthorized").to_json(), 401)
        stored = bot.files.by_path(request.match_info["file_path"])
        if stored is None:
            return _answer(ApiError(404, "Not Found").to_json(), 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def close(self) -> None:
        """Stop webhook deliveries."""
        await self.webhooks.close()
