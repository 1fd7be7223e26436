"""Supervision at city scale: progress queries and exports on a Samarinda-size database.

    python -m bench supervision [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000]
                                [--enumerators 1327] [--queries 200] [--exports 3]

Seeds Kota Samarinda with bench/coordination_data.py's ``seed_city`` (259,000 families over 2,000 RT,
1,327 enumerators, every family status, visits, outcomes, completed records), then adds what supervision
reads beyond that: a campaign window on the city (9 Nov - 12 Dec 2026), a supervisor per kelurahan and a
coordinator per kecamatan, 1% of the completed records flagged by the geofence (with a geotag), 2% of
the families marked as needing a house photo. Both databases are ANALYZEd (PostgreSQL's families and
visit_outcomes also VACUUMed, as autovacuum would have them: index-only scans need the visibility map). Then it times, each run in a
fresh unit of work, areas picked at random (fixed seed):

  - progress RT / kelurahan / kecamatan / city: ``domain.progress.area_progress`` (totals of the area and
    one line per area below it: two aggregate GROUP BY queries over the area's subtree);
  - enumerators of a kelurahan / kecamatan: visits, today's visits and visits per working day;
  - review list of a kelurahan: counts and the first page (flagged geotags, missing photos);
  - /progres update: the whole update of a supervisor pressing ``sv:a:<kelurahan>:0`` through
    PintuHandlers (access check, queries, rendering, commit);
  - export of a whole kecamatan (~26,000 families) as CSV, XLSX and GeoJSON: seconds and bytes.

Figures: p50/p95/max in milliseconds per backend, and the export times and sizes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, select, update  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.exports import export_area  # noqa: E402
from domain.model import Family, Record, User  # noqa: E402
from domain.progress import area_progress, enumerator_progress, set_window  # noqa: E402
from handlers.app import PintuHandlers  # noqa: E402
from handlers.context import HandlerConfig  # noqa: E402
from chat.events import Incoming, Sender  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

SUPERVISOR_TG = 40_000_000


@dataclass
class Figures:
    backend: str
    seed_seconds: float = 0.0
    rows: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    exports: dict[str, tuple[float, int, int]] = field(default_factory=dict)  # format -> (seconds, bytes, rows)
    export_area: str = ""
    skipped: str | None = None


def prepare(engine: Engine, city: City, seed: int) -> list[int]:
    """Window, supervisors, coordinators, review flags; returns the supervisors' Telegram ids (per kelurahan)."""
    rng = random.Random(seed)
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as uow:
        set_window(uow, "64.72", dt.date(2026, 11, 9), dt.date(2026, 12, 12), city.now)
        uow.commit()
    with engine.begin() as conn:
        first = conn.scalar(select(User.id).order_by(User.id.desc()).limit(1)) + 1
        people = []
        for n, village in enumerate(city.village_ids):
            people.append({"id": first + n, "telegram_id": SUPERVISOR_TG + n, "first_name": "PML", "language": "id",
                           "role": "supervisor", "scope_area_id": village, "consent_version": "1",
                           "consent_at": city.now, "created_at": city.now})
        for n, district in enumerate(city.district_ids):
            people.append({"id": first + len(city.village_ids) + n, "telegram_id": SUPERVISOR_TG + 1000 + n,
                           "first_name": "Koordinator", "language": "id", "role": "coordinator",
                           "scope_area_id": district, "consent_version": "1", "consent_at": city.now,
                           "created_at": city.now})
        conn.execute(insert(User.__table__), people)
        records = conn.execute(select(Record.id, Record.family_id)).all()
        flagged = [r for r in records if rng.random() < 0.01]
        for record_id, _family in flagged:
            conn.execute(update(Record).where(Record.id == record_id).values(
                geo_flag="outside-sls", latitude=-0.5 + rng.random() * 0.2, longitude=117.1 + rng.random() * 0.2,
                geo_accuracy_m=10.0))
        photo_ids = [f for f in range(1, city.families + 1) if rng.random() < 0.02]
        for i in range(0, len(photo_ids), 5000):
            conn.execute(update(Family).where(Family.id.in_(photo_ids[i:i + 5000])).values(needs_photo=True))
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"))
    return [SUPERVISOR_TG + n for n in range(len(city.village_ids))]


def timed(runs: list[float], work: Callable[[], object]) -> None:
    started = time.perf_counter()
    work()
    runs.append(time.perf_counter() - started)


