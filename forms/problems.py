"""What is wrong with a form file, said so that the person who edits the spreadsheet can find it."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"

_ROW = re.compile(r"^\s*\[row\s*:\s*(\d+)\]\s*")
_SHEET = re.compile(r"[Oo]n the '(\w+)' sheet")
_UNKNOWN_TYPE = re.compile(r"Unknown question type '([^']+)'")
_NAMED = re.compile(r"(?:survey element|question|group) named '([^']+)'")


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about a form: where (sheet and spreadsheet row, 1-based as Excel shows) and what."""

    message: str
    sheet: str | None = None
    row: int | None = None
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        place = ", ".join(p for p in (
            f"sheet '{self.sheet}'" if self.sheet else "",
            f"row {self.row}" if self.row else "") if p)
        prefix = f"{self.severity}: " + (f"{place}: " if place else "")
        return prefix + self.message


class FormError(ValueError):
    """A form that cannot be used; ``problems`` says why, row by row."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems if p.is_error) or "unusable form")


def from_pyxform(message: str, rows: Mapping[str, int] | None = None,
                 types: Mapping[str, int] | None = None, severity: str = ERROR) -> Problem:
    """A pyxform error or warning as a Problem, its "[row : N]" prefix turned into sheet and row.

    A few pyxform messages name the question instead of the row ("Unknown question type 'foo'",
    "The survey element named 'a' has no label"); the row is then found from the sheet's own rows.
    """
    text = " ".join(message.split())
    row = None
    if match := _ROW.match(text):
        row, text = int(match[1]), text[match.end():]
    elif (match := _UNKNOWN_TYPE.search(text)) and types:
        row = types.get(match[1])
    elif (match := _NAMED.search(text)) and rows:
        row = rows.get(match[1])
    sheet = match[1] if (match := _SHEET.search(text)) else ("survey" if row else None)
    return Problem(text, sheet, row, severity)
