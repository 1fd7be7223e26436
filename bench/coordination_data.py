"""A Samarinda-size data set for the coordination and supervision benchmarks.

    seed_city(engine, families=259_000, rts=2_000, enumerators=1_327, seed=1) -> City

Kota Samarinda (64.72) has 10 kecamatan and 59 kelurahan; the RT (SLS) are spread over the kelurahan,
the families over the RT, every RT has one or two enumerators (``rt % enumerators`` and, for every
third RT, the next one too), one RT head (a Telegram user) and a quarter of the families one resident
on Telegram. The clock stands at Sunday 22 November 2026, 18.00 WITA (``City.now``): field work
started two weeks before, so families are spread over every status with matching rows:

    not_contacted 36%, booked 24% (an active visit in the next days), visited 12%, completed 16%
    (a completed record), not_home 5%, refused 3%, moved 2%, not_found 2%

Visits before ``now`` carry the outcome the enumerator recorded (``visit_outcomes``), one per visited,
completed, not_home, refused, moved and not_found family. Each enumerator's visits are laid out one
after another on the 30-minute grid (Mon-Sat 08.00-16.00 local), so their busy blocks never collide.

Rows go in with Core ``insert`` executemany in chunks (SQLAlchemy's insertmanyvalues: one statement per
~1,000 rows on PostgreSQL and SQLite), ids chosen here; on PostgreSQL the id sequences are moved past
them afterwards so that later ORM inserts work. The schema must exist (``storage.db.create_schema``)
and should be empty. Names and KK numbers are synthetic; the data is the same for the same ``seed``.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import secrets
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, make_url, text

from domain.model import (
    Appointment,
    Area,
    BusyBlock,
    Enumerator,
    EnumeratorAssignment,
    Family,
    Record,
    User,
    VisitOutcome,
)
from domain.privacy import current_notice

WITA = ZoneInfo("Asia/Makassar")
TZ_NAME = "Asia/Makassar"
NOW = dt.datetime(2026, 11, 22, 18, 0, tzinfo=WITA).astimezone(dt.timezone.utc)
FIELD_START = dt.date(2026, 11, 9)  # Monday, two weeks before NOW
FUTURE_START = dt.date(2026, 11, 23)  # Monday after NOW
SLOTS_PER_DAY = 16  # 08.00-16.00, 30 minutes
CHUNK = 10_000

DISTRICTS = ["Palaran", "Samarinda Seberang", "Samarinda Ulu", "Samarinda Ilir", "Samarinda Utara",
             "Sungai Kunjang", "Sambutan", "Sungai Pinang", "Samarinda Kota", "Loa Janan Ilir"]
FIRST = ["Ahmad", "Siti", "Budi", "Dewi", "Eko", "Fitri", "Gunawan", "Hartini", "Irfan", "Joko", "Kartika",
         "Lukman", "Maya", "Nur", "Oki", "Putri", "Rahmat", "Sri", "Taufik", "Umi", "Wahyu", "Yuliana",
         "Zainal", "Agus", "Bambang", "Citra", "Darmawan", "Endang", "Faisal", "Hendra", "Rina", "Slamet"]
LAST = ["Yani", "Aminah", "Santoso", "Lestari", "Prasetyo", "Handayani", "Hakim", "Susilo", "Sari",
        "Puspita", "Hidayah", "Setiawan", "Ayu", "Hidayat", "Wahyuni", "Rahman", "Kalsum", "Nugroho",
        "Abidin", "Salim", "Sutrisno", "Kirana", "Susanti", "Basri", "Saputra", "Wijaya", "Pratama", ""]
# (status, cumulative share out of 100)
STATUS_SHARES = [("not_contacted", 36), ("booked", 60), ("visited", 72), ("completed", 88), ("not_home", 93),
                 ("refused", 96), ("moved", 98), ("not_found", 100)]
OUTCOME_OF = {"visited": "done", "completed": "done", "not_home": "not_home", "refused": "refused",
              "moved": "moved", "not_found": "not_found"}


@dataclass
class City:
    """What was seeded: ids and codes the benchmarks query with."""

    now: dt.datetime
    city_area_id: int
    district_ids: list[int]
    village_ids: list[int]
    sls_ids: list[int]
    sls_codes: list[str]
    enumerator_ids: list[int]
    rt_head_telegram_ids: list[int]  # index i: the RT head of sls_ids[i]
    families: int
    status_counts: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows inserted


def kk_for(index: int, district: int) -> str:
    """A structurally valid, unique KK number: 6472DD, an issue date, a serial 0001-9999."""
    serial = index % 9999 + 1
    date_index = index // 9999
    day, month = 1 + date_index % 28, 1 + (date_index // 28) % 12
    year = 10 + date_index // 336
    return f"6472{district:02d}{day:02d}{month:02d}{year:02d}{serial:04d}"


def _work_slot(first_day: dt.date, k: int) -> dt.datetime:
    """The k-th 30-minute working slot (Mon-Sat 08.00-16.00 WITA) from ``first_day`` on, in UTC."""
    day_index, slot = divmod(k, SLOTS_PER_DAY)
    weeks, weekday = divmod(day_index, 6)  # six working days a week, first_day is a Monday
    day = first_day + dt.timedelta(days=7 * weeks + weekday)
    local = dt.datetime.combine(day, dt.time(8, 0), WITA) + dt.timedelta(minutes=30 * slot)
    return local.astimezone(dt.timezone.utc)


def _half_day_slot(first_day: dt.date, k: int) -> dt.datetime:
    """The k-th booked visit on half-booked days: eight a day, the mornings (08.00-12.00) of even days
    from ``first_day``, the afternoons of odd ones."""
    day_index, nth = divmod(k, SLOTS_PER_DAY // 2)
    return _work_slot(first_day, day_index * SLOTS_PER_DAY + nth + (SLOTS_PER_DAY // 2) * (day_index % 2))


def _house(rng: random.Random, centre: tuple[float, float], index: int, gaps: bool) -> dict[str, float | None]:
    """A family's coordinates: anywhere in the city (the default data set), or near its RT's centre."""
    latitude, longitude = rng.random(), rng.random()  # drawn either way: the rest of the data stays the same
    if not gaps:
        return {"latitude": round(-0.5 + latitude * 0.2, 6), "longitude": round(117.1 + longitude * 0.2, 6)}
    if index % 5 >= 3:
        return {"latitude": None, "longitude": None}
    return {"latitude": round(centre[0] + (latitude - 0.5) * 0.0045, 6),
            "longitude": round(centre[1] + (longitude - 0.5) * 0.0045, 6)}


def seed_city(engine: Engine, families: int = 259_000, rts: int = 2_000, enumerators: int = 1_327,
              seed: int = 1, gaps: bool = False) -> City:
    """Fill an empty, migrated database with a city; return what it holds (see the module doc).

    ``gaps`` (bench/daily.py): the days ahead are half booked (the mornings of one day, the afternoons of
    the next: :func:`_half_day_slot`), and houses lie within 250 m of their RT's centre, three in five of
    them located (the others without coordinates yet), so the daily routes have families to fit in."""
    rng = random.Random(seed)
    centres = random.Random(seed + 1)
    rt_centre = [(-0.5 + centres.random() * 0.2, 117.1 + centres.random() * 0.2) for _ in range(rts)]
    now = NOW
    rows: dict[str, list[dict]] = {name: [] for name in (
        "areas", "users", "residents", "enumerators", "enumerator_assignments", "families", "appointments", "busy_blocks",
        "visit_outcomes", "records")}

    # --- areas: city, 10 kecamatan, 59 kelurahan, the RT --------------------------------------------
    area_id = 0

    def area(code: str, level: str, name: str, parent: int | None) -> int:
        nonlocal area_id
        area_id += 1
        rows["areas"].append({"id": area_id, "code": code, "level": level, "name": name, "parent_id": parent,
                              "timezone": TZ_NAME})
        return area_id

    province = area("64", "province", "Kalimantan Timur", None)
    city = area("64.72", "regency", "Kota Samarinda", province)
    district_ids = [area(f"64.72.{d + 1:02d}", "district", name, city) for d, name in enumerate(DISTRICTS)]
    village_ids, village_district = [], []
    for v in range(59):
        d = v % len(DISTRICTS)
        village_ids.append(area(f"64.72.{d + 1:02d}.{1001 + v // len(DISTRICTS)}", "village", f"Kelurahan {v + 1}",
                                district_ids[d]))
        village_district.append(d)
    sls_ids, sls_codes, sls_district = [], [], []
    for r in range(rts):
        v = r % len(village_ids)
        parent_code = rows["areas"][village_ids[v] - 1]["code"]
        code = f"{parent_code}.{r // len(village_ids) + 1:04d}"
        sls_ids.append(area(code, "sls", f"RT {r // len(village_ids) + 1:03d}", village_ids[v]))
        sls_codes.append(code)
        sls_district.append(village_district[v] + 1)

    # --- users: RT heads, enumerators; residents later --------------------------------------------
    user_id = 0

    def user(telegram_id: int, name: str, role: str, sls: int | None, family: int | None) -> int:
        nonlocal user_id
        user_id += 1
        rows["users" if family is None else "residents"].append({"id": user_id, "telegram_id": telegram_id, "first_name": name, "language": "id",
                              "role": role, "sls_id": sls, "family_id": family, "consent_version": current_notice(role),
                              "consent_at": now - dt.timedelta(days=20), "blocked_at": None,
                              "created_at": now - dt.timedelta(days=20)})
        return user_id

    rt_head_tg = []
    for i, sls in enumerate(sls_ids):
        rt_head_tg.append(10_000_000 + i)
        user(10_000_000 + i, f"{rng.choice(FIRST)} (RT)", "rt_head", sls, None)
    enumerator_ids = list(range(1, enumerators + 1))
    for e in enumerator_ids:
        uid = user(20_000_000 + e, rng.choice(FIRST), "enumerator", None, None)
        rows["enumerators"].append({"id": e, "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}".strip(),
                                    "user_id": uid, "visit_minutes": 30, "work_week": None})
    rt_enumerators: list[list[int]] = []
    for r, sls in enumerate(sls_ids):
        assigned = [enumerator_ids[r % enumerators]]
        if r % 3 == 0 and enumerators > 1:
            assigned.append(enumerator_ids[(r + 1) % enumerators])
        rt_enumerators.append(assigned)
        for e in assigned:
            rows["enumerator_assignments"].append({"enumerator_id": e, "sls_id": sls})

    # --- families with their statuses, visits, outcomes and records -------------------------------
    past_k = {e: 0 for e in enumerator_ids}
    future_k = {e: 0 for e in enumerator_ids}
    appointment_id = outcome_id = 0
    status_counts: dict[str, int] = {}
    past_limit = 12 * SLOTS_PER_DAY  # two working weeks before NOW
    for f in range(families):
        family_id = f + 1
        r = f % rts
        roll = rng.randrange(100)
        status = next(s for s, share in STATUS_SHARES if roll < share)
        enumerator = rt_enumerators[r][rng.randrange(len(rt_enumerators[r]))]
        appointment = None
        when = None
        if status == "booked":
            start = (_half_day_slot if gaps else _work_slot)(FUTURE_START, future_k[enumerator])
            future_k[enumerator] += 1
            appointment = start
        elif status != "not_contacted":
            if past_k[enumerator] < past_limit:
                start = _work_slot(FIELD_START, past_k[enumerator])
                past_k[enumerator] += 1
                appointment = start
            else:
                start = now - dt.timedelta(days=1 + rng.randrange(10), hours=rng.randrange(8))
            when = start + dt.timedelta(minutes=30)
        status_at = (when or (now - dt.timedelta(days=rng.randrange(1, 10)))) if status != "not_contacted" else None
        rows["families"].append({
            "id": family_id, "sls_id": sls_ids[r], "head_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}".strip(),
            "kk_number": kk_for(f, sls_district[r]), "members": 1 + rng.randrange(7),
            "address": f"Jl. {rng.choice(LAST) or 'Mawar'} No. {1 + rng.randrange(200)}",
            **_house(rng, rt_centre[r], f, gaps),
            "registered_by_user_id": None, "created_at": now - dt.timedelta(days=21),
            "status": status, "status_at": status_at,
        })
        status_counts[status] = status_counts.get(status, 0) + 1
        resident = None
        if f % 4 == 0:
            resident = user(30_000_000 + f, rng.choice(FIRST), "resident", sls_ids[r], family_id)
        if appointment is not None:
            appointment_id += 1
            rows["appointments"].append({
                "id": appointment_id, "family_id": family_id, "enumerator_id": enumerator, "start_at": appointment,
                "end_at": appointment + dt.timedelta(minutes=30), "status": "booked", "booked_by_user_id": resident,
                "replaced_by_id": None, "confirmed_at": None, "created_at": now - dt.timedelta(days=15),
                "updated_at": now - dt.timedelta(days=15)})
            for b in (0, 15):
                rows["busy_blocks"].append({"enumerator_id": enumerator,
                                            "block_start": appointment + dt.timedelta(minutes=b),
                                            "appointment_id": appointment_id})
        if status in OUTCOME_OF:
            outcome_id += 1
            rows["visit_outcomes"].append({
                "id": outcome_id, "family_id": family_id,
                "appointment_id": appointment_id if appointment is not None else None,
                "enumerator_id": enumerator, "outcome": OUTCOME_OF[status], "note": None, "recorded_at": when,
                "recorded_by_user_id": rts + enumerator})  # the enumerator's user (after the RT heads)
        if status == "completed":
            rows["records"].append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "family_id": family_id,
                "form_id": "regsosek_vk1", "form_version": "2026.1", "answers": {"members": 1 + f % 7},
                "latitude": None, "longitude": None, "geo_accuracy_m": None, "geo_source": None,
                "geo_captured_at": None, "status": "completed", "completed_at": when + dt.timedelta(minutes=5),
                "consent_version": current_notice("resident"), "consent_at": when,
                "appointment_id": appointment_id if appointment is not None else None,
                "enumerator_id": enumerator, "version": 1, "replaces_id": None,
                "created_at": when, "updated_at": when + dt.timedelta(minutes=5)})

    tables = [("areas", Area), ("users", User), ("enumerators", Enumerator),
              ("enumerator_assignments", EnumeratorAssignment), ("families", Family), ("residents", User),
              ("appointments", Appointment),
              ("busy_blocks", BusyBlock), ("visit_outcomes", VisitOutcome), ("records", Record)]
    with engine.begin() as conn:
        for name, model in tables:
            batch = rows[name]
            for i in range(0, len(batch), CHUNK):
                conn.execute(insert(model.__table__), batch[i:i + CHUNK])
        if engine.dialect.name == "postgresql":
            for name in ("areas", "users", "enumerators", "families", "appointments", "visit_outcomes"):
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT coalesce(max(id), 1) FROM {name}))"))
    # The users table has the RT heads first, then the enumerators' users, then residents.
    return City(now=now, city_area_id=city, district_ids=district_ids, village_ids=village_ids, sls_ids=sls_ids,
                sls_codes=sls_codes, enumerator_ids=enumerator_ids, rt_head_telegram_ids=rt_head_tg,
                families=families, status_counts=status_counts,
                rows={name: len(batch) for name, batch in rows.items()} | {"users": user_id})


# --- a throw-away database for the benchmarks ------------------------------------------------------

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def temporary_database(backend: str, pool_size: int = 10) -> Iterator[Engine]:
    """A migrated, empty database: SQLite in a temporary directory (production settings: WAL,
    BEGIN IMMEDIATE) or a new PostgreSQL database ``pintu_bench_<random>`` on PINTU_BENCH_PG_URL (else
    PINTU_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/test), dropped afterwards.
    Raises ConnectionError when PostgreSQL is not reachable."""
    from storage.db import create_schema, make_engine

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pintu-bench-") as directory:
            engine = make_engine(f"sqlite:///{Path(directory) / 'bench.db'}")
            try:
                create_schema(engine)
                yield engine
            finally:
                engine.dispose()
        return
    import psycopg

    base = make_url(os.environ.get("PINTU_BENCH_PG_URL") or os.environ.get("PINTU_TEST_PG_URL") or DEFAULT_PG_URL)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"pintu_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        raise ConnectionError(f"PostgreSQL not reachable at {base.render_as_string()}: {str(error).strip()}") from error
    try:
        engine = make_engine(base.set(drivername="postgresql", database=name).render_as_string(hide_password=False),
                             pool_size=pool_size)
        try:
            create_schema(engine)
            yield engine
        finally:
            engine.dispose()
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def analyze(engine: Engine) -> None:
    """Planner statistics after a bulk load, as autovacuum / a DBA would have them in production."""
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
