"""Running the PMT model over a kab/kota: score, rank, store (``pintu ranking run``).

Every family of the kab/kota with a completed record is scored (domain/pmt.py) and ranked
(domain/ranking.py); the ranking replaces the kab/kota's previous one, the forum's decisions kept
(storage/repositories/rankings.py). The same records and the same model file give the same rows:
the records are read in family order, the terms summed in file order, ties broken by family id.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from domain.model import Family
from domain.pmt import NotScored, PmtModel
from domain.ports import UnitOfWork
from domain.ranking import FamilyScore, rank_kabkota

KABKOTA_LEVEL = "regency"


class RankingAreaError(ValueError):
    """The area named is not a kab/kota the database knows."""


@dataclass(frozen=True)
class RankingRun:
    kabkota_code: str
    kabkota_name: str
    model_version: str
    illustrative: bool
    ranked: int
    model_counts: dict[int, int]
    final_counts: dict[int, int]
    not_scored: list[tuple[int, str]] = field(default_factory=list)  # (family id, why) records lacking an answer
    unranked: list[Family] = field(default_factory=list)  # families of the kab/kota without a rank now


def run_ranking(uow: UnitOfWork, model: PmtModel, kabkota_code: str, now: dt.datetime) -> RankingRun:
    """Score, rank and store one kab/kota in the caller's transaction (the caller commits)."""
    area = uow.areas.by_code(kabkota_code)
    if area is None or area.level != KABKOTA_LEVEL:
        found = f"a {area.level}" if area is not None else "unknown"
        raise RankingAreaError(f"{kabkota_code} is {found}; the ranking runs per kabupaten/kota (e.g. 64.72)")
    scores: list[FamilyScore] = []
    not_scored: list[tuple[int, str]] = []
    for family_id, sls_code, answers in uow.rankings.completed_answers(kabkota_code):
        try:
            score = model.score(answers, sls_code)
        except NotScored as reason:
            not_scored.append((family_id, reason.reason))
            continue
        scores.append(FamilyScore(family_id, score))
    cutoffs = model.cutoffs_for(kabkota_code)
    entries = rank_kabkota(scores, cutoffs.groups, cutoffs.deciles)
    uow.rankings.replace_kabkota(kabkota_code, entries, model_version=model.model_version, ranked_at=now)
    return RankingRun(
        kabkota_code=kabkota_code, kabkota_name=area.name, model_version=model.model_version,
        illustrative=model.illustrative, ranked=len(entries),
        model_counts=uow.rankings.counts_by_group(kabkota_code, final=False),
        final_counts=uow.rankings.counts_by_group(kabkota_code, final=True),
        not_scored=not_scored, unranked=uow.rankings.unranked_families(kabkota_code))
