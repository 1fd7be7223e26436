"""Import an RT's families from a list (CSV or XLSX), like the pre-filled VK1 list.

Columns (header row, any order, case and spacing ignored; title rows above the header are skipped):

    nama kepala keluarga | nomor kk | jumlah anggota | alamat (optional)

English headers (head name, kk number, members, address) work too. Every row is checked (name present,
KK valid by domain.kk and not already registered nor repeated in the file, members 1-30, address at
most 200 characters); any problem is reported with its row number as the spreadsheet shows it, and then
NOTHING is imported: all or nothing. The same checks serve a family added or corrected by hand
(``check_fields``). Services flush, never commit.

A list longer than :data:`MAX_ROWS` data rows (an RT has a few hundred families at most; a bigger file is
another area's list or an attack on the bot's memory) is refused whole with ``import-too-many-rows``,
read no further than that. Every import that adds families is written to the audit log (domain/audit.py).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from domain import audit
from domain.errors import NotAllowed
from domain.kk import check_kk
from domain.model import Family, User
from domain.names import LINK, check_name as check_person_name, valid_name
from domain.ports import UnitOfWork

HEADERS = {
    "name": ("nama kepala keluarga", "nama krt", "nama kepala rumah tangga", "kepala keluarga", "nama",
             "head name", "family head", "name"),
    "kk": ("nomor kk", "no kk", "no. kk", "nomor kartu keluarga", "kk", "kk number"),
    "members": ("jumlah anggota", "jumlah anggota keluarga", "jml anggota", "anggota", "members"),
    "address": ("alamat", "address"),
}
# The limits of a family's fields, wherever it is registered (a file here, the chat in handlers/onboarding.py);
# the head's name has one rule everywhere (domain/names.py).
MAX_ADDRESS, MAX_MEMBERS = 200, 30
MIN_TYPED_ADDRESS = 5  # "Jl. A": anything shorter cannot lead an officer to a house
HEADER_SEARCH_ROWS = 10
MAX_ROWS = 1000  # data rows of one list (blank lines included when counting how far a file is read)


@dataclass(frozen=True)
class RowProblem:
    row: int  # as the spreadsheet numbers it (the header row included)
    problem: str  # catalog key: import-* or kk-*
    value: str = ""


@dataclass
class ImportResult:
    added: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class FamilyFields:
    head_name: str
    kk_number: str
    members: int
    address: str | None


class UnreadableFile(Exception):
    """Not a CSV or XLSX list this importer can read, or no header row with the required columns."""

    def __init__(self, problem: str, **values: Any) -> None:
        super().__init__(problem)
        self.problem = problem  # catalog key
        self.values = values  # the message's placeholders (import-too-many-rows: max)


def check_name(raw: str) -> str | None:
    """The head's name normalised, or None (why: :func:`domain.names.check_name`)."""
    return valid_name(raw)


def check_members(raw: Any) -> int | None:
    text = str(raw).strip() if raw is not None else ""
    if re.fullmatch(r"\d{1,3}(\.0+)?", text):
        value = int(float(text))
        return value if 1 <= value <= MAX_MEMBERS else None
    return None


def check_address(raw: str | None) -> tuple[str | None, bool]:
    address = " ".join((raw or "").split()) or None
    return address, address is None or len(address) <= MAX_ADDRESS


@dataclass(frozen=True)
class AddressCheck:
    address: str | None
    problem: str | None  # catalog key: address-*


def check_typed_address(raw: str | None) -> AddressCheck:
    """An address typed in the chat (registration, the RT head's correction): free text as people write
    it ("Jl. Mawar Gg. 3 No. 12, RT 003/RW 005"), 5-200 characters with a letter, no markup or links."""
    text = raw or ""
    if any(unicodedata.category(c) in ("Cc", "Cf") and not c.isspace() for c in text):
        return AddressCheck(None, "address-markup")
    address = " ".join(text.split())
    if "<" in address or ">" in address or LINK.search(address):
        return AddressCheck(None, "address-markup")
    if len(address) < MIN_TYPED_ADDRESS or not any(c.isalpha() for c in address):
        return AddressCheck(None, "address-too-short")
    if len(address) > MAX_ADDRESS:
        return AddressCheck(None, "address-too-long")
    return AddressCheck(address, None)


