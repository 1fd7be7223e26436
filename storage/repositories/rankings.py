"""The welfare ranking's rows (storage/tables.py ``welfare_ranks``; rules in domain/ranking.py).

Areas are named by code prefix: "64.72" is the kab/kota, "64.72.01.1001" a kelurahan, a full SLS code
one SLS; a prefix matches the code itself and the codes below it ("64.7" never matches "64.72").
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Select, delete, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from domain.model import Family
from domain.ranking import GROUPS, RankEntry, RankView
from storage.tables import areas, families, records, welfare_ranks

INSERT_BATCH = 5000
IN_BATCH = 900  # below SQLite's limit of bound parameters per statement


def in_area(code_column: Any, prefix: str) -> Any:
    """The code is the prefix itself or lies below it (a dot follows the prefix)."""
    return or_(code_column == prefix, code_column.like(f"{prefix}.%"))


class RankingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- writing ------------------------------------------------------------------------------------
    def replace_kabkota(self, kabkota_code: str, entries: Iterable[RankEntry], *, model_version: str,
                        ranked_at: dt.datetime) -> int:
        """Store a new ranking of the kab/kota in place of the old one; returns how many rows.

        A family the consultation moved keeps its final group and the decision's source. A moved family
        no longer in the ranking (its record was erased, say) keeps its old row, so that no forum
        decision is lost silently; any other family no longer ranked loses its row.
        """
        rows = self.session.execute(select(welfare_ranks.c.family_id, welfare_ranks.c.final_group,
                                           welfare_ranks.c.override_source)
                                    .where(welfare_ranks.c.kabkota_code == kabkota_code,
                                           welfare_ranks.c.override_source.is_not(None))).all()
        overrides = {row.family_id: (row.final_group, row.override_source) for row in rows}
        new_rows: list[dict[str, Any]] = []
        for entry in entries:
            final_group, source = overrides.get(entry.family_id, (entry.model_group, None))
            new_rows.append({"family_id": entry.family_id, "kabkota_code": kabkota_code, "score": entry.score,
                             "decile": entry.decile, "model_group": entry.model_group, "final_group": final_group,
                             "override_source": source, "model_version": model_version, "ranked_at": ranked_at})
        # Unmoved rows of the kab/kota go; then any row of a family ranked now (a moved one, or one ranked
        # before under another kab/kota code); moved families no longer ranked stay as they were.
        self.session.execute(delete(welfare_ranks).where(welfare_ranks.c.kabkota_code == kabkota_code,
                                                         welfare_ranks.c.override_source.is_(None)))
        for start in range(0, len(new_rows), IN_BATCH):
            chunk = [row["family_id"] for row in new_rows[start:start + IN_BATCH]]
            self.session.execute(delete(welfare_ranks).where(welfare_ranks.c.family_id.in_(chunk)))
        for start in range(0, len(new_rows), INSERT_BATCH):
            self.session.execute(welfare_ranks.insert(), new_rows[start:start + INSERT_BATCH])
        return len(new_rows)

    def override(self, family_id: int, group: int, source: str) -> bool:
        """Set the family's final group from a decision (``source``, e.g. "fkp:<forum>:<decision>");
        False if the family is not ranked."""
        if group not in GROUPS:
            raise ValueError(f"welfare group must be 1–4, got {group}")
        result = self.session.execute(update(welfare_ranks).where(welfare_ranks.c.family_id == family_id)
                                      .values(final_group=group, override_source=source))
        return bool(result.rowcount)

    def clear_override(self, family_id: int) -> bool:
        """Back to the model's group (a decision withdrawn); False if the family is not ranked."""
        result = self.session.execute(update(welfare_ranks).where(welfare_ranks.c.family_id == family_id)
                                      .values(final_group=welfare_ranks.c.model_group, override_source=None))
        return bool(result.rowcount)

    # --- reading --------------------------------------------------------------------------------------
    def _views(self) -> Select[Any]:
        return (select(welfare_ranks, families.c.sls_id)
                .join(families, families.c.id == welfare_ranks.c.family_id))

    @staticmethod
    def _view(row: Any) -> RankView:
        return RankView(family_id=row.family_id, score=row.score, decile=row.decile, model_group=row.model_group,
                        final_group=row.final_group, overridden=row.override_source is not None,
                        override_source=row.override_source, sls_id=row.sls_id, model_version=row.model_version)

    def ranks_for_families(self, family_ids: Sequence[int]) -> dict[int, RankView]:
        found: dict[int, RankView] = {}
        ids = list(family_ids)
        for start in range(0, len(ids), IN_BATCH):
            query = self._views().where(welfare_ranks.c.family_id.in_(ids[start:start + IN_BATCH]))
            found.update((row.family_id, self._view(row)) for row in self.session.execute(query))
        return found

    def ranks_in_area(self, area_code_prefix: str) -> list[RankView]:
        """Every ranked family of the area (an SLS, a kelurahan, ...), by SLS code then family id."""
        query = (self._views().join(areas, areas.c.id == families.c.sls_id)
                 .where(in_area(areas.c.code, area_code_prefix)).order_by(areas.c.code, welfare_ranks.c.family_id))
        return [self._view(row) for row in self.session.execute(query)]

    def counts_by_group(self, area_code_prefix: str, final: bool = True) -> dict[int, int]:
        """Families of the area per group 1–4 (every group present): the final groups, or the model's."""
        group = welfare_ranks.c.final_group if final else welfare_ranks.c.model_group
        query = (select(group, func.count()).select_from(welfare_ranks)
                 .join(families, families.c.id == welfare_ranks.c.family_id)
                 .join(areas, areas.c.id == families.c.sls_id)
                 .where(in_area(areas.c.code, area_code_prefix)).group_by(group))
        counts = dict.fromkeys(GROUPS, 0)
        counts.update({int(key): int(value) for key, value in self.session.execute(query)})
        return counts

    def counts_by_sls(self, area_code_prefix: str, final: bool = True) -> dict[int, dict[int, int]]:
        """Per SLS id of the area, its families per group 1–4 (only SLS with a ranked family)."""
        group = welfare_ranks.c.final_group if final else welfare_ranks.c.model_group
        query = (select(families.c.sls_id, group, func.count()).select_from(welfare_ranks)
                 .join(families, families.c.id == welfare_ranks.c.family_id)
                 .join(areas, areas.c.id == families.c.sls_id)
                 .where(in_area(areas.c.code, area_code_prefix)).group_by(families.c.sls_id, group))
        counts: dict[int, dict[int, int]] = {}
        for sls_id, key, value in self.session.execute(query):
            counts.setdefault(sls_id, dict.fromkeys(GROUPS, 0))[int(key)] = int(value)
        return counts

    def unranked_families(self, area_code_prefix: str) -> list[Family]:
        """Families of the area with no rank (no completed record when the model last ran), by SLS code."""
        query = (select(Family).join(areas, areas.c.id == Family.sls_id)
                 .outerjoin(welfare_ranks, welfare_ranks.c.family_id == Family.id)
                 .where(in_area(areas.c.code, area_code_prefix), welfare_ranks.c.family_id.is_(None))
                 .order_by(areas.c.code, Family.id))
        return list(self.session.scalars(query))

    def final_list(self, area_code_prefix: str) -> Iterator[tuple[int, int, str, int, bool]]:
        """(family id, SLS id, head's name, final group, moved by the forum) of every ranked family of the
        area, by SLS code then head's name: the final list (never the score)."""
        query = (select(families.c.id, families.c.sls_id, families.c.head_name, welfare_ranks.c.final_group,
                        welfare_ranks.c.override_source.is_not(None).label("overridden"))
                 .join(welfare_ranks, welfare_ranks.c.family_id == families.c.id)
                 .join(areas, areas.c.id == families.c.sls_id)
                 .where(in_area(areas.c.code, area_code_prefix))
                 .order_by(areas.c.code, families.c.head_name, families.c.id))
        for row in self.session.execute(query.execution_options(yield_per=5000)):
            yield row.id, row.sls_id, row.head_name, row.final_group, bool(row.overridden)

    def completed_answers(self, area_code_prefix: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(family id, its SLS code, answers) of the newest completed record of each family of the area, by family id:
        what the model scores. Streamed, so a kab/kota of 259,000 families is never all in memory.

        The answers are read as stored: NIK answers stay sealed (the model needs no identifying answer,
        and 259,000 decryptions would cost time for nothing)."""
        query = (select(records.c.family_id, areas.c.code, type_coerce(records.c.answers, JSON).label("answers"))
                 .join(families, families.c.id == records.c.family_id)
                 .join(areas, areas.c.id == families.c.sls_id)
                 .where(records.c.status == "completed", in_area(areas.c.code, area_code_prefix))
                 .order_by(records.c.family_id, records.c.version.desc(), records.c.completed_at.desc()))
        previous: int | None = None
        for row in self.session.execute(query.execution_options(yield_per=2000)):
            if row.family_id != previous:  # the first row of a family is its newest completed record
                previous = row.family_id
                yield row.family_id, row.code, row.answers
