"""Working time: an enumerator's windows per weekday, dates they opt in to work, and the area's rules.

- Windows: several per day (08.00–12.00 and 16.00–20.00), any weekday, Sunday included; on the
  15-minute grid, not overlapping, each long enough for one visit.
- Dates: a public holiday, a cuti bersama day or a day off is closed unless the enumerator opens that
  date (``open_date``); the default stays closed.
- Area rules (nearest area up the tree that sets a field wins, field by field): the earliest and latest
  time an enumerator may set for themselves (default 07.00–21.00; the admin's CLI is not bound by them),
  and whether cuti bersama are closed (default: closed, like public holidays).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from domain.ports import UnitOfWork
from domain.slots import Window, WorkWeek

GRID_MINUTES = 15
DEFAULT_EARLIEST = dt.time(7)
DEFAULT_LATEST = dt.time(21)
DAY_OFF_WORDS = frozenset({"libur", "off", "-", "tutup", "closed", "none"})
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6,
            "sen": 0, "sel": 1, "rab": 2, "kam": 3, "jum": 4, "sab": 5, "min": 6}

_WINDOW = re.compile(r"^(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})$")


class HoursError(ValueError):
    """Working time that cannot be set; ``key`` names the catalog text (hours-error-<key>) that says why."""

    def __init__(self, key: str, message: str, **params: Any) -> None:
        super().__init__(message)
        self.key, self.params = key, params


@dataclass(frozen=True)
class AreaHours:
    """An area's rules for working time (after inheritance)."""

    earliest: dt.time = DEFAULT_EARLIEST
    latest: dt.time = DEFAULT_LATEST
    cuti_bersama_closed: bool = True


def clock(text: str) -> dt.time:
    """"07:00" or "7.00" → time; HoursError otherwise (a working day ends by 23.59)."""
    match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise HoursError("format", f"not a time: {text!r} (write it as 08:00)", text=text[:20])
    return dt.time(int(match[1]), int(match[2]))


def parse_windows(text: str) -> tuple[Window, ...]:
    """"08:00-12:00, 16:00-20:00" → windows; "libur" (or off, -) → none: a day off."""
    text = text.strip().lower()
    if text in DAY_OFF_WORDS:
        return ()
    windows = []
    for part in (p.strip() for p in re.split(r"[,;\n]|\s+dan\s+|\s+and\s+", text) if p.strip()):
        match = _WINDOW.match(part)
        if not match:
            raise HoursError("format", f"not a time window: {part!r} (write it as 08:00-12:00)", text=part[:20])
        windows.append((clock(f"{match[1]}:{match[2]}"), clock(f"{match[3]}:{match[4]}")))
    if not windows:
        raise HoursError("format", "no time window given (write it as 08:00-12:00,16:00-20:00)", text="")
    return tuple(sorted(windows))


def check_windows(windows: tuple[Window, ...], visit_minutes: int, limits: AreaHours | None = None) -> None:
    """Raise HoursError unless the windows are on the grid, in order, apart, long enough for a visit and
    (when ``limits`` are given: the enumerator's own change) within the area's earliest and latest."""
    previous_end: dt.time | None = None
    for start, end in sorted(windows):
        if start >= end:
            raise HoursError("order", f"{_hm(start)}-{_hm(end)}: a window must start before it ends",
                             window=f"{_hm(start)}–{_hm(end)}")
        if start.minute % GRID_MINUTES or end.minute % GRID_MINUTES:
            raise HoursError("grid", f"{_hm(start)}-{_hm(end)}: times must fall on a {GRID_MINUTES}-minute mark",
                             window=f"{_hm(start)}–{_hm(end)}")
        if _minutes(end) - _minutes(start) < visit_minutes:
            raise HoursError("short", f"{_hm(start)}-{_hm(end)} is shorter than one {visit_minutes}-minute visit",
                             window=f"{_hm(start)}–{_hm(end)}", minutes=visit_minutes)
        if previous_end is not None and start < previous_end:
            raise HoursError("overlap", f"{_hm(start)}-{_hm(end)} overlaps the window before it",
                             window=f"{_hm(start)}–{_hm(end)}")
        if limits is not None and (start < limits.earliest or end > limits.latest):
            raise HoursError("limits", f"{_hm(start)}-{_hm(end)} is outside {_hm(limits.earliest)}-{_hm(limits.latest)}",
                             window=f"{_hm(start)}–{_hm(end)}", earliest=_hm(limits.earliest),
                             latest=_hm(limits.latest))
        previous_end = end


def _minutes(at: dt.time) -> int:
    return at.hour * 60 + at.minute


def _hm(at: dt.time) -> str:
    return at.strftime("%H:%M")


def format_windows(windows: tuple[Window, ...], separator: str = ":") -> str:
    """"08:00–12:00, 16:00–20:00" (``separator`` "." for Indonesian text: 08.00–12.00)."""
    return ", ".join(f"{s:%H}{separator}{s:%M}–{e:%H}{separator}{e:%M}" for s, e in windows)


