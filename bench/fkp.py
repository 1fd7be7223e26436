"""The public consultation at city scale: the RT head's list and a forum's decision on a Samarinda-size database.

    python -m bench fkp [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000] [--runs 200]

Seeds Kota Samarinda with bench/coordination_data.py's ``seed_city`` (259,000 families over 2,000 RT, 59
kelurahan), ranks every family (``uow.rankings.replace_kabkota``), plans the forums of every kelurahan
(``domain.fkp.plan_forums``: one per up to 12 RT), gives every RT two proposed moves and every forum a
facilitator with the session open. Then it times whole updates through PintuHandlers (access, queries,
rendering, audit entry, commit), each in its own unit of work, on RTs and forums picked at random (fixed
seed):

  - RT head's list: an RT head pressing ``fk:r:<page>`` (a page of 8 families with their group and his word);
  - decision: a facilitator pressing ``fk:dy:<forum>:f<family>`` (accept; the agenda read, the decision written,
    the next undecided item shown).

Figures: p50/p95/max in milliseconds per backend.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import domain  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, select, update  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from chat.events import Incoming, Sender  # noqa: E402
from domain import fkp  # noqa: E402
from domain.clock import FakeClock  # noqa: E402
from domain.model import Family, FkpForum, FkpParticipant, User  # noqa: E402
from domain.ranking import RankEntry  # noqa: E402
from handlers.app import PintuHandlers  # noqa: E402
from handlers.context import HandlerConfig  # noqa: E402
from storage.crypto import Keyring  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.tables import fkp_proposals  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

FACILITATOR_TG = 50_000_000
SECRET = "bench-invite-secret-" * 3


@dataclass
class Figures:
    backend: str
    seed_seconds: float = 0.0
    forums: int = 0
    timings: dict[str, list[float]] = field(default_factory=dict)
    skipped: str | None = None


def prepare(engine: Engine, city: City, seed: int) -> list[tuple[int, int, list[int]]]:
    """Ranks, forums (open), two moves per RT, a facilitator per forum; returns (forum, facilitator's
    Telegram id, the families it decides) of every forum."""
    rng = random.Random(seed)
    factory = make_session_factory(engine)
    with engine.begin() as conn:
        family_rows = conn.execute(select(Family.id, Family.sls_id).order_by(Family.id)).all()
    with SqlUnitOfWork(factory) as uow:
        uow.rankings.replace_kabkota("64.72", [RankEntry(f, rng.random(), 1 + n % 10, 1 + n % 4)
                                               for n, (f, _) in enumerate(family_rows)],
                                     model_version="bench", ranked_at=city.now)
        at = city.now + dt.timedelta(days=3)  # the preparation window (7 days) is open
        for village_id in city.village_ids:
            fkp.plan_forums(uow, uow.areas.get(village_id), at, "Aula", city.now, SECRET, figures=0)
        uow.commit()
    by_sls: dict[int, list[int]] = {}
    for family_id, sls_id in family_rows:
        by_sls.setdefault(sls_id, []).append(family_id)
    forums = []
    with engine.begin() as conn:
        sls_forum = {s: f for f, s in conn.execute(select(FkpForum.id, FkpParticipant.sls_id)
                                                   .join(FkpParticipant, FkpParticipant.forum_id == FkpForum.id)
                                                   .where(FkpParticipant.role == fkp.RT_HEAD))}
        moves = [{"forum_id": sls_forum[s], "family_id": f, "kind": "move", "proposed_group": 1, "reason": "died",
                  "at": city.now} for s, ids in by_sls.items() if s in sls_forum for f in ids[:2]]
        conn.execute(insert(fkp_proposals), moves)
        conn.execute(update(FkpForum).values(status=fkp.OPEN, opened_at=city.now))
        first = conn.scalar(select(User.id).order_by(User.id.desc()).limit(1)) + 1
        seats = conn.execute(select(FkpParticipant.id, FkpParticipant.forum_id)
                             .where(FkpParticipant.role == fkp.FACILITATOR).order_by(FkpParticipant.id)).all()
        items: dict[int, list[int]] = {}
        for move in moves:
            items.setdefault(move["forum_id"], []).append(move["family_id"])
        for n, (seat_id, forum_id) in enumerate(seats):
            conn.execute(insert(User.__table__).values(id=first + n, telegram_id=FACILITATOR_TG + n, first_name="Lurah",
                                                       language="id", role="resident", consent_version="2026-1",
                                                       consent_at=city.now, created_at=city.now))
            conn.execute(update(FkpParticipant).where(FkpParticipant.id == seat_id).values(user_id=first + n))
            forums.append((forum_id, FACILITATOR_TG + n, items.get(forum_id, [])))
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            conn.execute(text("SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"))
    return forums


def measure(engine: Engine, city: City, forums: list[tuple[int, int, list[int]]], runs: int, seed: int, figures: Figures) -> None:
    factory = make_session_factory(engine)
    rng = random.Random(seed)
    handlers = PintuHandlers(lambda: SqlUnitOfWork(factory), FakeClock(city.now), HandlerConfig(invite_secret=SECRET))

    def press(telegram_id: int, data: str, n: int, expect: str) -> float:
        event = Incoming(Sender(telegram_id, "x"), telegram_id, callback_id=f"b{n}", callback_data=data, message_id=1)
        started = time.perf_counter()
        actions = handlers.handle(event)
        seconds = time.perf_counter() - started
        if not any(expect in (getattr(a, "text", "") or "") for a in actions):
            raise RuntimeError(f"{data}: the expected screen did not come back: {actions!r}")
        return seconds

    for n in range(10):  # warm the caches and the pool
        press(city.rt_head_telegram_ids[rng.randrange(len(city.sls_ids))], "fk:r:0", n, "FKP")
    lists = figures.timings.setdefault("RT head's list page (handler)", [])
    for n in range(runs):
        index = rng.randrange(len(city.sls_ids))
        lists.append(press(city.rt_head_telegram_ids[index], f"fk:r:{rng.randrange(10)}", n, "FKP"))
    decisions = figures.timings.setdefault("decision, accept (handler)", [])
    for n in range(runs):
        forum_id, telegram_id, families = forums[rng.randrange(len(forums))]
        decisions.append(press(telegram_id, f"fk:dy:{forum_id}:f{rng.choice(families)}", n, "/"))


def run(backend: str, args: argparse.Namespace) -> Figures:
    figures = Figures(backend)
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators, seed=args.seed)
            forums = prepare(engine, city, args.seed)
            figures.seed_seconds, figures.forums = time.perf_counter() - started, len(forums)
            analyze(engine)
            measure(engine, city, forums, args.runs, args.seed, figures)
    except ConnectionError as error:
        figures.skipped = str(error)
    return figures


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def report(all_figures: list[Figures], args: argparse.Namespace) -> None:
    print(f"fkp: {args.families:,} families, {args.rts:,} RT (seed {args.seed}); {args.runs} timed updates per measure")
    width = 14
    print(f"{'':<44}" + "".join(f"{f.backend:>{width}}" for f in all_figures))

    def row(label: str, value) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:<44}" + "".join(f"{('-' if f.skipped else value(f)):>{width}}" for f in all_figures))

    row("seed and plan (s)", lambda f: f"{f.seed_seconds:.1f}")
    row("forums", lambda f: f"{f.forums:,}")
    names = next((list(f.timings) for f in all_figures if f.timings), [])
    for name in names:
        for label, pick in (("p50", statistics.median), ("p95", lambda v: percentile(v, 0.95)), ("max", max)):
            row(f"{name} {label} (ms)", lambda f, n=name, p=pick: f"{1000 * p(f.timings[n]):.2f}")
    for f in all_figures:
        if f.skipped:
            print(f"{f.backend}: skipped: {f.skipped}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--families", type=int, default=259_000, help="families of the city (default 259,000)")
    parser.add_argument("--rts", type=int, default=2_000, help="RT of the city (default 2,000)")
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--runs", type=int, default=200, help="timed updates of each measure (default 200)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    # A throwaway data key for the benchmark's own databases (PostgreSQL needs one to encrypt KK numbers).
    os.environ.setdefault("PINTU_DATA_KEY", Keyring.generate("bench").spec())
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    report([run(backend, args) for backend in backends], args)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(main())
