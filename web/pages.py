"""The pages of this half of the dashboard: progress (/), enumerators (/petugas), exports (/ekspor)."""
from __future__ import annotations

from aiohttp import web

from web import enumerators, exports, progress


def register(app: web.Application) -> None:
    progress.register(app)
    enumerators.register(app)
    exports.register(app)
