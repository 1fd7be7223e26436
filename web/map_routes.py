"""The map page (/peta) and its GeoJSON endpoints: issue 16, helper G2 replaces this stub."""
from __future__ import annotations

from aiohttp import web


def register(app: web.Application) -> None:
    pass
