"""Validation of the 16-digit family card number (Nomor Kartu Keluarga).

Layout (Permendagri on population administration): 2 digits province, 2 kab/kota, 2 kecamatan,
6 digits the issue date as DDMMYY, 4 digits a serial number. We check what can be checked offline so
that a typing slip is caught at once, and we never guess digits.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# Province codes in use by Kemendagri (BPS uses the same two digits).
PROVINCE_CODES = frozenset(
    {11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 31, 32, 33, 34, 35, 36, 51, 52, 53, 61, 62, 63, 64, 65,
     71, 72, 73, 74, 75, 76, 81, 82, 91, 92, 93, 94, 95, 96, 97}
)


@dataclass(frozen=True)
class KKCheck:
    """The outcome: either a normalised number or the catalog key of what is wrong."""

    number: str | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_kk(raw: str) -> KKCheck:
    """Normalise spaces, dots and dashes away and check the structure of a KK number."""
    cleaned = re.sub(r"[\s.\-]", "", raw or "")
    # isdecimal, not isdigit: isdigit also accepts "²", "①" and the like, which int() refuses. Decimal
    # digits of any script (full-width from some phone keyboards) mean the same number and are stored
    # as ASCII; nothing else is a digit here.
    if not cleaned or not all(c.isdecimal() for c in cleaned):
        return KKCheck(None, "kk-not-digits")
    cleaned = "".join(str(int(c)) for c in cleaned)
    if len(cleaned) != 16:
        return KKCheck(None, "kk-wrong-length")
    if int(cleaned[:2]) not in PROVINCE_CODES:
        return KKCheck(None, "kk-bad-region")
    if not _is_issue_date(cleaned[6:12]):
        # A woman's NIK (the ID card's number: region, then the birth date with 40 added to the day)
        # has the KK's layout: the commonest mix-up, so it is named rather than called a bad date.
        if _is_issue_date(f"{int(cleaned[6:8]) - 40:02d}{cleaned[8:12]}"):
            return KKCheck(None, "kk-looks-like-nik")
        return KKCheck(None, "kk-bad-date")
    if cleaned[12:] == "0000":
        return KKCheck(None, "kk-bad-serial")
    return KKCheck(cleaned, None)


def _is_issue_date(ddmmyy: str) -> bool:
    if not ddmmyy[:2].isdigit():  # a day minus 40 below zero
        return False
    day, month = int(ddmmyy[:2]), int(ddmmyy[2:4])
    try:
        # Any century will do: only day and month can be wrong in a way we can see.
        dt.date(2000, month, day)
    except ValueError:
        return False
    return True