def check_fields(name: Any, kk: Any, members: Any, address: Any) -> tuple[FamilyFields | None, list[tuple[str, str]]]:
    """The row's values checked; problems are (catalog key, value)."""
    problems: list[tuple[str, str]] = []
    named = check_person_name(_text(name))
    head = named.name
    if head is None:
        # An empty cell says so; any other name says what is wrong with it, as in the chat.
        problems.append(("import-bad-name" if named.problem == "name-empty" else named.problem, _text(name)[:40]))
    kk_check = check_kk(_kk_text(kk))
    if not kk_check.ok:
        problems.append((kk_check.problem, _kk_text(kk)[:24]))
    count = check_members(members)
    if count is None:
        problems.append(("import-bad-members", _text(members)[:10]))
    addr, addr_ok = check_address(_text(address))
    if not addr_ok:
        problems.append(("import-bad-address", ""))
    if problems:
        return None, problems
    return FamilyFields(head, kk_check.number, count, addr), []


def read_rows(data: bytes, filename: str) -> list[tuple[int, dict[str, Any]]]:
    """The data rows of a CSV or XLSX list as (row number, {name, kk, members, address})."""
    limit = HEADER_SEARCH_ROWS + MAX_ROWS + 1  # one more than may be read: a longer file is refused
    reader = _xlsx_rows if filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK" else _csv_rows
    rows = reader(data, limit)
    if len(rows) >= limit:
        raise UnreadableFile("import-too-many-rows", max=MAX_ROWS)
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        columns = _columns(row)
        if columns is not None:
            found = []
            for number, values in enumerate(rows[index + 1:], start=index + 2):
                if all(_text(v) == "" for v in values):
                    continue  # blank lines are not rows
                found.append((number, {key: values[col] if col < len(values) else None for key, col in columns.items()}))
            if len(found) > MAX_ROWS:
                raise UnreadableFile("import-too-many-rows", max=MAX_ROWS)
            return found
    raise UnreadableFile("import-no-header")


def import_families(uow: UnitOfWork, user: User | None, sls_id: int, data: bytes, filename: str,
                    now: dt.datetime) -> ImportResult:
    """Check every row, then add all the families or none. ``user`` None: the CLI (an operator)."""
    if user is not None and (user.role not in ("rt_head", "admin") or (user.role == "rt_head" and user.sls_id != sls_id)):
        raise NotAllowed("import")
    rows = read_rows(data, filename)
    result = ImportResult()
    checked: list[tuple[int, FamilyFields]] = []
    seen: dict[str, int] = {}
    for number, values in rows:
        fields, problems = check_fields(values.get("name"), values.get("kk"), values.get("members"), values.get("address"))
        result.problems.extend(RowProblem(number, key, value) for key, value in problems)
        if fields is None:
            continue
        if fields.kk_number in seen:
            result.problems.append(RowProblem(number, "import-kk-repeated", str(seen[fields.kk_number])))
            continue
        seen[fields.kk_number] = number
        checked.append((number, fields))
    taken = uow.coordination.kk_taken([f.kk_number for _, f in checked])
    result.problems.extend(RowProblem(number, "import-kk-registered", f.kk_number[-4:])
                           for number, f in checked if f.kk_number in taken)
    if not rows:
        result.problems.append(RowProblem(0, "import-empty"))
    if result.problems:
        result.problems.sort(key=lambda p: p.row)
        return result
    uow.families.add_many(
        Family(sls_id=sls_id, head_name=f.head_name, kk_number=f.kk_number, members=f.members,
               address=f.address, registered_by_user_id=user.id if user is not None else None, created_at=now)
        for _, f in checked)
    result.added = len(checked)
    audit.record(uow, user, audit.IMPORT, now, area_id=sls_id, count=result.added)
    return result


def _columns(row: list[Any]) -> dict[str, int] | None:
    names = [_header(v) for v in row]
    columns: dict[str, int] = {}
    for key, aliases in HEADERS.items():
        for alias in aliases:
            if alias in names and names.index(alias) not in columns.values():
                columns[key] = names.index(alias)
                break
    return columns if {"name", "kk", "members"} <= columns.keys() else None


def _header(value: Any) -> str:
    return " ".join(re.sub(r"[_*:]", " ", _text(value)).lower().split())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _kk_text(value: Any) -> str:
    """A KK typed into a spreadsheet as a number arrives as int (or float): read its digits back."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{int(value):d}"
    return _text(value)


def _csv_rows(data: bytes, limit: int) -> list[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [list(row) for row in itertools.islice(csv.reader(io.StringIO(text), dialect), limit)]


def _xlsx_rows(data: bytes, limit: int) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # a broken or foreign file: say so rather than crash
        raise UnreadableFile("import-unreadable") from error
    sheet = book.worksheets[0]
    rows = [list(row) for row in itertools.islice(sheet.iter_rows(values_only=True), limit)]
    book.close()
    return rows
