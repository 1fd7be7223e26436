"""Queries of supervision (progress per area, the review list, exports, campaign windows): issue 6.

Two steps, each an index lookup, on SQLite and PostgreSQL alike:

1. the SLS below an area: a recursive CTE over ``areas`` (a few thousand rows for a whole city; by
   ``ix_areas_parent_id``), each SLS tagged with the child of the area it lies under;
2. the families of those SLS, counted per SLS and status with ``GROUP BY`` and ``sls_id IN (...)``,
   which ``ix_families_sls_status`` answers from the index alone.

(Joining the CTE to ``families`` in one statement made PostgreSQL, which cannot estimate a recursive
CTE, hash the whole families table for every kelurahan.) Only the per-SLS counts are summed in Python;
nothing loops over families.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, func, literal, select
from sqlalchemy.orm import Session, aliased

from domain.geotag import NO_PHOTO, SHARED_NIK, ReviewCounts
from domain.model import (
    Appointment,
    Area,
    CampaignWindow,
    Enumerator,
    EnumeratorAssignment,
    Family,
    Record,
    RecordPhoto,
    VisitOutcome,
)
from storage.tables import member_niks

CHUNK = 5000  # SLS ids per IN list


def _subtree(anchor: Any, name: str):  # type: ignore[no-untyped-def]
    """A recursive CTE (id, unit): the anchor rows and every area below them, each tagged with the anchor
    row (``unit``) it descends from."""
    cte = anchor.cte(name, recursive=True)
    child = aliased(Area)
    return cte.union_all(select(child.id, cte.c.unit).join(cte, child.parent_id == cte.c.id))


# Built once (statement construction costs more than SQLite takes to answer them), run with area_id.
_BELOW_CHILDREN = _subtree(select(Area.id.label("id"), Area.id.label("unit"))
                           .where(Area.parent_id == bindparam("area_id")), "below")
_SLS_BY_UNIT = (select(_BELOW_CHILDREN.c.id, _BELOW_CHILDREN.c.unit)
                .join(Area, Area.id == _BELOW_CHILDREN.c.id).where(Area.level == "sls"))
_BELOW_SELF = _subtree(select(Area.id.label("id"), Area.id.label("unit")).where(Area.id == bindparam("area_id")), "sub")
_SLS_OF = select(_BELOW_SELF.c.id).join(Area, Area.id == _BELOW_SELF.c.id).where(Area.level == "sls")
_AREAS_OF = select(Area).join(_BELOW_SELF, Area.id == _BELOW_SELF.c.id)
_UP = (select(Area.id.label("id"), literal(0).label("depth")).where(Area.id == bindparam("area_id"))
       .cte("up", recursive=True))
_UP = _UP.union_all(select(Area.parent_id, _UP.c.depth + 1).join(_UP, Area.id == _UP.c.id)
                    .where(Area.parent_id.is_not(None), _UP.c.depth < 10))
_ANCESTORS = select(_UP.c.id).order_by(_UP.c.depth)
_IDS = bindparam("ids", expanding=True)
_COUNTS = (select(Family.sls_id, Family.status, func.count()).where(Family.sls_id.in_(_IDS))
           .group_by(Family.sls_id, Family.status))


def _newest():  # type: ignore[no-untyped-def]
    """The record is its family's newest version (no correction replaces it)."""
    newer = aliased(Record)
    return ~exists(select(literal(1)).where(newer.replaces_id == Record.id))


