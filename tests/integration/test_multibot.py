"""Two bot tokens in one deployment, each bound to its areas (issue 7): two real bot processes (the
transport, the handlers and the dispatcher of ``bot.service.serve``) on one database and one Bot API
simulator. A newcomer sees their bot's kecamatan only; an invite or a user of the other city is sent to
the other bot, by name; every message goes out through the bot its recipient talks to."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.service import serve
from bot.wiring import build
from domain.clock import FakeClock
from domain.invites import InviteKind, make_invite
from domain.model import Area, BotEntry, Family
from simulator.testing import running_simulator
from storage.db import create_schema
from storage.seed import seed_demo

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)  # Monday 08.00 WITA
SECRET = "s" * 32
BOTS = {"smd": ("5001:samarinda-token", "samarinda_pintu_bot", "64.72", "ptb"),
        "tng": ("5002:tangsel-token", "tangsel_pintu_bot", "36.74", "aiogram")}


def seed_tangsel(uow) -> int:
    """A second city: Kota Tangerang Selatan (WIB), one kecamatan, one kelurahan, one RT; the RT's id."""
    tz = "Asia/Jakarta"
    province = uow.areas.add(Area(code="36", level="province", name="Banten", timezone=tz))
    city = uow.areas.add(Area(code="36.74", level="regency", name="Kota Tangerang Selatan", parent_id=province.id, timezone=tz))
    district = uow.areas.add(Area(code="36.74.01", level="district", name="Serpong", parent_id=city.id, timezone=tz))
    village = uow.areas.add(Area(code="36.74.01.1001", level="village", name="Lengkong Gudang", parent_id=district.id,
                                 timezone=tz))
    return uow.areas.add(Area(code="36.74.01.1001.0001", level="sls", name="RT 001", parent_id=village.id, timezone=tz)).id


async def call(function, *args, **kwargs):
    """The simulator's user-side client blocks: keep the bots' event loop free meanwhile."""
    return await asyncio.to_thread(function, *args, **kwargs)


def texts(sim, bot_id: int, chat_id: int) -> list[str]:
    return [m.get("text") or "" for m in sim.messages(bot_id, chat_id) if m["from_bot"]]


async def test_two_bots_serve_their_own_areas_and_send_through_their_own_token(tmp_path):
    database = f"sqlite:///{tmp_path / 'pintu.db'}"
    with running_simulator() as sim:
        ids = {key: int(token.split(":")[0]) for key, (token, *_rest) in BOTS.items()}
        pintus = {}
        for key, (token, username, area, framework) in BOTS.items():
            sim.register_bot(token, username, "Pintu")
            settings = Settings(bot_token=token, api_url=sim.url, database_url=database, invite_secret=SECRET,
                                framework=framework, bot_key=key, bot_areas=(area,), outbox_interval=0.1)
            pintus[key] = build(settings, clock=FakeClock(NOW))
        create_schema(pintus["smd"].engine)
        with pintus["smd"].uow() as uow:
            samarinda = seed_demo(uow, NOW)
            tangsel_rt = seed_tangsel(uow)
            family = uow.session.scalars(select(Family).where(Family.sls_id == samarinda.sls_ids[0])).first()
            uow.commit()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(serve(p, stop)) for p in pintus.values()]
        try:
            await wait_until(lambda: len(rows(pintus["smd"], BotEntry)) == 2)

            # A newcomer of Samarinda: the Samarinda bot offers Samarinda's kecamatan only.
            await call(sim.create_user, 1001, "Wati", language_code="id")
            sent = await call(sim.send_text, ids["smd"], 1001, "/start")
            consent = await call(sim.wait_for_message, ids["smd"], 1001, lambda m: m["from_bot"], newer_than=sent["message_id"])
            await call(sim.press, ids["smd"], 1001, consent["message_id"], "cs:y")
            areas = await call(sim.wait_for_message, ids["smd"], 1001, lambda m: "kecamatan" in (m.get("text") or ""))
            labels = [b["text"] for row in areas["reply_markup"]["inline_keyboard"] for b in row]
            assert "Palaran" in labels and "Serpong" not in labels

            # Tangsel's RT-head invite opened at the Samarinda bot: refused, naming Tangsel's bot.
            token = make_invite(SECRET, InviteKind.RT_HEAD, tangsel_rt, NOW + dt.timedelta(days=7))
            await call(sim.create_user, 2002, "Pak Budi", language_code="id")
            sent = await call(sim.send_text, ids["smd"], 2002, f"/start {token}")
            consent = await call(sim.wait_for_message, ids["smd"], 2002, lambda m: m["from_bot"], newer_than=sent["message_id"])
            await call(sim.press, ids["smd"], 2002, consent["message_id"], f"cs:y:{token}")
            await call(sim.wait_for_message, ids["smd"], 2002, lambda m: "@tangsel_pintu_bot" in (m.get("text") or ""))
            # (the notice he agreed to stays; after the refusal he may carry on as a resident: the kecamatan)
            await call(sim.wait_for_message, ids["smd"], 2002, lambda m: "kecamatan" in (m.get("text") or ""))
            # ...and at Tangsel's bot it works at once (he agreed to the notice already); the Samarinda bot
            # then sends him there.
            await call(sim.send_text, ids["tng"], 2002, f"/start {token}")
            await call(sim.wait_for_message, ids["tng"], 2002, lambda m: "Ketua RT" in (m.get("text") or ""))
            sent = await call(sim.send_text, ids["smd"], 2002, "/menu")
            refusal = await call(sim.wait_for_message, ids["smd"], 2002, lambda m: m["from_bot"], newer_than=sent["message_id"])
            assert "@tangsel_pintu_bot" in refusal["text"] and "RT 001" in refusal["text"]

            # Messages go out through the bot each recipient talks to.
            with pintus["smd"].uow() as uow:
                for chat in (1001, 2002):
                    uow.outbox.add(chat, "visit-new", {"family_id": family.id, "start": (NOW + dt.timedelta(hours=3)).isoformat()},
                                   due_at=NOW, now=NOW)
                uow.commit()
            await call(sim.wait_for_message, ids["smd"], 1001, lambda m: family.head_name in (m.get("text") or ""))
            await call(sim.wait_for_message, ids["tng"], 2002, lambda m: family.head_name in (m.get("text") or ""))
            assert not any(family.head_name in text for text in await call(texts, sim, ids["smd"], 2002))
            assert not any(family.head_name in text for text in await call(texts, sim, ids["tng"], 1001))
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
        for p in pintus.values():
            p.engine.dispose()


def rows(pintu, model) -> list:
    with pintu.uow() as uow:
        return list(uow.session.scalars(select(model)))


async def wait_until(condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if await asyncio.to_thread(condition):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_a_bot_is_configured_by_its_key_and_its_area_codes():
    settings = Settings.from_env({"PINTU_BOT_KEY": "Samarinda", "PINTU_BOT_AREAS": "64.72, 64.74"})
    assert (settings.bot_key, settings.bot_areas) == ("samarinda", ("64.72", "64.74"))
    assert (Settings.from_env({}).bot_key, Settings.from_env({}).bot_areas) == ("", ())  # one bot, every area
    for wrong in ({"PINTU_BOT_KEY": "smd"}, {"PINTU_BOT_AREAS": "64.72"}, {"PINTU_BOT_KEY": "a b", "PINTU_BOT_AREAS": "64"},
                  {"PINTU_BOT_KEY": "smd", "PINTU_BOT_AREAS": "Samarinda"}):
        with pytest.raises(ValueError):
            Settings.from_env(wrong)
