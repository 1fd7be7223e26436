"""Coordination at city scale: the RT head's family list on a Samarinda-size database.

    python -m bench coordination [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000]
                                 [--enumerators 1327] [--queries 400]

Seeds Kota Samarinda (bench/coordination_data.py: seed_city, bulk executemany inserts): 259,000 families
over 2,000 RT, 1,327 enumerators, an RT head per RT, a quarter of the families with a resident on
Telegram, visits, outcomes and completed records in every family status. Then, for RT heads picked at
random (fixed seed), it times:

  - rt list query: what one page of /keluarga reads (count of the RT's families, one page of 8 by head's
    name with the active visits of those families, and the RT's counts per status for the menu);
  - rt list update: the whole /keluarga update through PintuHandlers (user lookup, per-user lock,
    the queries, rendering, conversation save, commit), the page chosen at random in the RT.

Figures: seeding time and rows/s, then p50/p95/max in milliseconds, per backend. SQLite runs on a file
with the production settings, PostgreSQL on a throw-away database (PINTU_BENCH_PG_URL, else
PINTU_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test). Both are ANALYZEd after the load.
"""
from __future__ import annotations

import argparse
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

from sqlalchemy import Engine  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from handlers.app import PintuHandlers  # noqa: E402
from handlers.context import HandlerConfig  # noqa: E402
from chat.events import Incoming, Sender  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

PAGE = 8


@dataclass
class Figures:
    backend: str
    seed_seconds: float = 0.0
    rows: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)  # name -> seconds per run
    skipped: str | None = None


def rt_list_query(uow: SqlUnitOfWork, sls_id: int, page: int) -> int:
    total = uow.coordination.count_in_sls(sls_id)
    rows = uow.coordination.rt_page(sls_id, page * PAGE, PAGE)
    uow.coordination.status_counts(sls_id)
    return total + len(rows)


def measure(engine: Engine, city: City, queries: int, seed: int) -> dict[str, list[float]]:
    factory = make_session_factory(engine)
    uow_factory: Callable[[], SqlUnitOfWork] = lambda: SqlUnitOfWork(factory)  # noqa: E731
    rng = random.Random(seed)
    per_rt = max(1, city.families // len(city.sls_ids))
    pages = max(1, per_rt // PAGE)
    timings: dict[str, list[float]] = {"rt list query": [], "rt list update": []}
    for _ in range(20):  # warm the caches and the connection pool
        with uow_factory() as uow:
            rt_list_query(uow, rng.choice(city.sls_ids), 0)
    for _ in range(queries):
        sls_id = rng.choice(city.sls_ids)
        started = time.perf_counter()
        with uow_factory() as uow:
            rt_list_query(uow, sls_id, rng.randrange(pages))
        timings["rt list query"].append(time.perf_counter() - started)

    handlers = PintuHandlers(uow_factory, FakeClock(city.now), HandlerConfig(invite_secret="bench" * 8, page_size=PAGE))
    for n in range(queries):
        index = rng.randrange(len(city.sls_ids))
        head = city.rt_head_telegram_ids[index]
        sender = Sender(head, "RT")
        page = rng.randrange(pages)
        event = (Incoming(sender, head, text="/keluarga") if page == 0 else
                 Incoming(sender, head, callback_id=f"b{n}", callback_data=f"rt:list:{page}", message_id=1))
        started = time.perf_counter()
        actions = handlers.handle(event)
        timings["rt list update"].append(time.perf_counter() - started)
        if not any("(halaman" in (getattr(a, "text", "") or "") or "(page" in (getattr(a, "text", "") or "")
                   for a in actions):
            raise RuntimeError(f"the RT list did not come back: {actions!r}")
    return timings


def run(backend: str, args: argparse.Namespace) -> Figures:
    figures = Figures(backend)
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators,
                             seed=args.seed)
            figures.seed_seconds = time.perf_counter() - started
            figures.rows = sum(city.rows.values())
            analyze(engine)
            figures.timings = measure(engine, city, args.queries, args.seed)
    except ConnectionError as error:
        figures.skipped = str(error)
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"coordination: {args.families:,} families, {args.rts:,} RT, {args.enumerators:,} enumerators "
          f"(seed {args.seed}); {args.queries} timed runs of each measure, page size {PAGE}")
    width = 14
    print(f"{'':<30}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value: Callable[[Figures], str]) -> None:
        print(f"{label:<30}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row("seed (s)", lambda f: f"{f.seed_seconds:.1f}")
    row("rows inserted", lambda f: f"{f.rows:,}")
    row("rows/s", lambda f: f"{f.rows / f.seed_seconds:,.0f}" if f.seed_seconds else "-")
    names = next((list(f.timings) for f in all_figures if f.timings), [])
    for name in names:
        for label, pick in (("p50", lambda v: statistics.median(v)), ("p95", lambda v: percentile(v, 0.95)),
                            ("max", max)):
            row(f"{name} {label} (ms)", lambda f, n=name, p=pick: f"{1000 * p(f.timings[n]):.2f}")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--families", type=int, default=259_000)
    parser.add_argument("--rts", type=int, default=2_000)
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--queries", type=int, default=400, help="timed runs of each measure (default 400)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    all_figures = [run(backend, args) for backend in backends]
    report(all_figures, args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # keep library chatter out of the figures
    sys.exit(main())
