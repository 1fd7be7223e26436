"""The registry worker as an APScheduler interval job inside the bot process.

    worker = start_registry_jobs(scheduler, pintu)        # after scheduler.start() or before, either works
    ...
    await stop_registry_jobs(scheduler, worker)           # on shutdown

As with the outbox, APScheduler is only the clock: the queue is ``record_deliveries``. One run drains
what is due (bounded in time) and returns; ``max_instances=1`` keeps runs of one process apart, the
leases keep processes apart.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from registry.erasure import forward_erasures
from registry.fkp import forward_fkp_decisions
from registry.worker import ForwardPolicy, RegistryWorker, worker_from_settings

log = logging.getLogger(__name__)

JOB_ID = "registry-forward"


def start_registry_jobs(scheduler: Any, pintu: Any, *, policy: ForwardPolicy | None = None,
                        worker: RegistryWorker | None = None, interval: float | None = None) -> RegistryWorker | None:
    """Add the forwarding job to ``scheduler`` (an AsyncIOScheduler); None if no registry is configured."""
    settings = pintu.settings
    if worker is None:
        if not settings.registry_url:
            log.info("PINTU_REGISTRY_URL not set: completed records stay queued, not forwarded")
            return None
        worker = worker_from_settings(settings, pintu.uow, pintu.clock, policy)
    metrics = getattr(pintu, "metrics", None)
    if metrics is not None:
        worker.observe = lambda report: _count(metrics, report)
    every = interval if interval is not None else settings.registry_interval
    if every <= 0:
        raise ValueError("registry_interval must be positive")

    async def forward() -> None:
        worker.running = asyncio.current_task()
        try:
            await worker.drain(max_seconds=max(every * 10, 30.0))
            # Residents' erasure requests for records the registry already has (registry/erasure.py).
            await forward_erasures(worker.uow_factory, worker.clock, worker.target, worker.client)
            # The public consultation's decisions, one document each (registry/fkp.py).
            await forward_fkp_decisions(worker.uow_factory, worker.clock, worker.target, worker.client)
        except Exception:
            log.exception("registry forwarding run failed")
        finally:
            worker.running = None

    scheduler.add_job(forward, "interval", seconds=every, id=JOB_ID, name="registry forwarder",
                      max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True)
    return worker


def _count(metrics: Any, report: Any) -> None:
    """pintu_registry_deliveries_total{outcome}: what each settled batch came to (from the worker's thread)."""
    for outcome in ("delivered", "retried", "parked"):
        if getattr(report, outcome):
            metrics.registry_deliveries.labels(outcome).inc(getattr(report, outcome))


async def stop_registry_jobs(scheduler: Any, worker: RegistryWorker | None, timeout: float | None = None) -> None:
    """Remove the job, cancel a run in flight and wait until it has recorded what it sent and handed
    back the rest (its settle is shielded), then close the worker's HTTP clients."""
    try:
        scheduler.remove_job(JOB_ID)
    except Exception:
        pass
    if worker is None:
        return
    running = worker.running
    if running is not None and not running.done():
        if not running.cancelling():
            running.cancel()
        await asyncio.wait({running}, timeout=timeout if timeout is not None else worker.target.timeout + 5.0)
    await worker.aclose()
