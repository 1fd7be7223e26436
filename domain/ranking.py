"""The welfare ranking: families ordered by their proxy-means score within one kabupaten/kota.

A proxy-means-test (PMT) model (domain/pmt.py reads the model file) gives every family with a completed
record a score, its predicted log consumption per capita: the lower, the poorer. Within a kab/kota the
families are ordered by that score and cut into

- deciles 1–10: ten equal shares of the ranked families (decile 1 the poorest tenth), and
- welfare groups 1–4 (1 Sangat Miskin, 2 Miskin, 3 Rentan Miskin, 4 Tidak Miskin) at the model's
  cut-offs, given as cumulative shares of the ranked families (e.g. 0.10, 0.20, 0.40: group 1 is the
  poorest 10%, group 2 the next 10%, group 3 the next 20%, group 4 the rest).

Where a share falls between two families, the boundary is the nearest whole family, a half rounded up:
with 25 families a 10% cut-off takes round(2.5) = 3. Equal scores are ordered by family id, so the same
scores always give the same ranks (the ranking is reproducible; a tie never depends on the database's
row order). The public consultation (FKP) may then move a family to another group: its ``final_group``.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

GROUPS = (1, 2, 3, 4)
# Catalog keys of the groups' names (chat/locales/*/LC_MESSAGES/fkp.po): "Sangat Miskin", ...
GROUP_KEYS = {1: "rank-group-1", 2: "rank-group-2", 3: "rank-group-3", 4: "rank-group-4"}
DECILES = tuple(range(1, 11))
# BPS's convention for the four groups (P3KE deciles: 1 very poor, 2 poor, 3–4 vulnerable).
DEFAULT_GROUP_CUTOFFS = (0.10, 0.20, 0.40)


@dataclass(frozen=True)
class FamilyScore:
    """A family's score from the PMT model (predicted log consumption per capita; lower is poorer)."""

    family_id: int
    score: float


@dataclass(frozen=True)
class RankEntry:
    """Where a family stands in its kab/kota's ranking, as the model puts it."""

    family_id: int
    score: float
    decile: int
    model_group: int


@dataclass(frozen=True)
class RankView:
    """A stored rank: the model's decile and group, and the group after the consultation.

    ``score`` is for the ranking itself and the operator; never show it to RT heads, residents or forum
    participants (issue 15: "the score is never shown").
    """

    family_id: int
    score: float
    decile: int
    model_group: int
    final_group: int
    overridden: bool
    override_source: str | None = None
    sls_id: int | None = None
    model_version: str = ""


def check_group_cutoffs(cutoffs: Sequence[float]) -> tuple[float, float, float]:
    """Three cumulative shares, strictly increasing, each between 0 and 1; ValueError otherwise."""
    values = tuple(float(share) for share in cutoffs)
    if len(values) != 3:
        raise ValueError(f"group cut-offs need 3 cumulative shares (groups 1, 1–2, 1–3), got {len(values)}")
    if not all(0.0 < share < 1.0 for share in values):
        raise ValueError(f"group cut-offs must lie strictly between 0 and 1, got {list(values)}")
    if not values[0] < values[1] < values[2]:
        raise ValueError(f"group cut-offs must increase (cumulative shares), got {list(values)}")
    return values  # type: ignore[return-value]


def boundary(share: float | Fraction, count: int) -> int:
    """How many of ``count`` ranked families fall at or below the cumulative ``share``: the nearest
    whole family, a half rounded up (exact arithmetic: 0.1 × 25 is 2.5, not 2.4999…)."""
    exact = (Fraction(str(share)) if isinstance(share, float) else Fraction(share)) * count
    return int(exact + Fraction(1, 2)) if exact.denominator != 1 else int(exact)


def rank_kabkota(scores: Iterable[FamilyScore], group_cutoffs: Sequence[float] = DEFAULT_GROUP_CUTOFFS,
                 decile_cutoffs: Sequence[float] | None = None) -> list[RankEntry]:
    """Rank one kab/kota's families: poorest first, deciles and model groups by position.

    ``decile_cutoffs``: 9 cumulative shares ending deciles 1–9 (default: equal tenths)."""
    cutoffs = check_group_cutoffs(group_cutoffs)
    ordered = sorted(scores, key=lambda item: (item.score, item.family_id))
    count = len(ordered)
    decile_shares = [Fraction(n, 10) for n in range(1, 10)] if decile_cutoffs is None else list(decile_cutoffs)
    if len(decile_shares) != 9:
        raise ValueError(f"decile cut-offs need 9 cumulative shares, got {len(decile_shares)}")
    decile_ends = [boundary(share, count) for share in decile_shares] + [count]
    group_ends = [boundary(share, count) for share in cutoffs] + [count]
    entries: list[RankEntry] = []
    decile = group = 1
    for position, item in enumerate(ordered, start=1):
        while position > decile_ends[decile - 1]:
            decile += 1
        while position > group_ends[group - 1]:
            group += 1
        entries.append(RankEntry(item.family_id, item.score, decile, group))
    return entries


def group_counts(groups: Iterable[int]) -> dict[int, int]:
    """How many of each group 1–4 (every group present, zero when empty)."""
    counts = dict.fromkeys(GROUPS, 0)
    for group in groups:
        counts[group] += 1
    return counts
