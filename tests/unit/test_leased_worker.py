"""The shared policy of the leased-queue workers (scheduling/leased_worker.py), without a database:
backoff with jitter, the lease margin, and working through a lane of claimed rows."""
from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest

from registry.worker import ForwardPolicy
from scheduling.dispatcher import DispatchPolicy
from scheduling.leased_worker import JITTER, Lane, backoff, backoff_bounds, work_through

T0 = dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)


# --- backoff -------------------------------------------------------------------------------------

@pytest.mark.parametrize("attempts, low, high", [(0, 2.5, 5), (1, 2.5, 5), (2, 5, 10), (4, 20, 40), (6, 80, 160), (7, 150, 300),
                                                 (8, 150, 300), (60, 150, 300)])
def test_backoff_bounds_double_per_attempt_up_to_the_cap(attempts: int, low: float, high: float):
    assert backoff_bounds(attempts, 5.0, 300.0) == (low, high)


def test_backoff_spans_its_bounds_and_stays_inside():
    for attempts in range(1, 20):
        low, high = backoff_bounds(attempts, 2.0, 600.0)
        assert backoff(attempts, 2.0, 600.0, 0.0) == low and backoff(attempts, 2.0, 600.0, 1.0) == high
        rng = random.Random(attempts)
        samples = [backoff(attempts, 2.0, 600.0, rng.random()) for _ in range(500)]
        assert all(low <= sample <= high <= 600.0 for sample in samples)
        assert min(samples) < low + (high - low) * 0.1 and max(samples) > high - (high - low) * 0.1  # spread out


def test_jitter_is_the_random_share_of_the_delay():
    assert JITTER == 0.5
    assert backoff_bounds(3, 10.0, 1000.0, jitter=0.0) == (40.0, 40.0)  # no jitter: always the ceiling
    assert backoff_bounds(3, 10.0, 1000.0, jitter=1.0) == (0.0, 40.0)  # "full jitter"
    assert backoff(3, 10.0, 1000.0, 0.5, jitter=0.2) == pytest.approx(36.0)


def test_both_policies_draw_from_the_same_bounds():
    dispatch = DispatchPolicy(backoff_base=5.0, backoff_cap=60.0)
    forward = ForwardPolicy(backoff_base=5.0, backoff_cap=60.0)
    for attempts in (1, 2, 3, 10):
        assert dispatch.backoff_bounds(attempts) == forward.backoff_bounds(attempts) == backoff_bounds(attempts, 5.0, 60.0)
        assert forward.backoff(attempts, rng=lambda low, high: low) == dispatch.backoff_at(attempts, 0.0)
        assert forward.backoff(attempts, rng=lambda low, high: high) == dispatch.backoff_at(attempts, 1.0)


# --- the lease margin ----------------------------------------------------------------------------

def test_the_lease_is_ending_from_the_margin_before_its_end():
    policy = DispatchPolicy(lease=dt.timedelta(minutes=2), lease_margin=dt.timedelta(seconds=30))
    lease = T0 + dt.timedelta(minutes=2)
    assert not policy.lease_ending(lease, T0 + dt.timedelta(seconds=89))
    assert policy.lease_ending(lease, T0 + dt.timedelta(seconds=90))
    assert policy.lease_ending(lease, lease + dt.timedelta(hours=1))


@pytest.mark.parametrize("policy", [DispatchPolicy, ForwardPolicy])
def test_the_margin_must_be_shorter_than_the_lease(policy):
    with pytest.raises(ValueError):
        policy(lease=dt.timedelta(seconds=30), lease_margin=dt.timedelta(seconds=30))
    with pytest.raises(ValueError):
        policy(lease_margin=dt.timedelta(seconds=-1))
    policy(lease=dt.timedelta(seconds=30), lease_margin=dt.timedelta(0))


# --- working through a lane ----------------------------------------------------------------------

async def _yes(_: object) -> bool:
    return True


def test_a_lane_is_worked_through_in_order():
    done: list[int] = []

    async def process(item: int) -> None:
        done.append(item)

    lane = Lane(range(5))
    assert asyncio.run(work_through(lane, _yes, process)) == 5
    assert done == [0, 1, 2, 3, 4] and lane.unattempted() == []


def test_a_declined_item_closes_the_lane_and_it_and_the_rest_are_unattempted():
    done: list[int] = []

    async def ready(item: int) -> bool:
        return item < 2

    async def process(item: int) -> None:
        done.append(item)

    lane = Lane(range(5))
    assert asyncio.run(work_through(lane, ready, process)) == 2
    assert done == [0, 1] and lane.unattempted() == [2, 3, 4] and lane.closed
    assert asyncio.run(work_through(lane, _yes, process)) == 0  # closed: nothing more from it


def test_an_item_whose_turn_never_came_stays_unattempted_the_one_being_processed_does_not():
    """Cancelled while waiting for its turn: the item stays. Cancelled while processing: it was taken."""
    async def scenario() -> tuple[list[int], list[int]]:
        waiting = asyncio.Event()
        lane = Lane([1, 2, 3])

        async def ready(item: int) -> bool:
            if item == 2:
                waiting.set()
                await asyncio.sleep(3600)  # a rate limiter's long pause
            return True

        async def process(item: int) -> None:
            pass

        task = asyncio.create_task(work_through(lane, ready, process))
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        first = lane.unattempted()

        busy = asyncio.Event()
        lane = Lane([1, 2, 3])

        async def slow(item: int) -> None:
            busy.set()
            await asyncio.sleep(3600)

        task = asyncio.create_task(work_through(lane, _yes, slow))
        await busy.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return first, lane.unattempted()

    assert asyncio.run(scenario()) == ([2, 3], [2, 3])


def test_consumers_sharing_a_lane_each_take_different_items():
    taken: list[tuple[int, int]] = []

    def consumer(number: int):
        async def process(item: int) -> None:
            await asyncio.sleep(0.001 * (item % 3))
            taken.append((number, item))
        return process

    async def scenario() -> None:
        lane = Lane(range(40))
        await asyncio.gather(*(work_through(lane, _yes, consumer(n)) for n in range(4)))

    asyncio.run(scenario())
    assert sorted(item for _, item in taken) == list(range(40))
    assert len({number for number, _ in taken}) == 4


def test_at_most_takes_only_so_many_and_remap_changes_what_waits():
    seen: list[str] = []

    async def process(item: str) -> None:
        seen.append(item)

    lane = Lane(["a", "b", "c"])
    assert asyncio.run(work_through(lane, _yes, process, at_most=1)) == 1
    lane.remap(str.upper)
    assert len(lane) == 2 and asyncio.run(work_through(lane, _yes, process)) == 2
    assert seen == ["a", "B", "C"]