def parse_weekdays(spec: str) -> list[int]:
    """"mon-sat", "mon,wed,fri", "sun" (English or Indonesian three letters) → weekday numbers."""
    spec = spec.lower().replace(" ", "")
    try:
        if "-" in spec:
            first, last = spec.split("-", 1)
            return list(range(WEEKDAYS[first[:3]], WEEKDAYS[last[:3]] + 1))
        return [WEEKDAYS[d[:3]] for d in spec.split(",")]
    except KeyError:
        raise HoursError("days", f"unknown day in {spec!r}: use mon tue wed thu fri sat sun", text=spec[:20]) from None


# --- the area's rules -----------------------------------------------------------------------------

def area_hours(uow: UnitOfWork, area_id: int) -> AreaHours:
    """The rules that apply in an area: the nearest area up the tree that sets a field wins."""
    earliest = latest = None
    cuti_open: bool | None = None
    area = uow.areas.get(area_id)
    while area is not None:
        earliest = earliest or getattr(area, "work_earliest", None)
        latest = latest or getattr(area, "work_latest", None)
        if cuti_open is None:
            cuti_open = getattr(area, "cuti_bersama_open", None)
        area = uow.areas.get(area.parent_id) if area.parent_id is not None else None
    return AreaHours(clock(earliest) if earliest else DEFAULT_EARLIEST, clock(latest) if latest else DEFAULT_LATEST,
                     not cuti_open)


def set_area_hours(uow: UnitOfWork, area_code: str, *, earliest: str | None = None, latest: str | None = None,
                   cuti_bersama: str | None = None) -> AreaHours:
    """Set an area's limits and cuti bersama rule ("open" or "closed"); areas below inherit them."""
    area = uow.areas.by_code(area_code)
    if area is None:
        raise HoursError("area", f"no area with code {area_code!r}", text=area_code[:20])
    if earliest is None and latest is None and cuti_bersama is None:
        raise HoursError("nothing", "nothing to change: give --earliest, --latest or --cuti-bersama")
    first = clock(earliest) if earliest is not None else None
    last = clock(latest) if latest is not None else None
    current = area_hours(uow, area.id)
    if (first or current.earliest) >= (last or current.latest):
        raise HoursError("order", "the earliest time must come before the latest", window=f"{earliest}–{latest}")
    if first is not None:
        area.work_earliest = _hm(first)
    if last is not None:
        area.work_latest = _hm(last)
    if cuti_bersama is not None:
        if cuti_bersama not in ("open", "closed"):
            raise HoursError("cuti", "--cuti-bersama is open or closed")
        area.cuti_bersama_open = cuti_bersama == "open"
    uow.flush()
    return area_hours(uow, area.id)


def enumerator_limits(uow: UnitOfWork, enumerator_id: int) -> AreaHours:
    """The rules of the enumerator's kelurahan (they work in one: any assigned SLS says)."""
    assigned = uow.enumerators.assigned_sls(enumerator_id)
    return area_hours(uow, assigned[0].id) if assigned else AreaHours()


# --- an enumerator's week -------------------------------------------------------------------------

def set_day_windows(uow: UnitOfWork, enumerator: Any, weekdays: list[int], windows: tuple[Window, ...], *,
                    limits: AreaHours | None = None) -> WorkWeek:
    """Give the weekdays these windows (none: days off); existing visits stay (they keep their blocks)."""
    check_windows(windows, enumerator.visit_minutes, limits)
    week = WorkWeek.from_json(enumerator.work_week)
    hours = dict(week.hours)
    for day in weekdays:
        hours[day] = windows
    return _save(uow, enumerator, WorkWeek(hours, week.dates))


def open_date(uow: UnitOfWork, enumerator: Any, day: dt.date, windows: tuple[Window, ...] | None = None, *,
              limits: AreaHours | None = None) -> WorkWeek:
    """Work on ``day`` (a holiday, a cuti bersama day, a day off) with these windows, or the weekday's."""
    week = WorkWeek.from_json(enumerator.work_week)
    windows = windows or week.hours.get(day.weekday())
    if not windows:
        raise HoursError("windows", f"{day:%A} is a day off: give the date's windows (--windows 08:00-12:00)")
    check_windows(windows, enumerator.visit_minutes, limits)
    return _save(uow, enumerator, WorkWeek(week.hours, {**week.dates, day: windows}))


def close_date(uow: UnitOfWork, enumerator: Any, day: dt.date) -> WorkWeek:
    """Undo :func:`open_date`: the date follows the calendar again."""
    week = WorkWeek.from_json(enumerator.work_week)
    if day not in week.dates:
        raise HoursError("not-open", f"{day.isoformat()} was not opened")
    return _save(uow, enumerator, WorkWeek(week.hours, {d: w for d, w in week.dates.items() if d != day}))


def _save(uow: UnitOfWork, enumerator: Any, week: WorkWeek) -> WorkWeek:
    enumerator.work_week = week.to_json()
    uow.flush()
    return week
