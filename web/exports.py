"""Exports (/ekspor): the chat's CSV, XLSX and GeoJSON of an area (domain/exports.py), downloaded.

The download is a POST with the CSRF token (it writes an audit entry, like the chat's export). The file is
built in a worker thread and sent with its Content-Length in chunks, so the browser, and the page's small
script (static/export.js: it fetches the file and fills a progress bar), can show how far it is; without
JavaScript the form posts and the browser's own download bar shows the same.
"""
from __future__ import annotations

from aiohttp import web

from domain import access, audit
from domain.exports import FORMATS, ExportFile, export_area
from domain.model import Area
from domain.ports import UnitOfWork
from web.app import in_db, now, render
from web.auth import VIEWER, Viewer, csrf_protected, login_required, require_area, viewer_user

CHUNK = 64 * 1024
FORMAT_KEYS = {"csv": "btn-ex-csv", "xlsx": "btn-ex-xlsx", "geojson": "btn-ex-geojson"}


@login_required
async def page(request: web.Request) -> web.Response:
    viewer = request[VIEWER]
    code = request.query.get("area", "")[:32] or viewer.area_code
    if not code:
        raise web.HTTPSeeOther("/")  # an admin over several trees chooses one on the progress page first

    def look(uow: UnitOfWork) -> tuple[Area, int]:
        area = require_area(uow, viewer, code, access.EXPORT)
        return area, sum(uow.supervision.status_of_area(area.id, is_sls=area.level == "sls").values())

    area, families = await in_db(request, look)
    return render(request, "exports.html", area=area, families=families, formats=FORMAT_KEYS)


def build(uow: UnitOfWork, viewer: Viewer, code: str, fmt: str, moment) -> ExportFile:  # type: ignore[no-untyped-def]
    area = require_area(uow, viewer, code, access.EXPORT)
    exported = export_area(uow, area, fmt, moment)
    audit.record(uow, viewer_user(uow, viewer), audit.EXPORT, moment, area_id=area.id, count=exported.rows)
    uow.commit()
    return exported


@csrf_protected
async def download(request: web.Request) -> web.StreamResponse:
    viewer = request[VIEWER]
    form = await request.post()
    code, fmt = str(form.get("area", ""))[:32] or viewer.area_code, str(form.get("format", ""))
    if fmt not in FORMATS:
        raise web.HTTPBadRequest(text="unknown format")
    moment = now(request)
    exported = await in_db(request, lambda uow: build(uow, viewer, code, fmt, moment))
    response = web.StreamResponse(headers={
        "Content-Type": exported.mime,
        "Content-Disposition": f'attachment; filename="{exported.filename}"',
        "X-Pintu-Rows": str(exported.rows),
    })
    response.content_length = len(exported.content)
    await response.prepare(request)
    view = memoryview(exported.content)
    for start in range(0, len(view), CHUNK):
        await response.write(view[start:start + CHUNK])
    await response.write_eof()
    return response


def register(app: web.Application) -> None:
    app.router.add_get("/ekspor", page)
    app.router.add_post("/ekspor/unduh", download)
