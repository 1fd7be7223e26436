"""The welfare ranking of a whole Samarinda-size kab/kota: 259,000 families scored, ranked and stored.

    python -m bench ranking [--backend sqlite|postgresql|both] [--families 259000] [--rts 2000]

Seeds Kota Samarinda with bench/coordination_data.py's ``seed_city`` (259,000 families over 2,000 RT),
then gives every family a completed record of the default form (a roster of 1-8 members with their NIKs,
sealed at rest as in production; housing, assets: random, fixed seed). Then it times
``domain.ranking_run.run_ranking`` with the illustrative demo model (forms/ranking/demo-model.yaml):

  - first run: read the answers (NIKs stay sealed), score, rank, write 259,000 rows, count the groups;
  - rerun after 1,000 forum overrides: the same again, the overrides kept;
  - peak Python memory of one run (tracemalloc, in a run of its own: tracing slows it down);
  - the final list of the largest kelurahan (``counts_by_group`` + ``ranks_in_area``).

Figures: seconds per run and the peak memory in MB, per backend.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import time
import tracemalloc
import uuid
from pathlib import Path

try:
    import domain  # noqa: F401 - installed (pip install -e .) or run from the repository root
except ImportError:  # run as a plain script from a checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# PostgreSQL refuses to store KK numbers without a data key; the benchmark's own (never a real one).
os.environ.setdefault("PINTU_DATA_KEY", "bench:YmVuY2gtZGF0YS1rZXktbm90LWEtc2VjcmV0ISEhISE")

from sqlalchemy import Engine, delete, insert, select  # noqa: E402

from bench.coordination_data import City, analyze, seed_city, temporary_database  # noqa: E402
from domain.model import Family, Record  # noqa: E402
from domain.pmt import load_model  # noqa: E402
from domain.ranking_run import run_ranking  # noqa: E402
from storage.db import make_session_factory  # noqa: E402
from storage.uow import SqlUnitOfWork  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "forms" / "ranking" / "demo-model.yaml"
CHOICES = {
    "tenure": ("own", "own", "rent", "rent_free"), "floor": ("ceramic", "tile", "cement", "wood", "earth"),
    "wall": ("masonry", "masonry", "wood", "woven_bamboo"), "roof": ("clay_tile", "zinc", "zinc", "asbestos", "thatch"),
    "water": ("refill", "piped", "borehole", "protected_well", "unprotected_well", "rain"),
    "lighting": ("pln_meter", "pln_meter", "pln_no_meter", "non_pln"), "power": ("450", "900", "1300", "2200"),
    "cooking": ("lpg_3", "lpg_3", "lpg_12", "kerosene", "firewood"), "toilet": ("own", "own", "shared", "public", "none"),
}
ASSETS = ("fridge", "motorcycle", "car", "gas", "ac", "tv", "smartphone", "gold")


def answers_for(rng: random.Random, position: int) -> dict:
    members = rng.randint(1, 8)
    roster = [{"member_name": f"Anggota {m}", "member_nik": f"647201{rng.randint(10, 28):02d}0190{position % 10000:04d}",
               "relation": "head" if m == 0 else "child", "sex": rng.choice(("male", "female")),
               "education": rng.choice(("sd", "smp", "sma", "s1")), "works": rng.choice(("yes", "no")),
               "disability": "yes" if rng.random() < 0.05 else "no"} for m in range(members)]
    result = {"members": str(members), "roster": roster, "floor_area": str(rng.randint(12, 200)),
              "children_under_5": str(rng.randint(0, 2)), "workers": str(sum(r["works"] == "yes" for r in roster))}
    result.update({name: rng.choice(options) for name, options in CHOICES.items()})
    result.update({f"asset_{a}": "yes" if rng.random() < 0.4 else "no" for a in ASSETS})
    return result


def complete_everyone(engine: Engine, city: City, seed: int) -> int:
    """A completed record for every family (replacing the seed's), in chunks."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(delete(Record.__table__))
        family_ids = list(conn.scalars(select(Family.id).order_by(Family.id)))
        for start in range(0, len(family_ids), 5000):
            conn.execute(insert(Record.__table__), [
                {"id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "family_id": family_id,
                 "form_id": "pintu_regsosek_first_visit", "form_version": "2026120202",
                 "answers": answers_for(rng, family_id), "status": "completed", "completed_at": city.now,
                 "version": 1, "created_at": city.now, "updated_at": city.now}
                for family_id in family_ids[start:start + 5000]])
    return len(family_ids)


def timed_run(engine: Engine, city: City, model, trace: bool = False) -> tuple[float, float, object]:
    factory = make_session_factory(engine)
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    with SqlUnitOfWork(factory) as uow:
        result = run_ranking(uow, model, "64.72", city.now)
        uow.commit()
    seconds = time.perf_counter() - started
    peak = 0.0
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return seconds, peak, result


def run(backend: str, args: argparse.Namespace) -> dict:
    model = load_model(DEMO.read_text(encoding="utf-8"))
    figures: dict = {"backend": backend}
    try:
        with temporary_database(backend) as engine:
            started = time.perf_counter()
            city = seed_city(engine, families=args.families, rts=args.rts, enumerators=args.enumerators, seed=args.seed)
            figures["records"] = complete_everyone(engine, city, args.seed)
            analyze(engine)
            figures["seed"] = time.perf_counter() - started
            figures["first"], _, result = timed_run(engine, city, model)
            figures["ranked"], figures["groups"] = result.ranked, result.model_counts
            with SqlUnitOfWork(make_session_factory(engine)) as uow:
                for view in uow.rankings.ranks_in_area("64.72")[:1000]:
                    uow.rankings.override(view.family_id, 1 + view.final_group % 4, "fkp:bench:1")
                uow.commit()
            figures["rerun"], _, result = timed_run(engine, city, model)
            figures["final_groups"] = result.final_counts
            _, figures["peak_mb"], _ = timed_run(engine, city, model, trace=True)
            with SqlUnitOfWork(make_session_factory(engine)) as uow:
                village = max(city.village_ids, key=lambda v: len(uow.supervision.sls_of(v)))
                code = uow.areas.get(village).code
                started = time.perf_counter()
                uow.rankings.counts_by_group(code)
                views = uow.rankings.ranks_in_area(code)
                figures["kelurahan"] = (time.perf_counter() - started, len(views))
    except ConnectionError as error:
        figures["skipped"] = str(error)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--families", type=int, default=259_000)
    parser.add_argument("--rts", type=int, default=2_000)
    parser.add_argument("--enumerators", type=int, default=1_327)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print(f"ranking: {args.families:,} families over {args.rts:,} RT, every one with a completed record; "
          f"model {DEMO.name}")
    for backend in backends:
        f = run(backend, args)
        if "skipped" in f:
            print(f"{backend}: skipped: {f['skipped']}")
            continue
        print(f"{backend}: seed {f['seed']:.0f} s; ranked {f['ranked']:,} of {f['records']:,}; groups {f['groups']}")
        print(f"{backend}: first run {f['first']:.1f} s; rerun with 1,000 overrides kept {f['rerun']:.1f} s "
              f"(final groups {f['final_groups']}); peak Python memory of a run {f['peak_mb']:.0f} MB")
        print(f"{backend}: largest kelurahan's counts and list: {1000 * f['kelurahan'][0]:.0f} ms "
              f"({f['kelurahan'][1]:,} families)")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    sys.exit(main())
