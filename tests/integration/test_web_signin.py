"""The dashboard's sign-in over HTTP (aiohttp's test client, SQLite and PostgreSQL): a link from the chat
opens a session once, pages need it, forms need its CSRF token, logout ends it."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from domain import dashboard
from domain.clock import FakeClock
from domain.model import Appointment, Area, Enumerator, Family
from tests.factories import make_user
from web.app import WebDeps, build_web_app
from web.auth import SESSION_COOKIE

SECRET = "s" * 48
NOW = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def world(uow_factory):
    """Palaran with two kelurahan of two RT each; families with known statuses (some completed on the
    window's days), a campaign window, an enumerator with a visit today; a supervisor of the first
    kelurahan, a coordinator of Palaran, a resident."""
    tz = "Asia/Makassar"
    with uow_factory() as uow:
        district = uow.areas.add(Area(code="64.72.01", level="district", name="Palaran", timezone=tz))
        first = uow.areas.add(Area(code="64.72.01.1001", level="village", name="Rawa Makmur", parent_id=district.id,
                                   timezone=tz))
        second = uow.areas.add(Area(code="64.72.01.1002", level="village", name="Bukuan", parent_id=district.id,
                                    timezone=tz))
        rts = {}
        for village, prefix in ((first, "RW"), (second, "BK")):
            for n in (1, 2):
                rts[f"{prefix}{n}"] = uow.areas.add(Area(code=f"{village.code}.000{n}", level="sls",
                                                         name=f"RT 00{n} {prefix}", parent_id=village.id, timezone=tz))
        statuses = {"RW1": ["completed", "completed", "booked", "not_contacted"], "RW2": ["completed", "refused"],
                    "BK1": ["not_contacted"] * 3, "BK2": ["visited"]}
        families = {}
        for rt, found in statuses.items():
            for i, status in enumerate(found):
                family = uow.families.add(Family(sls_id=rts[rt].id, head_name=f"Kepala {rt}-{i}", members=3,
                                                 created_at=NOW, status=status,
                                                 status_at=NOW - dt.timedelta(days=i)))
                families.setdefault(rt, []).append(family.id)
        rina = uow.enumerators.add(Enumerator(name="Rina", visit_minutes=30), [rts["RW1"].id, rts["RW2"].id])
        uow.appointments.add_with_blocks(Appointment(
            family_id=families["RW1"][2], enumerator_id=rina.id, start_at=NOW + dt.timedelta(hours=1),
            end_at=NOW + dt.timedelta(hours=1, minutes=30), created_at=NOW, updated_at=NOW), [])
        uow.supervision.save_window(district.id, dt.date(2026, 11, 16), dt.date(2026, 11, 28), NOW)
        supervisor = make_user(uow, NOW, role="supervisor")
        supervisor.scope_area_id = first.id
        coordinator = make_user(uow, NOW, role="coordinator")
        coordinator.scope_area_id = district.id
        resident = make_user(uow, NOW)
        uow.commit()
        return {"supervisor": supervisor.id, "coordinator": coordinator.id, "resident": resident.id,
                "district": district.code, "first": first.code, "second": second.code,
                "rw1": rts["RW1"].code, "bk1": rts["BK1"].code}


@pytest.fixture
async def client(uow_factory, clock):
    settings = Settings(invite_secret=SECRET, web_url="http://localhost:8090")
    app = build_web_app(WebDeps(settings, clock, uow_factory))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def link_for(uow_factory, user_id: int, now: dt.datetime = NOW) -> str:
    with uow_factory() as uow:
        token = dashboard.issue_link(uow, SECRET, uow.users.get(user_id), now)
        uow.commit()
    return token


async def sign_in(client: TestClient, token: str):
    page = await client.get(f"/masuk/{token}")
    assert page.status == 200, await page.text()
    return await client.post("/masuk", data={"token": token}, allow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def test_a_page_without_session_explains_how_to_sign_in(client):
    response = await client.get("/")
    assert response.status == 401
    assert "/dasbor" in await response.text()


async def test_the_link_opens_a_session_once(client, world, uow_factory):
    token = link_for(uow_factory, world["supervisor"])
    response = await sign_in(client, token)
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    home = await client.get("/")
    assert home.status == 200
    assert "Keluar" in await home.text()
    again = await client.get(f"/masuk/{token}")
    assert again.status == 403
    assert "sudah dipakai" in await again.text()


async def test_an_expired_or_forged_link_is_refused(client, world, uow_factory, clock):
    token = link_for(uow_factory, world["supervisor"])
    clock.advance(dt.timedelta(minutes=11))
    expired = await client.get(f"/masuk/{token}")
    assert expired.status == 403 and "kedaluwarsa" in await expired.text()
    forged = await client.post("/masuk", data={"token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")})
    assert forged.status == 403 and "tidak sah" in await forged.text()


async def test_a_resident_gets_no_link(world, uow_factory):
    with pytest.raises(dashboard.LinkRefused):
        link_for(uow_factory, world["resident"])


async def test_logout_needs_csrf_and_ends_the_session(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    home = await client.get("/")
    refused = await client.post("/keluar", data={"csrf": "wrong"}, allow_redirects=False)
    assert refused.status == 403
    assert (await client.get("/")).status == 200
    session = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    done = await client.post("/keluar", data={"csrf": csrf_of(await home.text())}, allow_redirects=False)
    assert done.status == 303
    assert (await client.get("/")).status == 401
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: session})  # the old cookie, replayed
    assert (await client.get("/")).status == 401


async def test_language_switch_is_kept_in_the_session(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    home = await client.get("/")
    await client.post("/bahasa", data={"csrf": csrf_of(await home.text()), "lang": "en", "back": "/"})
    assert "Log out" in await (await client.get("/")).text()


async def test_an_unknown_page_is_a_page_in_the_users_language(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    response = await client.get("/tidak-ada")
    assert response.status == 404
    assert "tidak ditemukan" in await response.text()


async def test_the_health_check_needs_no_session_and_pages_are_not_cached(client, world, uow_factory):
    health = await client.get("/healthz")
    assert health.status == 200 and (await health.json()) == {"ok": True}
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    home = await client.get("/")
    assert home.headers["Cache-Control"] == "private, no-store"
    assert home.headers["Referrer-Policy"] == "no-referrer"  # a sign-in URL never travels in a Referer
    assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]


async def test_another_site_cannot_post_a_sign_in(client, world, uow_factory):
    token = link_for(uow_factory, world["supervisor"])
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site", "Origin": "null"}):
        response = await client.post("/masuk", data={"token": token}, headers=headers, allow_redirects=False)
        assert response.status == 403
    assert (await sign_in(client, token)).status == 303  # the link was not used up by the refused attempt


async def test_a_failure_inside_is_a_page_not_a_stack_trace(client, world, uow_factory, monkeypatch):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))

    def broken(*args, **kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr("web.progress.area_progress", broken)
    response = await client.get("/")
    assert response.status == 500
    text = await response.text()
    assert "gagal dimuat" in text and "RuntimeError" not in text
