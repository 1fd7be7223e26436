"""The review page (/tinjauan): records flagged by the geofence or missing a required photo (issue 16).

The list is the chat's own (/tinjau: storage/repositories/supervision.py ``review_counts``/``review_page``),
one page of ten, each record with its house photos, its point on a small map (over its SLS's outline) and a
"Sudah ditinjau" button: a POST with the session's CSRF token that records who and when
(``records.reviewed_at``/``reviewed_by_user_id``, migration 0029b_web_review). A reviewed record leaves the
list, in the chat too; ``?ditinjau=1`` lists those already reviewed, with who and when.

Photos are served by ``/tinjauan/foto/{id}`` only to a signed-in viewer whose scope holds the family
(``access.REVIEW`` on its SLS and ``access.FAMILY_VIEW`` on the family), read from the media folder the bot
writes (PINTU_MEDIA_DIR, domain/photos.py) with ``Cache-Control: private, no-store``: there is no public
URL, and neither a shared cache nor the browser keeps a copy. Each name shown and each photo served goes to
the audit log.
"""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from zoneinfo import ZoneInfo

from aiohttp import web
from markupsafe import Markup

from chat.render import clock_time, day_label, zone_name
from domain import access, audit, map_view
from domain.geotag import NO_PHOTO, OUTSIDE_SLS, SHARED_NIK, TOO_FAR
from domain.ports import UnitOfWork
from web.app import DEPS, in_db, now, render
from web.auth import Viewer, csrf_protected, login_required, require_area, viewer, viewer_user
from web.map_routes import page_texts

PAGE = 10
REASON_KEYS = {OUTSIDE_SLS: "web-map-review-reason-outside", TOO_FAR: "web-map-review-reason-far",
               NO_PHOTO: "web-map-review-reason-photo", SHARED_NIK: "web-map-review-reason-shared-nik"}
NO_STORE = "private, no-store"


def _area_code(request: web.Request, who: Viewer) -> str:
    return request.query.get("area", "").strip()[:40] or who.area_code


def _page_number(request: web.Request) -> int:
    try:
        return max(0, int(request.query.get("hal", "1")) - 1)
    except ValueError:
        return 0


def _when(instant: Any, timezone: str, language: str) -> str:
    """"Senin, 23 Nov 10.05 WITA" in the area's zone."""
    tz = ZoneInfo(timezone)
    local = instant.astimezone(tz)
    return f"{day_label(local.date(), language)} {clock_time(instant, tz, language)} {zone_name(tz)}"


