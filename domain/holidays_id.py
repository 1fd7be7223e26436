"""Indonesian public holidays from the maintained `holidays` package, cached per year."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _year(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("ID", years=year, language="id"))


def holiday_dates(first: dt.date, last: dt.date) -> frozenset[dt.date]:
    """Public holidays between two dates inclusive."""
    found = set()
    for year in range(first.year, last.year + 1):
        found.update(d for d in _year(year) if first <= d <= last)
    return frozenset(found)
