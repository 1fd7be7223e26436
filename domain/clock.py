"""The clock is injected everywhere so that logic never reads the wall clock itself.

Production wires :class:`SystemClock`; tests and benchmarks use :class:`FakeClock` and move time by hand.
"""
from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)


class FakeClock:
    """A clock that stands still until told to move; safe to share between threads."""

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(dt.timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = instant.astimezone(dt.timezone.utc)
