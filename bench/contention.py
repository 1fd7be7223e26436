"""Contention: many people booking the same few visit times at the same moment.

    .venv/bin/python bench/contention.py [--backend sqlite|postgresql|both] [--attempts N]

1,000 threads (by default) each book one family, all released at once, for 100 free slot-places
(10 enumerators x 10 half-hour times on one morning). Each thread runs the real rule,
domain.booking.book_visit, in its own unit of work (its own session and connection) and commits.
The database must turn away everything beyond the 100 places: the figures are how many visits were
confirmed (must be exactly 100), how many over-bookings the database holds afterwards (must be 0:
overlapping visits of one enumerator, second active visits of one family, busy blocks that do not
match the active visits), the attempts that ended in an error other than SlotTaken (must be 0),
and the time it all took. The exit status is 1 if any of those is wrong.

SQLite runs on a file in a temporary directory with the production settings (WAL, BEGIN IMMEDIATE);
PostgreSQL on a new database ``pintu_bench_<random>`` created on PINTU_BENCH_PG_URL (else
PINTU_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test) and dropped afterwards. The
data (areas, enumerators, families, an RT head) is set up through the repositories; the clock is a
FakeClock standing on Sunday 22 November 2026, 18.00 WITA, the evening before the booked Monday.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, make_url, select  # noqa: E402

from domain.booking import BookingRules, book_visit  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.errors import SlotTaken  # noqa: E402
from domain.model import Appointment, Area, BusyBlock, Enumerator, Family, User  # noqa: E402
from domain.slots import blocks_between  # noqa: E402
from storage.db import create_schema, make_engine, make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

WITA = ZoneInfo("Asia/Makassar")
NOW = dt.datetime(2026, 11, 22, 18, 0, tzinfo=WITA)  # Sunday evening; no holiday in the next two weeks
MONDAY = dt.date(2026, 11, 23)
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Figures:
    backend: str
    attempts: int = 0
    places: int = 0
    confirmations: int = 0
    over_bookings: int = 0
    slot_taken: int = 0
    other_errors: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is not None or (
            self.confirmations == self.places and self.over_bookings == 0 and not self.other_errors)


# --- the data -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setup:
    rt_head_id: int
    family_ids: list[int]
    times: list[dt.datetime]


def set_up(uow_factory, enumerators: int, times: int, families: int, clock: FakeClock) -> Setup:
    """One RT in Samarinda with its RT head, ``enumerators`` officers and ``families`` families."""
    now = clock.now()
    with uow_factory() as uow:
        province = uow.areas.add(Area(code="64", level="province", name="Kalimantan Timur", timezone=WITA.key))
        village = uow.areas.add(Area(code="64.72.01.1001", level="village", name="Rawa Makmur",
                                     parent_id=province.id, timezone=WITA.key))
        sls = uow.areas.add(Area(code="64.72.01.1001.0001", level="sls", name="RT 001", parent_id=village.id,
                                 timezone=WITA.key))
        rt_head = uow.users.add(User(telegram_id=1, first_name="Pak RT", role="rt_head", sls_id=sls.id,
                                     consent_version="1", consent_at=now, created_at=now))
        for n in range(enumerators):
            uow.enumerators.add(Enumerator(name=f"PPL {n + 1}", visit_minutes=30), [sls.id])
        family_ids = [
            uow.families.add(Family(sls_id=sls.id, head_name=f"Kepala Keluarga {n + 1}", kk_number=f"6472010101{n:06d}",
                                    members=4, created_at=now)).id
            for n in range(families)
        ]
        uow.commit()
        starts = [dt.datetime.combine(MONDAY, dt.time(8), WITA) + dt.timedelta(minutes=30 * i) for i in range(times)]
        return Setup(rt_head.id, family_ids, [s.astimezone(dt.timezone.utc) for s in starts])


# --- the run --------------------------------------------------------------------------------------

def contend(engine: Engine, figures: Figures, attempts: int, enumerators: int, times: int) -> None:
    clock = FakeClock(NOW)
    sessions = make_session_factory(engine)
    uow_factory = lambda: SqlUnitOfWork(sessions)  # noqa: E731
    setup = set_up(uow_factory, enumerators, times, attempts, clock)
    rules = BookingRules()
    figures.attempts, figures.places = attempts, enumerators * times
    results: list[BaseException | None] = [None] * attempts
    confirmed = [False] * attempts
    barrier = threading.Barrier(attempts + 1)

    def attempt(i: int) -> None:
        start = setup.times[i % len(setup.times)]
        try:
            barrier.wait()
            with uow_factory() as uow:
                book_visit(uow, uow.users.get(setup.rt_head_id), setup.family_ids[i], start, clock.now(), rules)
                uow.commit()
            confirmed[i] = True
        except BaseException as error:  # noqa: BLE001 - counted below
            results[i] = error

    threads = [threading.Thread(target=attempt, args=(i,), daemon=True) for i in range(attempts)]
    for thread in threads:
        thread.start()
    barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    figures.elapsed = time.perf_counter() - began

    figures.confirmations = sum(confirmed)
    figures.slot_taken = sum(isinstance(e, SlotTaken) for e in results)
    figures.other_errors = Counter(type(e).__name__ for e in results if e is not None and not isinstance(e, SlotTaken))
    figures.over_bookings = count_over_bookings(uow_factory, figures.confirmations)


def count_over_bookings(uow_factory, confirmations: int) -> int:
    """Everything in the database that a double booking would leave behind (0 when all is well)."""
    with uow_factory() as uow:
        booked = list(uow.session.scalars(select(Appointment).where(Appointment.status == "booked")))
        blocks = set(uow.session.execute(select(BusyBlock.enumerator_id, BusyBlock.block_start, BusyBlock.appointment_id)))
    found = 0
    per_enumerator: dict[int, list[Appointment]] = defaultdict(list)
    for appointment in booked:
        per_enumerator[appointment.enumerator_id].append(appointment)
    for visits in per_enumerator.values():  # overlapping visits of one enumerator
        visits.sort(key=lambda a: a.start_at)
        found += sum(1 for a, b in zip(visits, visits[1:]) if b.start_at < a.end_at)
    found += sum(n - 1 for n in Counter(a.family_id for a in booked).values() if n > 1)  # a family twice
    expected = {(a.enumerator_id, b, a.id) for a in booked for b in blocks_between(a.start_at, a.end_at)}
    found += len(blocks ^ expected)  # blocks missing, or claimed by no active visit
    found += max(0, len(booked) - confirmations)  # visits stored that nobody was told about
    return found


# --- backends -------------------------------------------------------------------------------------

def run_sqlite(figures: Figures, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="pintu-bench-") as directory:
        engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
        try:
            create_schema(engine)
            contend(engine, figures, args.attempts, args.enumerators, args.times)
        finally:
            engine.dispose()


def run_postgresql(figures: Figures, args: argparse.Namespace) -> None:
    import psycopg

    base = make_url(os.environ.get("PINTU_BENCH_PG_URL") or os.environ.get("PINTU_TEST_PG_URL") or DEFAULT_PG_URL)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"pintu_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        figures.skipped = f"PostgreSQL not reachable at {base.render_as_string()}: {str(error).strip()}"
        return
    try:
        engine = make_engine(base.set(drivername="postgresql", database=name).render_as_string(hide_password=False),
                             pool_size=args.pool_size)
        try:
            create_schema(engine)
            contend(engine, figures, args.attempts, args.enumerators, args.times)
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- output ---------------------------------------------------------------------------------------

def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"contention: {args.attempts} concurrent booking attempts (one thread and one unit of work each) for "
          f"{args.enumerators * args.times} free slot-places ({args.enumerators} enumerators x {args.times} "
          f"times on Monday {MONDAY.isoformat()}, WITA)")
    width = 14
    print(f"{'':<24}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<24}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row(f"confirmations (= {args.enumerators * args.times})", lambda f: f.confirmations)
    row("over-bookings (= 0)", lambda f: f.over_bookings)
    row("turned away (SlotTaken)", lambda f: f.slot_taken)
    row("other errors (= 0)", lambda f: sum(f.other_errors.values()))
    row("elapsed (s)", lambda f: f"{f.elapsed:.2f}")
    row("bookings/s", lambda f: f"{f.confirmations / f.elapsed:.1f}" if f.elapsed else "-")
    row("attempts/s", lambda f: f"{f.attempts / f.elapsed:.1f}" if f.elapsed else "-")
    row("result", lambda f: "ok" if f.ok else "WRONG")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")
        if f.other_errors:
            print(f"{f.backend}: unexpected errors: {dict(f.other_errors)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--attempts", type=int, default=1000, help="concurrent booking attempts (default 1000)")
    parser.add_argument("--enumerators", type=int, default=10, help="enumerators in the RT (default 10)")
    parser.add_argument("--times", type=int, default=10, help="half-hour times from 08.00 (default 10, max 16)")
    parser.add_argument("--pool-size", type=int, default=10,
                        help="PostgreSQL pool size (plus as many overflow connections; default 10)")
    args = parser.parse_args(argv)
    if not 1 <= args.times <= 16:
        parser.error("--times must be 1 to 16 (08.00 to 16.00)")
    if args.attempts < args.enumerators * args.times:
        parser.error("--attempts must be at least enumerators x times")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    all_figures = []
    for backend in backends:
        figures = Figures(backend)
        (run_sqlite if backend == "sqlite" else run_postgresql)(figures, args)
        all_figures.append(figures)
    report(all_figures, args)
    return 0 if all(f.ok for f in all_figures) else 1


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # keep library chatter out of the figures
    sys.exit(main())
