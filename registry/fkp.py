"""Forwarding the public consultation's decisions to the central registry (domain/fkp_registry.py queues them).

Each decision is a document of its own (``pintu.fkp-decision/1``, ``POST {url}/v1/fkp-decisions``,
``Idempotency-Key: fkp-<decision_id>``), sent from the same registry job as the records and erasures
(scheduling/registry_jobs.py) and settled the same way: claimed with a lease, retried with backoff on a
5xx or a network failure, parked on a refusal. The registry stores each decision id once, so a resend
(the answer to the first was lost) is answered 200 and stored nothing new.

OpenRosa servers (ODK Central, Kobo) have no such endpoint: the rows are parked with that reason.
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
from registry.client import Outcome, RegistryTarget, classify, header_auth, transport_failure

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=5)
BATCH = 50
PATH = "/v1/fkp-decisions"


def idempotency_key(decision_id: str) -> str:
    return f"fkp-{decision_id}"


async def send_fkp_decision(client: httpx.AsyncClient, target: RegistryTarget, decision_id: str,
                            document: dict[str, Any]) -> Outcome:
    if target.format != "json":
        return Outcome("park", "the OpenRosa format has no FKP decision endpoint: report by hand")
    headers = {"Idempotency-Key": idempotency_key(decision_id), "Content-Type": "application/json"}
    body = json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode("utf-8")
    try:
        response = await client.post(target.url.rstrip("/") + PATH, headers=headers, content=body,
                                     auth=header_auth(target) or httpx.USE_CLIENT_DEFAULT)
    except httpx.HTTPError as error:
        return transport_failure(error)
    return classify(response, "json")


async def forward_fkp_decisions(uow_factory: Callable[[], Any], clock: Clock, target: RegistryTarget,
                                client: httpx.AsyncClient, batch: int = BATCH) -> int:
    """One run: claim due decisions, send them one by one, settle; returns how many were delivered."""
    with uow_factory() as uow:
        rows = [(r.id, r.decision_key, r.document, r.attempts, r.claimed_until)
                for r in uow.fkp_deliveries.claim_due(clock.now(), batch, LEASE)]
        uow.commit()
    if not rows:
        return 0
    outcomes = {row[0]: await send_fkp_decision(client, target, row[1], row[2]) for row in rows}
    delivered = 0
    now = clock.now()
    with uow_factory() as uow:
        for delivery_id, key, _document, attempts, lease in rows:
            outcome = outcomes[delivery_id]
            if outcome.kind == "delivered":
                delivered += uow.fkp_deliveries.mark_delivered(delivery_id, now, lease=lease)
            elif outcome.kind == "park":
                uow.fkp_deliveries.mark_parked(delivery_id, outcome.reason, lease=lease)
                log.warning("FKP decision %s parked (%s)", key, outcome.reason)
            else:
                delay = max(outcome.retry_after or 0.0, random.uniform(0.5, 1.5) * min(600.0, 2.0 ** attempts))
                uow.fkp_deliveries.mark_retry(delivery_id, now + dt.timedelta(seconds=delay), outcome.reason,
                                              lease=lease)
        uow.commit()
    if delivered:
        log.info("registry: %d FKP decisions forwarded", delivered)
    return delivered
