"""Visits and the busy blocks that make a collision impossible."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import SlotTaken
from domain.model import Appointment, BusyBlock, Family


class AppointmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, appointment_id: int) -> Appointment | None:
        return self.session.get(Appointment, appointment_id)

    def active_for_family(self, family_id: int) -> Appointment | None:
        return self.session.scalar(
            select(Appointment).where(Appointment.family_id == family_id, Appointment.status == "booked")
        )

    def last_visited_for_family(self, family_id: int) -> Appointment | None:
        return self.session.scalar(
            select(Appointment).where(Appointment.family_id == family_id, Appointment.status == "visited")
            .order_by(Appointment.updated_at.desc(), Appointment.id.desc()).limit(1))

    def lock_active_for_family(self, family_id: int, *, tries: int = 5) -> Appointment | None:
        """The family's active appointment, locked until the transaction ends: read it with this
        before changing it (move, cancel).

        A plain read (``active_for_family``) is not enough: on PostgreSQL (READ COMMITTED) two changes
        of one visit would both start from the same 'booked' row, and the second, after waiting for
        the first's row lock, would overwrite its outcome (a cancellation turning the moved row into
        'cancelled' and leaving the new visit booked, a move reviving a cancelled visit, a second
        move failing with a false SlotTaken).

        ``FOR UPDATE`` waits for such a change, then re-checks the row as committed: if the visit
        was moved or cancelled meanwhile it no longer matches and nothing is returned, although the
        family may now have another active visit (the move's new one) that this statement could not
        see. Asking again, in a new statement, finds it. SQLite does not render FOR UPDATE and needs
        none: every transaction begins with BEGIN IMMEDIATE (storage/db.py), so nothing changes in
        between. ``populate_existing`` replaces values this session may have cached earlier.
        """
        active = select(Appointment).where(Appointment.family_id == family_id, Appointment.status == "booked")
        for _ in range(tries):
            found = self.session.scalar(active.with_for_update().execution_options(populate_existing=True))
            if found is not None or self.session.scalar(active.with_only_columns(Appointment.id)) is None:
                return found
        return None  # changed under us again and again: report it as gone rather than wait forever

    def add_with_blocks(self, appointment: Appointment, blocks: Iterable[dt.datetime]) -> Appointment:
        """Insert the visit and claim its blocks; raises IntegrityError on any collision."""
        self.session.add(appointment)
        self.session.flush()
        rows = [{"enumerator_id": appointment.enumerator_id, "block_start": b, "appointment_id": appointment.id}
                for b in blocks]
        if rows:
            # One INSERT with several VALUES rows, not the flush's executemany: psycopg runs an
            # executemany in pipeline mode, and a collision there (an expected outcome of a race)
            # also logged a WARNING "error ignored terminating <psycopg.Pipeline ...>: pipeline
            # aborted" for every lost race on PostgreSQL. Same single round trip, same IntegrityError.
            self.session.execute(insert(BusyBlock).values(rows))
        return appointment

    def claim(self, appointment: Appointment, blocks: Iterable[dt.datetime]) -> Appointment:
        """:meth:`add_with_blocks` in a savepoint of its own: when the database refuses (another process
        took this enumerator's time, or booked this family, meanwhile) only this insert is rolled back
        and SlotTaken raised; the caller tells which of the two it was."""
        try:
            with self.session.begin_nested():
                return self.add_with_blocks(appointment, blocks)
        except IntegrityError:
            raise SlotTaken() from None

    def release_blocks(self, appointment_id: int) -> None:
        self.session.execute(delete(BusyBlock).where(BusyBlock.appointment_id == appointment_id))

    def booked_places(self, enumerator_ids: Iterable[int], start: dt.datetime, end: dt.datetime
                      ) -> list[tuple[int, dt.datetime, dt.datetime, int, float | None, float | None]]:
        """(enumerator, start, end, SLS, latitude, longitude) of the booked visits in [start, end): plain
        rows, no entities, as the travel-aware offers read them on every booking screen."""
        ids = list(enumerator_ids)
        if not ids:
            return []
        rows = self.session.execute(
            select(Appointment.enumerator_id, Appointment.start_at, Appointment.end_at, Family.sls_id,
                   Family.latitude, Family.longitude)
            .join(Family, Family.id == Appointment.family_id)
            .where(Appointment.enumerator_id.in_(ids), Appointment.status == "booked",
                   Appointment.start_at >= start, Appointment.start_at < end)
        ).all()
        return [tuple(row) for row in rows]  # type: ignore[misc]

    def for_enumerators_between(
        self, enumerator_ids: Iterable[int], start: dt.datetime, end: dt.datetime, *, include_visited: bool = False
    ) -> dict[int, list[tuple[Appointment, Family]]]:
        """``for_enumerator_between`` of many enumerators, one query per 500."""
        ids = list(enumerator_ids)
        statuses = ["booked", "visited"] if include_visited else ["booked"]
        found: dict[int, list[tuple[Appointment, Family]]] = {i: [] for i in ids}
        for i in range(0, len(ids), 500):
            rows = self.session.execute(
                select(Appointment, Family)
                .join(Family, Family.id == Appointment.family_id)
                .where(Appointment.enumerator_id.in_(ids[i:i + 500]), Appointment.status.in_(statuses),
                       Appointment.start_at >= start, Appointment.start_at < end)
                .order_by(Appointment.start_at, Appointment.id)
            ).all()
            for appointment, family in rows:
                found[appointment.enumerator_id].append((appointment, family))
        return found

    def for_enumerator_between(
        self, enumerator_id: int, start: dt.datetime, end: dt.datetime, *, include_visited: bool = False
    ) -> list[tuple[Appointment, Family]]:
        statuses = ["booked", "visited"] if include_visited else ["booked"]
        rows = self.session.execute(
            select(Appointment, Family)
            .join(Family, Family.id == Appointment.family_id)
            .where(
                Appointment.enumerator_id == enumerator_id,
                Appointment.status.in_(statuses),
                Appointment.start_at >= start,
                Appointment.start_at < end,
            )
            .order_by(Appointment.start_at)
        ).all()
        return [(a, f) for a, f in rows]
