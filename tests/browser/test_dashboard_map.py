"""In a real browser: the dashboard's map and review page (issue 16).

Headless Chromium is Debian's /usr/bin/chromium driven by Playwright (no browser download), as in
test_demo_page.py. The dashboard (web/app.py) runs for real on a free port over an SQLite file holding
tests/dashboard_map_world.py's area; the user signs in through the chat's one-time link (G1's
mechanism: the link's page, then its button). A screenshot of the map is kept under the test's tmp dir.
"""
from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import pytest

from domain.map_view import share_colour

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    reason = "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"browser test cannot run on CI: {reason}")
    pytest.skip(reason, allow_module_level=True)

from aiohttp import web  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from bot.config import Settings  # noqa: E402
from domain import dashboard  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from tests.dashboard_map_world import NOW, build_map_world  # noqa: E402
from web.app import WebDeps, build_web_app  # noqa: E402

SECRET = "b" * 48


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dashboard_site(tmp_path):
    """The dashboard on a free port in a background thread; yields (url, world, uow factory)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pintu.db'}")
    create_schema(engine)
    factory = make_session_factory(engine)
    uow_factory = lambda: SqlUnitOfWork(factory)  # noqa: E731
    world = build_map_world(uow_factory, tmp_path / "media")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(invite_secret=SECRET, web_url=url, media_dir=str(tmp_path / "media"))
    app = build_web_app(WebDeps(settings, FakeClock(NOW), uow_factory))
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner = web.AppRunner(app)

    def _run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=_run, daemon=True)
    thread.start()
    assert started.wait(15), "the dashboard did not start"
    yield url, world, uow_factory
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(15)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=15)
    engine.dispose()


@pytest.fixture
def browser_page():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        outside: list[str] = []
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(("http://127.0.0.1", "data:")) else None)
        yield page
        browser.close()
        assert not outside, f"the page loaded from outside: {outside}"
        assert not errors, f"the page's script failed: {errors}"


def _sign_in(page, url: str, uow_factory, user_id: int) -> None:
    with uow_factory() as uow:
        token = dashboard.issue_link(uow, SECRET, uow.users.get(user_id), NOW)
        uow.commit()
    page.goto(f"{url}/masuk/{token}")
    page.locator("#signin").click()
    page.wait_for_url(f"{url}/")


def test_the_map_shows_coloured_sls_and_drills_into_one(dashboard_site, browser_page, tmp_path):
    url, world, uow_factory = dashboard_site
    page = browser_page
    _sign_in(page, url, uow_factory, world.users["coordinator"])
    page.goto(f"{url}/peta")
    expect(page.locator("#map[data-ready]")).to_have_count(1, timeout=15_000)
    outlines = page.locator("path.sls")
    expect(outlines).to_have_count(3)
    fills = sorted(outlines.evaluate_all("paths => paths.map(p => p.getAttribute('fill'))"))
    assert fills == sorted([share_colour(4, 2), share_colour(2, 2), share_colour(1, 0)])
    expect(page.locator(".map-legend")).to_contain_text("Bagian selesai per SLS")
    expect(page.locator("#map-status")).to_have_text("3 SLS · 7 keluarga · 57% selesai")
    expect(page.locator("path.village")).to_have_count(2)
    page.screenshot(path=str(tmp_path / "dashboard-map.png"), full_page=True)
    assert (tmp_path / "dashboard-map.png").stat().st_size > 10_000

    # Drill into RT 001 of Rawa Makmur (2 of 4 done): the map zooms to it, its counts show, and the
    # families of its kelurahan appear as points, the one whose geotag was flagged marked.
    half_fill = share_colour(4, 2)
    page.locator(f'path.sls[fill="{half_fill}"]').focus()  # with the keyboard
    page.keyboard.press("Enter")
    popup = page.locator(".leaflet-popup-content", has_text="RT 001")
    expect(popup).to_contain_text("Rawa Makmur")
    expect(popup).to_contain_text("2 (50%)")
    expect(page.locator("path.family.flagged")).to_have_count(1, timeout=15_000)
    # Zoomed in this far nothing is clustered: RT 001's four houses are points of their own.
    page.wait_for_function("() => document.querySelectorAll('path.family').length >= 4", timeout=15_000)
    expect(page.locator(".stop-number")).not_to_have_count(0)
    assert page.evaluate("() => document.querySelectorAll('path.sls').length") >= 3
    page.screenshot(path=str(tmp_path / "dashboard-map-rt.png"), full_page=True)

    # A point names its family only on click.
    assert "Ahmad Yani" not in page.content()
    page.locator("path.family.flagged").dispatch_event("click")
    expect(page.locator(".leaflet-popup-content", has_text="Ahmad Yani")).to_be_visible(timeout=10_000)


def test_a_review_item_shows_its_photo_and_point(dashboard_site, browser_page, tmp_path):
    url, world, uow_factory = dashboard_site
    page = browser_page
    _sign_in(page, url, uow_factory, world.users["supervisor_a"])
    page.goto(f"{url}/tinjauan")
    item = page.locator(f"#r-{world.records['flagged_a']}")
    expect(item).to_contain_text("Ahmad Yani")
    photo = item.locator("img.review-photo")
    photo.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=photo.element_handle(), timeout=10_000)
    assert photo.evaluate("img => img.naturalWidth") == 64
    expect(item.locator("path.review-point")).to_have_count(1, timeout=10_000)
    page.screenshot(path=str(tmp_path / "dashboard-review.png"), full_page=True)
    item.get_by_role("button", name="Sudah ditinjau").click()
    expect(page.locator(f"#r-{world.records['flagged_a']}")).to_have_count(0)
    page.goto(f"{url}/tinjauan?ditinjau=1")
    expect(page.locator(f"#r-{world.records['flagged_a']}")).to_contain_text("Ditinjau oleh")


def test_a_kelurahan_without_imported_outlines_still_shows_its_families(dashboard_site, browser_page):
    url, world, uow_factory = dashboard_site
    with uow_factory() as uow:  # as in the demo: no `pintu areas boundaries` yet
        for key in ("s1", "s2"):
            uow.areas.by_code(world.codes[key]).boundary = None
        uow.commit()
    page = browser_page
    _sign_in(page, url, uow_factory, world.users["supervisor_a"])
    page.goto(f"{url}/peta")
    expect(page.locator("#map[data-ready]")).to_have_count(1, timeout=15_000)
    expect(page.locator("#map-status")).to_have_text("2 SLS · 6 keluarga · 67% selesai · 2 SLS belum punya batas wilayah")
    page.wait_for_function("() => document.querySelectorAll('path.family').length"
                           " + document.querySelectorAll('.marker-cluster').length > 0", timeout=15_000)
    expect(page.locator("path.village")).to_have_count(1)
