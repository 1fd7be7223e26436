"""Sample data for the demo and tests: one kelurahan of Samarinda (WITA) with 3 RT, 2 enumerators and
30 families registered without Telegram. Area codes follow Kepmendagri (64 Kalimantan Timur,
64.72 Kota Samarinda, 64.72.01 Palaran, 64.72.01.1001 Rawa Makmur); the RT codes are BPS-style SLS
numbers under the kelurahan. Names and KK numbers are synthetic."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.model import Area, Enumerator, Family
from domain.ports import UnitOfWork

SAMARINDA_TZ = "Asia/Makassar"

HEADS = [
    "Ahmad Yani", "Siti Aminah", "Budi Santoso", "Dewi Lestari", "Eko Prasetyo", "Fitri Handayani",
    "Gunawan", "Hartini", "Irfan Hakim", "Joko Susilo", "Kartika Sari", "Lukman Hakim", "Maya Puspita",
    "Nur Hidayah", "Oki Setiawan", "Putri Ayu", "Rahmat Hidayat", "Sri Wahyuni", "Taufik Rahman",
    "Umi Kalsum", "Wahyu Nugroho", "Yuliana", "Zainal Abidin", "Agus Salim", "Bambang Sutrisno",
    "Citra Kirana", "Darmawan", "Endang Susanti", "Faisal Basri", "Hendra Gunawan",
]


@dataclass(frozen=True)
class DemoArea:
    """Ids of what the demo seeded, for the CLI to print invite links."""

    village_id: int
    sls_ids: list[int]
    enumerator_ids: list[int]


def seed_demo(uow: UnitOfWork, now: dt.datetime) -> DemoArea:
    """Create the sample area unless it exists; return its ids either way."""
    existing = uow.areas.by_code("64.72.01.1001")
    if existing is not None:
        if existing.centre_latitude is None:  # a demo database from before field capture
            existing.centre_latitude, existing.centre_longitude = DEMO_CENTRE
        sls = uow.areas.children(existing.id)
        return DemoArea(existing.id, [a.id for a in sls], [e.id for e in uow.enumerators.all()])
    province = uow.areas.add(Area(code="64", level="province", name="Kalimantan Timur", timezone=SAMARINDA_TZ))
    city = uow.areas.add(Area(code="64.72", level="regency", name="Kota Samarinda", parent_id=province.id, timezone=SAMARINDA_TZ))
    district = uow.areas.add(Area(code="64.72.01", level="district", name="Palaran", parent_id=city.id, timezone=SAMARINDA_TZ))
    village = uow.areas.add(Area(code="64.72.01.1001", level="village", name="Rawa Makmur", parent_id=district.id,
                                 timezone=SAMARINDA_TZ, centre_latitude=DEMO_CENTRE[0], centre_longitude=DEMO_CENTRE[1]))
    sls_ids = [
        uow.areas.add(Area(code=f"64.72.01.1001.{n:04d}", level="sls", name=f"RT {n:03d}", parent_id=village.id, timezone=SAMARINDA_TZ)).id
        for n in (1, 2, 3)
    ]
    rina = uow.enumerators.add(Enumerator(name="Rina", visit_minutes=30), sls_ids)
    agus = uow.enumerators.add(Enumerator(name="Agus", visit_minutes=30), sls_ids)
    for index, head in enumerate(HEADS):
        uow.families.add(
            Family(sls_id=sls_ids[index % 3], head_name=head, kk_number=synthetic_kk(index), members=2 + index % 5,
                   latitude=demo_latitude(index), longitude=demo_longitude(index), created_at=now)
        )
    return DemoArea(village.id, sls_ids, [rina.id, agus.id])


def synthetic_kk(index: int) -> str:
    """A structurally valid KK number for Palaran (647201), issued 01-01-20, serial 9000+index."""
    return f"647201010120{9000 + index:04d}"


# Rawa Makmur lies around -0.55, 117.2: the houses sit on a small synthetic grid (~150 m apart), one
# block per RT, so the enumerator's day shows real geodesic distances between stops.
DEMO_CENTRE = (-0.55, 117.2)


def demo_latitude(index: int) -> float:
    return round(DEMO_CENTRE[0] + 0.0015 * (index // 6) - 0.004 * (index % 3), 6)


def demo_longitude(index: int) -> float:
    return round(DEMO_CENTRE[1] + 0.0013 * (index % 6) + 0.003 * (index % 3), 6)
