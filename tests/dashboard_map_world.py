"""A small area for the dashboard map and review tests (integration and browser): one kecamatan, two
kelurahan, three SLS with (wobbly, many-vertex) boundaries, families of every kind of progress, an
enumerator's day, flagged records with real photos in a media folder, and the viewers.

    Palaran (64.72.01, coordinator)
      Rawa Makmur (…1001, supervisor A; centre -0.55, 117.2)
        RT 001: 4 families: 2 completed, 2 booked today (Rina's route)     -> 50% done
        RT 002: 2 families: 2 refused                                        -> 100% done
      Bukuan (…1002, supervisor B; centre -0.56, 117.23)
        RT 001: 1 family not contacted, flagged outside its SLS, with a photo -> 0% done
"""
from __future__ import annotations

import datetime as dt
import io
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.model import Appointment, Area, Enumerator, Family, Record, RecordPhoto
from domain.photos import write_private
from tests.factories import make_user

TZ = "Asia/Makassar"
NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)  # Monday 09.00 WITA


def wobbly_square(west: float, south: float, size: float, per_side: int = 60) -> dict[str, Any]:
    """A square with ``per_side`` points per edge, each nudged off the straight line by a few metres:
    a digitised boundary, which simplification has real work on."""
    ring = []
    corners = [(west, south), (west + size, south), (west + size, south + size), (west, south + size)]
    for i, (x0, y0) in enumerate(corners):
        x1, y1 = corners[(i + 1) % 4]
        for k in range(per_side):
            f = k / per_side
            wobble = 0.00003 * math.sin(k * 1.7) if k else 0.0
            ring.append([round(x0 + (x1 - x0) * f + wobble * (y1 - y0) / size, 7),
                         round(y0 + (y1 - y0) * f + wobble * (x1 - x0) / size, 7)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def png_bytes(colour: tuple[int, int, int] = (200, 80, 40)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class MapWorld:
    codes: dict[str, str]  # district, v1, v2, s1, s2, s3
    users: dict[str, int]  # coordinator, supervisor_a, supervisor_b, enumerator_user
    families: dict[str, list[int]] = field(default_factory=dict)
    records: dict[str, str] = field(default_factory=dict)  # flagged_a, flagged_b, missing_a
    photos: dict[str, int] = field(default_factory=dict)  # a, b


def build_map_world(uow_factory: Any, media_dir: Path, now: dt.datetime = NOW) -> MapWorld:
    with uow_factory() as uow:
        district = uow.areas.add(Area(code="64.72.01", level="district", name="Palaran", timezone=TZ))
        v1 = uow.areas.add(Area(code="64.72.01.1001", level="village", name="Rawa Makmur", parent_id=district.id,
                                timezone=TZ, centre_latitude=-0.55, centre_longitude=117.2))
        v2 = uow.areas.add(Area(code="64.72.01.1002", level="village", name="Bukuan", parent_id=district.id,
                                timezone=TZ, centre_latitude=-0.56, centre_longitude=117.23))
        s1 = uow.areas.add(Area(code="64.72.01.1001.0001", level="sls", name="RT 001", parent_id=v1.id, timezone=TZ,
                                boundary=wobbly_square(117.195, -0.555, 0.005)))
        s2 = uow.areas.add(Area(code="64.72.01.1001.0002", level="sls", name="RT 002", parent_id=v1.id, timezone=TZ,
                                boundary=wobbly_square(117.200, -0.555, 0.005)))
        s3 = uow.areas.add(Area(code="64.72.01.1002.0001", level="sls", name="RT 001", parent_id=v2.id, timezone=TZ,
                                boundary=wobbly_square(117.225, -0.565, 0.005)))

        def family(sls: Area, name: str, status: str, lat: float, lon: float) -> int:
            return uow.families.add(Family(sls_id=sls.id, head_name=name, members=3, status=status, latitude=lat,
                                           longitude=lon, created_at=now)).id

        f1 = [family(s1, "Ahmad Yani", "completed", -0.5540, 117.1960),
              family(s1, "Siti Aminah", "completed", -0.5530, 117.1970),
              family(s1, "Budi Santoso", "booked", -0.5520, 117.1980),
              family(s1, "Dewi Lestari", "not_contacted", -0.5510, 117.1990)]
        f2 = [family(s2, "Eko Prasetyo", "refused", -0.5530, 117.2020),
              family(s2, "Fitri Handayani", "refused", -0.5520, 117.2030)]
        f3 = [family(s3, "Gunawan", "not_contacted", -0.5620, 117.2270)]

        enumerator_user = make_user(uow, now, role="enumerator")
        rina = uow.enumerators.add(Enumerator(name="Rina", user_id=enumerator_user.id, visit_minutes=30), [s1.id, s2.id])
        start = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.timezone.utc)  # 10.00 WITA today
        for n, family_id in enumerate((f1[2], f1[3])):
            begin = start + dt.timedelta(hours=n)
            uow.appointments.add_with_blocks(
                Appointment(family_id=family_id, enumerator_id=rina.id, start_at=begin,
                            end_at=begin + dt.timedelta(minutes=30), created_at=now, updated_at=now),
                [begin, begin + dt.timedelta(minutes=15)])
        uow.families.get(f1[3]).status = "booked"

        def record(family_id: int, flag: str | None, lat: float | None, lon: float | None, hours: int) -> str:
            rid = str(uuid.uuid4())
            uow.session.add(Record(id=rid, family_id=family_id, form_id="f", form_version="1", answers={},
                                   status="completed", completed_at=now, geo_flag=flag, latitude=lat, longitude=lon,
                                   geo_accuracy_m=8.0 if lat else None, created_at=now - dt.timedelta(hours=hours),
                                   updated_at=now - dt.timedelta(hours=hours)))
            uow.flush()
            return rid

        def photo(record_id: str, colour: tuple[int, int, int]) -> int:
            content = png_bytes(colour)
            relative = f"photos/{uuid.uuid4().hex}.png"
            write_private(media_dir, relative, content)
            row = RecordPhoto(record_id=record_id, path=relative, sha256="0" * 64, size=len(content), width=64,
                              height=48, mime="image/png", taken_at=now)
            uow.session.add(row)
            uow.flush()
            return row.id

        flagged_a = record(f1[0], "outside-sls", -0.5600, 117.1900, 2)
        flagged_b = record(f3[0], "too-far", -0.6000, 117.3000, 3)
        needs = uow.families.get(f1[1])
        needs.needs_photo = True
        missing_a = record(f1[1], None, None, None, 4)
        photo_a, photo_b = photo(flagged_a, (200, 80, 40)), photo(flagged_b, (40, 80, 200))

        coordinator = make_user(uow, now, role="coordinator")
        coordinator.scope_area_id = district.id
        supervisor_a = make_user(uow, now, role="supervisor")
        supervisor_a.scope_area_id = v1.id
        supervisor_b = make_user(uow, now, role="supervisor")
        supervisor_b.scope_area_id = v2.id
        uow.commit()
        return MapWorld(
            codes={"district": district.code, "v1": v1.code, "v2": v2.code, "s1": s1.code, "s2": s2.code,
                   "s3": s3.code},
            users={"coordinator": coordinator.id, "supervisor_a": supervisor_a.id, "supervisor_b": supervisor_b.id,
                   "enumerator": enumerator_user.id},
            families={"s1": f1, "s2": f2, "s3": f3},
            records={"flagged_a": flagged_a, "flagged_b": flagged_b, "missing_a": missing_a},
            photos={"a": photo_a, "b": photo_b})
