"""The send pace: global rate, per-chat and per-group intervals, and the pause after a 429 — in virtual time."""
from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from chat.ratelimit import RateLimiter


class VirtualTime:
    """A monotonic clock and a sleep that never waits: time jumps to the next sleeper's wake-up.

    ``run`` drives tasks: once every task is blocked, the earliest sleeper wakes and the clock moves
    to its time. Sleeping tasks thus interleave exactly as they would in real time.
    """

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def run(self, *coroutines):
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        while not all(t.done() for t in tasks):
            for _ in range(50):  # let every runnable task reach its next sleep or lock
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                break
            assert self._sleepers, "deadlock: tasks wait but nobody sleeps"
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            future.set_result(None)
        return [t.result() for t in tasks]


def limiter(vt: VirtualTime, **options) -> RateLimiter:
    return RateLimiter(**{"rate": 30.0, "per_chat_interval": 1.0, **options}, monotonic=vt.monotonic, sleep=vt.sleep)


async def send_all(vt: VirtualTime, rl: RateLimiter, chats: list[int]) -> list[tuple[int, float]]:
    """Acquire for each chat in turn; return (chat, time) of every grant."""
    granted = []
    for chat in chats:
        await rl.acquire(chat)
        granted.append((chat, vt.now))
    return granted


async def test_the_global_rate_spaces_sends_to_different_chats():
    vt = VirtualTime()
    rl = limiter(vt)
    [granted] = await vt.run(send_all(vt, rl, list(range(1, 91))))
    times = [t for _, t in granted]
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(89 / 30)
    assert all(b - a == pytest.approx(1 / 30) for a, b in zip(times, times[1:]))


async def test_a_burst_allows_that_many_at_once_then_the_rate():
    vt = VirtualTime()
    rl = limiter(vt, burst=10)
    [granted] = await vt.run(send_all(vt, rl, list(range(1, 21))))
    times = [t for _, t in granted]
    assert times[:10] == [0.0] * 10
    assert times[10] == pytest.approx(1 / 30)
    assert times[19] == pytest.approx(10 / 30)


async def test_one_private_chat_gets_at_most_one_message_a_second():
    vt = VirtualTime()
    [granted] = await vt.run(send_all(vt, limiter(vt), [7] * 5))
    assert [t for _, t in granted] == pytest.approx([0, 1, 2, 3, 4])


async def test_a_group_gets_at_most_twenty_a_minute():
    vt = VirtualTime()
    [granted] = await vt.run(send_all(vt, limiter(vt), [-100123] * 21))
    times = [t for _, t in granted]
    assert times[-1] == pytest.approx(60.0)
    assert sum(1 for t in times if t < 60.0) == 20


async def test_a_slow_chat_does_not_hold_up_the_others():
    """Concurrent senders: chat 1 has five messages, chats 2..30 one each; the others go meanwhile."""
    vt = VirtualTime()
    rl = limiter(vt)
    results = await vt.run(send_all(vt, rl, [1] * 5), *(send_all(vt, rl, [c]) for c in range(2, 31)))
    chat_one = [t for _, t in results[0]]
    others = [t for r in results[1:] for _, t in r]
    assert [round(b - a, 6) >= 1.0 for a, b in zip(chat_one, chat_one[1:])] == [True] * 4
    assert max(others) < 1.01  # 30 sends at 30/s: all of them within about a second
    every = sorted(chat_one + others)
    assert all(b - a >= 1 / 30 - 1e-9 for a, b in zip(every, every[1:]))  # the global rate holds throughout


async def test_retry_after_pauses_everything_then_continues_slower():
    vt = VirtualTime()
    rl = limiter(vt, recovery=60.0)
    [first] = await vt.run(send_all(vt, rl, [1, 2, 3]))
    rl.penalize(5.0)
    assert rl.paused_for() == pytest.approx(5.0)
    [after] = await vt.run(send_all(vt, rl, [4, 5, 6]))
    paused_at = first[-1][1]
    times = [t for _, t in after]
    assert times[0] >= paused_at + 5.0
    # Half the rate right after the pause: 1/15 s apart instead of 1/30.
    assert times[1] - times[0] == pytest.approx(1 / 15, rel=0.05)
    assert rl.current_rate() < 30.0


async def test_the_slowdown_wears_off():
    vt = VirtualTime()
    rl = limiter(vt, recovery=60.0)
    rl.penalize(1.0)
    assert rl.current_rate() == pytest.approx(15.0)
    vt.now = 31.0  # 30 s after the pause ended: halfway back
    assert rl.current_rate() == pytest.approx(22.5)
    vt.now = 100.0
    assert rl.current_rate() == pytest.approx(30.0)


async def test_repeated_429s_slow_down_further_but_never_stop():
    vt = VirtualTime()
    rl = limiter(vt)
    for _ in range(20):
        rl.penalize(0.0)
    assert 0 < rl.current_rate() <= 30.0 / 16


async def test_a_429_during_a_wait_delays_a_sender_that_was_already_waiting():
    vt = VirtualTime()
    rl = limiter(vt)

    async def penalize_soon():
        await vt.sleep(0.01)
        rl.penalize(10.0)

    results = await vt.run(send_all(vt, rl, [1, 2]), penalize_soon())
    assert results[0][0][1] == 0.0
    assert results[0][1][1] >= 10.01  # the second send waited for the token and then for the pause


async def test_per_chat_memory_is_pruned():
    vt = VirtualTime()
    rl = limiter(vt, rate=1e9, per_chat_interval=0.001)
    for chat in range(20_001):
        await rl.acquire(chat)
        vt.now += 0.001
    assert len(rl._chat_free_at) <= 10_001


def test_settings_feed_the_limiter():
    from bot.config import Settings

    rl = RateLimiter.from_settings(Settings(send_rate=10.0, per_chat_interval=2.0))
    assert (rl.rate, rl.interval_for(5), rl.interval_for(-5)) == (10.0, 2.0, 3.0)


def test_nonsense_rates_are_refused():
    with pytest.raises(ValueError):
        RateLimiter(rate=0)
