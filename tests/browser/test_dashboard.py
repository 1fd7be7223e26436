"""In a real browser: the supervisor signs in to the web dashboard through the link the bot sends.

The demo runs for real (simulator, PTB, SQLite, the dashboard on PORT+20) with a clock the test moves.
The supervisor sends /dasbor in their pane, the bot answers with a one-time link; the test opens it,
signs in, sees the progress table, drills down and back up, downloads an export, logs out (the
session is over), and sees the reused, the forged and an expired link refused.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading

import pytest

from bot.demo import SUPERVISOR
from domain.clock import FakeClock
from tests.browser.test_demo_page import (CHROMIUM, MONDAY_MORNING, _free_port, _pane, _press, _type,
                                          _wait_for_port)

from playwright.sync_api import expect, sync_playwright  # noqa: E402  (after the module's skip)

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(tmp_path):
    """`pintu demo` in a background thread with a clock the test can move: (chat URL, clock)."""
    from bot.demo import run_demo

    port, clock = _free_port(), FakeClock(MONDAY_MORNING)
    loop, stop, failure = asyncio.new_event_loop(), asyncio.Event(), []

    def _run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_demo(port=port, data_dir=str(tmp_path), fresh=True, stop=stop, clock=clock))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=_run, daemon=True)
    thread.start()
    _wait_for_port(port, failure)
    _wait_for_port(port + 20, failure)
    yield f"http://127.0.0.1:{port}", clock
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=30)
    assert not failure, failure


@pytest.fixture
def browser(demo):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


def ask_for_link(chat, supervisor_pane_started: list[bool]) -> str:
    pane = _pane(chat, SUPERVISOR)
    if not supervisor_pane_started:
        pane.locator("button.start-button").click()
        _press(pane, "Saya setuju")
        expect(pane.locator(".message.bot", has_text="pengawas").first).to_be_visible(timeout=15_000)
        supervisor_pane_started.append(True)
    buttons = pane.locator(".message.bot button.kb-btn.url", has_text="Buka dasbor")
    before = buttons.count()
    _type(pane, "/dasbor")
    expect(buttons).to_have_count(before + 1, timeout=15_000)  # the new link's message has arrived
    return buttons.last.get_attribute("data-url")


def test_the_supervisor_signs_in_from_the_chat_and_uses_the_dashboard(demo, browser, tmp_path):
    url, clock = demo
    chat = browser.new_page(viewport={"width": 1400, "height": 900})
    chat.goto(url)
    expect(chat.locator("body[data-ready]")).to_have_count(1, timeout=15_000)
    expect(chat.locator("#links a")).to_contain_text("Dasbor web")
    started: list[bool] = []
    link = ask_for_link(chat, started)

    # A phone-sized browser: the supervisor is in the field.
    dash = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    dash.goto(link)
    dash.locator("#signin").click()
    table = dash.locator("table#progress")
    expect(table).to_be_visible()
    expect(dash.locator("h1")).to_contain_text("Rawa Makmur")
    expect(table.locator("tbody tr")).to_have_count(3)  # RT 001-003 of the demo kelurahan
    expect(table.locator("tfoot")).to_contain_text("31")  # 30 families + Wati's, on the RT's list
    expect(dash.locator("figure.chart svg")).to_be_visible()

    # Drill into RT 001, then back up by the breadcrumb; never above the supervisor's kelurahan.
    table.locator("tbody tr").first.locator("a").click()
    expect(dash.locator("h1")).to_contain_text("RT 001")
    dash.locator(".crumbs a").first.click()
    expect(dash.locator("h1")).to_contain_text("Rawa Makmur")
    expect(dash.locator(".crumbs a")).to_have_count(0)

    # Sort by families, with the keyboard.
    dash.locator('th a[data-sort="families"]').focus()
    dash.keyboard.press("Enter")
    expect(dash.locator('th[aria-sort="descending"]')).to_have_count(1)

    # Download an export.
    dash.locator("nav a", has_text="Ekspor").click()
    dash.locator('input[value="csv"]').check()
    with dash.expect_download() as download_info:
        dash.locator("#export-button").click()
    saved = tmp_path / "export.csv"
    download_info.value.save_as(saved)
    assert len(saved.read_text(encoding="utf-8-sig").splitlines()) == 32  # header + 31 families
    expect(dash.locator("#export-status")).to_contain_text("Selesai")

    # English, then logout ends the session.
    dash.locator('button[name="lang"][value="en"]').click()
    expect(dash.locator("#logout")).to_have_text("Log out")
    dash.locator("#logout").click()
    dash.goto(link.split("/masuk/")[0] + "/")
    expect(dash.locator("h1")).to_contain_text("Sign in")

    # The link again: used (said in the supervisor's language, Indonesian). Altered: forged (whose link it
    # was is unknown: the browser's language). A new one opened 11 minutes later: expired.
    dash.goto(link)
    expect(dash.locator("main")).to_contain_text("sudah dipakai")
    dash.goto(link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB"))
    expect(dash.locator("main")).to_contain_text(re.compile("tidak sah|not valid"))
    late = ask_for_link(chat, started)
    clock.advance(dt.timedelta(minutes=11))
    fresh = browser.new_page()
    fresh.goto(late)
    expect(fresh.locator("main")).to_contain_text("kedaluwarsa")
