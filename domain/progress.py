"""Progress of the field work per area (SLS, kelurahan, kecamatan, city) and per enumerator.

A family counts as

- **booked** while it has an active visit (status ``booked``);
- **visited** once the enumerator recorded "done" at the door (``visited``) or the questionnaire was
  completed (``completed``);
- **done** when nothing is left to do: ``completed``, or closed at the door for good (``refused``,
  ``moved``, ``not_found``). ``not_home`` is not done: the family is visited again.

**Behind schedule.** An area's campaign window (``campaign_windows``: e.g. 15 Oct – 14 Nov, set on the
area or inherited from the nearest area above it with one; ``pintu campaign set CODE --from --to``)
gives the share of the work expected done by today: the working days (Monday to Saturday, public
holidays excluded) from the first day of the window up to and including today, over the working days of
the whole window. An area is behind when its share done is more than ``BEHIND_MARGIN`` (10 percentage
points) below that. Without a window nothing is called behind.

**Visits per day.** Every outcome an enumerator assigned in the area recorded at a door (done, not at
home, refused, moved, not found; an enumerator works in one kelurahan) is one visit; per day is the visits divided by the working days from the
window's first day (or, without a window, from the enumerator's first visit) up to today.

All counting is aggregate SQL (storage/repositories/supervision.py); this module only divides.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from domain.errors import NotAllowed
from domain.holidays_id import holiday_dates
from domain.model import Area
from domain.ports import UnitOfWork

BEHIND_MARGIN = 0.10
WORKING_WEEKDAYS = frozenset(range(6))  # Monday..Saturday, the enumerators' default week
VISITED = ("visited", "completed")
CLOSED = ("refused", "moved", "not_found")
DONE = ("completed", *CLOSED)


@dataclass(frozen=True)
class Tally:
    """Families of an area by status."""

    counts: dict[str, int] = field(default_factory=dict)

    def of(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)

    @property
    def families(self) -> int:
        return sum(self.counts.values())

    @property
    def booked(self) -> int:
        return self.of("booked")

    @property
    def visited(self) -> int:
        return self.of(*VISITED)

    @property
    def completed(self) -> int:
        return self.of("completed")

    @property
    def not_contacted(self) -> int:
        return self.of("not_contacted")

    @property
    def not_home(self) -> int:
        return self.of("not_home")

    @property
    def closed(self) -> int:
        return self.of(*CLOSED)

    @property
    def done(self) -> int:
        return self.of(*DONE)

    @property
    def share_done(self) -> float:
        return self.done / self.families if self.families else 0.0


@dataclass(frozen=True)
class Window:
    starts_on: dt.date
    ends_on: dt.date
    area_id: int  # the area the window was set on (this one or one above it)

    def expected_share(self, today: dt.date) -> float:
        """The share of the work expected done by the end of ``today``."""
        if today < self.starts_on:
            return 0.0
        total = working_days(self.starts_on, self.ends_on)
        if total == 0:
            return 1.0
        return min(1.0, working_days(self.starts_on, min(today, self.ends_on)) / total)


@dataclass(frozen=True)
class UnitProgress:
    area: Area
    tally: Tally
    expected: float | None  # None: no campaign window
    behind: bool


@dataclass(frozen=True)
class AreaProgress:
    area: Area
    today: dt.date  # in the area's zone
    window: Window | None
    total: UnitProgress
    units: list[UnitProgress]  # the areas one level down (empty for an SLS)


@dataclass(frozen=True)
class EnumeratorProgress:
    enumerator_id: int
    name: str
    visits: int
    today: int
    per_day: float


def working_days(first: dt.date, last: dt.date) -> int:
    """Monday-to-Saturday days between two dates inclusive, public holidays excluded."""
    if last < first:
        return 0
    holidays = holiday_dates(first, last)
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    count = weeks * len(WORKING_WEEKDAYS)
    count += sum(1 for i in range(rest) if (first.weekday() + i) % 7 in WORKING_WEEKDAYS)
    return count - sum(1 for d in holidays if d.weekday() in WORKING_WEEKDAYS)


def local_today(area: Area, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(area.timezone)).date()


def window_for(uow: UnitOfWork, area: Area, windows: dict[int, Any] | None = None) -> Window | None:
    """The campaign window of ``area``: its own, else the nearest area above it with one."""
    windows = uow.supervision.windows() if windows is None else windows
    if not windows:
        return None
    for area_id in uow.supervision.ancestor_ids(area.id):
        found = windows.get(area_id)
        if found is not None:
            return Window(found.starts_on, found.ends_on, area_id)
    return None


def _unit(area: Area, tally: Tally, window: Window | None, today: dt.date) -> UnitProgress:
    expected = window.expected_share(today) if window is not None else None
    behind = expected is not None and tally.families > 0 and tally.share_done < expected - BEHIND_MARGIN
    return UnitProgress(area, tally, expected, behind)


def area_progress(uow: UnitOfWork, area: Area, now: dt.datetime) -> AreaProgress:
    """The area's totals and one line per area one level down (two aggregate queries)."""
    windows = uow.supervision.windows()
    today = local_today(area, now)
    window = window_for(uow, area, windows)
    if area.level == "sls":
        total = _unit(area, Tally(uow.supervision.status_of_area(area.id, is_sls=True)), window, today)
        return AreaProgress(area, today, window, total, [])
    # Families live in SLS only, so the area's counts are the sum of its children's.
    by_unit = uow.supervision.status_by_unit(area.id)
    counts: dict[str, int] = {}
    for unit_counts in by_unit.values():
        for status, count in unit_counts.items():
            counts[status] = counts.get(status, 0) + count
    total = _unit(area, Tally(counts), window, today)
    units = []
    for child in uow.supervision.children(area.id):
        own = windows.get(child.id)  # a child's own window wins over the one it inherits
        child_window = Window(own.starts_on, own.ends_on, child.id) if own is not None else window
        units.append(_unit(child, Tally(by_unit.get(child.id, {})), child_window, today))
    return AreaProgress(area, today, window, total, units)


