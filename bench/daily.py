"""Daily schedules for a Samarinda-size city: time to build every enumerator's day, and peak memory.

    .venv/bin/python -m bench daily [--backend sqlite|postgresql|both] [--families 259000]
                                    [--enumerators 1327] [--rts 2000] [--full-days] [--tracemalloc]

The city comes from ``bench/coordination_data.py: seed_city`` (bulk Core inserts; 1,327 enumerators,
259,000 families, 24% of them with an active booked visit; ``gaps=True``: half-booked days (mornings
one day, afternoons the next, Mon-Sat WITA), houses near their RT's centre, three in five located), on a
fresh SQLite file (production settings) and a new PostgreSQL database (both by default). The clock stands at
Monday 23 November 2026, 05.55 WITA, just before the 06.00 run; the day is that Monday.

Measured, in this order:

1. queueing: ``domain.reminders.enqueue_daily`` for Asia/Makassar at 06.00 — the outbox rows (one
   per enumerator with visits, plus the RT heads' evening lists are not due yet) in one transaction;
2. building: every queued schedule rendered as the dispatcher renders a claimed batch at send time
   (``handlers.notifications.prepare_outbox`` reads for the whole batch in a few queries, then
   ``render_outbox`` per row: the day's route with the booked visits and the families without an
   appointment fitted into the free times, distances, map links), one read-only unit of work; and, for
   comparison, 50 of them rendered one by one (a unit of work and its reads each);

with wall time, visits per schedule, and peak memory: the process's peak RSS (``ru_maxrss``), and with
``--tracemalloc`` the Python heap's peak during building (slower: tracing costs time).
"""
from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT))

from bench.coordination_data import analyze, seed_city, temporary_database  # noqa: E402
from domain.reminders import DAILY_SCHEDULE, enqueue_daily  # noqa: E402
from sqlalchemy import select  # noqa: E402
from domain.model import OutboxMessage  # noqa: E402
from handlers.notifications import prepare_outbox, render_outbox  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

WITA = ZoneInfo("Asia/Makassar")
MONDAY_0555 = dt.datetime(2026, 11, 23, 5, 55, tzinfo=WITA).astimezone(dt.timezone.utc)
MONDAY_0600 = MONDAY_0555 + dt.timedelta(minutes=5)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench daily", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                        help="database(s) to run on, e.g. --backend sqlite")
    parser.add_argument("--families", type=int, default=259_000, help="families in the city, e.g. 50000")
    parser.add_argument("--enumerators", type=int, default=1_327, help="enumerators, e.g. 256")
    parser.add_argument("--rts", type=int, default=2_000, help="RT (SLS), e.g. 400")
    parser.add_argument("--full-days", action="store_true",
                        help="the old data set: whole days booked, houses anywhere in the city (no gap to fill)")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap while building")
    args = parser.parse_args(argv)
    failed = 0
    for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
        try:
            failed += run(backend, args)
        except ConnectionError as error:
            print(f"{backend}: skipped ({error})")
    route_search_figures()
    return 1 if failed else 0


