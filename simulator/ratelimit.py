"""Token buckets that reproduce Telegram's flood limits for new messages.

Telegram publishes guidance rather than exact numbers: about 30 messages per second per bot overall,
about one message per second in a private chat (short bursts are tolerated) and 20 messages per minute
in a group. The buckets read an injectable monotonic clock so tests can move time by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from .config import SimulatorConfig
from .errors import too_many_requests


@dataclass
class TokenBucket:
    """``capacity`` tokens, refilled at ``rate`` tokens per second."""

    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        """Add the tokens earned since the last look."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until one whole token is available (0 when one is)."""
        if self.tokens >= 1.0:
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Decides whether a bot may post a new message to a chat now."""

    def __init__(self, config: SimulatorConfig) -> None:
        self._config = config
        self._clock: Callable[[], float] = config.clock
        self._buckets: dict[tuple[int, int | None], TokenBucket] = {}

    def acquire(self, bot_id: int, chat_id: int, chat_type: str) -> None:
        """Take a token from the bot's and the chat's bucket, or raise a 429.

        Nothing is taken unless both buckets allow it, so a refused message costs nothing.
        """
        if not self._config.rate_limits:
            return
        now = self._clock()
        buckets = [self._global_bucket(bot_id, now), self._chat_bucket(bot_id, chat_id, chat_type, now)]
        for bucket in buckets:
            bucket.refill(now)
        wait = max(bucket.wait_time() for bucket in buckets)
        if wait > 0:
            raise too_many_requests(math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0

    def _global_bucket(self, bot_id: int, now: float) -> TokenBucket:
        rate = self._config.global_per_second
        return self._bucket((bot_id, None), rate, rate, now)

    def _chat_bucket(self, bot_id: int, chat_id: int, chat_type: str, now: float) -> TokenBucket:
        if chat_type == "private":
            rate, capacity = self._config.private_per_second, self._config.private_burst
        else:
            capacity = self._config.group_per_minute
            rate = capacity / 60.0
        return self._bucket((bot_id, chat_id), rate, capacity, now)

    def _bucket(self, key: tuple[int, int | None], rate: float, capacity: float, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(rate=rate, capacity=capacity, tokens=capacity, updated=now)
            self._buckets[key] = bucket
        return bucket
