"""The dashboard's map and review page over HTTP (aiohttp's test client, SQLite and PostgreSQL): what each
JSON endpoint returns to whom, the audit entries of what was seen, the photos' privacy, the reviewed mark."""
from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from domain import audit, dashboard
from domain.clock import FakeClock
from tests.dashboard_map_world import NOW, build_map_world
from web.app import WebDeps, build_web_app

SECRET = "m" * 48


@pytest.fixture
def world(uow_factory, tmp_path):
    return build_map_world(uow_factory, tmp_path / "media")


@pytest.fixture
async def client(uow_factory, tmp_path):
    settings = Settings(invite_secret=SECRET, web_url="http://localhost:8090", media_dir=str(tmp_path / "media"))
    app = build_web_app(WebDeps(settings, FakeClock(NOW), uow_factory))
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


async def sign_in(client: TestClient, uow_factory, user_id: int) -> None:
    with uow_factory() as uow:
        token = dashboard.issue_link(uow, SECRET, uow.users.get(user_id), NOW)
        uow.commit()
    assert (await client.get(f"/masuk/{token}")).status == 200
    response = await client.post("/masuk", data={"token": token}, allow_redirects=False)
    assert response.status == 303


def audit_actions(uow_factory, user_id: int) -> list[tuple[str, int | None, int | None]]:
    with uow_factory() as uow:
        return [(e.action, e.family_id, e.count) for e in audit.entries(uow, user_id=user_id)]


async def test_every_endpoint_needs_a_session(client, world):
    for path in ("/api/peta/sls", "/api/peta/kelurahan", "/api/peta/keluarga?area=64.72.01.1001",
                 f"/api/peta/keluarga/{world.families['s1'][0]}", "/api/peta/rute?area=64.72.01.1001",
                 f"/tinjauan/foto/{world.photos['a']}"):
        assert (await client.get(path)).status == 401, path


async def test_the_map_page_carries_its_texts_and_no_outside_script(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["coordinator"])
    response = await client.get("/peta")
    html = await response.text()
    assert response.status == 200
    assert 'id="map-data"' in html and "Bagian selesai per SLS" in html
    assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', html))
    assert "leaflet.js" in html and "unpkg" not in html and "cdn" not in html.lower()


async def test_first_view_outlines_are_coloured_by_share_done_and_simplified(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["coordinator"])
    layer = await (await client.get("/api/peta/sls")).json()
    by_code = {f["properties"]["code"]: f for f in layer["features"]}
    assert set(by_code) == {world.codes["s1"], world.codes["s2"], world.codes["s3"]}
    s1, s2, s3 = (by_code[world.codes[k]]["properties"] for k in ("s1", "s2", "s3"))
    assert (s1["families"], s1["done"], s1["share"]) == (4, 2, 0.5)
    assert (s2["done"], s2["share"]) == (2, 1.0)
    assert s3["share"] == 0.0
    assert len({s1["colour"], s2["colour"], s3["colour"]}) == 3  # three shares, three fills
    assert layer["area"]["families"] == 7
    coarse = len(by_code[world.codes["s1"]]["geometry"]["coordinates"][0])
    exact = await (await client.get("/api/peta/sls", params={"zoom": "18", "area": world.codes["v1"]})).json()
    detailed = len(next(f for f in exact["features"] if f["id"] == world.codes["s1"])["geometry"]["coordinates"][0])
    assert coarse < detailed == 241  # the first view's outlines are simplified; at zoom 18 they are as imported
    assert [(v["code"], v["families"], v["done"]) for v in layer["villages"]] == [
        (world.codes["v1"], 6, 4), (world.codes["v2"], 1, 0)]
    assert "Ahmad" not in str(layer)  # counts only: no family is named


async def test_kelurahan_centres_have_their_totals(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["coordinator"])
    centres = await (await client.get("/api/peta/kelurahan")).json()
    assert [(c["code"], c["families"], c["done"]) for c in centres] == [
        (world.codes["v1"], 6, 4), (world.codes["v2"], 1, 0)]


