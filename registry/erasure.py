"""Forwarding erasure requests to the central registry (domain/privacy.py queues them).

A resident who withdraws consent after their record reached the registry cannot have Pintu delete the
registry's copy; Pintu forwards the request instead, as a document of its own (``pintu.erasure/1``,
``POST {url}/v1/erasures``) through the same delivery queue as the records (``record_deliveries`` rows
of target ``registry-erasure``, claimed with a lease, retried with backoff, parked on a refusal). Once
every record of a request is forwarded, the request is done and the resident is told.

OpenRosa servers (ODK Central, Kobo) have no such endpoint: their erasures are parked with that reason,
for the operator to carry out by hand (``pintu registry status`` lists them, ``pintu requests`` too).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import httpx

from domain.clock import Clock
from domain.privacy import ERASURE, ERASURE_TARGET, OPEN, close_request
from registry.client import Outcome, RegistryTarget, classify, transport_failure

log = logging.getLogger(__name__)

SCHEMA_NAME = "pintu.erasure/1"
LEASE = dt.timedelta(minutes=5)
BATCH = 50


def erasure_document(record_id: str, requested_at: dt.datetime) -> bytes:
    document = {"schema": SCHEMA_NAME, "record_id": record_id,
                "requested_at": requested_at.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")}
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


async def send_erasure(client: httpx.AsyncClient, target: RegistryTarget, record_id: str, body: bytes) -> Outcome:
    if target.format != "json":
        return Outcome("park", "the OpenRosa format has no erasure endpoint: erase by hand")
    headers = {"Idempotency-Key": f"erasure-{record_id}", "Authorization": f"Bearer {target.token}",
               "Content-Type": "application/json"}
    try:
        response = await client.post(target.url.rstrip("/") + "/v1/erasures", headers=headers, content=body)
    except httpx.HTTPError as error:
        return transport_failure(error)
    if response.status_code == 404:  # nothing of it there: nothing left to erase
        return Outcome("delivered", "404 not held")
    return classify(response, "json")


async def forward_erasures(uow_factory: Callable[[], Any], clock: Clock, target: RegistryTarget,
                           client: httpx.AsyncClient, batch: int = BATCH) -> int:
    """One run: claim due erasure rows, send them one by one, settle; returns how many were forwarded."""
    with uow_factory() as uow:
        rows = [(r.id, r.record_id, r.attempts, r.claimed_until, r.created_at)
                for r in uow.deliveries.claim_due(ERASURE_TARGET, clock.now(), batch, LEASE)]
        uow.commit()
    if not rows:
        return 0
    outcomes = {row[0]: await send_erasure(client, target, row[1], erasure_document(row[1], row[4])) for row in rows}
    forwarded = 0
    now = clock.now()
    with uow_factory() as uow:
        for delivery_id, record_id, attempts, lease, _ in rows:
            outcome = outcomes[delivery_id]
            if outcome.kind == "delivered":
                forwarded += uow.deliveries.mark_delivered(delivery_id, now, lease=lease)
            elif outcome.kind == "park":
                uow.deliveries.mark_parked(delivery_id, outcome.reason, lease=lease)
                log.warning("erasure of record %s parked (%s)", record_id, outcome.reason)
            else:
                delay = max(outcome.retry_after or 0.0, random.uniform(0.5, 1.5) * min(600.0, 2.0 ** attempts))
                uow.deliveries.mark_retry(delivery_id, now + dt.timedelta(seconds=delay), outcome.reason, lease=lease)
        close_forwarded(uow, now)
        uow.commit()
    if forwarded:
        log.info("registry: %d erasure requests forwarded", forwarded)
    return forwarded


def close_forwarded(uow: Any, now: dt.datetime) -> int:
    """Close the open erasure requests whose every record's erasure the registry has acknowledged."""
    closed = 0
    for request in uow.privacy.open_requests():
        records = request.detail.get("records") if request.kind == ERASURE and request.status == OPEN else None
        if not records:
            continue
        rows = [d for record_id in records for d in uow.deliveries.for_record(record_id) if d.target == ERASURE_TARGET]
        if len(rows) == len(records) and all(d.status == "delivered" for d in rows):
            closed += close_request(uow, request, now)
    return closed
