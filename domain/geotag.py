"""Geotags of records: how good a shared location is, whether it lies where the family lives, and storing it.

A location comes from Telegram (a shared or live location) with an optional horizontal accuracy. It is
judged by :func:`judge_location` against a :class:`GeoPolicy`:

- a position out of range (latitude beyond ±90°, longitude beyond ±180°, not a finite number) or a
  negative accuracy (a broken GPS or a forged update): ``invalid`` with reason ``invalid-location`` —
  ask again with a clear answer;
- accuracy worse than ``max_accuracy_m`` (default 100 m): ``poor_accuracy`` — ask again;
- outside the family's SLS polygon (``areas.boundary``, imported from GeoJSON by domain/boundaries.py):
  ``outside_area`` with reason ``outside-sls``;
- else farther than ``max_distance_km`` (geodesic, geopy) from the centre of the family's kelurahan
  (``areas.centre_latitude/_longitude`` on the village row): ``outside_area`` with reason ``too-far``;
- else ``ok``.

An ``outside_area`` point is never accepted silently: the sender is asked to confirm, and a confirmed
one is stored with ``records.geo_flag`` set to the reason, so the enumerator or a supervisor reviews
it (:func:`flagged_records`). Who shared the point is kept too: the resident's is a hint, the
enumerator's (at the door) is authoritative and is never replaced by a resident's.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from geopy.distance import geodesic

from domain.errors import RecordNotFound, RecordStateError
from domain.model import Area, Family, Record
from domain.ports import UnitOfWork

SOURCES = ("resident", "enumerator")
POOR_ACCURACY = "poor-accuracy"
INVALID_LOCATION = "invalid-location"
OUTSIDE_SLS = "outside-sls"
TOO_FAR = "too-far"
FLAG_REASONS = (OUTSIDE_SLS, TOO_FAR)
# Not a geotag's flag but the review list's third reason: a completed record of a family that needs a
# photo of the house (Family.needs_photo) and has none.
NO_PHOTO = "no-photo"
# The fourth: a NIK of the family's roster is also in another family's newest record (one person in two
# families, or a typo). Two families are listed, one line each; the supervisor decides which is right.
SHARED_NIK = "shared-nik"


class ReviewCounts(NamedTuple):
    """How many records the review list holds, by reason (a record may be under more than one)."""

    flagged: int  # geotag outside the SLS or too far
    photos: int  # completed without the house photo its family needs
    shared_nik: int  # a member's NIK also in another family's record

    @property
    def total(self) -> int:
        return self.flagged + self.photos + self.shared_nik


@dataclass(frozen=True)
class GeoPolicy:
    """Limits a shared location must meet to be taken without asking (PINTU_GEO_MAX_ACCURACY_M,
    PINTU_GEO_MAX_DISTANCE_KM)."""

    max_accuracy_m: float = 100.0  # a reported horizontal accuracy above this is asked again
    max_distance_km: float = 5.0  # farther than this from the kelurahan's centre needs confirming


@dataclass(frozen=True)
class GeoVerdict:
    """What :func:`judge_location` found.

    ``status``: "ok" | "invalid" | "poor_accuracy" | "outside_area". ``reason``: None, "invalid-location",
    "poor-accuracy",
    "outside-sls" or "too-far". ``distance_m``: metres from the kelurahan's centre when it is known
    (else None). ``accuracy_m``: the accuracy judged.
    """

    status: str
    reason: str | None = None
    distance_m: float | None = None
    accuracy_m: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def judge_location(uow: UnitOfWork, family_id: int, latitude: float, longitude: float, accuracy_m: float | None,
                   policy: GeoPolicy) -> GeoVerdict:
    """Judge a location shared for ``family_id``'s record; nothing is written.

    A missing accuracy (Telegram sends none for many devices) is not held against the point.
    Coordinates out of range or a negative accuracy are ``invalid`` (see :func:`is_valid_location`).
    """
    family: Family | None = uow.families.get(family_id)
    if family is None:
        raise RecordNotFound(f"family {family_id}")
    return judge_position(uow, family.sls_id, latitude, longitude, accuracy_m, policy)


def judge_position(uow: UnitOfWork, sls_id: int, latitude: float, longitude: float, accuracy_m: float | None,
                   policy: GeoPolicy) -> GeoVerdict:
    """Judge a house's position in ``sls_id`` (a record's geotag, or the location shared at
    registration, before the family exists); nothing is written."""
    if not is_valid_location(latitude, longitude, accuracy_m):
        return GeoVerdict("invalid", INVALID_LOCATION, None, accuracy_m)
    chain: list[Area] = uow.capture.ancestors(sls_id)
    centre = next(((a.centre_latitude, a.centre_longitude) for a in chain
                   if a.centre_latitude is not None and a.centre_longitude is not None), None)
    distance_m = geodesic(centre, (latitude, longitude)).meters if centre is not None else None
    if accuracy_m is not None and accuracy_m > policy.max_accuracy_m:
        return GeoVerdict("poor_accuracy", POOR_ACCURACY, distance_m, accuracy_m)
    sls = chain[0] if chain else None
    if sls is not None and sls.boundary:
        if not point_in_geometry(sls.boundary, latitude, longitude):
            return GeoVerdict("outside_area", OUTSIDE_SLS, distance_m, accuracy_m)
    if distance_m is not None and distance_m > policy.max_distance_km * 1000:
        return GeoVerdict("outside_area", TOO_FAR, distance_m, accuracy_m)
    return GeoVerdict("ok", None, distance_m, accuracy_m)


def point_in_geometry(geometry: dict[str, Any], latitude: float, longitude: float) -> bool:
    """Whether the point lies in a GeoJSON Polygon or MultiPolygon (holes excluded, the edge counts as
    inside). GeoJSON positions are [longitude, latitude]."""
    from shapely.geometry import Point, shape

    return bool(shape(geometry).covers(Point(longitude, latitude)))


def save_geotag(uow: UnitOfWork, record: Record, *, latitude: float, longitude: float, accuracy_m: float | None,
                source: str, sender_telegram_id: int | None, now: dt.datetime, flagged_reason: str | None,
                live_until: dt.datetime | None = None, captured_at: dt.datetime | None = None) -> bool:
    """Store a location on a draft record; True when stored.

    ``source``: "resident" (a hint) or "enumerator" (at the door, authoritative). A resident's point
    never replaces an enumerator's (False, nothing changes). ``flagged_reason``: None, or why the point
    needs review ("outside-sls", "too-far") after the sender confirmed it. ``live_until``: for a live
    location, until when its later points update this geotag. ``geo_source`` is "telegram" (the
    registry's field for the channel), the time is ``captured_at`` (default ``now``).
    """
    if source not in SOURCES:
        raise ValueError(f"geotag source must be one of {SOURCES}")
    if flagged_reason is not None and flagged_reason not in FLAG_REASONS:
        raise ValueError(f"flagged_reason must be None or one of {FLAG_REASONS}")
    if not is_valid_location(latitude, longitude, accuracy_m):
        raise ValueError("latitude/longitude out of range or a negative accuracy")
    if record.status != "draft":
        raise RecordStateError(f"record {record.id} is {record.status}")
    if source == "resident" and record.geo_by == "enumerator" and record.latitude is not None:
        return False
    record.latitude, record.longitude, record.geo_accuracy_m = latitude, longitude, accuracy_m
    record.geo_source, record.geo_captured_at = "telegram", captured_at or now
    record.geo_by, record.geo_sender, record.geo_flag = source, sender_telegram_id, flagged_reason
    record.geo_live_until = live_until
    record.updated_at = now
    uow.flush()
    return True


def update_live(uow: UnitOfWork, sender_telegram_id: int, latitude: float, longitude: float, accuracy_m: float | None,
                now: dt.datetime, policy: GeoPolicy) -> int:
    """A new point of a live location: it replaces the geotag of the sender's drafts whose live location
    still runs, when it is at least as trustworthy as the point kept (good accuracy; outside the area
    only if the kept point was confirmed outside for the same reason). Returns how many were updated."""
    updated = 0
    for record in uow.capture.live_drafts_of(sender_telegram_id, now):
        verdict = judge_location(uow, record.family_id, latitude, longitude, accuracy_m, policy)
        if verdict.status in ("invalid", "poor_accuracy"):
            continue
        if verdict.status == "outside_area" and verdict.reason != record.geo_flag:
            continue
        record.latitude, record.longitude, record.geo_accuracy_m = latitude, longitude, accuracy_m
        record.geo_captured_at = record.updated_at = now
        updated += 1
    if updated:
        uow.flush()
    return updated


def flagged_records(uow: UnitOfWork, sls_ids: list[int]) -> list[tuple[Record, Family]]:
    """Records (with their family) in these SLS whose geotag was confirmed outside the area and awaits
    review by the enumerator or a supervisor, newest first."""
    return list(uow.capture.flagged(sls_ids))


def is_valid_location(latitude: float, longitude: float, accuracy_m: float | None = None) -> bool:
    """A position on the earth (finite, latitude within ±90°, longitude within ±180°) with no negative
    accuracy (None: not reported). The one check behind judging, storing and the questionnaire's answer."""
    numbers = (latitude, longitude) if accuracy_m is None else (latitude, longitude, accuracy_m)
    if not all(isinstance(n, (int, float)) and math.isfinite(n) for n in numbers):
        return False
    return -90 <= latitude <= 90 and -180 <= longitude <= 180 and (accuracy_m is None or accuracy_m >= 0)
