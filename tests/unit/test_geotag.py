"""Geotags: accuracy, the SLS polygon (holes, multipolygons, the edge), the distance from the kelurahan's
centre, who may overwrite whom, live locations, and the GeoJSON boundary import (all or nothing).

Over the demo kelurahan (Rawa Makmur, centre -0.55, 117.2) in an in-memory SQLite database.
"""
from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache

import pytest

from domain import geotag
from domain.boundaries import BoundaryFileError, import_boundaries, read_geojson
from domain.errors import RecordStateError
from domain.geotag import GeoPolicy, judge_location, point_in_geometry, save_geotag, update_live
from domain.model import Area, Family
from domain.records import start_record
from storage.db import create_schema, make_engine, make_session_factory
from storage.seed import seed_demo
from storage.uow import SqlUnitOfWork

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)
POLICY = GeoPolicy()

# RT 001's square around the centre (about 2.2 km a side) with a hole (a river island) in the middle.
SQUARE = [[117.19, -0.56], [117.21, -0.56], [117.21, -0.54], [117.19, -0.54], [117.19, -0.56]]
HOLE = [[117.198, -0.552], [117.202, -0.552], [117.202, -0.548], [117.198, -0.548], [117.198, -0.552]]
POLYGON = {"type": "Polygon", "coordinates": [SQUARE, HOLE]}
# Two separate blocks: west (117.17–117.18) and east (117.22–117.23).
MULTI = {"type": "MultiPolygon", "coordinates": [
    [[[117.17, -0.56], [117.18, -0.56], [117.18, -0.54], [117.17, -0.54], [117.17, -0.56]]],
    [[[117.22, -0.56], [117.23, -0.56], [117.23, -0.54], [117.22, -0.54], [117.22, -0.56]]],
]}


@lru_cache(maxsize=None)
def _template():
    engine = make_engine("sqlite://")
    create_schema(engine)
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        seed_demo(uow, NOW)
        uow.commit()
    return engine


@pytest.fixture
def uow():
    """A unit of work over a private copy of the seeded database (nothing is shared between tests)."""
    engine = make_engine("sqlite://")
    with _template().connect() as source, engine.connect() as target:
        source.connection.driver_connection.backup(target.connection.driver_connection)
    with SqlUnitOfWork(make_session_factory(engine)) as unit:
        yield unit
    engine.dispose()


def family_in(uow, rt: int) -> Family:
    sls = uow.areas.by_code(f"64.72.01.1001.{rt:04d}")
    return uow.session.query(Family).filter(Family.sls_id == sls.id).order_by(Family.id).first()


def set_boundary(uow, rt: int, geometry: dict) -> None:
    uow.areas.by_code(f"64.72.01.1001.{rt:04d}").boundary = geometry
    uow.flush()


# --- point in polygon ------------------------------------------------------------------------------

@pytest.mark.parametrize("lat, lon, inside", [
    (-0.545, 117.195, True),  # in the square, outside the hole
    (-0.55, 117.2, False),  # in the hole
    (-0.53, 117.2, False),  # north of the square
    (-0.56, 117.2, True),  # on the southern edge: the edge counts
    (-0.552, 117.2, True),  # on the hole's edge: still the polygon's boundary
])
def test_point_in_a_polygon_with_a_hole(lat, lon, inside):
    assert point_in_geometry(POLYGON, lat, lon) is inside


@pytest.mark.parametrize("lat, lon, inside", [
    (-0.55, 117.175, True), (-0.55, 117.225, True), (-0.55, 117.2, False), (-0.57, 117.175, False),
])
def test_point_in_a_multipolygon(lat, lon, inside):
    assert point_in_geometry(MULTI, lat, lon) is inside


# --- judging a location ----------------------------------------------------------------------------

def test_a_point_inside_the_sls_is_ok_with_its_distance_from_the_centre(uow):
    set_boundary(uow, 1, POLYGON)
    verdict = judge_location(uow, family_in(uow, 1).id, -0.545, 117.195, 8.0, POLICY)
    assert verdict.status == "ok" and verdict.reason is None
    assert 700 < verdict.distance_m < 800  # about 0.005° in both directions from (-0.55, 117.2)


