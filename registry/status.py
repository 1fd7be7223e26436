"""`pintu registry status`, what the chat flows show of a family's delivery, and the standalone
worker's signal handling."""
from __future__ import annotations

import asyncio
import datetime as dt
import signal
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from domain.model import Record, RecordDelivery
from domain.ports import UnitOfWork
from storage.uow import SqlUnitOfWork


@dataclass(frozen=True)
class FamilyDelivery:
    """Where the newest completed version of a family's record stands with the central registry."""

    record_id: str
    version: int
    status: str  # delivered | pending | parked
    delivered_at: dt.datetime | None  # when its last target confirmed (UTC); None unless delivered


def delivery_status_for_families(uow: SqlUnitOfWork, family_ids: Iterable[int]) -> dict[int, FamilyDelivery]:
    """For each family with a completed record: its newest version and that version's delivery.

    ``delivered`` once every target confirmed it, ``parked`` when a target refused it for good (an
    operator must act), ``pending`` otherwise (queued, in flight or waiting to retry). Families
    without a completed record are absent. Two queries whatever the number of families.
    """
    ids = list(set(family_ids))
    if not ids:
        return {}
    newest: dict[int, tuple[str, int]] = {}
    for record_id, family_id, version in uow.session.execute(
            select(Record.id, Record.family_id, Record.version)
            .where(Record.family_id.in_(ids), Record.status == "completed")):
        if family_id not in newest or version > newest[family_id][1]:
            newest[family_id] = (record_id, version)
    if not newest:
        return {}
    rows: dict[str, list[tuple[str, dt.datetime | None]]] = {}
    for record_id, status, delivered_at in uow.session.execute(
            select(RecordDelivery.record_id, RecordDelivery.status, RecordDelivery.delivered_at)
            .where(RecordDelivery.record_id.in_([rid for rid, _ in newest.values()]))):
        rows.setdefault(record_id, []).append((status, delivered_at))
    found = {}
    for family_id, (record_id, version) in newest.items():
        deliveries = rows.get(record_id, [])
        statuses = {status for status, _ in deliveries}
        if "parked" in statuses:
            status = "parked"
        elif statuses == {"delivered"}:
            status = "delivered"
        else:
            status = "pending"  # queued or retrying (a record never queued shows as pending too)
        at = max((when for _, when in deliveries if when is not None), default=None) if status == "delivered" else None
        found[family_id] = FamilyDelivery(record_id, version, status, at)
    return found


@dataclass(frozen=True)
class DeliveryStatus:
    pending: int
    delivered: int
    parked: int
    oldest_pending_age: dt.timedelta | None
    parked_rows: list[tuple[str, str, int]]  # record id, reason, attempts
    refused: str | None = None  # "setting: HTTP 401 …" while the registry refuses Pintu's credentials/URL
    refused_count: int = 0  # pending records whose last attempt got that answer


def delivery_status(uow: UnitOfWork, now: dt.datetime) -> DeliveryStatus:
    counts = uow.deliveries.counts()
    oldest = uow.deliveries.oldest_pending_since()
    refused, refused_count = refused_setting(uow)
    return DeliveryStatus(
        pending=counts["pending"], delivered=counts["delivered"], parked=counts["parked"],
        oldest_pending_age=(now - oldest) if oldest else None,
        parked_rows=[(row.record_id, row.last_error or "", row.attempts) for row in uow.deliveries.parked()],
        refused=refused, refused_count=refused_count,
    )


def refused_setting(uow: Any) -> tuple[str | None, int]:
    """(the registry's refusal of Pintu's credentials or URL, how many pending records got it) — the
    worker stores it as the rows' reason, so any process (health, the CLI) can tell an operator."""
    from registry.client import SETTING_PREFIX

    refused = (RecordDelivery.status == "pending") & RecordDelivery.last_error.startswith(SETTING_PREFIX)
    count, reason = uow.session.execute(select(func.count(), func.max(RecordDelivery.last_error)).where(refused)).one()
    return (reason.removeprefix(SETTING_PREFIX) if reason else None), int(count)


def format_status(status: DeliveryStatus) -> str:
    age = "-" if status.oldest_pending_age is None else _age(status.oldest_pending_age)
    lines = [f"pending    {status.pending}", f"delivered  {status.delivered}",
             f"parked     {status.parked}", f"oldest pending age  {age}"]
    if status.refused:
        lines.append(f"SETTING TO FIX: the registry refuses Pintu ({status.refused}) for {status.refused_count} "
                     "record(s): check PINTU_REGISTRY_AUTH, its credentials and PINTU_REGISTRY_URL")
    for record_id, reason, attempts in status.parked_rows:
        lines.append(f"  parked {record_id}  after {attempts} attempt(s): {reason}")
    if status.parked > len(status.parked_rows):
        lines.append(f"  … and {status.parked - len(status.parked_rows)} more")
    return "\n".join(lines)


def _age(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


async def run_until_signal(worker: Any) -> Any:
    """Run the worker until SIGTERM or SIGINT; the batch in flight is settled before returning."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        return await worker.run_forever(stop)
    finally:
        await worker.aclose()
