"""The registry worker: drains ``record_deliveries`` (the outbox) to the configured registry.

One run claims due rows with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite's BEGIN
IMMEDIATE), builds their documents in the same short transaction, sends them concurrently with one
httpx client, and settles every outcome in one more transaction, only while its lease still holds.

Exactly once by key: a worker killed after the registry stored a record but before ``delivered`` was
committed leaves the row claimed; once the lease ends another worker sends it again with the same
Idempotency-Key (JSON) or instanceID (OpenRosa), and the registry answers "already have it" (200 /
409): delivered, still one copy in the registry. Leases compare clocks of different processes: keep
hosts NTP-synchronised.

While the registry is unreachable (refused, reset, timed out: no HTTP answer at all) the worker does
not hammer it record by record: the first failure of a run hands the rest of the batch back untouched,
and later runs send one record as a probe, at most once per ``probe_cap`` seconds (exponential with
jitter below that). The first probe that reaches it closes the circuit: rows waiting out their backoff
are made due at once and full batches go again, so a one-hour outage costs neither a storm of failed
attempts nor a further backoff period after recovery.

A registry that answers 401/403 (JSON: 404) refuses our credentials or URL: the same for every
record, so it is handled like an outage (one probe at a time, the rest handed back), except that it is
logged, stored as the rows' reason (``setting: HTTP 401 …``) and reported by /healthz and
``pintu registry status`` as a setting to fix. The first probe after the fix drains everything at once.

Throughput: httpx's pool serialises its bookkeeping across connections (encode/httpx#3215), so the
worker keeps ``concurrency`` clients of one keep-alive connection each and hands each send a free one;
the next batch is claimed and built while the current one is on the wire.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from domain.clock import Clock
from registry.auth import Credentials, make_auth
from registry.client import Outcome, RegistryTarget, make_client, send_json, send_openrosa
from registry.payload import Payload, PayloadBuilder
from scheduling.leased_worker import Lane, LeasePolicy, work_through
from storage.leased_queue import by_lease
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ForwardPolicy(LeasePolicy):
    batch: int = 200  # rows claimed per run
    concurrency: int = 16  # requests in flight at once
    lease: dt.timedelta = dt.timedelta(minutes=5)
    lease_margin: dt.timedelta = dt.timedelta(seconds=30)  # stop starting sends this long before the lease ends
    backoff_base: float = 2.0  # seconds before the first retry; doubles per attempt
    backoff_cap: float = 600.0
    idle: float = 1.0  # seconds between polls when nothing is due (standalone worker)
    probe_cap: float = 30.0  # at most this many seconds between two probes while the registry is unreachable

    def __post_init__(self) -> None:
        self.check_lease()
        if self.batch < 1 or self.concurrency < 1:
            raise ValueError("batch and concurrency must be at least 1")

    def backoff(self, attempts: int, retry_after: float | None = None, rng: Callable[[float, float], float] = random.uniform) -> float:
        """Seconds until the next attempt: exponential in the attempts so far, with jitter
        (scheduling/leased_worker.py); never sooner than the registry's ``retry_after``."""
        jittered = rng(*self.backoff_bounds(attempts))
        return max(jittered, retry_after) if retry_after is not None else jittered


@dataclass(frozen=True)
class Job:
    delivery_id: int
    record_id: str
    attempts: int
    lease: dt.datetime
    payload: Payload | None
    error: str | None = None  # the document could not be built (parks the row)


@dataclass
class ForwardReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    parked: int = 0
    released: int = 0
    lost_lease: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    limit: int = 0  # rows this run asked for (1 while probing an unreachable registry)
    recovered: bool = False  # this run reached a registry that the previous runs could not


