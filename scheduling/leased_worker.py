"""What every worker draining a leased queue (storage/leased_queue.py) does the same way, whatever it
sends: the outbox dispatcher (scheduling/dispatcher.py) and the registry worker (registry/worker.py).

- **Backoff with jitter.** A transient failure is retried after ``base * 2**(attempts - 1)`` seconds,
  capped, of which the last ``jitter`` share is random ("equal jitter" with the default 0.5): rows
  of a batch that failed together (a network blip) come back spread over time, not as one burst.
- **Lease margin.** A worker starts nothing within ``lease_margin`` of its lease's end: a send that
  began just before the lease ended could go out while another worker, having claimed the row
  again, sends it too.
- **Claim, process, settle, hand back.** Claimed rows wait in a ``Lane``, in claim order; consumers
  (``work_through``) take them from the front, each asking ``ready`` first (the lease margin, a rate
  limiter, an unreachable peer). The first refusal closes the lane, and what is still in it was
  never attempted: the worker hands it back to the queue at once (``release``) rather than leaving
  it to wait out the lease.
"""
from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import ClassVar, Generic, TypeVar

T = TypeVar("T")

JITTER = 0.5  # the random share of a delay: each delay lies in [ceiling * (1 - JITTER), ceiling]


def backoff_bounds(attempts: int, base: float, cap: float, jitter: float = JITTER) -> tuple[float, float]:
    """The range the delay before retry number ``attempts`` (1 = the first) is drawn from."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling * (1 - jitter), ceiling


def backoff(attempts: int, base: float, cap: float, fraction: float, jitter: float = JITTER) -> float:
    """Seconds before retry number ``attempts``; ``fraction`` in [0, 1] picks the point in the range."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return ceiling * (1 - jitter + jitter * fraction)


class LeasePolicy:
    """The lease and backoff part of a worker's policy: mixed into its frozen dataclass, which
    declares the four fields (with its own defaults) and calls ``check_lease`` after init."""

    lease: dt.timedelta
    lease_margin: dt.timedelta  # start nothing this long before the lease ends
    backoff_base: float  # seconds before the first retry; doubles per attempt
    backoff_cap: float
    jitter: ClassVar[float] = JITTER

    def check_lease(self) -> None:
        if not dt.timedelta(0) <= self.lease_margin < self.lease:
            raise ValueError("lease_margin must be shorter than the lease")

    def backoff_bounds(self, attempts: int) -> tuple[float, float]:
        return backoff_bounds(attempts, self.backoff_base, self.backoff_cap, self.jitter)

    def backoff_at(self, attempts: int, fraction: float) -> float:
        return backoff(attempts, self.backoff_base, self.backoff_cap, fraction, self.jitter)

    def lease_ending(self, lease: dt.datetime, now: dt.datetime) -> bool:
        """True from ``lease_margin`` before the lease (a claim's ``claimed_until``) ends."""
        return now >= lease - self.lease_margin


class Lane(Generic[T]):
    """Claimed items in the order they are to be attempted, shared by the consumers working it.

    Once a consumer's ``ready`` declines an item the lane is closed: that item and all behind it are
    not attempted (``unattempted``), and no consumer takes any more from it.
    """

    def __init__(self, items: Iterable[T]) -> None:
        self._items: deque[T] = deque(items)
        self.closed = False

    def __len__(self) -> int:
        return len(self._items)

    def unattempted(self) -> list[T]:
        """What no consumer has taken (or what was handed back by ``ready``): to go back to the queue."""
        return list(self._items)

    def remap(self, change: Callable[[T], T]) -> None:
        """Replace every item still waiting by ``change(item)`` (a verdict that holds for all of them)."""
        self._items = deque(change(item) for item in self._items)


async def work_through(lane: Lane[T], ready: Callable[[T], Awaitable[bool]], process: Callable[[T], Awaitable[None]],
                       *, at_most: int | None = None) -> int:
    """One consumer: take items from the front of ``lane`` until it is empty or closed (or ``at_most``
    are taken); returns how many were processed.

    ``ready(item)`` may wait (for a rate limiter); False closes the lane. An item is taken off the lane
    only once ``ready`` said yes: if ``ready`` raises or is cancelled, the item stays, not attempted.
    Several consumers may share one lane; each item goes to exactly one of them.
    """
    processed = taken = 0
    while lane._items and not lane.closed and (at_most is None or taken < at_most):
        item = lane._items.popleft()
        taken += 1
        try:
            go = await ready(item)
        except BaseException:
            lane._items.appendleft(item)
            raise
        if not go:
            lane._items.appendleft(item)
            lane.closed = True
            break
        await process(item)
        processed += 1
    return processed
