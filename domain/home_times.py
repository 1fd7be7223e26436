"""When a family is usually home: a few coarse times a resident or RT head can pick (several allowed).

Monday to Friday by part of the day (local time of the area), and Saturday and Sunday whole:

    weekday_morning     Mon–Fri before 12.00        (Pagi hari kerja)
    weekday_afternoon   Mon–Fri 12.00 to 17.00      (Siang/sore hari kerja)
    weekday_evening     Mon–Fri from 17.00          (Malam hari kerja)
    saturday, sunday    the whole day

A visit *matches* when its local start falls in one of the family's times. Offers show matching times
first (domain/booking.py order_offers) and mark them; the enumerator's route puts families without an
appointment in free time that matches (domain/route.py).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

WEEKDAY_MORNING = "weekday_morning"
WEEKDAY_AFTERNOON = "weekday_afternoon"
WEEKDAY_EVENING = "weekday_evening"
SATURDAY = "saturday"
SUNDAY = "sunday"
HOME_TIMES = (WEEKDAY_MORNING, WEEKDAY_AFTERNOON, WEEKDAY_EVENING, SATURDAY, SUNDAY)  # in the order shown

NOON = dt.time(12)
EVENING = dt.time(17)


def clean(codes: Iterable[str] | None) -> tuple[str, ...]:
    """The known codes among ``codes``, in the order shown (stored data or a button is never trusted)."""
    chosen = set(codes or ())
    return tuple(code for code in HOME_TIMES if code in chosen)


def toggle(codes: Iterable[str] | None, code: str) -> list[str]:
    """``codes`` with ``code`` added or, if already there, removed."""
    chosen = set(clean(codes))
    chosen.symmetric_difference_update({code} & set(HOME_TIMES))
    return list(clean(chosen))


def time_of(local: dt.datetime) -> str:
    """The home-time code a local moment falls in."""
    if local.weekday() == 5:
        return SATURDAY
    if local.weekday() == 6:
        return SUNDAY
    if local.time() < NOON:
        return WEEKDAY_MORNING
    return WEEKDAY_AFTERNOON if local.time() < EVENING else WEEKDAY_EVENING


def matches(codes: Iterable[str] | None, local: dt.datetime) -> bool:
    """Whether a visit starting at ``local`` (the area's zone) is at one of the family's home times."""
    return time_of(local) in set(codes or ())


def ranges_on(codes: Iterable[str] | None, day: dt.date, tz: dt.tzinfo) -> list[tuple[dt.datetime, dt.datetime]] | None:
    """The stretches of ``day`` (aware, in ``tz``) the family is home; None when they said nothing
    (any time will do); [] when none of their times falls on that day."""
    chosen = set(clean(codes))
    if not chosen:
        return None
    start, noon, evening = (dt.datetime.combine(day, t, tz) for t in (dt.time(0), NOON, EVENING))
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    if day.weekday() == 5:
        return [(start, end)] if SATURDAY in chosen else []
    if day.weekday() == 6:
        return [(start, end)] if SUNDAY in chosen else []
    parts = ((WEEKDAY_MORNING, start, noon), (WEEKDAY_AFTERNOON, noon, evening), (WEEKDAY_EVENING, evening, end))
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    for code, a, b in parts:
        if code in chosen:
            if ranges and ranges[-1][1] == a:
                ranges[-1] = (ranges[-1][0], b)
            else:
                ranges.append((a, b))
    return ranges
