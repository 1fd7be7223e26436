"""The dashboard's pages over HTTP (SQLite and PostgreSQL): the progress table drills down and up within
the viewer's scope (403 beside it), sorts, draws the chart; enumerators; exports downloaded and audited."""
from __future__ import annotations

import csv
import io
import json
import re

from domain import audit
from tests.integration.test_web_signin import (  # noqa: F401  (fixtures)
    client, clock, csrf_of, link_for, sign_in, world)


def row_codes(html: str) -> list[str]:
    return re.findall(r'<tr data-code="([^"]+)"', html)


def cells(html: str, code: str) -> list[str]:
    row = re.search(rf'<tr data-code="{re.escape(code)}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


async def test_a_coordinator_drills_from_the_kecamatan_to_an_rt_and_back(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["coordinator"]))
    top = await (await client.get("/")).text()
    assert row_codes(top) == [world["first"], world["second"]]
    # Rawa Makmur: 6 families, 3 completed, 1 refused (done 4 = 67 %), 1 booked
    assert cells(top, world["first"])[:6] == ["Rawa Makmur", "6", "1", "3", "3", "67%"]
    village = await (await client.get(f"/?area={world['first']}")).text()
    assert row_codes(village) == [world["rw1"], world["first"] + ".0002"]
    assert f'data-up="{world["district"]}"' in village  # the crumb back up
    rt = await client.get(f"/?area={world['rw1']}")
    assert rt.status == 200
    assert "RT 001 RW" in await rt.text()


async def test_a_supervisor_of_one_kelurahan_gets_403_for_another(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    home = await (await client.get("/")).text()
    assert "Rawa Makmur" in home and 'data-up="' not in home  # no crumb above their own area
    for path in (f"/?area={world['second']}", f"/?area={world['bk1']}", f"/?area={world['district']}",
                 f"/petugas?area={world['second']}", f"/ekspor?area={world['second']}", "/?area=99.99"):
        response = await client.get(path)
        assert response.status == 403, path
        assert "di luar wilayah" in (await response.text()).lower()
    export = await client.post("/ekspor/unduh", data={"csrf": csrf_of(home), "area": world["second"], "format": "csv"})
    assert export.status == 403


async def test_the_table_sorts_by_a_column(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["coordinator"]))
    ascending = await (await client.get("/?sort=families&dir=asc")).text()
    assert row_codes(ascending) == [world["second"], world["first"]]  # 4 families, then 6
    assert 'aria-sort="ascending"' in ascending
    descending = await (await client.get("/?sort=families&dir=desc")).text()
    assert row_codes(descending) == [world["first"], world["second"]]


async def test_the_chart_has_a_bar_per_working_day_and_the_target_line(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["coordinator"]))
    html = await (await client.get("/")).text()
    bars = dict(re.findall(r'data-day="([\d-]+)" data-count="(\d+)"', html))
    # window from Mon 16 Nov; today is Mon 23 Nov (10.00 WITA): 16-21 and 23 Nov, Sunday left out
    assert sorted(bars) == ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20", "2026-11-21",
                            "2026-11-23"]
    assert bars["2026-11-23"] == "2" and bars["2026-11-21"] == "0"  # completed today: RW1-0, RW2-0 (RW1-1 on Sunday)
    assert 'class="target"' in html


async def test_enumerators_page_lists_todays_visit_and_logs_the_family_shown(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    html = await (await client.get("/petugas")).text()
    assert "Rina" in html and "Kepala RW1-2" in html and "11.00" in html
    with uow_factory() as uow:
        entries = audit.entries(uow, user_id=world["supervisor"])
    assert [e.action for e in entries] == [audit.VIEW_FAMILY]


async def test_an_export_downloads_with_its_length_and_is_audited(client, world, uow_factory):
    await sign_in(client, link_for(uow_factory, world["supervisor"]))
    page = await (await client.get("/ekspor")).text()
    assert "6 keluarga" in page
    without = await client.post("/ekspor/unduh", data={"area": world["first"], "format": "csv"})
    assert without.status == 403
    response = await client.post("/ekspor/unduh", data={"csrf": csrf_of(page), "area": world["first"], "format": "csv"})
    assert response.status == 200
    body = await response.read()
    assert int(response.headers["Content-Length"]) == len(body)
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 6
    geo = await client.post("/ekspor/unduh", data={"csrf": csrf_of(page), "area": world["first"], "format": "geojson"})
    assert json.loads(await geo.read())["type"] == "FeatureCollection"
    with uow_factory() as uow:
        exports = [e for e in audit.entries(uow, user_id=world["supervisor"]) if e.action == audit.EXPORT]
    assert [e.count for e in exports] == [6, 0]  # GeoJSON: features, and these families have no position yet


async def test_every_page_needs_a_session(client, world):
    for path in ("/", "/petugas", "/ekspor"):
        assert (await client.get(path)).status == 401
    assert (await client.post("/ekspor/unduh", data={"format": "csv"})).status == 401


async def test_the_forums_of_the_area_show_their_status_and_groups_before_and_after(client, world, uow_factory):
    import datetime as dt

    from domain.model import FkpDecision, FkpForum
    from domain.ranking import RankEntry
    from tests.integration.test_web_signin import NOW

    with uow_factory() as uow:
        village = uow.areas.by_code(world["first"])
        rts = [uow.areas.by_code(world["rw1"]), uow.areas.by_code(world["first"] + ".0002")]
        families = [f for rt in rts for f, _ in uow.fkp.family_ids_in([rt.id])]
        uow.rankings.replace_kabkota("64.72", [RankEntry(f, float(n), n + 1, 1 if n < 2 else 4)
                                               for n, f in enumerate(families)], model_version="test", ranked_at=NOW)
        forum = uow.fkp.add_forum(FkpForum(village_id=village.id, number=1, at=NOW + dt.timedelta(days=1),
                                           place="Balai", prep_opens_at=NOW - dt.timedelta(days=6), status="closed",
                                           created_at=NOW), [rt.id for rt in rts])
        uow.fkp.add_decision(FkpDecision(forum_id=forum.id, family_id=families[0], outcome="accepted",
                                         group=3, at=NOW))
        other = uow.areas.by_code(world["second"])
        uow.fkp.add_forum(FkpForum(village_id=other.id, number=1, at=NOW + dt.timedelta(days=30), place="Balai",
                                   prep_opens_at=NOW + dt.timedelta(days=23), created_at=NOW), [])
        uow.commit()
    await sign_in(client, link_for(uow_factory, world["coordinator"]))
    page = await (await client.get("/")).text()
    forums = re.search(r'<table class="forums">(.*?)</table>', page, re.S).group(1)
    rows = [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", forums, re.S)[1:]]
    assert rows[0][0] == "Rawa Makmur · forum 1" and rows[0][2] == "selesai"
    assert rows[0][3:] == ["2 → 1", "0 → 0", "0 → 1", "4 → 4"]  # one family moved from group 1 to 3
    assert rows[1][0] == "Bukuan · forum 1" and rows[1][3:] == ["–"] * 4  # still under embargo
    assert "WITA" in rows[0][1]