def review_items(uow: UnitOfWork, who: Viewer, code: str, page: int, reviewed: bool, moment: Any) -> dict[str, Any]:
    """One page of the review list with what the page shows of each record (audited: names are shown)."""
    area = require_area(uow, who, code, access.REVIEW)
    zone = area.timezone
    user = viewer_user(uow, who)
    counts = uow.supervision.review_counts(area.id, reviewed=reviewed)
    total = counts.total
    pages = max(1, -(-total // PAGE))
    page = min(page, pages - 1)
    rows = uow.supervision.review_page(area.id, page * PAGE, PAGE, counts, reviewed=reviewed) if total else []
    items = []
    for record_id, reason, when, family_id, head, sls_id in rows:
        record = uow.records.get(record_id)
        family = uow.families.get(family_id)
        sls = uow.areas.get(sls_id)
        if record is None or family is None:
            continue
        audit.record(uow, user, audit.VIEW_FAMILY, moment, family_id=family_id, area_id=sls_id)
        latitude = record.latitude if record.latitude is not None else family.latitude
        longitude = record.longitude if record.longitude is not None else family.longitude
        reviewer = uow.users.get(record.reviewed_by_user_id) if record.reviewed_by_user_id else None
        boundary = map_view.simplify(sls.boundary, 0.0) if sls is not None and sls.boundary else None
        items.append({
            "record_id": record_id, "flagged": reason in (OUTSIDE_SLS, TOO_FAR), "reason_key": REASON_KEYS.get(reason, "web-map-review-reason-far"),
            "when": _when(when, zone, who.lang), "name": head, "sls": sls.name if sls else "-", "latitude": latitude, "longitude": longitude,
            "boundary": json.dumps(boundary, separators=(",", ":")) if boundary else "",
            "photos": [p.id for p in uow.records.photos(record_id)],
            "reviewed_at": _when(record.reviewed_at, zone, who.lang) if record.reviewed_at else None,
            "reviewed_by": reviewer.first_name if reviewer else None})
    uow.commit()  # the audit entries
    return {"area": area, "items": items, "flagged": counts.flagged, "missing": counts.photos,
            "shared": counts.shared_nik, "page": page + 1, "pages": pages}


@login_required
async def page(request: web.Request) -> web.Response:
    who = await viewer(request)
    code = _area_code(request, who)
    reviewed = request.query.get("ditinjau") == "1"
    moment = now(request)
    if not code:  # an admin over several trees (or none yet): choose one first, as on the progress page
        roots = await in_db(request, lambda uow: list(uow.supervision.root_areas()))
        return render(request, "choose_area.html", roots=roots, target="/tinjauan", title_key="web-map-review-title")
    found = await in_db(request, lambda uow: review_items(uow, who, code, _page_number(request), reviewed, moment))
    settings = request.app[DEPS].settings
    blob = json.dumps({"review": True, "texts": page_texts(who.lang), "flag_colour": map_view.FLAG_COLOUR,
                       "tiles": {"url": settings.tile_url, "attribution": settings.tile_attribution}},
                      ensure_ascii=False).replace("</", "<\\/")
    return render(request, "tinjauan.html", reviewed=reviewed, map_data=Markup(blob), **found)


def _photo_for(uow: UnitOfWork, who: Viewer, photo_id: int, moment: Any) -> tuple[str, str]:
    """(path relative to the media folder, MIME type) of a photo the viewer may see, else 403 (an unknown
    id too: ids cannot be probed). Audited."""
    found = uow.maps.photo(photo_id)
    family = uow.families.get(found[1].family_id) if found is not None else None
    sls = uow.areas.get(family.sls_id) if family is not None else None
    user = viewer_user(uow, who)
    if (found is None or family is None or sls is None or not access.can(uow, user, access.REVIEW, sls)
            or not access.can(uow, user, access.FAMILY_VIEW, family)):
        raise web.HTTPForbidden(text="forbidden", headers={"Cache-Control": NO_STORE})
    audit.record(uow, user, audit.VIEW_PHOTO, moment, family_id=family.id, area_id=sls.id)
    uow.commit()
    return found[0].path, found[0].mime


def _read_private(media_dir: str, relative: str) -> bytes | None:
    root = Path(media_dir).resolve()
    target = (root / relative).resolve()
    if root not in target.parents or not target.is_file():  # a stored path never leaves the media folder
        return None
    return target.read_bytes()


async def photo(request: web.Request) -> web.Response:
    who = await viewer(request)
    try:
        photo_id = int(request.match_info["photo_id"])
    except ValueError:
        raise web.HTTPNotFound() from None
    moment = now(request)
    relative, mime = await in_db(request, lambda uow: _photo_for(uow, who, photo_id, moment))
    content = await asyncio.to_thread(_read_private, request.app[DEPS].settings.media_dir, relative)
    if content is None:
        raise web.HTTPNotFound(text="photo file missing", headers={"Cache-Control": NO_STORE})
    return web.Response(body=content, content_type=mime,
                        headers={"Cache-Control": NO_STORE, "Content-Disposition": "inline"})


def _mark(uow: UnitOfWork, who: Viewer, record_id: str, moment: Any) -> str:
    """Mark the record reviewed by the viewer (the first mark stays); the code of its SLS's kelurahan."""
    record = uow.records.get(record_id)
    family = uow.families.get(record.family_id) if record is not None else None
    sls = uow.areas.get(family.sls_id) if family is not None else None
    if record is None or sls is None:
        raise web.HTTPForbidden(text="forbidden")
    require_area(uow, who, sls.code, access.REVIEW)
    if record.reviewed_at is None:
        uow.maps.mark_reviewed(record, who.user_id, moment)
        uow.commit()
    return sls.code


@csrf_protected
async def mark_reviewed(request: web.Request) -> web.Response:
    who = await viewer(request)
    record_id = request.match_info["record_id"][:36]
    moment = now(request)
    await in_db(request, lambda uow: _mark(uow, who, record_id, moment))
    form = await request.post()
    back = str(form.get("back", "/tinjauan"))
    if not back.startswith("/tinjauan"):  # only back to this page: never an open redirect
        back = "/tinjauan"
    raise web.HTTPSeeOther(back)


def register(app: web.Application) -> None:
    app.router.add_get("/tinjauan", page)
    app.router.add_get("/tinjauan/foto/{photo_id}", photo)
    app.router.add_post("/tinjauan/{record_id}/ditinjau", mark_reviewed)
