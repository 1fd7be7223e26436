"""An area's families as a file: CSV, XLSX (openpyxl) or GeoJSON (for GIS).

One row per family of the area (every SLS below it), by SLS code and head's name:

| column           | what                                                                              |
| ---------------- | --------------------------------------------------------------------------------- |
| kode_sls         | the SLS (RT) code                                                                 |
| sls, kelurahan, kecamatan | names                                                                    |
| id_keluarga      | Pintu's family id                                                                 |
| kepala_keluarga  | the family head's name                                                            |
| no_kk            | the KK number masked to its last four digits (an export travels: keep it lean)   |
| anggota          | members                                                                           |
| alamat           | the address as registered (street, house number, RT/RW)                          |
| status           | not_contacted, booked, visited, completed, not_home, refused, moved, not_found    |
| status_sejak     | when the status last changed (local time of the area, ``YYYY-MM-DD HH:MM``)       |
| janji            | the active visit's start (local time), if any                                    |
| petugas          | the enumerator of the active visit, else of the last visit                        |
| lintang, bujur   | the newest record's geotag, else the house's known position (WGS84)               |
| alamat           | the family's address as registered (street, number, RT/RW)                      |
| sumber_lokasi    | ``geotag`` or ``rumah`` (the house position registered with the family)           |
| akurasi_m        | the geotag's accuracy in metres                                                   |
| tinjau           | why the record needs review: outside-sls, too-far (geofence), no-photo           |
| perlu_foto       | 1 when the RT head asked for a photo of the house                                |
| foto             | photos on the newest record                                                       |

The column names above are the file's keys when no language is given (`ExportLabels.raw()`, what scripts
read). A person's export (the chat, `pintu export --lang`) names the columns and writes every coded value
(status, location source, review reason) in their language, from the catalog keys ``ex-col-<column>`` and
``ex-val-<code>``; its times carry the zone ("2026-11-23 09:00 WITA"), and its XLSX has a third sheet, the
legend, defining each status and the progress terms once (selesai = questionnaire completed; tuntas =
completed or closed for good at the door).

GeoJSON: a FeatureCollection of Point features ``[longitude, latitude]`` (RFC 7946), one per family
with a location, the other columns as properties. The XLSX has a second sheet, ``progres``, with the
area's progress per unit (domain/progress.py). The caller checks access (domain/access.py).

Formula injection: a text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
(a head's name typed as ``=HYPERLINK(...)``) would be run as a formula by a spreadsheet program. In the
CSV such a text gets a leading apostrophe (OWASP's advice: shown as text, never evaluated); in the XLSX it
is written as a plain string cell with Excel's own "quote prefix" mark, so the value stays exact. Numbers
(a negative latitude) are numbers and stay as they are.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from domain.family_status import STATUS_LABEL_KEYS
from domain.geotag import NO_PHOTO
from domain.model import Area
from domain.ports import UnitOfWork
from domain.progress import area_progress

FORMATS = ("csv", "xlsx", "geojson")
MIME = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "geojson": "application/geo+json"}
COLUMNS = ("kode_sls", "sls", "kelurahan", "kecamatan", "id_keluarga", "kepala_keluarga", "no_kk", "anggota",
           "alamat", "status", "status_sejak", "janji", "petugas", "lintang", "bujur", "sumber_lokasi", "akurasi_m", "tinjau",
           "perlu_foto", "foto")
PROGRESS_COLUMNS = ("kode", "nama", "keluarga", "janji", "dikunjungi", "selesai", "tuntas", "persen_tuntas",
                    "target_persen", "tertinggal")


# The coded values of a row and the catalog key that says each in words.
VALUE_KEYS = {**STATUS_LABEL_KEYS, "geotag": "ex-val-geotag", "rumah": "ex-val-address",
              "outside-sls": "sv-reason-outside", "too-far": "sv-reason-far", NO_PHOTO: "sv-reason-photo"}
CODED_COLUMNS = ("status", "sumber_lokasi", "tinjau")
# The legend sheet: each term once, in the order a reader meets them.
LEGEND_KEYS = ("ex-legend-status", *(f"ex-legend-{status}" for status in STATUS_LABEL_KEYS),
               "ex-legend-selesai", "ex-legend-tuntas", "ex-legend-times")


@dataclass(frozen=True)
class ExportLabels:
    """How a file names its columns and coded values, and how its times name their zone.

    ``translate`` is the catalog of the person's language (keys, see the module's docstring); without
    it the file keeps its machine names (``status`` = ``not_contacted``) and times have no zone.
    """

    translate: Callable[[str], str] | None = None
    zone: Callable[[str], str] = field(default=lambda name: "")  # IANA name → "WITA"

    @classmethod
    def raw(cls) -> ExportLabels:
        return cls()

    def header(self, column: str) -> str:
        return self.translate(f"ex-col-{column}") if self.translate else column

    def value(self, code: Any) -> Any:
        key = VALUE_KEYS.get(code) if isinstance(code, str) else None
        return self.translate(key) if self.translate and key else code

    def time(self, text: str, zone: str) -> str:
        label = self.zone(zone) if self.translate else ""
        return f"{text} {label}" if text and label else text

    def sheet(self, name: str) -> str:
        return self.translate(f"ex-sheet-{name}") if self.translate else name


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    mime: str
    rows: int  # families in the file (GeoJSON: features)


def export_area(uow: UnitOfWork, area: Area, fmt: str, now: dt.datetime,
                labels: ExportLabels | None = None) -> ExportFile:
    """The area's families in ``fmt`` (csv, xlsx, geojson), named by ``labels`` (machine names without)."""
    labels = labels or ExportLabels.raw()
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    tz = ZoneInfo(area.timezone)
    stamp = now.astimezone(tz).strftime("%Y%m%d-%H%M")
    filename = f"pintu-{area.code}-{stamp}.{fmt}"
    rows = family_rows(uow, area, labels)
    if fmt == "csv":
        content, count = _csv(rows, labels)
    elif fmt == "xlsx":
        content, count = _xlsx(rows, uow, area, now, labels)
    else:
        content, count = _geojson(rows, area, now, labels)
    return ExportFile(filename, content, MIME[fmt], count)


