"""In a real browser: the resident books a visit on the demo page and the enumerator sees it.

Headless Chromium is Debian's /usr/bin/chromium driven by Playwright (no browser download). The demo
runs for real (simulator, PTB polling it, SQLite, outbox dispatcher) on a free port, with a fixed clock
so the offered times are the same on every run.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import socket
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.demo import ENUMERATOR, RESIDENT, RT_HEAD, SUPERVISOR
from domain.clock import FakeClock

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    reason = "Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"browser test cannot run on CI: {reason}")
    pytest.skip(reason, allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

MONDAY_MORNING = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)  # 08.00 WITA


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    """Run `pintu demo` in a background thread; yield its URL; stop it cleanly."""
    from bot.demo import run_demo

    port = _free_port()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def _run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_demo(port=port, data_dir=str(tmp_path), fresh=True, stop=stop,
                                             clock=FakeClock(MONDAY_MORNING)))
        except BaseException as error:  # surfaced by the test below
            failure.append(error)

    thread = threading.Thread(target=_run, daemon=True)
    thread.start()
    _wait_for_port(port, failure)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=30)
    assert not failure, failure


def _wait_for_port(port: int, failure: list[BaseException]) -> None:
    for _ in range(200):
        if failure:
            raise failure[0]
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        threading.Event().wait(0.05)
    raise TimeoutError("the demo did not start")


@pytest.fixture
def page(demo):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(demo)
        expect(page.locator("body[data-ready]")).to_have_count(1, timeout=15_000)
        yield page
        browser.close()


def _pane(page: Page, user_id: int):
    return page.locator(f'section.pane[data-user-id="{user_id}"]')


def _last_bot_message(pane):
    return pane.locator(".message.bot").last


def _press(pane, text: str) -> None:
    """Press a button of the newest bot message (older screens may carry buttons of the same name)."""
    _last_bot_message(pane).locator(".inline-keyboard button.kb-btn", has_text=text).first.click()


def _type(pane, text: str) -> None:
    pane.locator("input.msg-input").fill(text)
    pane.locator("button.send").click()


def test_resident_books_on_the_page_and_the_enumerator_sees_it(page):
    # The resident books before the officer ever opens her pane: the notice still reaches her.
    resident = _pane(page, RESIDENT)
    resident.locator("button.start-button").click()
    _press(resident, "Saya setuju")
    expect(_last_bot_message(resident)).to_contain_text("nama kepala keluarga", timeout=15_000)
    _type(resident, "Wati Susanti")
    expect(_last_bot_message(resident)).to_contain_text("nomor KK", timeout=15_000)
    _type(resident, "64720A")  # a slip: letters
    expect(_last_bot_message(resident)).to_contain_text("hanya berisi angka", timeout=15_000)
    _type(resident, "6472014509230007")  # day 45: a woman's NIK (day + 40), not a KK
    expect(_last_bot_message(resident)).to_contain_text("NIK", timeout=15_000)
    _type(resident, "6472011509230007")
    expect(_last_bot_message(resident)).to_contain_text("jumlah anggota", timeout=15_000)
    _press(resident, "4")
    expect(_last_bot_message(resident)).to_contain_text("alamat rumah", timeout=15_000)
    _type(resident, "Jl. Mawar Gg. 3 No. 12, RT 001/RW 005")
    expect(_last_bot_message(resident)).to_contain_text("lokasi rumah", timeout=15_000)
    # The location step's keyboard replaces the phone's: 📍 (request_location), Lewati, « Kembali.
    expect(resident.locator(".reply-keyboard button[data-request=location]")).to_contain_text("Kirim lokasi rumah")
    resident.locator(".reply-keyboard button", has_text="Lewati").click()
    expect(_last_bot_message(resident)).to_contain_text("Pilih hari", timeout=15_000)
    _press(resident, "Sel 24 Nov")
    expect(_last_bot_message(resident)).to_contain_text("pilih jam", timeout=15_000)
    _press(resident, "09.00")
    expect(_last_bot_message(resident)).to_contain_text("Benar?", timeout=15_000)
    _press(resident, "Ya, ambil waktu ini")
    expect(_last_bot_message(resident)).to_contain_text("Selasa, 24 Nov, 09.00 WITA — petugas Rina", timeout=15_000)

    # The enumerator is told by the outbox dispatcher, in her own chat on the same page; its clock
    # shows WITA, the area's time, whatever the browser's zone.
    officer = _pane(page, ENUMERATOR)
    expect(officer.locator(".message.bot", has_text="Kunjungan baru")).to_contain_text(
        re.compile(r"Selasa, 24 Nov, 09\.00 WITA.*Wati Susanti"), timeout=20_000)
    stamp = officer.locator(".message.bot time.msg-time").first
    sent_at = dt.datetime.fromisoformat(stamp.get_attribute("datetime").replace("Z", "+00:00"))
    assert stamp.inner_text() == sent_at.astimezone(ZoneInfo("Asia/Makassar")).strftime("%H.%M")
    # And sees it in tomorrow's schedule.
    _type(officer, "/jadwal")
    expect(_last_bot_message(officer)).to_contain_text("Jadwal Rina", timeout=15_000)
    _press(officer, "Besok")
    expect(_last_bot_message(officer)).to_contain_text("09.00 — Wati Susanti", timeout=15_000)


def test_the_rt_head_imports_a_list_as_a_file_and_a_supervisor_joins(page, tmp_path):
    head = _pane(page, RT_HEAD)
    head.locator("button.start-button").click()
    _press(head, "Saya setuju")
    expect(_last_bot_message(head)).to_contain_text("Menu Ketua RT 001", timeout=15_000)
    _press(head, "Impor daftar keluarga")
    expect(_last_bot_message(head)).to_contain_text("Kirim berkas CSV", timeout=15_000)
    listing = tmp_path / "daftar-rt001.csv"
    listing.write_text("nama kepala keluarga,nomor kk,jumlah anggota,alamat\n"
                       "Hasan Basri,6472011509230021,3,Jl. Mawar 3\nSri Wahyuni,6472011509230022,5,Jl. Mawar 5\n")
    head.locator("input.doc-input").set_input_files(str(listing))
    expect(_last_bot_message(head)).to_contain_text("2 keluarga diimpor", timeout=15_000)

    supervisor = _pane(page, SUPERVISOR)
    supervisor.locator("button.start-button").click()
    _press(supervisor, "Saya setuju")
    expect(supervisor.locator(".message.bot", has_text="pengawas").first).to_be_visible(timeout=15_000)