def run(backend: str, args: argparse.Namespace) -> int:
    with temporary_database(backend) as engine:
        t0 = time.monotonic()
        city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators,
                         gaps=not args.full_days)
        if backend == "postgresql":
            analyze(engine)
        seeded = time.monotonic() - t0
        print(f"[{backend}] seeded {city.families} families, {len(city.enumerator_ids)} enumerators, "
              f"{len(city.sls_ids)} RT in {seeded:.1f} s; rss {rss_mb():.0f} MB", flush=True)
        factory = make_session_factory(engine)
        uow_factory = lambda: SqlUnitOfWork(factory)  # noqa: E731

        t0 = time.monotonic()
        with uow_factory() as uow:
            queued = enqueue_daily(uow, MONDAY_0600, "Asia/Makassar")
            uow.commit()
        queue_s = time.monotonic() - t0
        with factory() as session:
            rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == DAILY_SCHEDULE)))
            session.expunge_all()
        print(f"[{backend}] queued {queued} daily rows ({len(rows)} schedules) in {queue_s:.2f} s", flush=True)

        if args.tracemalloc:
            tracemalloc.start()
        rss_before = rss_mb()
        t0 = time.monotonic()
        texts = []
        with uow_factory() as uow:  # as the dispatcher renders a claimed batch: one session, read once
            prepared = prepare_outbox(uow, rows, MONDAY_0555)
            texts = [getattr(render_outbox(uow, row, MONDAY_0555, prepared), "text", None) for row in rows]
        build_s = time.monotonic() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()
        one_by_one = _one_by_one(uow_factory, rows[:50])

    stops = [text.count("maps/search") for text in texts if text is not None]
    suggested = [text.count("🟡") - 1 if "🟡" in text else 0 for text in texts if text is not None]  # the note's own mark aside
    failed = sum(1 for text in texts if text is None)
    built = len(stops)
    print(f"[{backend}] built {built} schedules in {build_s:.2f} s = {1000 * build_s / max(1, built):.1f} ms each "
          f"({built / build_s if build_s else 0:.0f}/s); not rendered {failed}; "
          f"one by one (a session and its reads per schedule, 50 of them): {one_by_one:.1f} ms each")
    if stops:
        print(f"[{backend}] stops per schedule: mean {statistics.mean(stops):.1f}, max {max(stops)}; of them suggested "
              f"(families without an appointment fitted into the free times): mean {statistics.mean(suggested):.1f}")
    total = queue_s + build_s
    print(f"[{backend}] total (queue + build) {total:.1f} s (goal ≤ 5 s: {'ok' if total <= 5 else 'MISSED'})")
    print(f"[{backend}] peak RSS {rss_mb():.0f} MB (before building {rss_before:.0f} MB)"
          + (f"; tracemalloc peak while building {peak:.1f} MB" if peak is not None else ""), flush=True)
    return 1 if failed or not built else 0


def _one_by_one(uow_factory, rows) -> float:
    """ms per schedule rendered alone (no batch preparation): what a lone message costs."""
    t0 = time.monotonic()
    for row in rows:
        with uow_factory() as uow:
            render_outbox(uow, row, MONDAY_0555)
    return 1000 * (time.monotonic() - t0) / max(1, len(rows))


def route_search_figures(days: int = 200) -> None:
    """The route search alone on half-booked days (the seeded city books whole days, so its schedules
    have no gap to fill): 4 booked visits, 12 free half-hour slots, 8 located families to fit — the
    search's worst case, as every house has coordinates."""
    import random

    from domain.route import EXACT_LIMIT, Booked, Candidate, plan_day

    rng = random.Random(7)
    wita = ZoneInfo("Asia/Makassar")
    visit = dt.timedelta(minutes=30)
    seconds, fitted = [], []
    for _ in range(days):
        day = dt.datetime(2026, 11, 23, 8, 0, tzinfo=wita)
        slots = [day + i * visit for i in range(16)]
        taken = sorted(rng.sample(range(16), 4))
        here = lambda: (-0.5 + rng.uniform(-0.01, 0.01), 117.15 + rng.uniform(-0.01, 0.01))  # noqa: E731 - one SLS
        booked = [Booked(i, slots[i], slots[i] + visit, here()) for i in taken]
        free: list[tuple[dt.datetime, dt.datetime]] = []
        for i in (i for i in range(16) if i not in taken):
            if free and free[-1][1] == slots[i]:
                free[-1] = (free[-1][0], slots[i] + visit)
            else:
                free.append((slots[i], slots[i] + visit))
        candidates = [Candidate(i, here()) for i in range(EXACT_LIMIT)]
        t0 = time.perf_counter()
        route = plan_day(booked, candidates, free, visit)
        seconds.append(time.perf_counter() - t0)
        fitted.append(route.suggested)
    seconds.sort()
    print(f"route search, {days} half-booked days with {EXACT_LIMIT} located families each: "
          f"p50 {1000 * seconds[len(seconds) // 2]:.1f} ms, p95 {1000 * seconds[int(len(seconds) * 0.95)]:.1f} ms, "
          f"max {1000 * seconds[-1]:.1f} ms; families fitted per day: mean {statistics.mean(fitted):.1f}")


if __name__ == "__main__":
    sys.exit(main())
