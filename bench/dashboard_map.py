"""The dashboard map's first view at city scale: Samarinda, 259,000 families, 2,000 SLS with boundaries.

    python -m bench dashboard_map [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000]
                                  [--vertices 30] [--runs 20]

Seeds the city with bench/coordination_data.py's ``seed_city`` and bench/supervision.py's ``prepare``
(supervisors per kelurahan, 1% of the records flagged), then gives every SLS a boundary: a grid of
cells over the city (the SLS of one kelurahan side by side), each edge digitised with ``--vertices``
points nudged a few metres off the straight line (the same nudge for both neighbours of an edge, so
the outlines tile), i.e. ~240,000 vertices for the city; each kelurahan's centre is its cells' middle.

Then it serves the real dashboard (web/app.py, aiohttp, in process) and times, over HTTP with a signed-in
session, what a browser asks for:

  - city first view, cold: a coordinator of the whole city opens /peta: the page and the SLS layer
    (outlines simplified for the fitting zoom, counts per SLS, the kelurahan centres), with the outline
    cache empty (the first viewer after a restart);
  - city first view, warm: the same with the outlines cached (every later viewer; counts always fresh);
  - kelurahan first view: a supervisor of one kelurahan opens /peta: page, outlines with the centre, and
    (their area being a kelurahan) its family points and today's routes.

Figures: p50/p95/max in milliseconds per backend and the bytes sent; the goal is the city's first view
in ≤ 2 s.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, select, update  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from bench.supervision import prepare  # noqa: E402
from domain.model import Area, User  # noqa: E402

WEST, SOUTH, SPAN = 117.1, -0.6, 0.2  # the city's square: where seed_city puts the houses
SECRET = "bench-dashboard-" * 3


@dataclass
class Figures:
    backend: str
    seed_seconds: float = 0.0
    vertices: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    skipped: str | None = None


def _nudge(x: float, y: float) -> tuple[float, float]:
    """A few metres off the grid, the same for every polygon sharing the point."""
    return (round(x + 0.00002 * math.sin(y * 9000.0), 7), round(y + 0.00002 * math.sin(x * 7000.0), 7))


def cell_polygon(west: float, south: float, size: float, per_side: int) -> dict:
    corners = [(west, south), (west + size, south), (west + size, south + size), (west, south + size)]
    ring = []
    for i, (x0, y0) in enumerate(corners):
        x1, y1 = corners[(i + 1) % 4]
        for k in range(per_side):
            f = k / per_side
            ring.append(list(_nudge(x0 + (x1 - x0) * f, y0 + (y1 - y0) * f)))
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def add_boundaries(engine: Engine, city: City, per_side: int) -> int:
    """Give every SLS a cell of a grid over the city, kelurahan by kelurahan; returns the vertices stored."""
    with engine.connect() as conn:
        sls = conn.execute(select(Area.id, Area.parent_id).where(Area.level == "sls")
                           .order_by(Area.parent_id, Area.id)).all()
    columns = math.ceil(math.sqrt(len(sls)))
    size = SPAN / columns
    centres: dict[int, list[tuple[float, float]]] = {}
    vertices = 0
    with engine.begin() as conn:
        for index, (sls_id, village_id) in enumerate(sls):
            row, column = divmod(index, columns)
            west, south = WEST + column * size, SOUTH + row * size
            polygon = cell_polygon(west, south, size, per_side)
            vertices += len(polygon["coordinates"][0])
            conn.execute(update(Area).where(Area.id == sls_id).values(boundary=polygon))
            centres.setdefault(village_id, []).append((south + size / 2, west + size / 2))
        for village_id, points in centres.items():
            conn.execute(update(Area).where(Area.id == village_id).values(
                centre_latitude=sum(p[0] for p in points) / len(points),
                centre_longitude=sum(p[1] for p in points) / len(points)))
    return vertices


def add_city_coordinator(engine: Engine, city: City) -> tuple[int, int]:
    """(a coordinator of the whole city, a supervisor of one kelurahan): their user ids."""
    with engine.begin() as conn:
        first = conn.scalar(select(User.id).order_by(User.id.desc()).limit(1)) + 1
        conn.execute(insert(User.__table__), [{
            "id": first, "telegram_id": 49_000_000, "first_name": "Koordinator kota", "language": "id",
            "role": "coordinator", "scope_area_id": city.city_area_id, "consent_version": "1",
            "consent_at": city.now, "created_at": city.now}])
        supervisor = conn.scalar(select(User.id).where(User.role == "supervisor",
                                                       User.scope_area_id == city.village_ids[0]))
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))")
    return first, supervisor


async def measure(engine: Engine, city: City, coordinator: int, supervisor: int, runs: int, figures: Figures) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from bot.config import Settings
    from domain import dashboard
    from domain.clock import FakeClock
    from storage.db import make_session_factory
    from storage.uow import SqlUnitOfWork
    from web.app import WebDeps, build_web_app
    from web.map_routes import SHAPES

    factory = make_session_factory(engine)
    uow_factory = lambda: SqlUnitOfWork(factory)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="pintu-bench-media-") as media:
        settings = Settings(invite_secret=SECRET, web_url="http://localhost:8090", media_dir=media)
        app = build_web_app(WebDeps(settings, FakeClock(city.now), uow_factory))

        async def signed_in(user_id: int) -> TestClient:
            client = TestClient(TestServer(app))
            await client.start_server()
            with uow_factory() as uow:
                token = dashboard.issue_link(uow, SECRET, uow.users.get(user_id), city.now)
                uow.commit()
            response = await client.post("/masuk", data={"token": token}, allow_redirects=False)
            if response.status != 303:
                raise RuntimeError(f"sign-in failed: {response.status} {await response.text()}")
            return client

        async def first_view(client: TestClient, paths: list[str], label: str) -> None:
            started = time.perf_counter()
            size = 0
            for path in paths:
                response = await client.get(path)
                body = await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{path}: {response.status} {body[:200]!r}")
                size += len(body)
            figures.timings.setdefault(label, []).append(time.perf_counter() - started)
            figures.sizes[label] = size

        city_code = "64.72"
        city_paths = [f"/peta?area={city_code}", f"/api/peta/sls?area={city_code}"]
        coordinator_client = await signed_in(coordinator)
        try:
            for _ in range(max(3, runs // 4)):
                app[SHAPES].clear()  # a restart: nothing cached
                await first_view(coordinator_client, city_paths, "city first view, cold")
            for _ in range(runs):
                await first_view(coordinator_client, city_paths, "city first view, warm")
        finally:
            await coordinator_client.close()
        with uow_factory() as uow:
            village = uow.areas.get(city.village_ids[0]).code
        village_paths = ["/peta", "/api/peta/sls", "/api/peta/keluarga", "/api/peta/rute"]
        supervisor_client = await signed_in(supervisor)
        try:
            for _ in range(runs):
                await first_view(supervisor_client, village_paths, f"kelurahan first view ({village})")
        finally:
            await supervisor_client.close()


def run(backend: str, args: argparse.Namespace) -> Figures:
    figures = Figures(backend)
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators, seed=args.seed)
            prepare(engine, city, args.seed)
            figures.vertices = add_boundaries(engine, city, args.vertices)
            coordinator, supervisor = add_city_coordinator(engine, city)
            figures.seed_seconds = time.perf_counter() - started
            analyze(engine)
            if engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("VACUUM (ANALYZE) families")
                    conn.exec_driver_sql("VACUUM (ANALYZE) areas")
            asyncio.run(measure(engine, city, coordinator, supervisor, args.runs, figures))
    except ConnectionError as error:
        figures.skipped = str(error)
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"dashboard map: {args.families:,} families, {args.rts:,} SLS with boundaries "
          f"({4 * args.vertices + 1} vertices each), seed {args.seed}; {args.runs} timed runs (cold: "
          f"{max(3, args.runs // 4)}); goal: the city's first view in <= 2 s")
    width = 14
    print(f"{'':<46}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<46}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row("seed (s)", lambda f: f"{f.seed_seconds:.1f}")
    row("boundary vertices stored", lambda f: f"{f.vertices:,}")
    names = next((list(f.timings) for f in all_figures if f.timings), [])
    for name in names:
        for label, pick in (("p50", statistics.median), ("p95", lambda v: percentile(v, 0.95)), ("max", max)):
            row(f"{name} {label} (ms)", lambda f, n=name, p=pick: f"{1000 * p(f.timings[n]):.0f}")
        row(f"{name} (kB sent)", lambda f, n=name: f"{f.sizes[n] / 1000:.0f}")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both",
                        help="which database to measure (default both), e.g. --backend sqlite")
    parser.add_argument("--families", type=int, default=259_000, help="families of the city, e.g. --families 50000")
    parser.add_argument("--rts", type=int, default=2_000, help="SLS (RT) of the city, e.g. --rts 500")
    parser.add_argument("--enumerators", type=int, default=1_327, help="enumerators, e.g. --enumerators 300")
    parser.add_argument("--vertices", type=int, default=30, help="points per edge of each SLS, e.g. --vertices 60")
    parser.add_argument("--runs", type=int, default=20, help="timed runs of each view (default 20), e.g. --runs 5")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the data, e.g. --seed 2")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report([run(backend, args) for backend in backends], args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # keep library chatter out of the figures
    sys.exit(main())
