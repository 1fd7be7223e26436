"""Free visit times, derived (never stored): working hours minus everything that rules a time out.

A time is free for an enumerator when it lies in one of their working windows for that weekday, is not
on a closed date (an Indonesian public holiday, or a cuti bersama day where the area closes them) unless
the enumerator opted in to work that date, does not overlap the Friday prayer break, is at least the lead time away,
lies within the booking horizon, and none of its 15-minute blocks is already taken by a visit.
"""
from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

BLOCK = dt.timedelta(minutes=15)
UTC = dt.timezone.utc


Window = tuple[dt.time, dt.time]  # local start and end of a stretch of working time


def _windows(value: Window | Iterable[Window]) -> tuple[Window, ...]:
    """A weekday's or date's windows, sorted; a bare (start, end) pair (the old one-window week) is one window."""
    value = tuple(value)
    if len(value) == 2 and all(isinstance(v, dt.time) for v in value):
        return (value,)  # type: ignore[return-value]
    return tuple(sorted(value))  # type: ignore[arg-type]


@dataclass(frozen=True)
class WorkWeek:
    """Working time: windows per weekday (0 = Monday, 6 = Sunday; a missing weekday is a day off), and
    dates worked whatever the calendar says (``dates``: a public holiday, a cuti bersama day or a day
    off the enumerator chose to work, with that date's windows).

    Several windows a day let an officer meet families when they are home (08.00–12.00 and 16.00–20.00).
    """

    hours: Mapping[int, tuple[Window, ...]]
    dates: Mapping[dt.date, tuple[Window, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", {d: _windows(w) for d, w in sorted(self.hours.items()) if _windows(w)})
        object.__setattr__(self, "dates", {d: _windows(w) for d, w in sorted(self.dates.items()) if _windows(w)})

    @classmethod
    def default(cls) -> "WorkWeek":
        """Monday to Saturday, 08.00 to 16.00, as the field teams worked in Regsosek."""
        return cls({day: ((dt.time(8), dt.time(16)),) for day in range(6)})

    def windows_on(self, day: dt.date, closed: Iterable[dt.date] | frozenset[dt.date] = frozenset()) -> tuple[Window, ...]:
        """The windows worked on ``day``: an opted-in date's own, none on a closed date (a public holiday,
        a cuti bersama day), else the weekday's."""
        if day in self.dates:
            return self.dates[day]
        if day in closed:
            return ()
        return self.hours.get(day.weekday(), ())

    def to_json(self) -> dict[str, dict[str, list[list[str]]]]:
        """``{"days": {"0": [["08:00", "12:00"], ["16:00", "20:00"]]}, "dates": {"2026-03-20": [...]}}``."""
        return {"days": {str(d): _windows_json(w) for d, w in self.hours.items()},
                "dates": {d.isoformat(): _windows_json(w) for d, w in self.dates.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, object] | None) -> "WorkWeek":
        """The stored week; None or {} is the default week. The shape before several windows a day
        (``{"0": ["08:00", "16:00"]}``, one window per weekday) is still read: migration 0030_hours
        rewrites it, but a row written by an older process during a rolling update must not break."""
        if not data:
            return cls.default()
        if "days" not in data and "dates" not in data:
            return cls({int(d): (_time(w[0]), _time(w[1])) for d, w in data.items()})  # type: ignore[index]
        days = data.get("days") or {}
        dates = data.get("dates") or {}
        return cls({int(d): _windows_from_json(w) for d, w in days.items()},  # type: ignore[union-attr]
                   {dt.date.fromisoformat(d): _windows_from_json(w) for d, w in dates.items()})  # type: ignore[union-attr]


def _time(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _windows_json(windows: tuple[Window, ...]) -> list[list[str]]:
    return [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in windows]


def _windows_from_json(windows: Iterable[Iterable[str]]) -> tuple[Window, ...]:
    return tuple((_time(s), _time(e)) for s, e in windows)


@dataclass(frozen=True)
class SchedulePolicy:
    horizon_days: int = 14
    lead_time: dt.timedelta = dt.timedelta(hours=2)
    friday_break: tuple[dt.time, dt.time] | None = (dt.time(11, 30), dt.time(13, 0))


@dataclass(frozen=True)
class EnumeratorCalendar:
    """What the slot rules need to know about one enumerator."""

    enumerator_id: int
    week: WorkWeek
    visit_minutes: int
    busy_blocks: frozenset[dt.datetime] = field(default_factory=frozenset)  # UTC block starts


@dataclass(frozen=True)
class Slot:
    """A bookable time; several enumerators may be free at it."""

    start: dt.datetime  # UTC
    end: dt.datetime  # UTC
    enumerator_ids: tuple[int, ...]


def blocks_between(start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The 15-minute block starts a visit from ``start`` to ``end`` occupies (what the database locks)."""
    blocks, cursor = [], start
    while cursor < end:
        blocks.append(cursor)
        cursor += BLOCK
    return blocks


def booking_days(now: dt.datetime, tz: ZoneInfo, policy: SchedulePolicy) -> list[dt.date]:
    """The local dates a family may choose from: today and the following days up to the horizon."""
    today = now.astimezone(tz).date()
    return [today + dt.timedelta(days=i) for i in range(policy.horizon_days)]


def free_slots(
    calendars: Iterable[EnumeratorCalendar],
    tz: ZoneInfo,
    now: dt.datetime,
    policy: SchedulePolicy,
    holidays: Iterable[dt.date],
    days: Iterable[dt.date] | None = None,
) -> list[Slot]:
    """All free slots on the given local days (default: the whole horizon), merged across enumerators."""
    closed = frozenset(holidays)
    wanted_days = list(days if days is not None else booking_days(now, tz, policy))
    horizon = set(booking_days(now, tz, policy))
    earliest = now + policy.lead_time
    merged: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}
    for calendar in calendars:
        busy = sorted(calendar.busy_blocks)
        for day in wanted_days:
            if day not in horizon:
                continue
            for start, end in _day_grid(calendar, day, tz, policy, closed):
                if start >= earliest and not _overlaps_busy(busy, start, end):
                    merged.setdefault((start, end), []).append(calendar.enumerator_id)
    return [Slot(s, e, tuple(sorted(ids))) for (s, e), ids in sorted(merged.items())]


def _overlaps_busy(busy: list[dt.datetime], start: dt.datetime, end: dt.datetime) -> bool:
    """Whether any busy block [b, b + BLOCK) overlaps [start, end); ``busy`` is sorted.

    Intervals are compared, not quarter-hour starts looked up in the set: a block need not lie on
    this visit's grid (a visit booked under an earlier working week starting at 08.10 leaves one),
    and a lookup would miss it and offer a time the enumerator is already busy in.
    """
    first = bisect.bisect_right(busy, start - BLOCK)  # the first block that ends after ``start``
    return first < len(busy) and busy[first] < end


def _day_grid(calendar: EnumeratorCalendar, day: dt.date, tz: ZoneInfo, policy: SchedulePolicy,
              closed: frozenset[dt.date]):
    """Yield (start, end) in UTC of each visit-length step of each window of the day, skipping the
    prayer break; each window has its own grid from its start."""
    length = dt.timedelta(minutes=calendar.visit_minutes)
    for window_start, window_end in calendar.week.windows_on(day, closed):
        cursor = dt.datetime.combine(day, window_start, tz)
        day_end = dt.datetime.combine(day, window_end, tz)
        while cursor + length <= day_end:
            if not _in_friday_break(cursor, cursor + length, policy):
                yield cursor.astimezone(UTC), (cursor + length).astimezone(UTC)
            cursor += length


def _in_friday_break(start: dt.datetime, end: dt.datetime, policy: SchedulePolicy) -> bool:
    if policy.friday_break is None or start.weekday() != 4:
        return False
    break_start = start.replace(hour=policy.friday_break[0].hour, minute=policy.friday_break[0].minute)
    break_end = start.replace(hour=policy.friday_break[1].hour, minute=policy.friday_break[1].minute)
    return start < break_end and end > break_start


def slot_is_offered(
    calendar: EnumeratorCalendar,
    start: dt.datetime,
    tz: ZoneInfo,
    now: dt.datetime,
    policy: SchedulePolicy,
    holidays: Iterable[dt.date],
) -> bool:
    """Whether ``start`` is a time the rules allow for this enumerator (ignoring who else booked it)."""
    free = free_slots([EnumeratorCalendar(calendar.enumerator_id, calendar.week, calendar.visit_minutes)],
                      tz, now, policy, holidays, days=[start.astimezone(tz).date()])
    return any(slot.start == start for slot in free)
