"""The dashboard map's rules (domain/map_view.py): colours by share done and status, simplification per
zoom and its cache, the per-SLS aggregation, and who gets family points."""
from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import shape

from domain import map_view
from domain.map_view import ShapeCache, share_colour, simplify, tolerance_for_zoom
from storage.db import make_engine, make_session_factory, create_schema
from storage.uow import SqlUnitOfWork
from tests.dashboard_map_world import NOW, build_map_world, wobbly_square


@pytest.fixture
def uow_factory():
    engine = make_engine("sqlite://")
    create_schema(engine)
    factory = make_session_factory(engine)
    yield lambda: SqlUnitOfWork(factory)
    engine.dispose()


@pytest.fixture
def world(uow_factory, tmp_path):
    return build_map_world(uow_factory, tmp_path / "media")


def test_share_colours_darken_with_the_share_done_and_grey_without_families():
    colours = [share_colour(100, done) for done in (0, 19, 20, 39, 40, 60, 80, 99, 100)]
    assert colours[0] == colours[1] != colours[2] == colours[3] != colours[4]
    assert colours[-1] == colours[-2] == map_view.SHARE_STEPS[-1][1]
    assert share_colour(0, 0) == map_view.NO_FAMILIES_COLOUR
    assert [(b["from"], b["to"]) for b in map_view.legend()] == [(0, 20), (20, 40), (40, 60), (60, 80), (80, 100)]


def test_every_status_has_its_own_colour():
    assert len(set(map_view.STATUS_COLOURS.values())) == len(map_view.STATUS_COLOURS)
    assert map_view.status_colour("unknown") == map_view.STATUS_COLOURS["not_contacted"]


def test_tolerance_is_a_pixel_and_exact_when_zoomed_in():
    tolerances = [tolerance_for_zoom(z) for z in range(3, 19)]
    assert tolerances == sorted(tolerances, reverse=True)
    assert tolerance_for_zoom(17) == tolerance_for_zoom(18) == 0.0
    assert 3e-4 < tolerance_for_zoom(12) < 4e-4  # ~38 m at the equator
    with pytest.raises(ValueError):
        map_view.clamp_zoom("far")
    assert map_view.clamp_zoom("99") == 18 and map_view.clamp_zoom(-4) == 3


def test_simplification_drops_vertices_keeps_a_valid_outline_and_its_area():
    square = wobbly_square(117.195, -0.555, 0.005)
    coarse = simplify(square, tolerance_for_zoom(12))
    exact = simplify(square, 0.0)
    assert len(coarse["coordinates"][0]) < 10 < len(exact["coordinates"][0]) == 241
    assert shape(coarse).is_valid
    assert shape(coarse).area == pytest.approx(shape(square).area, rel=0.05)
    assert simplify({"type": "Polygon", "coordinates": "nonsense"}, 0.001) is None


def test_fit_zoom_shows_a_city_whole_and_a_kelurahan_close():
    assert map_view.fit_zoom((117.1, -0.6, 117.3, -0.4)) in (11, 12)
    assert map_view.fit_zoom((117.195, -0.555, 117.205, -0.55)) >= 15
    assert map_view.fit_zoom(None) == 12


def test_the_cache_keeps_shapes_for_its_ttl_and_drops_the_least_recently_used():
    cache = ShapeCache(ttl=dt.timedelta(minutes=5), size=2)
    empty = map_view.Shapes((), (), None, 12)
    cache.put((1, 0.1), NOW, empty)
    cache.put((2, 0.1), NOW, empty)
    assert cache.get((1, 0.1), NOW + dt.timedelta(minutes=4)) is empty
    assert cache.get((1, 0.1), NOW + dt.timedelta(minutes=6)) is None
    cache.put((3, 0.1), NOW, empty)  # (2, 0.1) is the least recently used
    assert cache.get((2, 0.1), NOW) is None and cache.get((1, 0.1), NOW) is empty


def test_the_layer_counts_per_sls_and_simplifies_once_per_area_and_tolerance(uow_factory, world):
    cache = ShapeCache()
    with uow_factory() as uow:
        district = uow.areas.by_code(world.codes["district"])
        first = map_view.sls_layer(uow, district, None, cache, NOW)
        misses = cache.misses
        again = map_view.sls_layer(uow, district, first["zoom"], cache, NOW)
    assert cache.misses == misses  # the second view simplified nothing
    assert first["features"] == again["features"]
    props = {f["properties"]["code"]: f["properties"] for f in first["features"]}
    assert {code: (p["families"], p["done"]) for code, p in props.items()} == {
        world.codes["s1"]: (4, 2), world.codes["s2"]: (2, 2), world.codes["s3"]: (1, 0)}
    assert props[world.codes["s2"]]["colour"] == share_colour(1, 1)
    assert first["area"]["done"] == 4 and first["area"]["families"] == 7
    assert first["bbox"] == pytest.approx([117.195, -0.565, 117.23, -0.55], abs=1e-4)


def test_family_points_only_for_those_who_may_see_the_families(uow_factory, world):
    with uow_factory() as uow:
        village = uow.areas.by_code(world.codes["v1"])
        supervisor = uow.users.get(world.users["supervisor_a"])
        outsider = uow.users.get(world.users["supervisor_b"])
        assert len(map_view.family_points(uow, supervisor, village, NOW)["points"]) == 6
        counts_only = map_view.family_points(uow, outsider, village, NOW)
        assert counts_only["points"] == [] and counts_only["counts"] == {"completed": 2, "booked": 2, "refused": 2}
        with pytest.raises(ValueError):
            map_view.family_points(uow, supervisor, uow.areas.by_code(world.codes["district"]), NOW)
        with pytest.raises(map_view.NotAllowed):
            map_view.family_detail(uow, outsider, world.families["s1"][0], NOW)
        assert map_view.family_detail(uow, supervisor, world.families["s1"][0], NOW)["name"] == "Ahmad Yani"


def test_a_reviewed_geotag_is_no_longer_marked_on_the_map(uow_factory, world):
    with uow_factory() as uow:
        record = uow.records.get(world.records["flagged_a"])
        uow.maps.mark_reviewed(record, world.users["supervisor_a"], NOW)
        uow.commit()
    with uow_factory() as uow:
        village = uow.areas.by_code(world.codes["v1"])
        points = map_view.family_points(uow, uow.users.get(world.users["supervisor_a"]), village, NOW)["points"]
        assert not any(p["flagged"] for p in points)


def test_the_basemap_is_optional_and_must_be_an_https_tile_template():
    from bot.config import Settings

    assert Settings.from_env({}).tile_url == ""
    found = Settings.from_env({"PINTU_TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
                               "PINTU_TILE_ATTRIBUTION": "© OpenStreetMap"})
    assert found.tile_url.endswith("{y}.png") and found.tile_attribution == "© OpenStreetMap"
    for wrong in ("http://tiles.example/{z}/{x}/{y}.png", "https://tiles.example/tile.png"):
        with pytest.raises(ValueError, match="PINTU_TILE_URL"):
            Settings.from_env({"PINTU_TILE_URL": wrong})


def test_a_large_area_is_never_sent_at_full_detail(uow_factory, world):
    cache = ShapeCache()
    with uow_factory() as uow:
        district = uow.areas.by_code(world.codes["district"])
        village = uow.areas.by_code(world.codes["v1"])
        assert map_view.sls_layer(uow, district, 18, cache, NOW)["zoom"] == map_view.LARGE_AREA_MAX_ZOOM
        assert map_view.sls_layer(uow, village, 18, cache, NOW)["zoom"] == 18
