"""``check_form(path)``: everything wrong with an XLSForm, row by row, for ``pintu form check FILE``.

pyxform finds what makes the file an invalid XLSForm (its messages carry the row); the compiler in
forms.form adds what the chat questionnaire cannot do (unsupported types, choice filters, unknown
audiences, duplicate names, expressions elementpath cannot parse, a range that cannot work) and warns
about labels missing in one of the form's languages and about parameters the chat does not apply
(forms/parameters.py: each named with its row and what to do instead). A form is usable when no problem is an error.
"""
from __future__ import annotations

import os
import sys

from forms.form import compile_form
from forms.problems import Problem


def check_form(path: str | os.PathLike[str]) -> list[Problem]:
    """Every problem found in the form, errors first, each in spreadsheet order."""
    _, problems = compile_form(path)
    return in_order(problems)


def in_order(problems: list[Problem]) -> list[Problem]:
    """Errors first, each in spreadsheet order (sheet, then row)."""
    return sorted(problems, key=lambda p: (not p.is_error, p.sheet or "", p.row or 0))


def main(argv: list[str] | None = None) -> int:
    """``python -m forms check FILE…``: print the problems; exit 1 if any file has an error."""
    failed = False
    for path in argv if argv is not None else sys.argv[1:]:
        problems = check_form(path)
        failed |= any(p.is_error for p in problems)
        print(f"{path}: " + ("ok" if not problems else f"{len(problems)} problem(s)"))
        for problem in problems:
            print(f"  {problem}")
    return 1 if failed else 0