def measure(engine: Engine, city: City, supervisors: list[int], queries: int, exports: int, seed: int,
            figures: Figures) -> None:
    factory = make_session_factory(engine)
    uow_factory: Callable[[], SqlUnitOfWork] = lambda: SqlUnitOfWork(factory)  # noqa: E731
    rng = random.Random(seed)
    levels = {"RT": city.sls_ids, "kelurahan": city.village_ids, "kecamatan": city.district_ids,
              "city": [city.city_area_id]}
    timings: dict[str, list[float]] = {}

    def progress(area_id: int) -> None:
        with uow_factory() as uow:
            area_progress(uow, uow.areas.get(area_id), city.now)

    for _ in range(10):  # warm the caches and the connection pool
        progress(rng.choice(city.village_ids))
    for level, ids in levels.items():
        runs = timings.setdefault(f"progress {level}", [])
        for _ in range(queries if level != "city" else max(10, queries // 10)):
            timed(runs, lambda: progress(rng.choice(ids)))

    def enumerators(area_id: int) -> None:
        with uow_factory() as uow:
            enumerator_progress(uow, uow.areas.get(area_id), city.now)

    for level in ("kelurahan", "kecamatan"):
        runs = timings.setdefault(f"enumerators {level}", [])
        for _ in range(queries if level == "kelurahan" else max(10, queries // 4)):
            timed(runs, lambda: enumerators(rng.choice(levels[level])))

    def review(area_id: int) -> None:
        with uow_factory() as uow:
            uow.supervision.review_counts(area_id)
            uow.supervision.review_page(area_id, 0, 10)

    runs = timings.setdefault("review kelurahan", [])
    for _ in range(queries):
        timed(runs, lambda: review(rng.choice(city.village_ids)))

    handlers = PintuHandlers(uow_factory, FakeClock(city.now), HandlerConfig(invite_secret="bench" * 8))
    runs = timings.setdefault("/progres update (handler)", [])
    for n in range(queries):
        index = rng.randrange(len(supervisors))
        telegram_id = supervisors[index]
        event = Incoming(Sender(telegram_id, "PML"), telegram_id, callback_id=f"b{n}",
                         callback_data=f"sv:a:{city.village_ids[index]}:0", message_id=1)
        started = time.perf_counter()
        actions = handlers.handle(event)
        runs.append(time.perf_counter() - started)
        if not any("Progres" in (getattr(a, "text", "") or "") for a in actions):
            raise RuntimeError(f"the progress screen did not come back: {actions!r}")
    figures.timings = timings

    # A whole kecamatan: the largest one.
    with uow_factory() as uow:
        sizes = {d: sum(uow.supervision.status_of_area(d).values()) for d in city.district_ids}
        district = max(sizes, key=sizes.get)  # type: ignore[arg-type]
        figures.export_area = f"{uow.areas.get(district).name} ({sizes[district]:,} families)"
    for fmt in ("csv", "xlsx", "geojson"):
        best: tuple[float, int, int] | None = None
        for _ in range(exports):
            started = time.perf_counter()
            with uow_factory() as uow:
                file = export_area(uow, uow.areas.get(district), fmt, city.now)
            seconds = time.perf_counter() - started
            if best is None or seconds < best[0]:
                best = (seconds, len(file.content), file.rows)
        figures.exports[fmt] = best  # type: ignore[assignment]


def run(backend: str, args: argparse.Namespace) -> Figures:
    figures = Figures(backend)
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators, seed=args.seed)
            supervisors = prepare(engine, city, args.seed)
            figures.seed_seconds = time.perf_counter() - started
            figures.rows = sum(city.rows.values())
            analyze(engine)
            if engine.dialect.name == "postgresql":  # autovacuum's steady state: index-only scans need the visibility map
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM (ANALYZE) families")
                    conn.exec_driver_sql("VACUUM (ANALYZE) visit_outcomes")
            measure(engine, city, supervisors, args.queries, args.exports, args.seed, figures)
    except ConnectionError as error:
        figures.skipped = str(error)
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"supervision: {args.families:,} families, {args.rts:,} RT, {args.enumerators:,} enumerators "
          f"(seed {args.seed}); {args.queries} timed runs per measure (city: {max(10, args.queries // 10)})")
    width = 14
    print(f"{'':<40}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value: Callable[[Figures], str]) -> None:
        print(f"{label:<40}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row("seed (s)", lambda f: f"{f.seed_seconds:.1f}")
    row("rows inserted", lambda f: f"{f.rows:,}")
    names = next((list(f.timings) for f in all_figures if f.timings), [])
    for name in names:
        for label, pick in (("p50", statistics.median), ("p95", lambda v: percentile(v, 0.95)), ("max", max)):
            row(f"{name} {label} (ms)", lambda f, n=name, p=pick: f"{1000 * p(f.timings[n]):.2f}")
    for fmt in ("csv", "xlsx", "geojson"):
        row(f"export kecamatan {fmt} (s)", lambda f, x=fmt: f"{f.exports[x][0]:.2f}")
        row(f"export kecamatan {fmt} (MB)", lambda f, x=fmt: f"{f.exports[x][1] / 1e6:.2f}")
        row(f"export kecamatan {fmt} (rows)", lambda f, x=fmt: f"{f.exports[x][2]:,}")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")
        elif f.export_area:
            print(f"{f.backend}: exported kecamatan {f.export_area}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--families", type=int, default=259_000)
    parser.add_argument("--rts", type=int, default=2_000)
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--queries", type=int, default=200, help="timed runs of each measure (default 200)")
    parser.add_argument("--exports", type=int, default=3, help="runs of each export format; the best is shown")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    all_figures = [run(backend, args) for backend in backends]
    report(all_figures, args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # keep library chatter out of the figures
    sys.exit(main())
