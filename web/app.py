"""The dashboard's aiohttp application: dependencies, page rendering, security headers, the routes.

``build_web_app(deps)`` is what ``pintu web`` and ``pintu demo`` serve. Database work is synchronous
(SQLAlchemy sessions), so every handler runs it in a worker thread through :func:`in_db`; one unit of
work per request, committed explicitly where something is written (a session, an audit entry).
"""
from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import jinja2
from aiohttp import web
from markupsafe import Markup

from bot.config import Settings
from chat.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator
from domain.clock import Clock
from domain.ports import UnitOfWork

HERE = Path(__file__).parent
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WebDeps:
    """What the pages need: settings (the signing secret, the public URL), the clock, units of work."""

    settings: Settings
    clock: Clock
    uow: Callable[[], UnitOfWork]

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> "WebDeps":
        from bot.wiring import build

        pintu = build(settings, clock)
        return cls(settings, pintu.clock, pintu.uow)


DEPS = web.AppKey("deps", WebDeps)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


async def in_db(request: web.Request, work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work(uow)`` in a worker thread inside one unit of work (``work`` commits what it writes)."""
    deps = request.app[DEPS]

    def run() -> T:
        with deps.uow() as uow:
            return work(uow)

    return await asyncio.to_thread(run)


def now(request: web.Request):  # type: ignore[no-untyped-def]
    return request.app[DEPS].clock.now()


def translator(language: str) -> Callable[..., Markup]:
    """The catalog for templates: texts are trusted (ours), arguments are escaped by Translator."""
    t = Translator(language)
    return lambda key, **args: Markup(t(key, **args))


def page_language(request: web.Request) -> str:
    """The language of a page shown before sign-in: ?lang=, else the browser's preference, else Indonesian."""
    asked = request.query.get("lang", "")
    if asked in LANGUAGES:
        return asked
    accept = request.headers.get("Accept-Language", "").lower()
    return "en" if accept.startswith("en") else DEFAULT_LANGUAGE


def render(request: web.Request, template: str, *, status: int = 200, language: str | None = None,
           **context: Any) -> web.Response:
    """A page in the viewer's language (or ``language`` before sign-in), with the nav and CSRF token."""
    from web.auth import VIEWER, csrf_token

    viewer = request.get(VIEWER)
    lang = language or (viewer.lang if viewer is not None else page_language(request))
    html = request.app[TEMPLATES].get_template(template).render(
        t=translator(lang), lang=lang, viewer=viewer, csrf=csrf_token(request) if viewer else "",
        path=request.path, **context)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def html_error(request: web.Request, error: type[web.HTTPException], title_key: str, body_key: str,
               language: str | None = None) -> web.HTTPException:
    """An HTTP error whose body is a page in the user's language (raise it)."""
    page = render(request, "message.html", status=error.status_code, language=language, title_key=title_key,
                  body_key=body_key)
    return error(text=page.text, content_type="text/html")


ERROR_PAGES = {403: ("web-forbidden-title", "web-forbidden-body"), 404: ("web-not-found-title", "web-not-found-body")}


@web.middleware
async def security_headers(request: web.Request, handler: Callable[..., Any]) -> web.StreamResponse:
    """No framing, no third-party anything, no referrer (a sign-in URL must not travel), no caching of
    pages that show personal data; a bare 403 or 404 becomes a page in the viewer's language."""
    try:
        response = await handler(request)
    except web.HTTPException as error:
        if error.status_code in ERROR_PAGES and error.content_type == "text/plain":
            if _wants_json(request):
                error = type(error)(text=f'{{"error": "{error.reason}"}}', content_type="application/json")
            else:
                error = html_error(request, type(error), *ERROR_PAGES[error.status_code])
        _secure(request, error)
        raise error from None
    except Exception:  # a bug or the database away: a page that says so, never a stack trace
        log.exception("dashboard request failed: %s %s", request.method, request.path)
        if _wants_json(request):
            response = web.json_response({"error": "internal"}, status=500)
        else:
            response = render(request, "message.html", status=500, title_key="web-error-title",
                              body_key="web-error-body")
    _secure(request, response)
    return response


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self'; "
                       "script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "private, no-store")


async def healthz(request: web.Request) -> web.Response:
    """For the container's health check and the proxy: the database answers."""
    from sqlalchemy import text

    def ping(uow: UnitOfWork) -> None:
        uow.session.execute(text("SELECT 1"))  # type: ignore[attr-defined]

    try:
        await in_db(request, ping)
    except Exception:  # noqa: BLE001 - any failure is "not healthy", said without detail
        return web.json_response({"ok": False}, status=503)
    return web.json_response({"ok": True})


def build_web_app(deps: WebDeps) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[DEPS] = deps
    app[TEMPLATES] = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                        autoescape=True, undefined=jinja2.StrictUndefined)
    from web import auth, pages

    auth.register(app)
    pages.register(app)
    for name in ("web.map_routes", "web.review_routes"):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        module.register(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", HERE / "static")
    return app
