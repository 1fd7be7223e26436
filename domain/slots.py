"""Free visit times, derived (never stored): working hours minus everything that rules a time out.

A time is free for an enumerator when it lies in their working hours for that weekday, is not on an
Indonesian public holiday, does not overlap the Friday prayer break, is at least the lead time away,
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


@dataclass(frozen=True)
class WorkWeek:
    """Working hours per weekday (0 = Monday); a missing weekday is a day off."""

    hours: Mapping[int, tuple[dt.time, dt.time]]

    @classmethod
    def default(cls) -> "WorkWeek":
        """Monday to Saturday, 08.00 to 16.00, as the field teams worked in Regsosek."""
        return cls({day: (dt.time(8), dt.time(16)) for day in range(6)})

    def to_json(self) -> dict[str, list[str]]:
        return {str(d): [s.strftime("%H:%M"), e.strftime("%H:%M")] for d, (s, e) in sorted(self.hours.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, list[str]] | None) -> "WorkWeek":
        if not data:
            return cls.default()
        return cls({int(d): (dt.time.fromisoformat(s), dt.time.fromisoformat(e)) for d, (s, e) in data.items()})


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
    closed = set(holidays)
    wanted_days = [d for d in (days if days is not None else booking_days(now, tz, policy)) if d not in closed]
    horizon = set(booking_days(now, tz, policy))
    earliest = now + policy.lead_time
    merged: dict[tuple[dt.datetime, dt.datetime], list[int]] = {}
    for calendar in calendars:
        busy = sorted(calendar.busy_blocks)
        for day in wanted_days:
            if day not in horizon:
                continue
            for start, end in _day_grid(calendar, day, tz, policy):
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


def _day_grid(calendar: EnumeratorCalendar, day: dt.date, tz: ZoneInfo, policy: SchedulePolicy):
    """Yield (start, end) in UTC of each visit-length step of the working day, skipping the prayer break."""
    hours = calendar.week.hours.get(day.weekday())
    if hours is None:
        return
    length = dt.timedelta(minutes=calendar.visit_minutes)
    cursor = dt.datetime.combine(day, hours[0], tz)
    day_end = dt.datetime.combine(day, hours[1], tz)
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