def _review_statements(reviewed: bool):  # type: ignore[no-untyped-def]
    """(flagged geotags, missing photos, shared NIKs): records still to review, or (``reviewed``) those a
    supervisor marked reviewed on the web dashboard (records.reviewed_at)."""
    mark = Record.reviewed_at.is_not(None) if reviewed else Record.reviewed_at.is_(None)
    flagged = (select(Record.id, Record.geo_flag, Record.updated_at, Family.id, Family.head_name, Family.sls_id)
               .join(Family, Family.id == Record.family_id)
               .where(Family.sls_id.in_(_IDS), Record.geo_flag.is_not(None), _newest(), mark))
    missing = (select(Record.id, literal(NO_PHOTO), Record.updated_at, Family.id, Family.head_name, Family.sls_id)
               .join(Family, Family.id == Record.family_id)
               .where(Family.sls_id.in_(_IDS), Family.needs_photo.is_(True), Record.status == "completed", _newest(),
                      ~exists(select(literal(1)).where(RecordPhoto.record_id == Record.id)), mark))
    # Only a family's newest completed record has member_niks rows (domain/records.py keeps them so).
    this, other = member_niks.alias("this_nik"), member_niks.alias("other_nik")
    shared = (select(Record.id, literal(SHARED_NIK), Record.updated_at, Family.id, Family.head_name, Family.sls_id)
              .join(Family, Family.id == Record.family_id)
              .where(Family.sls_id.in_(_IDS), mark, exists(
                  select(literal(1)).select_from(this.join(other, other.c.nik_index == this.c.nik_index))
                  .where(this.c.record_id == Record.id, other.c.family_id != this.c.family_id))))
    return flagged, missing, shared


def _counting(statements):  # type: ignore[no-untyped-def]
    return tuple(select(func.count()).select_from(s.subquery()) for s in statements)


_TO_REVIEW = _review_statements(reviewed=False)
_TO_REVIEW_COUNTS = _counting(_TO_REVIEW)
_REVIEWED = _review_statements(reviewed=True)
_REVIEWED_COUNTS = _counting(_REVIEWED)


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    items = list(ids)
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


class SupervisionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- areas -------------------------------------------------------------------------------------

    def root_areas(self) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.parent_id.is_(None)).order_by(Area.code)).all()

    def children(self, parent_id: int) -> Sequence[Area]:
        return self.session.scalars(select(Area).where(Area.parent_id == parent_id).order_by(Area.code)).all()

    def all_codes(self) -> dict[str, Area]:
        return {a.code: a for a in self.session.scalars(select(Area))}

    def sls_of(self, area_id: int) -> list[int]:
        """The SLS at or below an area."""
        return list(self.session.scalars(_SLS_OF, {"area_id": area_id}))

    def ancestor_ids(self, area_id: int) -> list[int]:
        """The area and the areas above it, nearest first (one recursive query)."""
        return list(self.session.scalars(_ANCESTORS, {"area_id": area_id}))

    def areas_of_subtree(self, area_id: int) -> dict[int, Area]:
        return {a.id: a for a in self.session.scalars(_AREAS_OF, {"area_id": area_id})}

    # --- progress ----------------------------------------------------------------------------------

    def _counts(self, sls_ids: Sequence[int]) -> Iterator[tuple[int, str, int]]:
        for chunk in _chunks(sls_ids):
            yield from self.session.execute(_COUNTS, {"ids": chunk})  # type: ignore[misc]

    def status_by_sls(self, sls_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        """{SLS id: {status: families}} (the index answers it alone)."""
        found: dict[int, dict[str, int]] = {}
        for sls_id, status, count in self._counts(sls_ids):
            found.setdefault(sls_id, {})[status] = count
        return found

    def status_by_unit(self, parent_id: int) -> dict[int, dict[str, int]]:
        """{child area id: {status: families}} for every child of ``parent_id``, over its whole subtree."""
        unit_of = dict(self.session.execute(_SLS_BY_UNIT, {"area_id": parent_id}).all())
        found: dict[int, dict[str, int]] = {}
        for sls_id, status, count in self._counts(list(unit_of)):
            counts = found.setdefault(unit_of[sls_id], {})
            counts[status] = counts.get(status, 0) + count
        return found

    def status_of_area(self, area_id: int, is_sls: bool = False) -> dict[str, int]:
        """{status: families} of an area (and everything below it)."""
        found: dict[str, int] = {}
        for _, status, count in self._counts([area_id] if is_sls else self.sls_of(area_id)):
            found[status] = found.get(status, 0) + count
        return found

    def completions_by_day(self, sls_ids: Sequence[int], timezone: str, since: dt.datetime,
                           ) -> dict[dt.date, int]:
        """{local day: families completed that day} in the SLS, from ``since`` (the day is the area's,
        computed by the database: one row per day comes back, not one per family)."""
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            day = func.date(func.timezone(timezone, Family.status_at))
        else:  # SQLite stores naive UTC text; Indonesia's zones have no daylight saving, so a fixed shift
            from zoneinfo import ZoneInfo

            offset = ZoneInfo(timezone).utcoffset(since.replace(tzinfo=None))
            minutes = int(offset.total_seconds() // 60) if offset is not None else 0
            day = func.date(Family.status_at, f"{minutes:+d} minutes")
        query = (select(day, func.count()).where(Family.sls_id.in_(_IDS), Family.status == "completed",
                                                 Family.status_at >= since).group_by(day))
        found: dict[dt.date, int] = {}
        for chunk in _chunks(sls_ids):
            for value, count in self.session.execute(query, {"ids": chunk}):
                when = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
                found[when] = found.get(when, 0) + count
        return found

    def enumerators_of(self, area_id: int) -> Sequence[Enumerator]:
        """Enumerators assigned to any SLS of the area."""
        ids: set[int] = set()
        for chunk in _chunks(self.sls_of(area_id)):
            ids.update(self.session.scalars(select(EnumeratorAssignment.enumerator_id)
                                            .where(EnumeratorAssignment.sls_id.in_(chunk))))
        if not ids:
            return []
        return self.session.scalars(select(Enumerator).where(Enumerator.id.in_(sorted(ids)))
                                    .order_by(Enumerator.name, Enumerator.id)).all()

    def activity_of(self, enumerator_ids: Sequence[int], since: dt.datetime | None, today_from: dt.datetime,
                    ) -> dict[int, tuple[int, int, dt.datetime | None]]:
        """{enumerator id: (visits since ``since``, visits since ``today_from``, first visit)}: every outcome
        the enumerators recorded at a door (one row per visit attempt), read from
        ix_visit_outcomes_enumerator_recorded alone."""
        found: dict[int, tuple[int, int, dt.datetime | None]] = {}
        for chunk in _chunks(enumerator_ids):
            query = (select(VisitOutcome.enumerator_id, func.count(),
                            func.sum(case((VisitOutcome.recorded_at >= today_from, 1), else_=0)),
                            func.min(VisitOutcome.recorded_at))
                     .where(VisitOutcome.enumerator_id.in_(chunk)).group_by(VisitOutcome.enumerator_id))
            if since is not None:
                query = query.where(VisitOutcome.recorded_at >= since)
            for enumerator_id, total, today, first in self.session.execute(query):
                if first is not None and first.tzinfo is None:
                    first = first.replace(tzinfo=dt.timezone.utc)
                found[enumerator_id] = (int(total), int(today or 0), first)
        return found

    # --- the review list ---------------------------------------------------------------------------

    def review_counts(self, area_id: int, reviewed: bool = False) -> ReviewCounts:
        """Records to review under the area (or, ``reviewed``, marked reviewed): flagged geotags,
        completed without a needed house photo, and with a member's NIK another family's record holds."""
        totals = [0, 0, 0]
        for chunk in _chunks(self.sls_of(area_id)):
            for n, statement in enumerate(_REVIEWED_COUNTS if reviewed else _TO_REVIEW_COUNTS):
                totals[n] += int(self.session.scalar(statement, {"ids": chunk}) or 0)
        return ReviewCounts(*totals)

    def review_page(self, area_id: int, offset: int, limit: int, counts: ReviewCounts | None = None,
                    reviewed: bool = False) -> list[tuple[str, str, dt.datetime, int, str, int]]:
        """One page of the review list: flagged geotags, then missing photos, then shared NIKs, newest
        first within each: (record id, reason, updated at, family id, head's name, SLS id). ``counts``:
        the caller's review_counts, when it has them; ``reviewed``: the records marked reviewed instead."""
        sls_ids = self.sls_of(area_id)
        counts = counts or self.review_counts(area_id, reviewed)
        rows: list[Any] = []
        skip = offset
        for statement, count in zip(_REVIEWED if reviewed else _TO_REVIEW, counts):
            if len(rows) >= limit:
                break
            if skip >= count:
                skip -= count
                continue
            wanted = skip + limit - len(rows)
            found: list[Any] = []
            for chunk in _chunks(sls_ids):  # one chunk for anything smaller than a province
                found += self.session.execute(statement.order_by(Record.updated_at.desc(), Record.id)
                                              .limit(wanted), {"ids": chunk}).all()
            found.sort(key=lambda r: (-r[2].timestamp(), r[0]))
            rows += found[skip:wanted]
            skip = 0
        return [tuple(r) for r in rows]  # type: ignore[misc]

    # --- exports -----------------------------------------------------------------------------------

    def export_families(self, area_id: int) -> Iterator[Any]:
        """Rows (id, sls_id, head_name, kk_number, members, status, status_at, needs_photo, latitude,
        longitude, address) of every family of the area, by SLS code and head's name (plain rows, not objects)."""
        columns = (Family.id, Family.sls_id, Family.head_name, Family.kk_number, Family.members, Family.status,
                   Family.status_at, Family.needs_photo, Family.latitude, Family.longitude, Family.address)
        for chunk in _chunks(sorted(self.sls_of(area_id))):
            yield from self.session.execute(
                select(*columns).join(Area, Area.id == Family.sls_id).where(Family.sls_id.in_(chunk))
                .order_by(Area.code, Family.head_name, Family.id))

    def export_geotags(self, area_id: int) -> dict[int, tuple[float, float, float | None, str | None, int]]:
        """{family id: (latitude, longitude, accuracy, flag, photos)} from each family's newest record with a geotag."""
        photos = (select(func.count()).where(RecordPhoto.record_id == Record.id).correlate(Record)
                  .scalar_subquery())
        found = {}
        for chunk in _chunks(self.sls_of(area_id)):
            rows = self.session.execute(
                select(Record.family_id, Record.latitude, Record.longitude, Record.geo_accuracy_m, Record.geo_flag,
                       photos)
                .join(Family, Family.id == Record.family_id)
                .where(Family.sls_id.in_(chunk), Record.latitude.is_not(None), _newest()))
            found.update({family_id: (lat, lon, acc, flag, int(n or 0)) for family_id, lat, lon, acc, flag, n in rows})
        return found

    def export_visits(self, area_id: int) -> dict[int, tuple[dt.datetime, int]]:
        """{family id: (start, enumerator id)} of the active visits of the area's families."""
        found = {}
        for chunk in _chunks(self.sls_of(area_id)):
            rows = self.session.execute(
                select(Appointment.family_id, Appointment.start_at, Appointment.enumerator_id)
                .join(Family, Family.id == Appointment.family_id)
                .where(Family.sls_id.in_(chunk), Appointment.status == "booked"))
            for family_id, start, enumerator_id in rows:
                if start.tzinfo is None:
                    start = start.replace(tzinfo=dt.timezone.utc)
                found[family_id] = (start, enumerator_id)
        return found

    def export_last_enumerator(self, area_id: int) -> dict[int, int]:
        """{family id: enumerator id} of the last outcome recorded at each family's door."""
        found = {}
        for chunk in _chunks(self.sls_of(area_id)):
            last = (select(VisitOutcome.family_id, func.max(VisitOutcome.id).label("last_id"))
                    .join(Family, Family.id == VisitOutcome.family_id).where(Family.sls_id.in_(chunk))
                    .group_by(VisitOutcome.family_id).subquery())
            rows = self.session.execute(select(VisitOutcome.family_id, VisitOutcome.enumerator_id)
                                        .join(last, and_(VisitOutcome.id == last.c.last_id)))
            found.update({family_id: e for family_id, e in rows if e is not None})
        return found

    def enumerator_names(self) -> dict[int, str]:
        return dict(self.session.execute(select(Enumerator.id, Enumerator.name)).all())  # type: ignore[arg-type]

    # --- campaign windows --------------------------------------------------------------------------

    def windows(self) -> dict[int, CampaignWindow]:
        return {w.area_id: w for w in self.session.scalars(select(CampaignWindow))}

    def save_window(self, area_id: int, starts_on: dt.date, ends_on: dt.date, now: dt.datetime) -> CampaignWindow:
        window = self.session.get(CampaignWindow, area_id)
        if window is None:
            window = CampaignWindow(area_id=area_id, starts_on=starts_on, ends_on=ends_on, updated_at=now)
            self.session.add(window)
        else:
            window.starts_on, window.ends_on, window.updated_at = starts_on, ends_on, now
        self.session.flush()
        return window

    # --- area import -------------------------------------------------------------------------------

    def add_areas(self, areas: Sequence[Area]) -> None:
        self.session.add_all(list(areas))
        self.session.flush()
