"""Who is asking: the session cookie, the viewer's scope, CSRF, and the sign-in and sign-out routes.

Every page and JSON endpoint starts with ``viewer = await viewer(request)`` (401 without a session: HTML
gets the page that explains how to sign in from the chat) and, for an area, ``require_area(uow, viewer,
code)`` inside its unit of work (403 outside the viewer's scope). The scope rule is the chat's own:
``domain.access.can`` with the user read again on every request, so a role taken back in the chat closes
the dashboard at once.

A one-time link (``/masuk/{token}``) first shows a page with a button: the link is used by that POST, not
by the GET, because chat apps and proxies fetch links to preview them and would use it up.
"""
from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from chat.i18n import LANGUAGES
from domain import access, dashboard
from domain.dashboard import LinkProblem, LinkRefused
from domain.model import Area, User
from domain.ports import UnitOfWork
from web.app import DEPS, _wants_json, html_error, in_db, now, page_language, render

SESSION_COOKIE = "pintu_sesi"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Viewer:
    """The signed-in user as the pages see them; ``area_code`` is their scope ("" for an admin of
    several top-level areas)."""

    user_id: int
    role: str
    area_code: str
    lang: str


VIEWER = web.RequestKey("viewer", Viewer)


def wants_json(request: web.Request) -> bool:
    """JSON endpoints (``/api/…``, or asked for JSON) get JSON errors, pages get pages."""
    return _wants_json(request)


async def viewer(request: web.Request) -> Viewer:
    """The request's viewer, or 401 (a page explaining how to sign in, or JSON for /api/)."""
    found = request.get(VIEWER)
    if found is not None:
        return found
    token = request.cookies.get(SESSION_COOKIE, "")
    moment = now(request)

    def look(uow: UnitOfWork) -> Viewer | None:
        live = dashboard.live_session(uow, token, moment)
        if live is None:
            return None
        session, user = live
        home = access.home_area(uow, user)
        return Viewer(user.id, user.role, home.code if home is not None else "", session.language)

    found = await in_db(request, look) if token else None
    if found is None:
        if wants_json(request):
            raise web.HTTPUnauthorized(text='{"error": "sign in from the chat: /dasbor"}',
                                       content_type="application/json")
        raise html_error(request, web.HTTPUnauthorized, "web-signin-title", "web-signin-body")
    request[VIEWER] = found
    return found


def viewer_user(uow: UnitOfWork, viewer: Viewer) -> User:
    user = uow.users.get(viewer.user_id)
    if user is None:
        raise web.HTTPUnauthorized()
    return user


def require_area(uow: UnitOfWork, viewer: Viewer, area_code: str, action: str = access.PROGRESS) -> Area:
    """The area ``area_code`` when the viewer may do ``action`` on it (the chat's rule), else 403; an
    unknown code is 403 too, so codes outside the scope cannot be probed. Call inside ``in_db``."""
    area = uow.areas.by_code(area_code) if area_code else None
    if area is None or not access.can(uow, viewer_user(uow, viewer), action, area):
        raise web.HTTPForbidden()  # the middleware makes it a page, or JSON for /api/
    return area


def csrf_token(request: web.Request) -> str:
    """The CSRF token of the request's session, for the hidden ``csrf`` field of every form."""
    secret = request.app[DEPS].settings.invite_secret
    return dashboard.csrf_token(secret, request.cookies.get(SESSION_COOKIE, ""))


