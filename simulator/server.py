"""The simulator's HTTP server: bot side, user side and the chat page on one aiohttp application."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Sequence

from aiohttp import web

from .botapi import BotApi
from .config import SimulatorConfig
from .ratelimit import RateLimiter
from .userapi import UserApi
from .world import World

WORLD = web.AppKey("world", World)
BOT_API = web.AppKey("bot_api", BotApi)

# Room for multipart overhead above the largest file a bot may upload.
_FORM_OVERHEAD = 1024 * 1024


def create_app(config: SimulatorConfig | None = None, **settings: Any) -> web.Application:
    """Build the application; pass a config or its fields as keywords (``rate_limits=False``)."""
    if config is None:
        config = SimulatorConfig.from_kwargs(**settings)
    elif settings:
        raise TypeError("pass either a config or keyword settings, not both")
    world = World(config)
    bot_api = BotApi(world, RateLimiter(config))
    app = web.Application(client_max_size=config.max_upload_bytes + _FORM_OVERHEAD)
    app[WORLD] = world
    app[BOT_API] = bot_api
    bot_api.add_routes(app)
    UserApi(world).add_routes(app)
    # Last, so it only catches what no API route claimed.
    app.router.add_get("/{path:.*}", _static_file(config))
    app.on_shutdown.append(_shutdown)
    return app


async def _shutdown(app: web.Application) -> None:
    # End long polls at once instead of letting them run out their timeouts.
    app[WORLD].close()
    await app[BOT_API].close()


def _static_file(config: SimulatorConfig) -> Callable[[web.Request], Awaitable[web.FileResponse]]:
    """Serve the chat page from ``static/`` (``/`` is ``index.html``), never outside that folder."""
    root = config.static_dir.resolve()

    async def handler(request: web.Request) -> web.FileResponse:
        path = (root / (request.match_info["path"] or "index.html")).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path)

    return handler


def make_runner(app: web.Application) -> web.AppRunner:
    """A runner that cancels the handlers of clients that hang up (abandoned long polls)."""
    return web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)


def run(
    host: str = "127.0.0.1",
    port: int = 8081,
    config: SimulatorConfig | None = None,
    bots: Sequence[tuple[str, str]] = (),
) -> None:
    """Serve until interrupted, with the given ``(token, username)`` bots registered."""
    app = create_app(config)
    for token, username in bots:
        app[WORLD].add_bot(token, username)
    print(f"Bot API simulator on http://{host}:{port} (bots at /bot<token>/<method>, chat page at /)")
    web.run_app(
        app, host=host, port=port, handler_cancellation=True, shutdown_timeout=1.0, access_log=None, print=None
    )