async def test_family_points_come_for_one_kelurahan_and_are_audited(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    refused = await client.get("/api/peta/keluarga")  # the viewer's area is a kelurahan: allowed
    assert refused.status == 200
    found = await refused.json()
    assert len(found["points"]) == 6 and all("name" not in p for p in found["points"])
    statuses = {p["status"] for p in found["points"]}
    assert statuses == {"completed", "booked", "refused"}
    flagged = [p for p in found["points"] if p["flagged"]]
    assert [p["id"] for p in flagged] == [world.families["s1"][0]]
    assert ("family.view", None, 6) in audit_actions(uow_factory, world.users["supervisor_a"])


async def test_points_of_a_whole_kecamatan_are_refused(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["coordinator"])
    response = await client.get("/api/peta/keluarga", params={"area": world.codes["district"]})
    assert response.status == 400


async def test_a_family_is_named_on_click_and_the_view_is_audited(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    family_id = world.families["s1"][0]
    detail = await (await client.get(f"/api/peta/keluarga/{family_id}")).json()
    assert detail["name"] == "Ahmad Yani" and detail["flag"] == "outside-sls"
    assert ("family.view", family_id, None) in audit_actions(uow_factory, world.users["supervisor_a"])


async def test_a_supervisor_of_one_kelurahan_gets_403_for_anothers_json_and_photo(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    other = world.codes["v2"]
    for path in (f"/api/peta/sls?area={other}", f"/api/peta/kelurahan?area={other}",
                 f"/api/peta/keluarga?area={other}", f"/api/peta/rute?area={other}",
                 f"/api/peta/keluarga/{world.families['s3'][0]}", f"/tinjauan/foto/{world.photos['b']}",
                 f"/tinjauan?area={other}", "/api/peta/keluarga/999999", "/tinjauan/foto/999999"):
        response = await client.get(path)
        assert response.status == 403, path
    assert not any(f == world.families["s3"][0] for _, f, _ in audit_actions(uow_factory, world.users["supervisor_a"]))


async def test_todays_route_has_numbered_stops(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    routes = await (await client.get("/api/peta/rute")).json()
    assert [r["enumerator"] for r in routes] == ["Rina"]
    stops = routes[0]["stops"]
    booked = [s for s in stops if s["booked"]]
    assert [s["time"] for s in booked] == ["10.00", "11.00"]
    assert [s["n"] for s in stops] == sorted(s["n"] for s in stops) and stops[0]["n"] == 1


async def test_a_photo_is_served_privately_and_audited(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    response = await client.get(f"/tinjauan/foto/{world.photos['a']}")
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert (await response.read()).startswith(b"\x89PNG")
    assert ("photo.view", world.families["s1"][0], None) in audit_actions(uow_factory, world.users["supervisor_a"])


async def test_the_review_page_lists_flagged_and_photo_less_records_and_marks_them_reviewed(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    page = await (await client.get("/tinjauan")).text()
    assert "Ahmad Yani" in page and "Siti Aminah" in page and "Gunawan" not in page
    assert f'src="/tinjauan/foto/{world.photos["a"]}"' in page
    assert 'data-lat="-0.56"' in page  # the flagged geotag's point on the small map
    record_id = world.records["flagged_a"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    forged = await client.post(f"/tinjauan/{record_id}/ditinjau", data={"csrf": "x"}, allow_redirects=False)
    assert forged.status == 403
    done = await client.post(f"/tinjauan/{record_id}/ditinjau", data={"csrf": csrf, "back": "https://evil.example"},
                             allow_redirects=False)
    assert done.status == 303 and done.headers["Location"] == "/tinjauan"
    with uow_factory() as uow:
        record = uow.records.get(record_id)
        assert record.reviewed_by_user_id == world.users["supervisor_a"] and record.reviewed_at == NOW
        assert uow.supervision.review_counts(uow.areas.by_code(world.codes["v1"]).id) == (0, 1, 0)  # the chat's too
    page = await (await client.get("/tinjauan")).text()
    assert "Ahmad Yani" not in page
    reviewed = await (await client.get("/tinjauan?ditinjau=1")).text()
    assert "Ahmad Yani" in reviewed and "Ditinjau oleh" in reviewed


async def test_a_supervisor_cannot_mark_anothers_record(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    csrf = re.search(r'name="csrf" value="([^"]+)"', await (await client.get("/tinjauan")).text()).group(1)
    response = await client.post(f"/tinjauan/{world.records['flagged_b']}/ditinjau", data={"csrf": csrf},
                                 allow_redirects=False)
    assert response.status == 403
    with uow_factory() as uow:
        assert uow.records.get(world.records["flagged_b"]).reviewed_at is None


async def test_the_maps_texts_follow_the_viewers_language(client, world, uow_factory):
    await sign_in(client, uow_factory, world.users["supervisor_a"])
    page = await (await client.get("/peta")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    await client.post("/bahasa", data={"csrf": csrf, "lang": "en", "back": "/peta"})
    english = await (await client.get("/peta")).text()
    assert "Share done per SLS" in english and "Bagian selesai per SLS" not in english
    review = await (await client.get("/tinjauan")).text()
    assert "Mark as reviewed" in review


async def test_an_admin_over_several_trees_chooses_one_first(client, world, uow_factory):
    from domain.model import Area
    from tests.factories import make_user

    with uow_factory() as uow:
        uow.areas.add(Area(code="65", level="province", name="Kalimantan Utara", timezone="Asia/Makassar"))
        admin = make_user(uow, NOW, role="admin")
        uow.commit()
        admin_id = admin.id
    await sign_in(client, uow_factory, admin_id)
    for path in ("/peta", "/tinjauan"):
        page = await (await client.get(path)).text()
        assert f'href="{path}?area=64.72.01"' in page and f'href="{path}?area=65"' in page
    assert (await client.get("/peta?area=64.72.01")).status == 200
