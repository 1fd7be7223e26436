"""The progress page (/)."""
from __future__ import annotations

from aiohttp import web

from web.app import render
from web.auth import login_required


@login_required
async def page(request: web.Request) -> web.Response:
    return render(request, "progress.html")


def register(app: web.Application) -> None:
    app.router.add_get("/", page)
