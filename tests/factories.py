"""Test data built through the repositories: SLS areas with enumerators, families and people.

Everything here commits through a unit of work of its own, so the data is visible to any session
(and any thread) the test opens afterwards, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from domain.model import Area, Enumerator, Family, User
from domain.slots import WorkWeek
from storage.uow import SqlUnitOfWork

UTC = dt.timezone.utc
WIB = ZoneInfo("Asia/Jakarta")  # UTC+7
WITA = ZoneInfo("Asia/Makassar")  # UTC+8

# Sunday 22 November 2026, 18.00 WITA: the two weeks after it hold no public holiday, so every
# working hour from Monday 23 November on is bookable (the 2-hour lead time ends on Sunday night).
SUNDAY_EVENING = dt.datetime(2026, 11, 22, 18, 0, tzinfo=WITA)
MONDAY = dt.date(2026, 11, 23)
TUESDAY = dt.date(2026, 11, 24)
FRIDAY = dt.date(2026, 11, 27)
SUNDAY = dt.date(2026, 11, 29)

_serial = iter(range(10**9))
_serial_lock = threading.Lock()


def serial() -> int:
    with _serial_lock:
        return next(_serial)


def at(day: dt.date, hour: int, minute: int = 0, tz: ZoneInfo = WITA) -> dt.datetime:
    """A local wall-clock time as the UTC instant the database stores."""
    return dt.datetime.combine(day, dt.time(hour, minute), tz).astimezone(UTC)


@dataclass(frozen=True)
class Place:
    """Ids of one SLS (RT) built for a test: its RT head, its enumerators, its families."""

    sls_id: int
    tz: ZoneInfo
    rt_head_id: int
    enumerator_ids: list[int]
    family_ids: list[int]


def make_user(uow: Any, now: dt.datetime, *, role: str = "resident", sls_id: int | None = None,
              family_id: int | None = None) -> User:
    n = serial()
    return uow.users.add(User(
        telegram_id=7_000_000_000 + n, first_name=f"User {n}", language="id", role=role, sls_id=sls_id,
        family_id=family_id, consent_version="1", consent_at=now, created_at=now,
    ))


def make_place(
    uow_factory: Callable[[], SqlUnitOfWork],
    now: dt.datetime,
    *,
    tz: ZoneInfo = WITA,
    enumerators: int = 2,
    families: int = 10,
    visit_minutes: int = 30,
    work_week: WorkWeek | None = None,
    enumerator_users: bool = False,
) -> Place:
    """One village with one SLS in ``tz``, its RT head, ``enumerators`` officers and ``families`` families.

    ``enumerator_users``: give each officer a Telegram user, so bookings also queue outbox messages.
    """
    n = serial()
    with uow_factory() as uow:
        village = uow.areas.add(Area(code=f"T{n}", level="village", name=f"Desa {n}", timezone=tz.key))
        sls = uow.areas.add(Area(code=f"T{n}.0001", level="sls", name="RT 001", parent_id=village.id,
                                 timezone=tz.key))
        rt_head = make_user(uow, now, role="rt_head", sls_id=sls.id)
        enumerator_ids = []
        for i in range(enumerators):
            user_id = make_user(uow, now, role="enumerator").id if enumerator_users else None
            enumerator_ids.append(uow.enumerators.add(
                Enumerator(name=f"PPL {n}-{i}", user_id=user_id, visit_minutes=visit_minutes,
                           work_week=work_week.to_json() if work_week else None),
                [sls.id],
            ).id)
        family_ids = add_families(uow, sls.id, families, now)
        uow.commit()
        return Place(sls.id, tz, rt_head.id, enumerator_ids, family_ids)


def add_families(uow: Any, sls_id: int, count: int, now: dt.datetime) -> list[int]:
    ids = []
    for _ in range(count):
        # zero-padded: pages list families by name, and the serial is shared by every test of the run
        n = serial()
        ids.append(uow.families.add(Family(sls_id=sls_id, head_name=f"Kepala {n:06d}", kk_number=f"99{n:014d}",
                                           members=3, created_at=now)).id)
    return ids


def resident_of(uow_factory: Callable[[], SqlUnitOfWork], place: Place, family_id: int, now: dt.datetime) -> int:
    """A resident user belonging to ``family_id``; returns the user's id."""
    with uow_factory() as uow:
        user = make_user(uow, now, sls_id=place.sls_id, family_id=family_id)
        uow.commit()
        return user.id


@dataclass
class Outcome:
    """What one concurrent attempt ended with: a result, or the exception it raised."""

    index: int
    result: Any = None
    error: BaseException | None = None


def race(attempts: Sequence[Callable[[], Any]], *, timeout: float = 60.0) -> list[Outcome]:
    """Run every attempt in its own thread, all released at once by a barrier; collect the outcomes.

    Each attempt must open its own unit of work (one session, one connection) - sessions are not
    thread-safe, and separate connections are what make the race real.
    """
    barrier = threading.Barrier(len(attempts))
    outcomes = [Outcome(i) for i in range(len(attempts))]

    def run(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i].result = attempts[i]()
        except BaseException as error:  # noqa: BLE001 - every outcome is inspected by the caller
            outcomes[i].error = error

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t for t in threads if t.is_alive()]
    if stuck:
        raise AssertionError(f"{len(stuck)} of {len(threads)} attempts still running after {timeout}s")
    return outcomes


def roster_answers(names: Sequence[str]) -> dict[str, str]:
    """Answers to the default form's member roster (forms/default), by key, the first member the head:
    adult women who work, no disability; each NIK as Dukcapil issues it (Palaran, Samarinda; the birth
    date with 40 added to the day), so the form's NIK checks hold."""
    answers: dict[str, str] = {}
    for position, name in enumerate(names, start=1):
        year = 1980 + position
        member = {"member_name": name, "member_nik": f"6472015501{year % 100:02d}{position:04d}",
                  "relation": "head" if position == 1 else "child", "sex": "female",
                  "birth_date": f"{1980 + position}-01-15", "marital": "married" if position == 1 else "single",
                  "education": "sma", "works": "yes", "disability": "no"}
        answers.update({f"{key}[{position}]": value for key, value in member.items()})
    return answers
