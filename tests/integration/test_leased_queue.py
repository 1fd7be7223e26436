"""The leased queue (storage/leased_queue.py), on SQLite and PostgreSQL, through both of its uses: the
Telegram outbox (storage/queues.py:OutboxRepository) and the registry deliveries (DeliveryRepository).

Every test runs four times: each backend (the ``engine`` fixture) times each use (``use``).
"""
from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from registry_support import make_completed
from scheduling.leased_worker import JITTER, LeasePolicy, backoff_bounds
from storage.db import make_engine, make_session_factory
from storage.leased_queue import MAX_ERROR_LENGTH, LeasedQueue
from domain.model import OutboxMessage, RecordDelivery
from storage.uow import SqlUnitOfWork

NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
LEASE = dt.timedelta(minutes=1)
TARGET = "registry"  # the target complete_record queues records for


@dataclass(frozen=True)
class Use:
    """One use of the queue, seen the same way by every test."""

    name: str
    row: type
    due: str  # the due column
    done: str  # the status of a successful outcome
    statuses: tuple[str, ...]
    fill: Callable[[Callable[[], Any], int], list[int]]  # n due rows; their ids in claim order
    repository: Callable[[Any], Any]  # the unit of work's repository
    claim: Callable[[Any, dt.datetime, int, dt.timedelta], list[Any]]
    succeed: Callable[[Any, int, dt.datetime, dt.datetime | None], bool]
    retry: Callable[..., bool]

    def queue(self, uow: Any) -> LeasedQueue[Any]:
        return self.repository(uow).queue


def _fill_outbox(uow_factory: Callable[[], Any], count: int) -> list[int]:
    with uow_factory() as uow:
        for i in range(count):  # due a second apart, oldest first
            uow.outbox.add(6000 + i, "test", {"n": i}, NOW - dt.timedelta(seconds=count - i), NOW)
        uow.commit()
        return list(uow.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.due_at, OutboxMessage.id)))


def _fill_deliveries(uow_factory: Callable[[], Any], count: int) -> list[int]:
    make_completed(uow_factory, NOW, count)
    with uow_factory() as uow:
        return list(uow.session.scalars(
            select(RecordDelivery.id).where(RecordDelivery.target == TARGET)
            .order_by(RecordDelivery.next_attempt_at, RecordDelivery.id)))


OUTBOX = Use(
    "outbox", OutboxMessage, "due_at", "sent", ("pending", "sent", "failed", "undeliverable", "skipped"),
    _fill_outbox, lambda uow: uow.outbox,
    lambda uow, now, limit, lease: uow.outbox.claim_due(now, limit, lease),
    lambda uow, row_id, when, lease: uow.outbox.mark_sent(row_id, when, lease=lease),
    lambda uow, row_id, at, error, **kw: uow.outbox.mark_retry(row_id, at, error, **kw),
)
DELIVERIES = Use(
    "deliveries", RecordDelivery, "next_attempt_at", "delivered", ("pending", "delivered", "parked"),
    _fill_deliveries, lambda uow: uow.deliveries,
    lambda uow, now, limit, lease: uow.deliveries.claim_due(TARGET, now, limit, lease),
    lambda uow, row_id, when, lease: uow.deliveries.mark_delivered(row_id, when, lease=lease),
    lambda uow, row_id, at, error, **kw: uow.deliveries.mark_retry(row_id, at, error, **kw),
)


@pytest.fixture(params=[OUTBOX, DELIVERIES], ids=lambda use: use.name)
def use(request: pytest.FixtureRequest) -> Use:
    return request.param


