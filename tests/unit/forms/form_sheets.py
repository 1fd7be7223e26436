"""Helpers for the form engine tests: small XLSForms written on the fly, rows written tersely."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import Workbook

ID, EN = "Indonesian (id)", "English (en)"
WITA = ZoneInfo("Asia/Makassar")
# Monday 23 November 2026, 10.00 WITA (02.00 UTC): "today" is 2026-11-23 in Samarinda
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=WITA)

Rows = Sequence[dict[str, str]]


def write_xlsform(path: Path, survey: Rows, choices: Rows = (), settings: dict[str, str] | None = None) -> Path:
    """An .xlsx with the given rows; each row is a dict of column -> cell (columns in first-seen order)."""
    book = Workbook()
    _sheet(book.active, "survey", survey)
    if choices:
        _sheet(book.create_sheet(), "choices", choices)
    _sheet(book.create_sheet(), "settings", [settings or {"form_id": "test_form", "version": "1",
                                                           "default_language": ID}])
    book.save(path)
    return path


def _sheet(sheet, title: str, rows: Rows) -> None:
    sheet.title = title
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    sheet.append(columns)
    for row in rows:
        sheet.append([row.get(c) or None for c in columns])


def q(kind: str, name: str, id_label: str = "", en_label: str = "", **columns: str) -> dict[str, str]:
    """A survey row with Indonesian and English labels; other columns by keyword.

    ``constraint_message__id="..."`` is the column ``constraint_message::Indonesian (id)``.
    """
    row = {"type": kind, "name": name, f"label::{ID}": id_label, f"label::{EN}": en_label}
    for key, value in columns.items():
        column, _, language = key.partition("__")
        row[f"{column}::{ID if language == 'id' else EN}" if language else column] = value
    return row


def end_group() -> dict[str, str]:
    return {"type": "end group"}


def choice(list_name: str, name: str, id_label: str, en_label: str) -> dict[str, str]:
    return {"list_name": list_name, "name": name, f"label::{ID}": id_label, f"label::{EN}": en_label}


YES_NO = [choice("yn", "yes", "Ya", "Yes"), choice("yn", "no", "Tidak", "No")]