def test_a_point_in_the_hole_or_outside_the_sls_needs_confirming(uow):
    set_boundary(uow, 1, POLYGON)
    family_id = family_in(uow, 1).id
    for lat, lon in ((-0.55, 117.2), (-0.53, 117.2)):
        verdict = judge_location(uow, family_id, lat, lon, 8.0, POLICY)
        assert (verdict.status, verdict.reason) == ("outside_area", geotag.OUTSIDE_SLS)


def test_each_sls_is_judged_by_its_own_polygon(uow):
    set_boundary(uow, 1, POLYGON)
    set_boundary(uow, 2, MULTI)
    assert judge_location(uow, family_in(uow, 2).id, -0.545, 117.195, None, POLICY).reason == geotag.OUTSIDE_SLS
    assert judge_location(uow, family_in(uow, 2).id, -0.55, 117.225, None, POLICY).ok
    assert judge_location(uow, family_in(uow, 3).id, -0.53, 117.2, None, POLICY).ok  # RT 003 has no polygon


def test_without_a_polygon_the_distance_from_the_kelurahan_centre_decides(uow):
    family_id = family_in(uow, 1).id
    three_km_north = -0.55 + 3 / 111.0
    six_km_north = -0.55 + 6 / 111.0
    assert judge_location(uow, family_id, three_km_north, 117.2, 20.0, POLICY).ok
    far = judge_location(uow, family_id, six_km_north, 117.2, 20.0, POLICY)
    assert (far.status, far.reason) == ("outside_area", geotag.TOO_FAR) and 5900 < far.distance_m < 6100
    strict = GeoPolicy(max_distance_km=2)
    assert judge_location(uow, family_id, three_km_north, 117.2, 20.0, strict).reason == geotag.TOO_FAR


def test_a_location_in_another_province_is_too_far(uow):
    verdict = judge_location(uow, family_in(uow, 1).id, -6.2, 106.8, 5.0, POLICY)  # Jakarta
    assert verdict.reason == geotag.TOO_FAR and verdict.distance_m > 1_000_000


def test_a_point_inside_the_polygon_but_far_from_the_centre_is_still_too_far(uow):
    """A wrong polygon (or centre) must not let a point through silently: both limits hold."""
    big = {"type": "Polygon", "coordinates": [[[117.0, -0.8], [117.4, -0.8], [117.4, -0.3], [117.0, -0.3], [117.0, -0.8]]]}
    set_boundary(uow, 1, big)
    assert judge_location(uow, family_in(uow, 1).id, -0.7, 117.3, 5.0, POLICY).reason == geotag.TOO_FAR


@pytest.mark.parametrize("accuracy, status", [(None, "ok"), (5.0, "ok"), (100.0, "ok"), (100.5, "poor_accuracy"),
                                              (1500.0, "poor_accuracy")])
def test_accuracy_limit(uow, accuracy, status):
    assert judge_location(uow, family_in(uow, 1).id, -0.55, 117.2, accuracy, POLICY).status == status


def test_poor_accuracy_is_asked_again_before_anything_else_is_judged(uow):
    verdict = judge_location(uow, family_in(uow, 1).id, -6.2, 106.8, 250.0, POLICY)
    assert verdict.status == "poor_accuracy" and verdict.accuracy_m == 250.0
    assert judge_location(uow, family_in(uow, 1).id, -0.55, 117.2, 30.0, GeoPolicy(max_accuracy_m=20)).status == "poor_accuracy"


@pytest.mark.parametrize("lat, lon, accuracy", [(91.0, 117.2, None), (-0.55, -180.01, 5.0), (-0.55, 117.2, -1.0),
                                                 (float("inf"), 117.2, None), (-0.55, 117.2, float("nan"))])