def csrf_protected(handler: Handler) -> Handler:
    """For state-changing handlers: a signed-in viewer and the session's CSRF token in the form's
    ``csrf`` field or the ``X-CSRF-Token`` header, else 403."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        await viewer(request)
        presented = request.headers.get(CSRF_HEADER, "")
        if not presented and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            presented = str((await request.post()).get(CSRF_FIELD, ""))
        secret = request.app[DEPS].settings.invite_secret
        if not dashboard.csrf_ok(secret, request.cookies.get(SESSION_COOKIE, ""), presented):
            raise html_error(request, web.HTTPForbidden, "web-csrf-title", "web-csrf-body")
        return await handler(request)

    return checked


# --- sign in, sign out, language -------------------------------------------------------------------------

REFUSAL_KEYS = {
    LinkProblem.FORGED: "web-link-forged",
    LinkProblem.EXPIRED: "web-link-expired",
    LinkProblem.USED: "web-link-used",
    LinkProblem.NOT_ALLOWED: "web-link-not-allowed",
}


def _refused(request: web.Request, refused: LinkRefused) -> web.HTTPException:
    language = refused.language if refused.language in LANGUAGES else page_language(request)
    return html_error(request, web.HTTPForbidden, "web-link-refused-title", REFUSAL_KEYS[refused.problem], language)


async def signin_help(request: web.Request) -> web.Response:
    return render(request, "message.html", title_key="web-signin-title", body_key="web-signin-body")


async def link_page(request: web.Request) -> web.Response:
    """The link opened: check it (without using it) and offer the button that does."""
    token = request.match_info["token"]
    secret, moment = request.app[DEPS].settings.invite_secret, now(request)

    def peek(uow: UnitOfWork) -> str | None:
        try:
            user = dashboard.check_link(uow, secret, token, moment)
        except LinkRefused as refused:
            raise _refused(request, refused) from None
        return user.language

    language = await in_db(request, peek)
    return render(request, "signin.html", language=language or page_language(request), token=token)


def _same_origin(request: web.Request) -> bool:
    """The sign-in POST has no session (so no CSRF token) yet: it must come from a page of this site, so no
    other page can sign a visitor in to someone else's session. Browsers say where a request comes from in
    Sec-Fetch-Site; under our no-referrer policy their Origin is "null", so it is asked only when it is real."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return True  # not a browser that says (a script, an old browser): the token itself is the secret
    return origin.split("://", 1)[-1] == request.host


async def redeem(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise html_error(request, web.HTTPForbidden, "web-csrf-title", "web-csrf-body")
    form = await request.post()
    token = str(form.get("token", ""))
    secret, moment = request.app[DEPS].settings.invite_secret, now(request)

    def use(uow: UnitOfWork) -> str:
        try:
            session_token, _ = dashboard.redeem_link(uow, secret, token, moment)
        finally:
            uow.commit()  # a used link stays used even when the session is refused
        return session_token

    try:
        session_token = await in_db(request, use)
    except LinkRefused as refused:
        raise _refused(request, refused) from None
    response = web.HTTPSeeOther("/")
    response.set_cookie(SESSION_COOKIE, session_token, max_age=int(dashboard.SESSION_TTL.total_seconds()),
                        httponly=True, secure=request.app[DEPS].settings.web_cookie_secure, samesite="Strict",
                        path="/")
    raise response


@csrf_protected
async def logout(request: web.Request) -> web.Response:
    token, moment = request.cookies.get(SESSION_COOKIE, ""), now(request)

    def end(uow: UnitOfWork) -> None:
        dashboard.end_session(uow, token, moment)
        uow.commit()

    await in_db(request, end)
    response = web.HTTPSeeOther(f"/masuk?lang={request[VIEWER].lang}")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@csrf_protected
async def switch_language(request: web.Request) -> web.Response:
    form = await request.post()
    language = str(form.get("lang", ""))
    back = str(form.get("back", "/"))
    if not back.startswith("/") or back.startswith("//"):
        back = "/"  # only a path of this site: never an open redirect
    if language in LANGUAGES:
        token = dashboard.digest(request.cookies.get(SESSION_COOKIE, ""))

        def save(uow: UnitOfWork) -> None:
            uow.web.set_language(token, language)
            uow.commit()

        await in_db(request, save)
    raise web.HTTPSeeOther(back)


def register(app: web.Application) -> None:
    app.router.add_get("/masuk", signin_help)
    app.router.add_get("/masuk/{token}", link_page)
    app.router.add_post("/masuk", redeem)
    app.router.add_post("/keluar", logout)
    app.router.add_post("/bahasa", switch_language)


def login_required(handler: Handler) -> Handler:
    """For read-only pages: the viewer is set (``request["viewer"]``) before the handler runs."""

    @functools.wraps(handler)
    async def checked(request: web.Request) -> web.StreamResponse:
        await viewer(request)
        return await handler(request)

    return checked