@pytest.fixture
def second_factory(engine: Engine) -> Iterator[Callable[[], SqlUnitOfWork]]:
    """Units of work on an engine of their own (its own pool): a second worker process."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    yield units_on(other)
    other.dispose()


def units_on(engine: Engine) -> Callable[[], SqlUnitOfWork]:
    factory = make_session_factory(engine)
    return lambda: SqlUnitOfWork(factory)


def claim(uow_factory: Callable[[], Any], use: Use, now: dt.datetime, limit: int = 100,
          lease: dt.timedelta = LEASE) -> list[tuple[int, dt.datetime, int]]:
    """Claim and commit; (id, lease token, attempts) of each row claimed."""
    with uow_factory() as uow:
        rows = use.claim(uow, now, limit, lease)
        claimed = [(row.id, row.claimed_until, row.attempts) for row in rows]
        uow.commit()
    return claimed


def row_of(uow_factory: Callable[[], Any], use: Use, row_id: int) -> Any:
    with uow_factory() as uow:
        return uow.session.get(use.row, row_id)


# --- claiming ------------------------------------------------------------------------------------

def test_a_claim_takes_due_rows_oldest_first_and_marks_a_lease(uow_factory, use: Use):
    ids = _fill_and_one_not_due(uow_factory, use)
    claimed = claim(uow_factory, use, NOW, limit=2)
    assert [row_id for row_id, _, _ in claimed] == ids[:2]
    assert all(lease == NOW + LEASE and attempts == 1 for _, lease, attempts in claimed)
    stored = row_of(uow_factory, use, ids[0])
    assert (stored.status, stored.claimed_until, stored.attempts) == ("pending", NOW + LEASE, 1)
    assert [row_id for row_id, _, _ in claim(uow_factory, use, NOW)] == ids[2:3]  # not the leased, not the later one
    with pytest.raises(ValueError):
        with uow_factory() as uow:
            use.claim(uow, NOW, 1, dt.timedelta(0))


def _fill_and_one_not_due(uow_factory: Callable[[], Any], use: Use) -> list[int]:
    """Four rows, the last due only in an hour."""
    ids = use.fill(uow_factory, 4)
    with uow_factory() as uow:
        row = uow.session.get(use.row, ids[-1])
        setattr(row, use.due, NOW + dt.timedelta(hours=1))
        uow.commit()
    return ids


def test_a_second_claimer_does_not_get_claimed_rows(uow_factory, second_factory, use: Use):
    ids = use.fill(uow_factory, 5)
    first = claim(uow_factory, use, NOW, limit=3)
    second = claim(second_factory, use, NOW, limit=10)
    assert [i for i, _, _ in first] == ids[:3] and [i for i, _, _ in second] == ids[3:]
    assert claim(second_factory, use, NOW) == []


@pytest.mark.postgres
def test_on_postgresql_a_second_claimer_skips_locked_rows_without_waiting(pg_engine, use: Use):
    """While the first claim's transaction is still open (its rows locked, its lease not yet
    committed), a second claimer takes the other rows at once: SKIP LOCKED, no wait, no double claim."""
    engines = [make_engine(pg_engine.url.render_as_string(hide_password=False)) for _ in range(2)]
    try:
        first_factory, second_factory = (units_on(engine) for engine in engines)
        ids = use.fill(first_factory, 5)
        with first_factory() as first:
            held = [row.id for row in use.claim(first, NOW, 3, LEASE)]  # locked, not committed
            done = threading.Event()
            second: list[int] = []

            def other() -> None:
                with second_factory() as uow:
                    uow.session.execute(text("SET LOCAL lock_timeout = '5s'"))  # a wait would fail, not hang
                    second.extend(row.id for row in use.claim(uow, NOW, 10, LEASE))
                    uow.commit()
                done.set()

            thread = threading.Thread(target=other)
            thread.start()
            assert done.wait(10), "the second claimer waited for the first one's locks"
            thread.join()
            first.commit()
        assert held == ids[:3] and second == ids[3:]
    finally:
        for engine in engines:
            engine.dispose()


def test_concurrent_claimers_take_disjoint_rows(uow_factory, engine: Engine, use: Use):
    """Eight workers (eight engines: eight processes), released at once, claiming three rows each."""
    ids = use.fill(uow_factory, 20)
    url = engine.url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(8)]
    barrier = threading.Barrier(len(engines))
    results: list[list[int]] = [[] for _ in engines]

    def worker(index: int) -> None:
        factory = units_on(engines[index])
        barrier.wait()
        results[index] = [i for i, _, _ in claim(factory, use, NOW, limit=3)]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(engines))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for other in engines:
            other.dispose()
    taken = [row_id for result in results for row_id in result]
    assert len(taken) == len(set(taken)) == 20 and set(taken) == set(ids)  # 8 × 3 asked for, 20 there
    assert all(len(result) <= 3 for result in results)


def test_an_expired_lease_is_claimable_again(uow_factory, second_factory, use: Use):
    (row_id,) = use.fill(uow_factory, 1)
    ((_, first_lease, _),) = claim(uow_factory, use, NOW)
    assert claim(second_factory, use, NOW + LEASE - dt.timedelta(seconds=1)) == []  # still held
    ((again, second_lease, attempts),) = claim(second_factory, use, NOW + LEASE)  # the first worker died
    assert (again, attempts) == (row_id, 2) and second_lease == NOW + 2 * LEASE != first_lease


# --- outcomes --------------------------------------------------------------------------------------

def test_an_outcome_with_a_stale_lease_token_is_refused(uow_factory, second_factory, use: Use):
    (row_id,) = use.fill(uow_factory, 1)
    ((_, stale, _),) = claim(uow_factory, use, NOW)  # the first worker stalls past its lease ...
    ((_, current, _),) = claim(second_factory, use, NOW + LEASE)  # ... and another claims the row
    with uow_factory() as uow:
        assert not use.succeed(uow, row_id, NOW, stale)
        assert not use.retry(uow, row_id, NOW + dt.timedelta(hours=1), "stale", lease=stale)
        assert use.repository(uow).release([row_id], stale) == 0
        assert not use.queue(uow).settle(row_id, stale, status=use.statuses[-1], last_error="stale")
        uow.commit()
    stored = row_of(uow_factory, use, row_id)
    assert (stored.status, stored.claimed_until, stored.attempts, stored.last_error) == ("pending", current, 2, None)
    with second_factory() as uow:
        assert use.succeed(uow, row_id, NOW + LEASE, current)
        uow.commit()
    stored = row_of(uow_factory, use, row_id)
    assert (stored.status, stored.claimed_until) == (use.done, None)
    with second_factory() as uow:  # settled once: not again, not even with the right token
        assert not use.succeed(uow, row_id, NOW + LEASE, current)
    assert claim(second_factory, use, NOW + 10 * LEASE) == []


def test_a_settled_reason_is_kept_clipped(uow_factory, use: Use):
    (row_id,) = use.fill(uow_factory, 1)
    ((_, lease, _),) = claim(uow_factory, use, NOW)
    with uow_factory() as uow:
        assert use.queue(uow).settle(row_id, lease, status=use.statuses[-1], last_error="x" * 5000)
        uow.commit()
    stored = row_of(uow_factory, use, row_id)
    assert stored.status == use.statuses[-1] and len(stored.last_error) == MAX_ERROR_LENGTH
    assert stored.last_error.endswith("…")


def test_release_hands_unattempted_rows_back_with_their_attempt(uow_factory, second_factory, use: Use):
    ids = use.fill(uow_factory, 3)
    claimed = claim(uow_factory, use, NOW)
    with uow_factory() as uow:
        assert use.repository(uow).release_claims((row_id, lease) for row_id, lease, _ in claimed[:2]) == 2
        uow.commit()
    assert [(row_of(uow_factory, use, i).claimed_until, row_of(uow_factory, use, i).attempts) for i in ids] == [
        (None, 0), (None, 0), (NOW + LEASE, 1)]
    again = claim(second_factory, use, NOW)  # at once, not after the lease
    assert [(row_id, attempts) for row_id, _, attempts in again] == [(ids[0], 1), (ids[1], 1)]
    with uow_factory() as uow:
        assert use.repository(uow).release([], NOW) == 0


def test_retry_with_backoff_sets_the_next_due_time_within_the_bounds(uow_factory, use: Use):
    """Claim, fail, retry with the shared backoff: due again within [base·2ⁿ⁻¹·(1 - jitter), cap]."""
    policy = _Policy(lease=LEASE, lease_margin=dt.timedelta(seconds=5), backoff_base=4.0, backoff_cap=50.0)
    (row_id,) = use.fill(uow_factory, 1)
    rng = random.Random(7)
    now = NOW
    for attempt in range(1, 7):
        ((_, lease, attempts),) = claim(uow_factory, use, now)
        assert attempts == attempt
        delay = policy.backoff_at(attempts, rng.random())
        with uow_factory() as uow:
            assert use.retry(uow, row_id, now + dt.timedelta(seconds=delay), f"boom {attempt}", lease=lease)
            uow.commit()
        stored = row_of(uow_factory, use, row_id)
        low = min(50.0, 4.0 * 2 ** (attempts - 1)) * (1 - JITTER)
        high = min(50.0, 4.0 * 2 ** (attempts - 1))
        wait = (getattr(stored, use.due) - now).total_seconds()
        assert low <= wait <= high <= 50.0 and (low, high) == backoff_bounds(attempts, 4.0, 50.0)
        assert (stored.status, stored.claimed_until, stored.attempts, stored.last_error) == (
            "pending", None, attempt, f"boom {attempt}")
        assert claim(uow_factory, use, now + dt.timedelta(seconds=delay) - dt.timedelta(milliseconds=1)) == []
        now += dt.timedelta(seconds=delay)


def test_a_retry_may_give_its_attempt_back(uow_factory, use: Use):
    (row_id,) = use.fill(uow_factory, 1)
    ((_, lease, _),) = claim(uow_factory, use, NOW)
    with uow_factory() as uow:
        assert use.queue(uow).retry(row_id, NOW + dt.timedelta(seconds=3), "slow down", lease=lease,
                                    count_attempt=False)
        uow.commit()
    stored = row_of(uow_factory, use, row_id)
    assert (stored.attempts, getattr(stored, use.due), stored.last_error) == (0, NOW + dt.timedelta(seconds=3),
                                                                               "slow down")


def test_make_due_cuts_waiting_backoffs_short(uow_factory, use: Use):
    ids = use.fill(uow_factory, 3)
    claimed = claim(uow_factory, use, NOW)
    with uow_factory() as uow:
        for row_id, lease, _ in claimed[:2]:
            assert use.retry(uow, row_id, NOW + dt.timedelta(hours=1), "away", lease=lease)
        uow.commit()
    with uow_factory() as uow:
        assert use.queue(uow).make_due(NOW) == 2  # the third is still leased: left alone
        uow.commit()
    assert [getattr(row_of(uow_factory, use, i), use.due) for i in ids[:2]] == [NOW, NOW]


# --- counts --------------------------------------------------------------------------------------

def test_counts_report_every_status(uow_factory, use: Use):
    with uow_factory() as uow:
        assert use.repository(uow).counts() == dict.fromkeys(use.statuses, 0)
    ids = use.fill(uow_factory, 4)
    claimed = claim(uow_factory, use, NOW, limit=3)
    with uow_factory() as uow:
        assert use.succeed(uow, claimed[0][0], NOW, claimed[0][1])
        assert use.queue(uow).settle(claimed[1][0], claimed[1][1], status=use.statuses[-1], last_error="why")
        uow.commit()
    with uow_factory() as uow:
        expected = dict.fromkeys(use.statuses, 0) | {"pending": 2, use.done: 1, use.statuses[-1]: 1}
        assert use.repository(uow).counts() == expected
    assert len(ids) == 4


# --- partitions ------------------------------------------------------------------------------------

def test_a_claim_takes_only_its_partition(uow_factory, use: Use):
    ids = use.fill(uow_factory, 2)
    with uow_factory() as uow:
        queue = use.queue(uow)
        name = next(iter(queue.partitions))
        assert queue.claim_due(NOW, 10, LEASE, **{name: "nobody-has-this"}) == []
        with pytest.raises(TypeError):
            queue.claim_due(NOW, 10, LEASE, colour="blue")
        assert [row.id for row in queue.claim_due(NOW, 10, LEASE, **{name: None})] == ids  # None: every row


class _Policy(LeasePolicy):
    def __init__(self, **fields: Any) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        self.check_lease()
