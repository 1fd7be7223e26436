"""Helpers of the registry tests: records to forward, and the reference registry on loopback with faults."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import Engine

from domain.model import Area, Enumerator, Family
from domain.records import add_photo, complete_record, set_geotag, start_record
from factories import make_user, serial
from registry.service.app import create_app, stored_keys
from storage.db import make_engine

TOKEN = "test-token-123"  # writes (what Pintu holds)
READ_TOKEN = "test-read-token-456"  # reads records back (an analyst's)
PERSONAL_NAME = "Siti Rahayu Wulandari"


def make_sls(uow: Any) -> tuple[int, int]:
    """A full province→SLS chain and an enumerator of the SLS; returns (SLS id, enumerator id)."""
    n = serial()
    parent = None
    for level, code in (("province", f"P{n}"), ("regency", f"P{n}.01"), ("district", f"P{n}.01.01"),
                        ("village", f"P{n}.01.01.1001"), ("sls", f"P{n}.01.01.1001.0001")):
        parent = uow.areas.add(Area(code=code, level=level, name=f"{level} {n}",
                                    parent_id=parent.id if parent else None, timezone="Asia/Makassar"))
    enumerator = uow.enumerators.add(Enumerator(name=f"PPL {n}", visit_minutes=30), [parent.id])
    return parent.id, enumerator.id


def make_family(uow: Any, sls_id: int, now: dt.datetime, *, kk: str | None = None, head: str = PERSONAL_NAME) -> int:
    """A family of the SLS with a consenting resident."""
    n = serial()
    family = uow.families.add(Family(sls_id=sls_id, head_name=head, kk_number=kk or f"64{n:014d}", members=4,
                                     address="Jl. Melati 7", created_at=now))
    make_user(uow, now, family_id=family.id)
    return family.id


def make_completed(uow_factory: Callable[[], Any], now: dt.datetime, count: int, *, media_dir: Path | None = None,
                   photos: int = 0, kk: str | None = None) -> list[str]:
    """``count`` completed records (one family each), queued for the registry; returns their ids."""
    ids = []
    with uow_factory() as uow:
        sls_id, enumerator_id = make_sls(uow)
        for i in range(count):
            family_id = make_family(uow, sls_id, now, kk=kk)
            record = start_record(uow, family_id, "regsosek", "2026.1", now, enumerator_id=enumerator_id,
                                  answers={"jumlah_art": 4, "atap": "seng", "anggota": [{"nama": "A"}]})
            set_geotag(uow, record.id, -0.55, 117.15, 8.5, "gps", now, now)
            for p in range(photos):
                name = f"{record.id}-{p}.jpg"
                (media_dir / name).write_bytes(hashlib.sha256(name.encode()).digest() * 64)
                add_photo(uow, record.id, media_dir, name, "image/jpeg", now, width=640, height=480, taken_at=now)
            complete_record(uow, record.id, now)
            ids.append(record.id)
        uow.commit()
    return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RegistryServer:
    """The reference registry in a thread of its own, on 127.0.0.1, with injectable faults.

    ``mode``: "ok"; "500" (answer 500, store nothing); "slow" (handle, then wait ``delay`` before answering);
    "cut" (handle, i.e. store, then drop the connection before the answer: the worst case);
    "cut_odd" (cut every other request).
    """

    def __init__(self, database_url: str, port: int | None = None, token: str = TOKEN) -> None:
        self.engine: Engine = make_engine(database_url)
        self.port = port or free_port()
        self.token = token
        self.mode = "ok"
        self.delay = 1.0
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @web.middleware
    async def _faults(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests += 1
        number = self.requests  # taken now: other requests count up while this one is handled
        mode = self.mode
        if mode == "500":
            return web.json_response({"error": "injected failure"}, status=500)
        response = await handler(request)
        if mode == "slow":  # stored at once, answered too late: the client has given up by then
            await asyncio.sleep(self.delay)
        if mode == "cut" or (mode == "cut_odd" and number % 2):
            request.transport.abort()  # stored, but the client never hears it
        return response

    def start(self) -> "RegistryServer":
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = create_app(self.engine, self.token, read_token=READ_TOKEN, middlewares=[self._faults])
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        assert ready.wait(10), "registry did not start"
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop = self._thread = None

    def keys(self) -> dict[str, int]:
        return stored_keys(self.engine)

    def close(self) -> None:
        self.stop()
        self.engine.dispose()


def xlsform() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in [("type", "name", "label"), ("text", "atap", "Atap"), ("integer", "jumlah_art", "Jumlah ART"),
                ("begin_repeat", "anggota", "Anggota"), ("text", "nama", "Nama"), ("end_repeat", "", ""),
                ("begin_group", "rumah", "Rumah"), ("image", "foto_rumah", "Foto"), ("end_group", "", "")]:
        survey.append(row)
    settings = book.create_sheet("settings")
    settings.append(("form_id", "version"))
    settings.append(("regsosek", "2026.1"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
