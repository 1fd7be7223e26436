"""A table used as a work queue whose rows are claimed with a lease and settled exactly once.

A row is ``pending`` until it is settled into another status. A claim takes due pending rows whose
lease is free, writes a new lease (``claimed_until``) and counts an attempt. The lease value written
by a claim is also the claim's token: an outcome written with ``lease=`` only lands while that token
is still the row's, so a worker that stalled past its lease, whose row another worker has claimed
since, can no longer overwrite the other's outcome. A worker that dies leaves its rows claimed; once
the lease ends they are claimable again. Rows claimed but not attempted go back at once (``release``),
with their attempt given back.

Concurrency. PostgreSQL: the claim's ``SELECT ... FOR UPDATE SKIP LOCKED`` lets concurrent workers take
disjoint rows without waiting on each other; the lock is re-checked against the committed row, so a
row another worker claimed meanwhile is not claimed twice. SQLite: the engine opens every transaction
with BEGIN IMMEDIATE (storage/db.py), so the select and the update run under the write lock and
FOR UPDATE is simply not rendered.

The queue knows a row class only by its column names: ``id``, ``status``, ``attempts``,
``last_error``, ``claimed_until`` and the due column given to it. storage/queues.py has its two uses.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

Row = TypeVar("Row")

PENDING = "pending"
MAX_ERROR_LENGTH = 1000

# A partition filter: from the value a caller passes to ``claim_due`` (a bot key, a target name) to
# the condition that selects that partition's rows.
Partition = Callable[[Any], ColumnElement[bool]]


class LeasedQueue(Generic[Row]):
    """The rows of ``row`` (a mapped class) as a leased queue, in ``session``; the caller commits.

    ``due``: the name of the column holding when a pending row is due. ``statuses``: every status a
    row can have, pending first (``counts`` reports each, zero included). ``partitions``: the filters
    ``claim_due`` and ``make_due`` accept by keyword; a filter given as None selects every row.
    """

    def __init__(self, session: Session, row: type[Row], *, due: str, statuses: Sequence[str],
                 partitions: Mapping[str, Partition] | None = None) -> None:
        if not statuses or statuses[0] != PENDING:
            raise ValueError(f"the statuses must begin with {PENDING!r}")
        self.session = session
        self.row = row
        self.statuses = tuple(statuses)
        self.partitions = dict(partitions or {})
        self._id: Any = getattr(row, "id")
        self._status: Any = getattr(row, "status")
        self._attempts: Any = getattr(row, "attempts")
        self._lease: Any = getattr(row, "claimed_until")
        self._due: Any = getattr(row, due)
        self._due_name = due

    # --- claiming --------------------------------------------------------------------------------

    def claim_due(self, now: dt.datetime, limit: int, lease: dt.timedelta, **partition: Any) -> list[Row]:
        """Claim up to ``limit`` due pending rows with a free lease, oldest due first (then by id),
        until ``now + lease``; each claim counts an attempt. The rows come back with the new lease
        and attempt count loaded, as committed values (the session has nothing left to flush)."""
        if lease <= dt.timedelta(0):
            raise ValueError("the lease must be positive")
        rows = self.session.scalars(
            select(self.row)
            .where(self._status == PENDING, self._due <= now, self._lease_free(now), *self._partition(partition))
            .order_by(self._due, self._id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            # A session reused across claims must see the locked, current values, not its cached ones.
            .execution_options(populate_existing=True)
        ).all()
        until = now + lease
        if rows:
            self.session.execute(
                update(self.row)
                .where(self._id.in_([row.id for row in rows]))  # type: ignore[attr-defined]
                .values(claimed_until=until, attempts=self._attempts + 1)
                .execution_options(synchronize_session=False))
            for row in rows:  # already written by the UPDATE: set without making the rows dirty
                set_committed_value(row, "claimed_until", until)
                set_committed_value(row, "attempts", row.attempts + 1)  # type: ignore[attr-defined]
        return list(rows)

    # --- outcomes --------------------------------------------------------------------------------

    def settle(self, row_id: int, lease: dt.datetime | None, **values: Any) -> bool:
        """Write ``values`` (a ``status``, a reason in ``last_error``, ...) to a pending row and free its
        lease; with ``lease``, only while that claim still holds. True if the row changed."""
        return self.settle_many([row_id], lease, **values) == 1

    def settle_many(self, row_ids: Iterable[int], lease: dt.datetime | None, **values: Any) -> int:
        """``settle`` for several rows claimed with one lease, in one statement; how many changed."""
        ids = list(row_ids)
        if not ids:
            return 0
        if "last_error" in values and values["last_error"] is not None:
            values["last_error"] = clip(values["last_error"])
        query = update(self.row).where(self._id.in_(ids), self._status == PENDING)
        if lease is not None:
            query = query.where(self._lease == lease)
        values["claimed_until"] = None
        return self.session.execute(query.values(**values).execution_options(synchronize_session=False)).rowcount

    def retry(self, row_id: int, next_at: dt.datetime, error: str, *, lease: dt.datetime | None = None,
              count_attempt: bool = True) -> bool:
        """Leave the row pending, due again at ``next_at``, the error kept as its reason.

        ``count_attempt=False`` gives back the attempt its claim counted: for a refusal about the
        caller's pace (a rate limit), not about this row, which must not bring it closer to being given up.
        """
        values: dict[str, Any] = {self._due_name: next_at, "last_error": error}
        if not count_attempt:
            values["attempts"] = self._attempts - 1
        return self.settle(row_id, lease, **values)

    def release(self, row_ids: Iterable[int], lease: dt.datetime) -> int:
        """Hand rows claimed with ``lease`` but not attempted back at once, returning their attempt."""
        ids = list(row_ids)
        if not ids:
            return 0
        result = self.session.execute(
            update(self.row)
            .where(self._id.in_(ids), self._status == PENDING, self._lease == lease)
            .values(claimed_until=None, attempts=self._attempts - 1)
            .execution_options(synchronize_session=False))
        return result.rowcount

    def release_claims(self, claims: Iterable[tuple[int, dt.datetime]]) -> int:
        """``release`` for (id, lease) pairs of any number of claims."""
        return sum(self.release(ids, lease) for lease, ids in by_lease(claims).items())

    def make_due(self, now: dt.datetime, **partition: Any) -> int:
        """Make pending, unclaimed rows waiting for a later time due at ``now`` (their backoff cut short)."""
        result = self.session.execute(
            update(self.row)
            .where(self._status == PENDING, self._due > now, self._lease.is_(None), *self._partition(partition))
            .values({self._due_name: now})
            .execution_options(synchronize_session=False))
        return result.rowcount

    def requeue(self, status: str, now: dt.datetime, *where: ColumnElement[bool]) -> int:
        """Put settled rows of ``status`` (and ``where``) back in the queue, due at ``now``."""
        result = self.session.execute(
            update(self.row).where(self._status == status, *where)
            .values({"status": PENDING, self._due_name: now, "claimed_until": None})
            .execution_options(synchronize_session=False))
        return result.rowcount

    # --- reading ---------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per status, every known status present (for health checks and the CLI)."""
        rows = self.session.execute(select(self._status, func.count()).group_by(self._status))
        found = {status: count for status, count in rows}
        return {status: found.get(status, 0) for status in self.statuses} | found

    # --- helpers ---------------------------------------------------------------------------------

    def _lease_free(self, now: dt.datetime) -> ColumnElement[bool]:
        """Never claimed, given back, or a lease that ended (its worker died or stalled)."""
        return or_(self._lease.is_(None), self._lease <= now)

    def _partition(self, given: Mapping[str, Any]) -> list[ColumnElement[bool]]:
        unknown = set(given) - set(self.partitions)
        if unknown:
            raise TypeError(f"unknown partition filter(s): {', '.join(sorted(unknown))}")
        return [self.partitions[name](value) for name, value in given.items() if value is not None]


def by_lease(claims: Iterable[tuple[int, dt.datetime]]) -> dict[dt.datetime, list[int]]:
    """Ids grouped by the lease (claim) they were taken with, in the order given."""
    grouped: dict[dt.datetime, list[int]] = {}
    for row_id, lease in claims:
        grouped.setdefault(lease, []).append(row_id)
    return grouped


def clip(error: str) -> str:
    """A reason short enough to keep on the row."""
    return error if len(error) <= MAX_ERROR_LENGTH else error[: MAX_ERROR_LENGTH - 1] + "…"
