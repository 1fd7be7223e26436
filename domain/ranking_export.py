"""The final welfare list of an area (a kelurahan or a whole kab/kota) as CSV or XLSX.

One row per ranked family, by SLS code and head's name; the score is never in it (issue 15):

| column (id)      | column (en)       | what                                                            |
| ---------------- | ----------------- | --------------------------------------------------------------- |
| kode_sls         | sls_code          | the SLS (RT) code                                               |
| sls, kelurahan, kecamatan | same     | names                                                           |
| id_keluarga      | family_id         | Pintu's family id                                               |
| kepala_keluarga  | family_head       | the family head's name                                          |
| kelompok         | group             | the final welfare group, 1–4                                    |
| nama_kelompok    | group_name        | Sangat Miskin, Miskin, Rentan Miskin, Tidak Miskin              |
| diubah_fkp       | changed_by_forum  | 1 when the public consultation (FKP) moved the family, else 0    |

The XLSX has a second sheet (``ringkasan`` / ``summary``) with the counts per group per kelurahan, the
model's and the final. Headers are Indonesian unless ``lang="en"``. The caller checks access and writes
the audit log entry (domain/audit.py ``EXPORT``), as for domain/exports.py, whose formula-injection
guard these files share.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from domain.exports import MIME, ExportFile, _xlsx_cell, csv_safe
from domain.model import Area
from domain.ports import UnitOfWork
from domain.ranking import GROUPS

FORMATS = ("csv", "xlsx")
COLUMNS = {
    "id": ("kode_sls", "sls", "kelurahan", "kecamatan", "id_keluarga", "kepala_keluarga", "kelompok",
           "nama_kelompok", "diubah_fkp"),
    "en": ("sls_code", "sls", "kelurahan", "kecamatan", "family_id", "family_head", "group", "group_name",
           "changed_by_forum"),
}
SUMMARY_COLUMNS = {
    "id": ("kode", "kelurahan", *(f"model_{g}" for g in GROUPS), *(f"akhir_{g}" for g in GROUPS), "diubah_fkp"),
    "en": ("code", "kelurahan", *(f"model_{g}" for g in GROUPS), *(f"final_{g}" for g in GROUPS), "changed_by_forum"),
}
SHEETS = {"id": ("daftar_akhir", "ringkasan"), "en": ("final_list", "summary")}


def export_final_list(uow: UnitOfWork, area: Area, fmt: str, now: dt.datetime, group_names: Mapping[int, str],
                      lang: str = "id") -> ExportFile:
    """The area's final list in ``fmt`` (csv, xlsx), headers in ``lang`` (id, en); ``group_names``: the
    groups' names in that language, from the catalog (domain.ranking.GROUP_KEYS)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; one of {', '.join(FORMATS)}")
    lang = lang if lang in COLUMNS else "id"
    stamp = now.astimezone(ZoneInfo(area.timezone)).strftime("%Y%m%d-%H%M")
    filename = f"pintu-{'daftar-akhir' if lang == 'id' else 'final-list'}-{area.code}-{stamp}.{fmt}"
    rows = final_rows(uow, area, group_names)
    content, count = _csv(rows, lang) if fmt == "csv" else _xlsx(rows, uow, area, lang)
    return ExportFile(filename, content, MIME[fmt], count)


def final_rows(uow: UnitOfWork, area: Area, group_names: Mapping[int, str]) -> Iterator[list[Any]]:
    """Each ranked family of the area as a row of :data:`COLUMNS` (values in the same order)."""
    areas = uow.supervision.areas_of_subtree(area.id)
    lineage: dict[int, tuple[Area, Area | None, Area | None]] = {}

    def parents(sls_id: int) -> tuple[Area, Area | None, Area | None]:
        if sls_id not in lineage:
            sls = areas.get(sls_id) or uow.areas.get(sls_id)
            village = _get(uow, areas, sls.parent_id)
            district = _get(uow, areas, village.parent_id if village else None)
            lineage[sls_id] = (sls, village, district)
        return lineage[sls_id]

    for family_id, sls_id, head_name, group, overridden in uow.rankings.final_list(area.code):
        sls, village, district = parents(sls_id)
        yield [sls.code, sls.name, village.name if village else "", district.name if district else "",
               family_id, head_name, group, group_names.get(group, str(group)), 1 if overridden else 0]


def _get(uow: UnitOfWork, areas: dict[int, Area], area_id: int | None) -> Area | None:
    if area_id is None:
        return None
    return areas.get(area_id) or uow.areas.get(area_id)


def _csv(rows: Iterator[list[Any]], lang: str) -> tuple[bytes, int]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS[lang])
    count = 0
    for row in rows:
        writer.writerow([csv_safe(value) for value in row])
        count += 1
    return buffer.getvalue().encode("utf-8-sig"), count  # the BOM: spreadsheets then read accents right


def _xlsx(rows: Iterator[list[Any]], uow: UnitOfWork, area: Area, lang: str) -> tuple[bytes, int]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    main, summary_name = SHEETS[lang]
    sheet = book.create_sheet(main)
    sheet.append(list(COLUMNS[lang]))
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
    summary = book.create_sheet(summary_name)
    summary.append(list(SUMMARY_COLUMNS[lang]))
    for village in _villages(uow, area):
        before = uow.rankings.counts_by_group(village.code, final=False)
        after = uow.rankings.counts_by_group(village.code, final=True)
        changed = sum(1 for *_, overridden in uow.rankings.final_list(village.code) if overridden)
        summary.append([village.code, _xlsx_cell(summary, village.name), *(before[g] for g in GROUPS),
                        *(after[g] for g in GROUPS), changed])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), count


def _villages(uow: UnitOfWork, area: Area) -> list[Area]:
    """The kelurahan/desa of the area (the area itself when it is one, or one SLS's)."""
    if area.level in ("village", "sls"):
        return [area if area.level == "village" else uow.areas.get(area.parent_id)]  # type: ignore[list-item]
    return sorted((a for a in uow.supervision.areas_of_subtree(area.id).values() if a.level == "village"),
                  key=lambda a: a.code)