class RegistryWorker:
    def __init__(self, uow_factory: Callable[[], SqlUnitOfWork], clock: Clock, target: RegistryTarget, *,
                 media_dir: str | Path = "media", policy: ForwardPolicy | None = None,
                 client: httpx.AsyncClient | None = None, target_name: str = "registry",
                 forms: Any = None) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.target = target
        self.policy = policy or ForwardPolicy()
        self.target_name = target_name
        self.builder = PayloadBuilder(media_dir)
        # One auth for every send: a Central session is opened once and shared by all connections.
        self.auth = make_auth(target.credentials or Credentials(), target.url, clock.now)
        self.refused: str | None = None  # the last run's "setting: …" reason while the registry refuses us
        self._answered = False  # some run of this worker got a real answer (not a refusal) from the registry
        self.forms = forms  # registry.openrosa.FormLibrary, for the OpenRosa format
        if target.format == "openrosa" and forms is None:
            from registry.openrosa import FormLibrary

            self.forms = FormLibrary()
        self._client = client  # injected: shared by every send; else one client per connection (own)
        self._own_client = client is None
        self._clients: list[httpx.AsyncClient] = []
        self._unreachable = False  # the last attempt did not reach the registry
        self._failed_probes = 0
        self._probe_at: dt.datetime | None = None  # while unreachable: no attempt before this (injected clock)
        self.running: asyncio.Task[Any] | None = None  # the scheduler job's run in flight (registry_jobs)
        self.observe: Callable[[ForwardReport], None] | None = None  # told every settled run (metrics)

    @property
    def client(self) -> httpx.AsyncClient:
        """One client (the injected one, or the first of the worker's own)."""
        return self._client if self._client is not None else self._pool()[0]

    def _pool(self) -> list[httpx.AsyncClient]:
        """``concurrency`` clients, one per sender: each of the worker's own keeps one connection alive."""
        if not self._clients:
            if self._client is not None:
                self._clients = [self._client] * self.policy.concurrency
            else:
                self._clients = [make_client(self.target, 1) for _ in range(self.policy.concurrency)]
        return self._clients

    @property
    def unreachable(self) -> bool:
        return self._unreachable

    @property
    def probe_at(self) -> dt.datetime | None:
        """While the registry is unreachable: when the next probe may go (None: now)."""
        return self._probe_at if self._unreachable else None

    async def aclose(self) -> None:
        clients, self._clients = self._clients, []
        if self._own_client:
            for client in clients:
                await client.aclose()
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    # --- one run -------------------------------------------------------------------------------

    async def run_once(self) -> ForwardReport:
        """Claim what is due (one row while probing an unreachable registry), send it, settle it."""
        jobs, limit = await self._claim_next()
        return await self._deliver(jobs, limit)

    async def _claim_next(self) -> tuple[list[Job], int]:
        if self._unreachable and self._probe_at is not None and self.clock.now() < self._probe_at:
            return [], 0  # an outage: wait for the next probe
        limit = 1 if self._unreachable else self.policy.batch
        return await asyncio.to_thread(self._claim, limit), limit

    async def _deliver(self, jobs: list[Job], limit: int) -> ForwardReport:
        report = ForwardReport(claimed=len(jobs), limit=limit)
        if not jobs:
            return report
        clients = self._pool()
        outcomes: dict[int, Outcome] = {}  # a job without one was not attempted and is handed back
        run = {"reached": False, "failed": False}
        waiting = Lane(jobs)

        async def ready(job: Job) -> bool:
            """Not too late for the lease, and the registry not found away in this run."""
            late = self.policy.lease_ending(job.lease, self.clock.now())
            return not (late or (run["failed"] and not run["reached"]))

        def sender(client: httpx.AsyncClient) -> Callable[[Job], Awaitable[None]]:
            async def send(job: Job) -> None:
                outcome = await self._send(job, client)
                outcomes[job.delivery_id] = outcome
                run["reached" if outcome.reachable and not outcome.setting else "failed"] = True
            return send

        try:
            if self._unreachable:  # a probe first: the rest goes only if it reaches the registry
                await work_through(waiting, ready, sender(clients[0]), at_most=1)
            await asyncio.gather(*(work_through(waiting, ready, sender(client)) for client in clients[:len(waiting)]))
        finally:
            # Also on cancellation (shutdown): what was sent is recorded, the rest handed back.
            await asyncio.shield(asyncio.to_thread(self._settle, jobs, outcomes, report))
        return report

    async def drain(self, max_seconds: float = 60.0) -> ForwardReport:
        """Runs until nothing is due (or ``max_seconds`` of real time): the scheduler job's body."""
        total = ForwardReport()
        started = time.monotonic()
        await self._loop(lambda report: _idle(report) or time.monotonic() - started > max_seconds, total)
        return total

    async def run_forever(self, stop: asyncio.Event) -> ForwardReport:
        """The standalone worker (`pintu registry forward`): until ``stop`` is set."""
        total = ForwardReport()
        while not stop.is_set():
            try:
                await self._loop(lambda report: stop.is_set() or _idle(report), total)
            except Exception:  # the database away for a moment: log without data, try again
                log.exception("registry worker run failed")
            try:
                await asyncio.wait_for(stop.wait(), self.policy.idle)
            except TimeoutError:
                pass
        return total

    async def _loop(self, done: Callable[[ForwardReport], bool], total: ForwardReport) -> None:
        """Runs back to back until ``done(report)``; the next batch is claimed while one is being sent."""
        ahead: asyncio.Task[tuple[list[Job], int]] | None = None
        try:
            while True:
                jobs, limit = await ahead if ahead is not None else await self._claim_next()
                ahead = None
                if limit > 1 and len(jobs) == limit:
                    ahead = asyncio.create_task(self._claim_next())
                report = await self._deliver(jobs, limit)
                _add(total, report)
                if done(report):
                    return
        finally:
            if ahead is not None:  # claimed but not sent: hand it back at once (else its lease frees it)
                try:
                    leftover, _ = await asyncio.shield(ahead)
                    if leftover:
                        await asyncio.shield(asyncio.to_thread(self._release, leftover))
                except Exception:
                    log.warning("handing back a claimed batch failed; its lease will free it", exc_info=True)

    def _release(self, jobs: list[Job]) -> None:
        with self.uow_factory() as uow:
            uow.deliveries.release_claims((job.delivery_id, job.lease) for job in jobs)
            uow.commit()

    # --- steps -----------------------------------------------------------------------------------

    def _claim(self, limit: int | None = None) -> list[Job]:
        with self.uow_factory() as uow:
            rows = uow.deliveries.claim_due(self.target_name, self.clock.now(), limit or self.policy.batch,
                                            self.policy.lease)
            jobs: list[Job] = []
            if rows:
                try:
                    payloads = self.builder.build_many(uow.session, [row.record_id for row in rows])
                except Exception as error:  # one bad record must not hold back the others: build one by one
                    log.warning("building a batch failed (%s); building records one by one", type(error).__name__)
                    payloads = {}
                    for row in rows:
                        try:
                            payloads.update(self.builder.build_many(uow.session, [row.record_id]))
                        except Exception as single:
                            payloads[row.record_id] = None  # type: ignore[assignment]
                            log.warning("record %s cannot be built: %s", row.record_id, type(single).__name__,
                                        extra={"record_id": row.record_id, "delivery_id": row.id})
                for row in rows:
                    payload = payloads.get(row.record_id)
                    jobs.append(Job(row.id, row.record_id, row.attempts, row.claimed_until, payload,
                                    None if payload else "the record could not be turned into a document"))
            uow.commit()
            return jobs

    async def _send(self, job: Job, client: httpx.AsyncClient) -> Outcome:
        if job.payload is None:
            return Outcome("park", job.error or "unbuildable")
        try:
            if self.target.format == "openrosa":
                xml, names = self.forms.instance(job.payload)
                return await send_openrosa(client, self.target, job.payload, xml, names, auth=self.auth)
            return await send_json(client, self.target, job.payload, auth=self.auth)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug or a form problem: park with the reason, keep going
            log.warning("record %s not sent: %s", job.record_id, type(error).__name__,
                        extra={"record_id": job.record_id, "delivery_id": job.delivery_id})
            return Outcome("park", f"not sent: {type(error).__name__}: {str(error)[:200]}")

    def _settle(self, jobs: list[Job], outcomes: dict[int, Outcome], report: ForwardReport) -> None:
        now = self.clock.now()
        attempted = list(outcomes.values())
        # A refusal of our credentials is an answer, but no other record would fare better: it opens the
        # circuit like an outage does.
        reached = any(o.reachable and not o.setting for o in attempted)
        refusals = [o.reason for o in attempted if o.setting]
        recovered = reached and self._unreachable
        newly_unreachable = bool(attempted) and not reached and not self._unreachable
        report.recovered = recovered
        if attempted:
            self._unreachable = not reached
            self.refused = refusals[0] if refusals and not reached else None
            if reached:
                self._failed_probes, self._probe_at = 0, None
            else:
                self._failed_probes += 1
                delay = min(self.policy.probe_cap, self.policy.backoff(self._failed_probes))
                self._probe_at = now + dt.timedelta(seconds=delay)
        with self.uow_factory() as uow:
            delivered: list[tuple[int, dt.datetime]] = []
            unsent: list[tuple[int, dt.datetime]] = []
            for job in jobs:
                outcome = outcomes.get(job.delivery_id)
                if outcome is None:
                    unsent.append((job.delivery_id, job.lease))
                    continue
                report.reasons[outcome.reason] = report.reasons.get(outcome.reason, 0) + 1
                if outcome.kind == "delivered":
                    delivered.append((job.delivery_id, job.lease))
                    log.debug("registry: record %s delivered (%s)", job.record_id, outcome.reason,
                              extra={"record_id": job.record_id, "delivery_id": job.delivery_id})
                    continue
                if outcome.kind == "park":
                    ok = uow.deliveries.mark_parked(job.delivery_id, outcome.reason, lease=job.lease)
                    report.parked += ok
                    log.warning("registry: record %s parked (%s)", job.record_id, outcome.reason.split(":")[0],
                                extra={"record_id": job.record_id, "delivery_id": job.delivery_id})
                else:
                    delay = self.policy.backoff(job.attempts, outcome.retry_after)
                    ok = uow.deliveries.mark_retry(job.delivery_id, now + dt.timedelta(seconds=delay),
                                                   outcome.reason, lease=job.lease)
                    report.retried += ok
                report.lost_lease += not ok
            for lease, ids in by_lease(delivered).items():
                done = uow.deliveries.mark_delivered_many(ids, now, lease)
                report.delivered += done
                report.lost_lease += len(ids) - done
            report.released += uow.deliveries.release_claims(unsent)
            if reached and not self._answered:
                # A restart after fixing a refused setting: the rows it refused need not wait their backoff.
                self._answered = True
                report.recovered = _refused_rows_due(uow, self.target_name, now) > 0 or report.recovered
            if recovered:
                pulled = uow.deliveries.make_due(self.target_name, now)
                if pulled:
                    log.info("registry reachable again: %d waiting records made due", pulled)
            uow.commit()
        if self.observe is not None:
            try:
                self.observe(report)
            except Exception:
                log.exception("registry report observer failed")
        if newly_unreachable and refusals:
            log.warning("registry refuses Pintu (%s): fix PINTU_REGISTRY_AUTH and its credentials or the URL; "
                        "%d records wait, probing every %.0f s at most", refusals[0].split(":")[1].strip(),
                        report.retried + report.released, self.policy.probe_cap)
        elif newly_unreachable:  # once per outage, not once per probe
            log.warning("registry unreachable (%s): %d records to retry, %d handed back; probing every %.0f s at most",
                        ", ".join(sorted(report.reasons)), report.retried, report.released, self.policy.probe_cap)
        elif attempted and not reached:
            log.debug("registry still unreachable (%s)", ", ".join(sorted(report.reasons)))