def test_coordinates_out_of_range_or_a_negative_accuracy_are_invalid(uow, lat, lon, accuracy):
    verdict = judge_location(uow, family_in(uow, 1).id, lat, lon, accuracy, POLICY)
    assert (verdict.status, verdict.reason) == ("invalid", geotag.INVALID_LOCATION)
    record = draft(uow)
    with pytest.raises(ValueError):
        save_geotag(uow, record, latitude=lat, longitude=lon, accuracy_m=accuracy, source="resident",
                    sender_telegram_id=1, now=NOW, flagged_reason=None)
    assert record.latitude is None


# --- storing -----------------------------------------------------------------------------------------

def draft(uow, rt: int = 1):
    return start_record(uow, family_in(uow, rt).id, "regsosek", "1", NOW)


def test_save_keeps_who_sent_it_when_and_the_flag(uow):
    record = draft(uow)
    assert save_geotag(uow, record, latitude=-0.53, longitude=117.2, accuracy_m=12.0, source="resident",
                       sender_telegram_id=555, now=NOW, flagged_reason=geotag.OUTSIDE_SLS)
    assert (record.latitude, record.longitude, record.geo_accuracy_m) == (-0.53, 117.2, 12.0)
    assert (record.geo_by, record.geo_sender, record.geo_flag, record.geo_source) == ("resident", 555, "outside-sls", "telegram")
    assert record.geo_captured_at == NOW and record.geo_live_until is None
    assert [r.id for r, _ in geotag.flagged_records(uow, [family_in(uow, 1).sls_id])] == [record.id]


def test_the_enumerators_point_replaces_the_residents_and_never_the_reverse(uow):
    record = draft(uow)
    save_geotag(uow, record, latitude=-0.551, longitude=117.201, accuracy_m=40.0, source="resident",
                sender_telegram_id=555, now=NOW, flagged_reason=None)
    assert save_geotag(uow, record, latitude=-0.552, longitude=117.202, accuracy_m=4.0, source="enumerator",
                       sender_telegram_id=777, now=NOW, flagged_reason=None)
    later = NOW + dt.timedelta(minutes=5)
    assert not save_geotag(uow, record, latitude=-0.6, longitude=117.3, accuracy_m=3.0, source="resident",
                           sender_telegram_id=555, now=later, flagged_reason=None)
    assert (record.latitude, record.geo_by, record.geo_sender, record.geo_captured_at) == (-0.552, "enumerator", 777, NOW)


def test_save_refuses_a_completed_record_an_unknown_source_and_an_unknown_flag(uow):
    record = draft(uow)
    with pytest.raises(ValueError):
        save_geotag(uow, record, latitude=-0.55, longitude=117.2, accuracy_m=1.0, source="gps",
                    sender_telegram_id=1, now=NOW, flagged_reason=None)
    with pytest.raises(ValueError):
        save_geotag(uow, record, latitude=-0.55, longitude=117.2, accuracy_m=1.0, source="resident",
                    sender_telegram_id=1, now=NOW, flagged_reason="whatever")
    record.status = "completed"
    with pytest.raises(RecordStateError):
        save_geotag(uow, record, latitude=-0.55, longitude=117.2, accuracy_m=1.0, source="resident",
                    sender_telegram_id=1, now=NOW, flagged_reason=None)


def test_a_live_location_keeps_its_last_good_point_until_it_ends(uow):
    record = draft(uow)
    save_geotag(uow, record, latitude=-0.55, longitude=117.2, accuracy_m=30.0, source="enumerator",
                sender_telegram_id=777, now=NOW, flagged_reason=None, live_until=NOW + dt.timedelta(minutes=15))
    soon = NOW + dt.timedelta(minutes=1)
    assert update_live(uow, 777, -0.5505, 117.2005, 6.0, soon, POLICY) == 1
    assert (record.latitude, record.longitude, record.geo_accuracy_m, record.geo_captured_at) == (-0.5505, 117.2005, 6.0, soon)
    assert update_live(uow, 777, -0.5506, 117.2006, 400.0, soon, POLICY) == 0  # too inaccurate: kept
    assert update_live(uow, 777, -6.2, 106.8, 5.0, soon, POLICY) == 0  # drifted far away: not silently taken
    assert update_live(uow, 999, -0.5507, 117.2007, 5.0, soon, POLICY) == 0  # someone else's
    assert update_live(uow, 777, -0.5507, 117.2007, 5.0, NOW + dt.timedelta(minutes=16), POLICY) == 0  # ended
    assert record.latitude == -0.5505


