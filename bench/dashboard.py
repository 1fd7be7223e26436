"""The web dashboard's progress page at city scale: whole HTTP requests on a Samarinda-size database.

    python -m bench dashboard [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000]
                              [--enumerators 1327] [--queries 200]

Seeds Kota Samarinda as ``bench supervision`` does (bench/coordination_data.py's ``seed_city``: 259,000
families over 2,000 RT; then that benchmark's ``prepare``: a campaign window, supervisors, coordinators),
signs an admin in through a one-time link (domain/dashboard.py), and times ``GET /?area=CODE`` against
the real aiohttp application (web/app.py) over a local socket: session lookup, scope check, the two
aggregate queries of ``area_progress``, the completions chart's query, rendering the table and the SVG.
Areas are picked at random (fixed seed) per level: RT, kelurahan, kecamatan, and the city.

Figures: p50/p95/max in milliseconds per level and backend. Goal (issue 16): p95 ≤ 200 ms on PostgreSQL.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from sqlalchemy import Engine, insert, select  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from bench.supervision import percentile, prepare  # noqa: E402
from bot.config import Settings  # noqa: E402
from domain import dashboard  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.model import Area, User  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402
from web.app import WebDeps, build_web_app  # noqa: E402
from web.auth import SESSION_COOKIE  # noqa: E402

SECRET = "bench-dashboard-secret-" * 2
GOAL_MS = 200.0


@dataclass
class Figures:
    backend: str
    seed_seconds: float = 0.0
    timings: dict[str, list[float]] = field(default_factory=dict)
    skipped: str | None = None


def admin_session(engine: Engine, city: City) -> str:
    """An admin signed in the way a browser would be: a link issued, then redeemed."""
    factory = make_session_factory(engine)
    with SqlUnitOfWork(factory) as uow:
        first = uow.session.scalar(select(User.id).order_by(User.id.desc()).limit(1)) + 1
        uow.session.execute(insert(User.__table__).values(
            id=first, telegram_id=49_999_999, first_name="Admin", language="id", role="admin", consent_version="1",
            consent_at=city.now, created_at=city.now))
        token = dashboard.issue_link(uow, SECRET, uow.users.get(first), city.now)
        session_token, _ = dashboard.redeem_link(uow, SECRET, token, city.now)
        uow.commit()
    return session_token


async def measure(engine: Engine, city: City, queries: int, seed: int) -> dict[str, list[float]]:
    factory = make_session_factory(engine)
    deps = WebDeps(Settings(invite_secret=SECRET, web_url="http://localhost"), FakeClock(city.now),
                   lambda: SqlUnitOfWork(factory))
    cookie = admin_session(engine, city)
    with SqlUnitOfWork(factory) as uow:
        codes = {area.id: area.code for area in uow.session.scalars(select(Area))}
    levels = {"RT": city.sls_ids, "kelurahan": city.village_ids, "kecamatan": city.district_ids,
              "city": [city.city_area_id]}
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {}
    async with TestClient(TestServer(build_web_app(deps)), cookies={SESSION_COOKIE: cookie}) as client:
        async def get(area_id: int) -> None:
            response = await client.get(f"/?area={codes[area_id]}")
            body = await response.text()
            if response.status != 200 or 'id="progress"' not in body:
                raise RuntimeError(f"the progress page did not come back: {response.status}")

        for _ in range(10):  # warm the caches and the connection pool
            await get(rng.choice(city.village_ids))
        for level, ids in levels.items():
            runs = timings.setdefault(f"progress page {level}", [])
            for _ in range(queries if level != "city" else max(10, queries // 10)):
                started = time.perf_counter()
                await get(rng.choice(ids))
                runs.append(time.perf_counter() - started)
    return timings


def run(backend: str, args: argparse.Namespace) -> Figures:
    figures = Figures(backend)
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators, seed=args.seed)
            prepare(engine, city, args.seed)
            figures.seed_seconds = time.perf_counter() - started
            analyze(engine)
            if engine.dialect.name == "postgresql":  # autovacuum's steady state (index-only scans)
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM (ANALYZE) families")
            figures.timings = asyncio.run(measure(engine, city, args.queries, args.seed))
    except ConnectionError as error:
        figures.skipped = str(error)
    return figures


def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"dashboard: {args.families:,} families, {args.rts:,} RT (seed {args.seed}); {args.queries} timed "
          f"GET /?area= per level (city: {max(10, args.queries // 10)}); goal p95 <= {GOAL_MS:.0f} ms on PostgreSQL")
    width = 14
    print(f"{'':<36}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<36}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row("seed (s)", lambda f: f"{f.seed_seconds:.1f}")
    names = next((list(f.timings) for f in all_figures if f.timings), [])
    for name in names:
        for label, pick in (("p50", statistics.median), ("p95", lambda v: percentile(v, 0.95)), ("max", max)):
            row(f"{name} {label} (ms)", lambda f, n=name, p=pick: f"{1000 * p(f.timings[n]):.1f}")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")
        elif f.backend == "postgresql":
            worst = max(percentile(v, 0.95) for v in f.timings.values()) * 1000
            print(f"postgresql: worst p95 {worst:.1f} ms: {'meets' if worst <= GOAL_MS else 'MISSES'} the goal")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--families", type=int, default=259_000)
    parser.add_argument("--rts", type=int, default=2_000)
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--queries", type=int, default=200, help="timed requests per level (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report([run(backend, args) for backend in backends], args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(main())
