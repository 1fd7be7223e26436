"""Supervision end to end through python-telegram-bot and aiogram on the simulator: a supervisor joins by
invite, opens the progress of their kelurahan, and receives the area's families as an XLSX document."""
from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, buttons  # noqa: E402
from domain.invites import InviteKind  # noqa: E402


def test_supervisor_opens_progress_and_receives_an_xlsx(env: Env) -> None:
    village = env.area.village_id
    pak = env.person(3001, "Pak Budi")
    token = env.invite(InviteKind.SUPERVISOR, village)
    consent = pak.say(f"/start {token}", "Selamat datang di Pintu")
    pak.press(consent, f"cs:y:{token}", "pengawas (PML)")

    progress = pak.say("/progres", "Progres Kelurahan/Desa Rawa Makmur")
    assert "30 keluarga" in progress["text"] and "RT 001" in progress["text"]
    assert ("⬇️ Unduh data", f"ex:m:{village}") in buttons(progress)
    menu, _ = pak.press(progress, f"ex:m:{village}", "Pilih format")
    assert menu["message_id"] == progress["message_id"], "the export menu edits the progress message"
    _, answer = pak.press(menu, f"ex:x:{village}")
    assert answer["text"] == "Berkas sedang dikirim."
    sent = pak.wait("Data Rawa Makmur: 30 baris", newer_than=menu["message_id"])
    document = sent["document"]
    assert document["file_name"].startswith("pintu-64.72.01.1001-") and document["file_name"].endswith(".xlsx")
    content = httpx.get(env.sim.url + document["url"], timeout=10).content
    assert len(content) == document["file_size"]
    sheet = load_workbook(io.BytesIO(content), read_only=True)["keluarga"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 31 and rows[0][0] == "kode_sls"
    assert {row[1] for row in rows[1:]} == {"RT 001", "RT 002", "RT 003"}
    # The export is in the audit log: who, the area, how many rows — not one value.
    from domain import audit

    supervisor_id = env.query(lambda uow: uow.users.by_telegram_id(3001).id)
    logged = env.query(lambda uow: audit.entries(uow, user_id=supervisor_id))
    assert [(e.action, e.actor_role, e.area_id, e.count) for e in logged if e.action == audit.EXPORT] == [
        (audit.EXPORT, "supervisor", village, 30)]

    # Someone else pressing the same export for an area they do not supervise gets a refusal, no file.
    wati = env.person(3002, "Wati")
    notice = wati.say("/start", "Selamat datang di Pintu")
    wati.press(notice, "cs:y", "kecamatan")
    refused = wati.say("/progres", "tidak berwenang")
    assert "tidak berwenang" in refused["text"]