def enumerator_progress(uow: UnitOfWork, area: Area, now: dt.datetime) -> list[EnumeratorProgress]:
    """Every enumerator assigned in the area with their visits (all, today, per working day), fewest per
    day first: the ones who need a word from their supervisor come first."""
    tz = ZoneInfo(area.timezone)
    today = now.astimezone(tz).date()
    window = window_for(uow, area)
    since = dt.datetime.combine(window.starts_on, dt.time(0), tz).astimezone(dt.timezone.utc) if window else None
    today_from = dt.datetime.combine(today, dt.time(0), tz).astimezone(dt.timezone.utc)
    enumerators = uow.supervision.enumerators_of(area.id)
    activity = uow.supervision.activity_of([e.id for e in enumerators], since, today_from)
    found = []
    for enumerator in enumerators:
        visits, today_visits, first = activity.get(enumerator.id, (0, 0, None))
        if window is not None:
            start = window.starts_on
        else:
            start = first.astimezone(tz).date() if first is not None else today
        days = max(1, working_days(start, min(today, window.ends_on) if window else today))
        found.append(EnumeratorProgress(enumerator.id, enumerator.name, visits, today_visits, visits / days))
    found.sort(key=lambda e: (e.per_day, e.name.lower(), e.enumerator_id))
    return found


@dataclass(frozen=True)
class DailyCompletions:
    """Completions per working day of an area, and the daily pace the campaign window asks for."""

    days: list[tuple[dt.date, int]]  # working days, oldest first, up to today
    window_days: int | None  # working days of the whole campaign window; None: no window

    def target_per_day(self, families: int) -> float | None:
        """The daily pace that finishes ``families`` within the window (None without one)."""
        return families / self.window_days if self.window_days else None


CHART_DAYS = 14  # without a window: the last two weeks of working days


def daily_completions(uow: UnitOfWork, area: Area, now: dt.datetime) -> DailyCompletions:
    """The chart's data: completed families per working day, over the window (up to today) or, without
    one, the last CHART_DAYS working days."""
    today = local_today(area, now)
    window = window_for(uow, area)
    if window is not None:
        first, last = window.starts_on, min(today, window.ends_on)
    else:
        first, last = today - dt.timedelta(days=CHART_DAYS * 7 // 6 + 2), today
    holidays = holiday_dates(first, last) if last >= first else set()
    days = [first + dt.timedelta(days=i) for i in range(max(0, (last - first).days + 1))]
    days = [d for d in days if d.weekday() in WORKING_WEEKDAYS and d not in holidays]
    if window is None:
        days = days[-CHART_DAYS:]
    counts: dict[dt.date, int] = {}
    if days:
        tz = ZoneInfo(area.timezone)
        since = dt.datetime.combine(days[0], dt.time(0), tz).astimezone(dt.timezone.utc)
        sls_ids = [area.id] if area.level == "sls" else uow.supervision.sls_of(area.id)
        counts = uow.supervision.completions_by_day(sls_ids, area.timezone, since)
    window_days = working_days(window.starts_on, window.ends_on) if window is not None else None
    return DailyCompletions([(d, counts.get(d, 0)) for d in days], window_days)


def set_window(uow: UnitOfWork, area_code: str, starts_on: dt.date, ends_on: dt.date, now: dt.datetime) -> Area:
    """Set the campaign window of an area (and the areas below it that have none of their own)."""
    if ends_on < starts_on:
        raise ValueError("the campaign window must end on or after its first day")
    if (ends_on - starts_on).days > 366:
        raise ValueError("a campaign window is at most a year long")
    area = uow.areas.by_code(area_code)
    if area is None:
        raise NotAllowed(f"no area with code {area_code!r}")
    uow.supervision.save_window(area.id, starts_on, ends_on, now)
    return area
