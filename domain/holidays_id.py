"""Indonesian public holidays and cuti bersama from the maintained `holidays` package, cached per year.

`holidays` has two categories for Indonesia: PUBLIC (hari libur nasional) and GOVERNMENT, the cuti
bersama (collective leave) the government decrees around the holidays each year (SKB 3 Menteri), e.g.
2026: 16 Feb, 18, 20, 23, 24 March, 15 and 28 May, 24 December. Pintu closes both by default; an area
may open cuti bersama (domain/working_time.py), and an enumerator may open any date of their own.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from holidays.constants import GOVERNMENT, PUBLIC


@lru_cache(maxsize=32)
def _year(year: int, category: str = PUBLIC) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("ID", years=year, categories=(category,), language="id"))


def _between(first: dt.date, last: dt.date, category: str) -> frozenset[dt.date]:
    found = set()
    for year in range(first.year, last.year + 1):
        found.update(d for d in _year(year, category) if first <= d <= last)
    return frozenset(found)


def holiday_dates(first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """Public holidays between two dates inclusive."""
    return _between(first, last, PUBLIC)


def cuti_bersama_dates(first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """Cuti bersama (the government's collective leave days) between two dates inclusive."""
    return _between(first, last, GOVERNMENT)


def closed_dates(first: dt.date, last: dt.date, cuti_bersama_closed: bool = True) -> frozenset[dt.date]:
    """The dates nobody works by default: public holidays, and cuti bersama unless the area opens them."""
    closed = holiday_dates(first, last)
    return closed | cuti_bersama_dates(first, last) if cuti_bersama_closed else closed


def holiday_name(day: dt.date) -> str | None:
    """The holiday's Indonesian name ("Cuti Bersama Hari Raya Idul Fitri"), None on an ordinary day."""
    return _year(day.year, PUBLIC).get(day) or _year(day.year, GOVERNMENT).get(day)
