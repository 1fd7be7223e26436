"""The pace of bulk sends: a global token bucket plus a minimum interval per chat.

Telegram allows a bot about 30 messages a second overall, about one a second to one private chat and
20 a minute to one group; beyond that it answers 429 with ``retry_after``. The limiter keeps under
those limits, and when Telegram still says 429 it pauses every send for that long and continues at
half the rate, recovering to the full rate linearly over ``recovery`` seconds.

Limits are per process: with N dispatching processes, give each ``send_rate / N``.
Time comes from the injected ``monotonic`` and ``sleep``, so tests run without real waiting.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

GROUP_INTERVAL = 3.0  # 20 messages a minute to one group
MIN_RATE_FACTOR = 1 / 16  # repeated 429s halve the rate down to this share of it, no further
PRUNE_ABOVE = 10_000  # forget per-chat times that lie in the past once this many chats are tracked
EPSILON = 1e-9  # refills add up in floating point: 0.999999999 of a token is a token
# The dispatcher's burst: a few tokens let it make up for the event loop waking late (a sleep that
# overshoots by a millisecond or two, a claim between batches) instead of losing that time for good.
# Telegram's own allowance is ~30 at once, so a burst of 5 stays far below anything it refuses;
# measured (bench/dispatch.py): burst 1 reaches ~0.93 of the cap, burst 5 ~0.99, with no 429.
DISPATCH_BURST = 5.0


class RateLimiter:
    """``await limiter.acquire(chat_id)`` before each send; ``limiter.penalize(retry_after)`` on a 429."""

    def __init__(
        self,
        rate: float = 30.0,
        per_chat_interval: float = 1.0,
        chat_burst: int = 1,
        *,
        group_interval: float = GROUP_INTERVAL,
        burst: float = 1.0,
        recovery: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.per_chat_interval = per_chat_interval
        # Messages one private chat may get at once before the interval applies (Telegram tolerates
        # short bursts); groups never burst.
        self.chat_burst = max(1, chat_burst)
        self.group_interval = max(group_interval, per_chat_interval)
        self.burst = burst  # 1 spaces sends evenly; more allows short bursts after a quiet spell
        self.recovery = recovery
        self._monotonic = monotonic
        self._sleep = sleep
        self._tokens = burst
        self._refilled_at = monotonic()
        self._paused_until = float("-inf")
        self._factor = 1.0  # share of ``rate`` right after the last 429
        self._penalized_at = float("-inf")
        # Per chat, when its next message would be due if every message kept the interval (GCRA): a send
        # may go while that lies less than (burst - 1) intervals ahead.
        self._chat_free_at: dict[int, float] = {}
        # Waiters for a token queue here in order, so one sleeps per token instead of all waking at once.
        self._bucket = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "RateLimiter":
        """Built from ``bot.config.Settings`` (send_rate, per_chat_interval, per_chat_burst), with the
        dispatcher's burst."""
        return cls(settings.send_rate, settings.per_chat_interval,
                   **{"burst": DISPATCH_BURST, "chat_burst": getattr(settings, "per_chat_burst", 1), **overrides})

    def interval_for(self, chat_id: int) -> float:
        """Group and channel ids are negative; they get Telegram's slower per-chat limit."""
        return self.group_interval if chat_id < 0 else self.per_chat_interval

    def current_rate(self) -> float:
        """Messages per second allowed now: lower for a while after a 429."""
        return self.rate * self._factor_at(self._monotonic())

    def paused_for(self) -> float:
        """Seconds until the pause after a 429 ends (0 when not paused)."""
        return max(0.0, self._paused_until - self._monotonic())

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` may be sent now, and count it as sent."""
        while True:
            await self._wait_for_chat(chat_id)
            async with self._bucket:
                await self._wait_for_token()
                # Another send to this chat may have gone while we waited for the token: check again.
                if self._chat_wait(chat_id) <= EPSILON:
                    self._take(chat_id)
                    return

    def penalize(self, retry_after: float) -> None:
        """Telegram said 429: pause all sends for ``retry_after`` seconds, then go slower for a while."""
        now = self._monotonic()
        self._factor = max(MIN_RATE_FACTOR, self._factor_at(now) / 2)
        self._paused_until = max(self._paused_until, now + max(0.0, retry_after))
        self._penalized_at = self._paused_until  # the slower pace starts when the pause ends
        # No burst right after the pause: tokens start empty and fill only once it ends.
        self._tokens = 0.0
        self._refilled_at = self._paused_until

    async def _wait_for_chat(self, chat_id: int) -> None:
        wait = self._chat_wait(chat_id)
        while wait > EPSILON:
            await self._sleep(wait)
            wait = self._chat_wait(chat_id)

    async def _wait_for_token(self) -> None:
        while True:
            now = self._monotonic()
            if now < self._paused_until:
                await self._sleep(self._paused_until - now)
                continue
            self._refill(now)
            if self._tokens >= 1 - EPSILON:
                return
            await self._sleep((1 - self._tokens) / (self.rate * self._factor_at(now)))

    def _chat_wait(self, chat_id: int) -> float:
        allowance = (self.chat_burst - 1) * self.per_chat_interval if chat_id > 0 else 0.0
        return self._chat_free_at.get(chat_id, float("-inf")) - allowance - self._monotonic()

    def _take(self, chat_id: int) -> None:
        now = self._monotonic()
        self._tokens -= 1
        self._chat_free_at[chat_id] = max(self._chat_free_at.get(chat_id, now), now) + self.interval_for(chat_id)
        if len(self._chat_free_at) > PRUNE_ABOVE:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    def _refill(self, now: float) -> None:
        elapsed = now - self._refilled_at
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate * self._factor_at(now))
            self._refilled_at = now

    def _factor_at(self, now: float) -> float:
        """The slowdown after a 429 wears off linearly: back to the full rate after ``recovery`` s."""
        if self._factor >= 1.0 or self.recovery <= 0:
            return 1.0
        since = max(0.0, now - self._penalized_at)
        return min(1.0, self._factor + (1.0 - self._factor) * since / self.recovery)