def family_rows(uow: UnitOfWork, area: Area, labels: ExportLabels | None = None) -> Iterator[dict[str, Any]]:
    """Every family of the area as a dict of :data:`COLUMNS` (a few aggregate queries, then one pass);
    coded values and times as ``labels`` say them."""
    labels = labels or ExportLabels.raw()
    repo = uow.supervision
    areas = repo.areas_of_subtree(area.id)
    geotags = repo.export_geotags(area.id)
    visits = repo.export_visits(area.id)
    last = repo.export_last_enumerator(area.id)
    names = repo.enumerator_names()
    flagged_photo = _missing_photo_families(uow, area)
    zones: dict[str, ZoneInfo] = {}

    def local(instant: dt.datetime | None, zone: str) -> str:
        if instant is None:
            return ""
        tz = zones.setdefault(zone, ZoneInfo(zone))
        return labels.time(instant.astimezone(tz).strftime("%Y-%m-%d %H:%M"), zone)

    for family_id, sls_id, head_name, kk, members, status, status_at, needs_photo, house_lat, house_lon, address in (
            repo.export_families(area.id)):
        sls = areas.get(sls_id)
        if sls is None:  # the area is an SLS itself
            sls = uow.areas.get(sls_id)
        village = areas.get(sls.parent_id) or uow.areas.get(sls.parent_id) if sls.parent_id is not None else None
        district = (areas.get(village.parent_id) or uow.areas.get(village.parent_id)
                    if village is not None and village.parent_id is not None else None)
        zone = sls.timezone
        visit = visits.get(family_id)
        enumerator_id = visit[1] if visit is not None else last.get(family_id)
        geo = geotags.get(family_id)
        if geo is not None:
            lat, lon, accuracy, flag, photos, source = geo[0], geo[1], geo[2], geo[3], geo[4], "geotag"
        elif house_lat is not None and house_lon is not None:
            lat, lon, accuracy, flag, photos, source = house_lat, house_lon, None, None, 0, "rumah"
        else:
            lat = lon = accuracy = flag = None
            photos, source = 0, ""
        review = flag or (NO_PHOTO if family_id in flagged_photo else "")
        yield {
            "kode_sls": sls.code, "sls": sls.name,
            "kelurahan": village.name if village else "", "kecamatan": district.name if district else "",
            "id_keluarga": family_id, "kepala_keluarga": head_name,
            "no_kk": f"····{kk[-4:]}" if kk else "", "anggota": members, "alamat": address or "",
            "status": labels.value(status), "status_sejak": local(status_at, zone),
            "janji": local(visit[0], zone) if visit else "",
            "petugas": names.get(enumerator_id, "") if enumerator_id is not None else "",
            "lintang": lat, "bujur": lon, "sumber_lokasi": labels.value(source), "akurasi_m": accuracy,
            "tinjau": labels.value(review),
            "perlu_foto": 1 if needs_photo else 0, "foto": photos,
        }


