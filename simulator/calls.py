"""The registry of Bot API methods and the context each call runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from .params import Params
from .ratelimit import RateLimiter
from .world import BotState, World

if TYPE_CHECKING:
    from .webhook import WebhookDelivery


@dataclass
class Call:
    """Who is calling (the bot) and the services a method may use."""

    world: World
    bot: BotState
    limiter: RateLimiter
    webhooks: WebhookDelivery


Handler = Callable[[Call, Params], Awaitable[Any]]

# Lower-case method name -> (documented name, handler). Method names are case-insensitive in the Bot API.
METHODS: dict[str, tuple[str, Handler]] = {}


def method(name: str) -> Callable[[Handler], Handler]:
    """Register an async handler for the Bot API method ``name``."""

    def register(handler: Handler) -> Handler:
        METHODS[name.lower()] = (name, handler)
        return handler

    return register