def _refused_rows_due(uow: SqlUnitOfWork, target: str, now: dt.datetime) -> int:
    from sqlalchemy import update

    from domain.model import RecordDelivery
    from registry.client import SETTING_PREFIX

    return uow.session.execute(
        update(RecordDelivery)
        .where(RecordDelivery.target == target, RecordDelivery.status == "pending",
               RecordDelivery.claimed_until.is_(None), RecordDelivery.next_attempt_at > now,
               RecordDelivery.last_error.startswith(SETTING_PREFIX))
        .values(next_attempt_at=now).execution_options(synchronize_session=False)).rowcount


def _idle(report: ForwardReport) -> bool:
    """Nothing more is due now: a short batch (unless it was the probe that found the registry back),
    or no claim at all while waiting for the next probe."""
    return report.limit == 0 or (report.claimed < report.limit and not report.recovered)


def _add(total: ForwardReport, report: ForwardReport) -> None:
    for name in ("claimed", "delivered", "retried", "parked", "released", "lost_lease"):
        setattr(total, name, getattr(total, name) + getattr(report, name))
    for reason, count in report.reasons.items():
        total.reasons[reason] = total.reasons.get(reason, 0) + count


def worker_from_settings(settings: Any, uow_factory: Callable[[], SqlUnitOfWork], clock: Clock,
                         policy: ForwardPolicy | None = None) -> RegistryWorker:
    if not settings.registry_url:
        raise ValueError("PINTU_REGISTRY_URL is not set (see docs/registry.md)")
    target = target_from_settings(settings)
    problem = target.credentials.problem() if target.credentials else None
    if problem:  # sent without an Authorization header; the registry's 401 will say the same
        log.warning("registry credentials incomplete: %s (docs/registry.md: Authentication)", problem)
    forms = None
    if target.format == "openrosa":
        from registry.openrosa import FormLibrary

        forms = FormLibrary(settings.forms_dir, extra=[settings.form_path] if settings.form_path else ())
    return RegistryWorker(uow_factory, clock, target, media_dir=settings.media_dir, policy=policy, forms=forms)


def target_from_settings(settings: Any) -> RegistryTarget:
    credentials = Credentials(settings.registry_auth, settings.registry_token, settings.registry_user,
                              settings.registry_password)
    return RegistryTarget(settings.registry_url, settings.registry_token, settings.registry_format,
                          settings.registry_timeout, settings.registry_connect_timeout, credentials)
