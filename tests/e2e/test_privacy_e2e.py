"""The resident's rights end to end through python-telegram-bot and aiogram on the simulator: /dataku's
summary and file, a correction reaching the RT head and being closed, withdrawal with erasure."""
from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, button
from test_coordination_e2e import dispatch, join
from test_story import KK_WATI, no_crash, register_and_book
from domain.invites import InviteKind
from domain.privacy import current_notice


def test_my_data_a_correction_closed_by_the_rt_head_and_erasure(env: Env) -> None:
    slamet = env.person(2001, "Slamet")
    join(env, slamet, InviteKind.RT_HEAD, env.area.sls_ids[0], "terdaftar sebagai Ketua RT")
    wati = env.person(1001, "Wati")
    register_and_book(env, wati, "Wati Susanti", KK_WATI)

    summary = wati.say("/dataku", "Data Anda di Pintu")
    assert "Wati Susanti" in summary["text"] and KK_WATI not in summary["text"] and KK_WATI[-4:] in summary["text"]
    sent = wati.wait("Semua data Anda di Pintu", newer_than=summary["message_id"])
    content = httpx.get(env.sim.url + sent["document"]["url"], timeout=10).content
    assert json.loads(content)["family"]["kk_number"] == KK_WATI

    asked, _ = wati.press(summary, button(summary, "pv:fix")[1], "Tuliskan data mana yang salah")
    done = wati.say("Jumlah anggota 5, bukan 4", "Permintaan pembetulan no.")
    dispatch(env)
    notice = slamet.wait("Permintaan pembetulan no.")
    assert "Jumlah anggota 5, bukan 4" in notice["text"] and "Wati Susanti" in notice["text"]
    closed, answer = slamet.press(notice, button(notice, "pv:done:")[1], "selesai; warga sudah diberi tahu")
    assert closed["message_id"] == notice["message_id"]
    dispatch(env)
    wati.wait("Permintaan pembetulan Anda", newer_than=done["message_id"])

    summary = wati.say("/dataku", "Data Anda di Pintu")
    confirm, _ = wati.press(summary, "pv:erase", "Yang dihapus sekarang")
    assert "Tarik persetujuan dan hapus sekarang?" in confirm["text"]
    wati.press(confirm, "pv:eraseok", "data Anda sudah dihapus")
    assert env.query(lambda uow: uow.users.by_telegram_id(1001)) is None
    assert env.query(lambda uow: uow.conversations.get(1001)) is None
    wati.say("/menu", "/start")
    no_crash(wati)
    no_crash(slamet)


def test_a_new_privacy_notice_is_agreed_to_again(env: Env) -> None:
    wati = env.person(1001, "Wati")
    register_and_book(env, wati, "Wati Susanti", KK_WATI)
    with env.pintu.uow() as uow:
        uow.users.by_telegram_id(1001).consent_version = "2025-1"  # agreed before the notice changed
        uow.commit()
    notice = wati.say("/janji", "Pemberitahuan privasi Pintu telah diperbarui")
    assert "lokasi GPS rumah" in notice["text"] and "registri pusat" in notice["text"]
    wati.press(notice, button(notice, "cs:y")[1], "persetujuan Anda untuk pemberitahuan baru sudah dicatat")
    assert env.query(lambda uow: uow.users.by_telegram_id(1001).consent_version) == current_notice("resident")
    no_crash(wati)