def _missing_photo_families(uow: UnitOfWork, area: Area) -> set[int]:
    counts = uow.supervision.review_counts(area.id)
    if not counts.photos:
        return set()
    return {row[3] for row in uow.supervision.review_page(area.id, counts.flagged, counts.photos, counts)
            if row[1] == NO_PHOTO}


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """A text a spreadsheet program would read as a formula (see the module's docstring)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_safe(value: Any) -> Any:
    """``value`` for a CSV cell: formula-like text gets a leading apostrophe; None is empty."""
    if value is None:
        return ""
    return "'" + value if is_formula_like(value) else value


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """``value`` for a write-only XLSX row: formula-like text as a string cell (openpyxl would otherwise
    store any text starting with "=" as a formula), marked with a quote prefix as Excel does."""
    if not is_formula_like(value):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def _csv(rows: Iterator[dict[str, Any]], labels: ExportLabels) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([labels.header(c) for c in COLUMNS])
    count = 0
    for row in rows:
        writer.writerow([csv_safe(row[c]) for c in COLUMNS])
        count += 1
    # UTF-8 with a byte-order mark: spreadsheet programs then read names with accents correctly.
    return buffer.getvalue().encode("utf-8-sig"), count


def _xlsx(rows: Iterator[dict[str, Any]], uow: UnitOfWork, area: Area, now: dt.datetime,
          labels: ExportLabels) -> tuple[bytes, int]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(labels.sheet("keluarga"))
    sheet.append([labels.header(c) for c in COLUMNS])
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, row[c]) for c in COLUMNS])
        count += 1
    summary = book.create_sheet(labels.sheet("progres"))
    summary.append([labels.header(c) for c in PROGRESS_COLUMNS])
    progress = area_progress(uow, area, now)
    for unit in [progress.total, *progress.units]:
        tally = unit.tally
        summary.append([unit.area.code, _xlsx_cell(summary, unit.area.name), tally.families, tally.booked, tally.visited, tally.completed,
                        tally.done, round(100 * tally.share_done, 1),
                        round(100 * unit.expected, 1) if unit.expected is not None else None,
                        1 if unit.behind else 0])
    if labels.translate:
        legend = book.create_sheet(labels.sheet("keterangan"))
        for key in LEGEND_KEYS:
            legend.append([labels.translate(key)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def _geojson(rows: Iterator[dict[str, Any]], area: Area, now: dt.datetime,
             labels: ExportLabels) -> tuple[bytes, int]:
    features = []
    for row in rows:
        if row["lintang"] is None or row["bujur"] is None:
            continue
        properties = {labels.header(k): v for k, v in row.items() if k not in ("lintang", "bujur")}
        features.append({"type": "Feature", "id": row["id_keluarga"],
                         "geometry": {"type": "Point", "coordinates": [row["bujur"], row["lintang"]]},
                         "properties": properties})
    document = {"type": "FeatureCollection", "name": f"pintu-{area.code}",
                "generated": now.astimezone(dt.timezone.utc).isoformat(), "features": features}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), len(features)
