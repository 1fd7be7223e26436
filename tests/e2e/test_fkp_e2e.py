"""The public consultation end to end through python-telegram-bot and aiogram on the simulator: the RT
head's proposals, a resident's objection, the forum deciding them, the minutes sent as a document, a
refusal to sign escalated to the kecamatan's coordinator, each decision queued for the registry once."""
from __future__ import annotations

import datetime as dt

import httpx
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

from e2e_support import Env, button
from test_coordination_e2e import dispatch, join, member_of
from test_story import no_crash
from chat.i18n import Translator
from domain import fkp
from domain.invites import InviteKind
from domain.ranking import RankEntry
from zoneinfo import ZoneInfo

ID = Translator("id")
SESSION = dt.datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Makassar"))


def _rank_and_plan(env: Env) -> fkp.PlannedForum:
    with env.pintu.uow() as uow:
        ids = sorted(f.id for sls in env.area.sls_ids for f in uow.fkp.families_page(sls, 0, 1000)[1])
        uow.rankings.replace_kabkota("64.72", [RankEntry(f, float(n), 1 + n % 10, 1 + n % 4) for n, f in enumerate(ids)],
                                     model_version="demo", ranked_at=env.clock.now())
        [planned] = fkp.plan_forums(uow, uow.areas.get(env.area.village_id), SESSION.astimezone(dt.timezone.utc),
                                    "Aula Kelurahan", env.clock.now(), "test-secret", figures=1)
        uow.commit()
    return planned


def test_proposals_an_objection_the_forum_the_minutes_and_a_refusal(env: Env, tmp_path) -> None:
    darto = env.person(2001, "Darto")
    join(env, darto, InviteKind.RT_HEAD, env.area.sls_ids[0], "Ketua RT")
    coordinator = env.person(5001, "Camat")
    join(env, coordinator, InviteKind.COORDINATOR, env.query(lambda uow: uow.areas.get(env.area.village_id).parent_id),
         "koordinator")
    planned = _rank_and_plan(env)
    facilitator = env.person(3001, "Lurah")
    seat = next(i.seat for i in planned.invites if i.seat.role == fkp.FACILITATOR)
    join(env, facilitator, InviteKind.FKP_SEAT, seat.id, "Forum Konsultasi Publik")

    env.clock.set(SESSION - dt.timedelta(days=7))  # the preparation window opens
    listed = darto.say("/fkp", "FKP RT 001")
    first, second = button(listed, "fk:f:", 0)[1], button(listed, "fk:f:", 1)[1]
    moved_id, objected_id = int(first.split(":")[2]), int(second.split(":")[2])
    family, _ = darto.press(listed, first, "Kelompok menurut model")
    groups, _ = darto.press(family, f"fk:m:{moved_id}", "seharusnya?")
    reasons, _ = darto.press(groups, button(groups, f"fk:g:{moved_id}:")[1], "Mengapa")
    darto.press(reasons, f"fk:y:{reasons_group(reasons, moved_id)}:died", ID("fkp-chat-reason-died"))

    wati = env.person(1001, "Wati")
    member_of(env, wati, objected_id)
    mine = wati.say("/fkp", "Kelompok kesejahteraan keluarga")
    claimed, _ = wati.press(mine, "fk:o", "seharusnya di kelompok mana")
    why, _ = wati.press(claimed, button(claimed, "fk:og:")[1], "Mengapa keluarga Anda")
    wati.press(why, button(why, "fk:oy:", 2)[1], "Sanggahan Anda tercatat")

    env.clock.set(SESSION)
    forum = facilitator.say("/fkp", "Forum FKP 1")
    opened, _ = facilitator.press(forum, f"fk:op:{planned.forum.id}", "Sesi forum dibuka")
    item, _ = facilitator.press(opened, f"fk:it:{planned.forum.id}:0", "1/2")
    assert ID("fkp-chat-reason-died") in item["text"]
    item, _ = facilitator.press(item, button(item, f"fk:dy:{planned.forum.id}:")[1], "2/2")
    assert "Sanggahan warga" in item["text"]
    facilitator.press(item, button(item, f"fk:dn:{planned.forum.id}:")[1], "Mengapa forum menolak")
    decided = facilitator.say("Penghasilan keluarga tetap", "Keputusan: ❌ ditolak")
    forum, _ = facilitator.press(decided, f"fk:h:{planned.forum.id}", "sudah diputuskan 2")
    closed, _ = facilitator.press(forum, f"fk:cl:{planned.forum.id}", "Forum ditutup")
    assert "sebelum → sesudah" in closed["text"]
    document = facilitator.wait("Berita acara FKP forum 1", newer_than=closed["message_id"])
    content = httpx.get(env.sim.url + document["document"]["url"], timeout=10).content
    assert content.startswith(b"%PDF")

    final = env.query(lambda uow: uow.rankings.ranks_for_families([moved_id, objected_id]))
    assert final[moved_id].overridden and not final[objected_id].overridden
    assert _registry_receives(env, tmp_path) == {"accepted": 1, "rejected": 1}  # each decision, once

    dispatch(env)
    ask = darto.wait("Apakah Anda menyetujui berita acaranya?")
    darto.press(ask, f"fk:sg:{planned.forum.id}:n")
    assert env.query(lambda uow: uow.fkp.get(planned.forum.id).status) == fkp.ESCALATED
    dispatch(env)
    alert = coordinator.wait("tidak menyetujui berita acara")
    assert "Darto" in alert["text"] and "Rawa Makmur" in alert["text"]
    for person in (darto, wati, facilitator, coordinator):
        no_crash(person)


def reasons_group(reasons: dict, family_id: int) -> str:
    """``<family>:<group>`` from the reason buttons under the group chosen."""
    return ":".join(button(reasons, f"fk:y:{family_id}:")[1].split(":")[2:4])


def _registry_receives(env: Env, tmp_path) -> dict[str, int]:
    """Forward the queued decisions to the reference registry twice over: what it holds, by outcome."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from registry.client import RegistryTarget, make_client
    from registry.fkp import forward_fkp_decisions
    from registry.service.models import StoredFkpDecision
    from registry_support import TOKEN, RegistryServer

    server = RegistryServer(f"sqlite:///{tmp_path / 'registry.db'}").start()
    try:
        target = RegistryTarget(server.url, TOKEN)

        async def forward() -> list[int]:
            async with make_client(target) as client:
                return [await forward_fkp_decisions(env.pintu.uow, env.clock, target, client) for _ in range(2)]

        assert env.loop.run(forward()) == [2, 0]  # the second run finds nothing left to send
        with Session(server.engine) as session:
            held = list(session.scalars(select(StoredFkpDecision)))
        assert all(row.duplicates == 0 for row in held)  # nothing was sent twice
        outcomes: dict[str, int] = {}
        for row in held:
            outcomes[row.document["outcome"]] = outcomes.get(row.document["outcome"], 0) + 1
        return outcomes
    finally:
        server.close()