# --- GeoJSON boundaries --------------------------------------------------------------------------------

def feature(code, geometry, name="kode_sls"):
    return {"type": "Feature", "properties": {name: code}, "geometry": geometry}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def test_boundaries_are_imported_by_our_code_or_by_bps_idsls(uow):
    result = import_boundaries(uow, collection(
        feature("64.72.01.1001.0001", POLYGON),
        feature("6472011001000200", MULTI, name="idsls"),  # BPS's 16 digits: sub-SLS 00
    ))
    assert result.ok and result.imported == ["64.72.01.1001.0001", "64.72.01.1001.0002"]
    assert uow.areas.by_code("64.72.01.1001.0002").boundary["type"] == "MultiPolygon"
    assert judge_location(uow, family_in(uow, 1).id, -0.55, 117.2, 5.0, POLICY).reason == geotag.OUTSIDE_SLS


def test_bad_features_are_reported_by_index_and_nothing_is_imported(uow):
    bowtie = {"type": "Polygon", "coordinates": [[[117.19, -0.56], [117.21, -0.54], [117.21, -0.56], [117.19, -0.54],
                                                  [117.19, -0.56]]]}
    swapped = {"type": "Polygon", "coordinates": [[[p[1], p[0]] for p in SQUARE]]}
    open_ring = {"type": "Polygon", "coordinates": [SQUARE[:-1] + [[117.19, -0.555]]]}
    result = import_boundaries(uow, collection(
        feature("64.72.01.1001.0001", POLYGON),  # 0: fine
        feature("64.72.01.1001.0002", bowtie),  # 1: self-intersecting
        feature("64.72.01.1001.0003", swapped),  # 2: [lat, lon]
        feature("64.72.01.1001.0009", POLYGON),  # 3: no such RT
        {"type": "Feature", "properties": {"nama": "RT 3"}, "geometry": POLYGON},  # 4: no code
        feature("64.72.01.1001.0003", {"type": "Point", "coordinates": [117.2, -0.55]}),  # 5: not a polygon
        feature("64.72.01.1001.0001", MULTI),  # 6: RT 001 twice
        feature("64.72.01.1001.0003", open_ring),  # 7: ring not closed
    ))
    assert not result.ok and result.imported == []
    by_index = {p.index: p.problem for p in result.problems}
    assert sorted(by_index) == [1, 2, 3, 4, 5, 6, 7]
    assert "invalid polygon" in by_index[1] and "[latitude, longitude]" in by_index[2]
    assert "no SLS" in by_index[3] and "kode_sls" in by_index[4] and "Point" in by_index[5]
    assert "feature 0" in by_index[6] and "not closed" in by_index[7]
    assert all(a.boundary is None for a in uow.session.query(Area).all())


def test_the_code_property_can_be_named(uow):
    result = import_boundaries(uow, collection(feature("64.72.01.1001.0003", POLYGON, name="SLS_ID")), "SLS_ID")
    assert result.ok and result.imported == ["64.72.01.1001.0003"]


@pytest.mark.parametrize("content, message", [
    (b"not json", "not a JSON"),
    (b'{"type": "Topology"}', "not a GeoJSON"),
    (json.dumps({"type": "FeatureCollection", "features": [],
                 "crs": {"type": "name", "properties": {"name": "EPSG:32750"}}}).encode(), "WGS84"),
])
def test_unreadable_files_are_refused_whole(content, message):
    with pytest.raises(BoundaryFileError, match=message):
        read_geojson(content)


def test_a_file_without_features_is_refused(uow):
    with pytest.raises(BoundaryFileError):
        import_boundaries(uow, collection())
