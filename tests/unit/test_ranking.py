"""Ranking within a kab/kota: deciles and groups by position, hand-computed (domain/ranking.py)."""
from __future__ import annotations

import pytest

from domain.ranking import FamilyScore, boundary, check_group_cutoffs, group_counts, rank_kabkota


def ranks(scores: list[float], cutoffs=(0.10, 0.20, 0.40)) -> dict[int, tuple[int, int]]:
    entries = rank_kabkota([FamilyScore(i + 1, s) for i, s in enumerate(scores)], cutoffs)
    return {e.family_id: (e.decile, e.model_group) for e in entries}


def test_ten_families_one_per_decile_poorest_first() -> None:
    # scores given richest first: family 10 (score 1.0) is the poorest
    result = ranks([10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0])
    assert [result[f][0] for f in range(10, 0, -1)] == list(range(1, 11))
    # 10%: 1 family in group 1; 20%: the 2nd in group 2; 40%: the 3rd and 4th in group 3; rest group 4
    assert [result[f][1] for f in range(10, 0, -1)] == [1, 2, 3, 3, 4, 4, 4, 4, 4, 4]


def test_boundaries_round_half_up_exactly() -> None:
    # 0.1 x 25 = 2.5 -> 3 (a float product would be 2.5000000000000004 or 2.4999...: exact arithmetic)
    assert boundary(0.1, 25) == 3
    assert boundary(0.1, 24) == 2   # 2.4
    assert boundary(0.3, 5) == 2    # 1.5 -> 2
    assert boundary(0.2, 5) == 1


def test_twenty_five_families_group_sizes() -> None:
    result = ranks([float(i) for i in range(25)])
    counts = group_counts(g for _, g in result.values())
    # cut-offs at round(2.5)=3, round(5)=5, round(10)=10 families
    assert counts == {1: 3, 2: 2, 3: 5, 4: 15}
    deciles = sorted(d for d, _ in result.values())
    # decile ends at round(2.5k): 3, 5, 8, 10, 13, 15, 18, 20, 23, 25
    assert [deciles.count(d) for d in range(1, 11)] == [3, 2, 3, 2, 3, 2, 3, 2, 3, 2]


def test_ties_are_broken_by_family_id_the_same_way_every_time() -> None:
    scores = [FamilyScore(7, 2.0), FamilyScore(3, 2.0), FamilyScore(5, 1.0), FamilyScore(9, 2.0)]
    once = rank_kabkota(scores, (0.25, 0.5, 0.75))
    again = rank_kabkota(list(reversed(scores)), (0.25, 0.5, 0.75))
    assert once == again
    assert [(e.family_id, e.model_group) for e in once] == [(5, 1), (3, 2), (7, 3), (9, 4)]


def test_empty_kabkota_ranks_nobody() -> None:
    assert rank_kabkota([]) == []


@pytest.mark.parametrize("cutoffs, message", [
    ((0.1, 0.2), "3 cumulative shares"),
    ((0.0, 0.2, 0.4), "between 0 and 1"),
    ((0.1, 0.4, 0.2), "must increase"),
    ((0.1, 0.2, 1.0), "between 0 and 1"),
])
def test_bad_cutoffs_are_refused_with_the_reason(cutoffs, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_group_cutoffs(cutoffs)
