"""Records (one questionnaire per family) and their forwarding to the central registry.

The field-capture flow fills a draft (``start_record``, ``add_photo``, then its own answer updates)
and calls ``complete_record``; a correction after completion is ``correct_record``. Both queue the
record for the registry in ``record_deliveries`` in the same transaction (the transactional outbox):
if the caller's commit fails, nothing is queued; if it succeeds, the registry worker
(registry/worker.py) will deliver it, exactly once by key (the record id). Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domain import family_status, visits
from domain.answer_names import roster_niks
from domain.errors import RecordIncomplete, RecordNotFound, RecordStateError
from domain.model import Record, RecordPhoto
from domain.ports import UnitOfWork

DEFAULT_TARGETS: tuple[str, ...] = ("registry",)  # the configured central registry (PINTU_REGISTRY_URL)
GEO_SOURCES = ("gps", "network", "telegram", "manual")


def start_record(uow: UnitOfWork, family_id: int, form_id: str, form_version: str, now: dt.datetime, *,
                 enumerator_id: int | None = None, appointment_id: int | None = None,
                 answers: dict[str, Any] | None = None, record_id: str | None = None) -> Record:
    """A new draft for a family; its id (a UUID) is the registry's idempotency key once completed."""
    if uow.families.get(family_id) is None:
        raise RecordNotFound(f"family {family_id}")
    record = Record(id=record_id or str(uuid.uuid4()), family_id=family_id, form_id=form_id,
                    form_version=form_version, answers=dict(answers or {}), status="draft", version=1,
                    enumerator_id=enumerator_id, appointment_id=appointment_id, created_at=now, updated_at=now)
    return uow.records.add(record)


def set_geotag(uow: UnitOfWork, record_id: str, latitude: float, longitude: float, accuracy_m: float | None,
               source: str, captured_at: dt.datetime, now: dt.datetime) -> Record:
    record = _draft(uow, record_id)
    if source not in GEO_SOURCES:
        raise ValueError(f"geotag source must be one of {GEO_SOURCES}")
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise ValueError("latitude/longitude out of range")
    record.latitude, record.longitude, record.geo_accuracy_m = latitude, longitude, accuracy_m
    record.geo_source, record.geo_captured_at, record.updated_at = source, captured_at, now
    uow.flush()
    return record


def set_consent(uow: UnitOfWork, record_id: str, version: str, at: dt.datetime, now: dt.datetime) -> Record:
    """Consent given at the door (a family registered without Telegram)."""
    record = _draft(uow, record_id)
    record.consent_version, record.consent_at, record.updated_at = version, at, now
    uow.flush()
    return record


def add_photo(uow: UnitOfWork, record_id: str, media_dir: str | Path, path: str, mime: str, now: dt.datetime, *,
              width: int | None = None, height: int | None = None, taken_at: dt.datetime | None = None,
              sender: int | None = None) -> RecordPhoto:
    """Attach a file already saved under ``media_dir`` (``path`` relative to it); hash and size are computed."""
    record = _draft(uow, record_id)
    file = Path(media_dir) / path
    digest, size = file_sha256(file)
    photo = RecordPhoto(record_id=record.id, path=path, sha256=digest, size=size, width=width, height=height,
                        mime=mime, taken_at=taken_at, sender=sender)
    record.updated_at = now
    return uow.records.add_photo(photo)


def complete_record(uow: UnitOfWork, record_id: str, now: dt.datetime,
                    targets: Sequence[str] = DEFAULT_TARGETS) -> Record:
    """Mark a draft completed and queue it for the registry, in the caller's transaction."""
    record = uow.records.lock(record_id)
    if record is None:
        raise RecordNotFound(record_id)
    if record.status != "draft":
        raise RecordStateError(f"record {record_id} is {record.status}")
    _snapshot_consent(uow, record)
    record.status, record.completed_at, record.updated_at = "completed", now, now
    for target in targets:
        uow.deliveries.add(record.id, target, now)
    family_status.on_record_completed(uow, uow.families.get(record.family_id), now)
    visits.close_as_visited(uow, record.family_id, now)  # the record was taken: the visit happened
    _index_member_niks(uow, record)
    uow.flush()
    return record


def correct_record(uow: UnitOfWork, record_id: str, answers: dict[str, Any], now: dt.datetime,
                   targets: Sequence[str] = DEFAULT_TARGETS) -> Record:
    """A correction of a completed record: a new completed version naming the one it replaces.

    Only the newest version can be corrected (``replaces_id`` is unique: no forks). Photos, geotag,
    consent and visit are carried over; ``answers`` replaces the answers as a whole.
    """
    old = uow.records.lock(record_id)
    if old is None:
        raise RecordNotFound(record_id)
    if old.status != "completed":
        raise RecordStateError(f"record {record_id} is {old.status}; only a completed record is corrected")
    if uow.records.replacement_of(old.id) is not None:
        raise RecordStateError(f"record {record_id} was already corrected; correct its newest version")
    new = Record(
        id=str(uuid.uuid4()), family_id=old.family_id, form_id=old.form_id, form_version=old.form_version,
        answers=dict(answers), latitude=old.latitude, longitude=old.longitude, geo_accuracy_m=old.geo_accuracy_m,
        geo_source=old.geo_source, geo_captured_at=old.geo_captured_at,
        # Who placed the geotag and its review flag go with it: a correction of the answers must not
        # take a record off the supervisor's review list.
        geo_by=old.geo_by, geo_sender=old.geo_sender, geo_flag=old.geo_flag, status="completed", completed_at=now,
        consent_version=old.consent_version, consent_at=old.consent_at, appointment_id=old.appointment_id,
        enumerator_id=old.enumerator_id, version=old.version + 1, replaces_id=old.id, created_at=now,
        updated_at=now,
    )
    uow.records.add(new)
    for photo in uow.records.photos(old.id):
        uow.records.add_photo(RecordPhoto(
            record_id=new.id, path=photo.path, sha256=photo.sha256, size=photo.size, width=photo.width,
            height=photo.height, mime=photo.mime, taken_at=photo.taken_at, sender=photo.sender))
    for target in targets:
        uow.deliveries.add(new.id, target, now)
    _index_member_niks(uow, new)
    uow.flush()
    return new


def _index_member_niks(uow: UnitOfWork, record: Record) -> None:
    """Keep the NIKs of the family's newest record findable, so the same person in two families reaches
    the supervisors' review list (only an HMAC is kept: storage/crypto.py)."""
    uow.records.replace_member_niks(record.id, record.family_id, roster_niks(record.answers))


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _draft(uow: UnitOfWork, record_id: str) -> Record:
    record = uow.records.get(record_id)
    if record is None:
        raise RecordNotFound(record_id)
    if record.status != "draft":
        raise RecordStateError(f"record {record_id} is {record.status}; correct it with correct_record")
    return record


def _snapshot_consent(uow: UnitOfWork, record: Record) -> None:
    """The consent the registry receives: the record's own (given at the door) or the family's resident's."""
    if record.consent_version and record.consent_at:
        return
    consents = [u for u in uow.users.residents_of_family(record.family_id) if u.consent_version and u.consent_at]
    if not consents:
        raise RecordIncomplete("consent")
    latest = max(consents, key=lambda u: u.consent_at)
    record.consent_version, record.consent_at = latest.consent_version, latest.consent_at
