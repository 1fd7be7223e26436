"""Running the bot as a service until a signal stops it.

What a process does is ``settings.role`` (PINTU_ROLE): ``all`` (the default) receives updates and
dispatches the outbox; ``bot`` only receives updates (scale these out: any number, polling or webhook);
``dispatcher`` only dispatches the outbox (its lease lets several run, one is enough). The dispatching
roles also forward completed records to the central registry when PINTU_REGISTRY_URL is set
(scheduling/registry_jobs.py); a ``bot`` process never does. Updates arrive by
long polling (the default) or by webhook (``settings.mode``). With PINTU_METRICS_LISTEN set, /healthz and
/metrics are served on that port.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.media_store import ensure_shared_media
from bot.ops import OpsServer
from bot.transports import make_transport
from bot.wiring import Pintu
from scheduling.daily_jobs import start_schedule_jobs
from scheduling.registry_jobs import start_registry_jobs, stop_registry_jobs
from scheduling.retention import start_personal_data_job, start_retention_job
from scheduling.scheduler import start_scheduler

log = logging.getLogger(__name__)


async def serve(pintu: Pintu, stop: asyncio.Event | None = None) -> None:
    """Start the transport and/or the dispatcher; stop cleanly on SIGINT/SIGTERM or when ``stop`` is set."""
    stop = stop or _stop_on_signals()
    settings = pintu.settings
    # Before anything else: a bot writing photos where the dispatcher cannot read them loses them.
    ensure_shared_media(pintu.engine, settings.media_dir, pintu.clock.now())
    receive = settings.role in ("all", "bot")
    dispatching = settings.role in ("all", "dispatcher")
    ops = OpsServer(pintu, settings.metrics_listen, dispatching) if settings.metrics_listen else None
    transport = make_transport(pintu)
    scheduler = None
    registry_worker = None
    try:
        if ops is not None:
            await ops.start()  # first: a container is "starting", not "unhealthy", while we connect
        await transport.start(receive=receive)
        if dispatching:
            scheduler = start_scheduler(pintu, transport.api)
            start_schedule_jobs(scheduler, pintu)  # enumerators' morning lists, RT heads' evening lists
            registry_worker = start_registry_jobs(scheduler, pintu)  # None without PINTU_REGISTRY_URL
            start_retention_job(scheduler, pintu, settings.outbox_keep)  # settled outbox rows, nightly
            start_personal_data_job(scheduler, pintu)  # drafts and delivered records past their keep, nightly
            if ops is not None:
                ops.scheduler = scheduler
        log.info("Pintu is running (%s transport, role %s, %s)", settings.framework, settings.role,
                 settings.mode if receive else "no updates")
        await stop.wait()
    finally:
        if scheduler is not None:
            await stop_registry_jobs(scheduler, registry_worker)
            await scheduler.stop()
        await transport.stop()
        if ops is not None:
            await ops.stop()
        pintu.engine.dispose()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not available on Windows
            loop.add_signal_handler(sig, stop.set)
    return stop
