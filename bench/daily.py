"""Daily schedules for a Samarinda-size city: time to build every enumerator's day, and peak memory.

    .venv/bin/python -m bench daily [--backend sqlite|postgresql] [--families 259000] [--enumerators 1327]
                                    [--rts 2000] [--tracemalloc]

The city comes from ``bench/coordination_data.py: seed_city`` (bulk Core inserts; 1,327 enumerators,
259,000 families, 24% of them with an active booked visit laid out Mon-Sat 08.00-16.00 WITA), on a
fresh SQLite file (default, production settings) or a new PostgreSQL database. The clock stands at
Monday 23 November 2026, 05.55 WITA, just before the 06.00 run; the day is that Monday.

Measured, in this order:

1. queueing: ``domain.reminders.enqueue_daily`` for Asia/Makassar at 06.00 — the outbox rows (one
   per enumerator with visits, plus the RT heads' evening lists are not due yet) in one transaction;
2. building: every queued schedule rendered as the dispatcher renders it at send time
   (``handlers.notifications.render_outbox``: the day's route with the booked visits and the families
   without an appointment fitted into the free times, distances, map links), one read-only unit of
   work per message;

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
from handlers.notifications import render_outbox  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

WITA = ZoneInfo("Asia/Makassar")
MONDAY_0555 = dt.datetime(2026, 11, 23, 5, 55, tzinfo=WITA).astimezone(dt.timezone.utc)
MONDAY_0600 = MONDAY_0555 + dt.timedelta(minutes=5)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench daily", description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--families", type=int, default=259_000)
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--rts", type=int, default=2_000)
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the Python heap while building")
    args = parser.parse_args(argv)

    with temporary_database(args.backend) as engine:
        t0 = time.monotonic()
        city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators)
        if args.backend == "postgresql":
            analyze(engine)
        seeded = time.monotonic() - t0
        print(f"seeded {city.families} families, {len(city.enumerator_ids)} enumerators, {len(city.sls_ids)} RT "
              f"({args.backend}) in {seeded:.1f} s; rss {rss_mb():.0f} MB", flush=True)
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
        print(f"queued {queued} daily rows ({len(rows)} schedules) in {queue_s:.2f} s", flush=True)

        if args.tracemalloc:
            tracemalloc.start()
        rss_before = rss_mb()
        t0 = time.monotonic()
        stops: list[int] = []
        suggested: list[int] = []
        failed = 0
        for row in rows:
            with uow_factory() as uow:
                rendered = render_outbox(uow, row, MONDAY_0555)
            text = getattr(rendered, "text", None)
            if text is None:
                failed += 1
                continue
            stops.append(text.count("maps/search"))
            suggested.append(text.count("🟡") - 1 if "🟡" in text else 0)  # the note's own mark aside
        build_s = time.monotonic() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()

    built = len(stops)
    print(f"built {built} schedules in {build_s:.1f} s = {1000 * build_s / max(1, built):.1f} ms each "
          f"({built / build_s if build_s else 0:.0f}/s); not rendered {failed}")
    if stops:
        print(f"stops per schedule: mean {statistics.mean(stops):.1f}, max {max(stops)}; of them suggested "
              f"(families without an appointment fitted into the free times): mean {statistics.mean(suggested):.1f}")
    print(f"total (queue + build) {queue_s + build_s:.1f} s")
    print(f"peak RSS {rss_mb():.0f} MB (before building {rss_before:.0f} MB)"
          + (f"; tracemalloc peak while building {peak:.1f} MB" if peak is not None else ""))
    route_search_figures()
    return 1 if failed or not built else 0


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
