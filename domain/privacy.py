"""The rights the privacy notice promises (UU 27/2022): see one's data, ask for a correction, withdraw
consent and have what may be erased erased.

- :func:`my_data` gathers what Pintu holds about a person and their family, for the chat's summary and
  the file (:func:`my_data_file`, JSON: readable, and portable).
- :func:`ask_correction` opens a request and tells the RT head (or, without one, the SLS's
  enumerators) through the outbox; :func:`close_request` closes it and tells the resident.
- :func:`erasure_plan` says what withdrawing deletes now and what the survey keeps; :func:`erase_person`
  does it. Records already delivered to the central registry are not Pintu's to delete any more: for
  each, an erasure notice is queued to the registry as its own delivery (target ``ERASURE_TARGET``,
  the same outbox the records went through).

Every request keeps the requester's Telegram id, a status and its age, so ``pintu requests`` lists the
open ones even after the account itself is gone.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain import audit
from domain.model import PrivacyRequest, Record, User
from domain.ports import UnitOfWork

log = logging.getLogger(__name__)

CORRECTION, ERASURE = "correction", "erasure"
OPEN, DONE = "open", "done"
ERASURE_TARGET = "registry-erasure"  # record_deliveries.target of a deletion request to the registry
# Outbox kinds (handlers/notifications.py renders them).
CORRECTION_ASKED = "privacy-correction"  # to the RT head / enumerator, with a "done" button
REQUEST_DONE = "privacy-done"  # to the resident
MAX_CORRECTION = 1000  # characters of a correction request


@dataclass(frozen=True)
class MyData:
    """What Pintu holds about one person (the chat summary and the file are made from this)."""

    user: User
    family: dict[str, Any] | None
    area: str | None
    appointment: dict[str, Any] | None
    timezone: str  # the area's IANA zone, to show times in
    records: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    objections: list[dict[str, Any]] = field(default_factory=list)  # to their family's welfare group (FKP)


@dataclass(frozen=True)
class ErasurePlan:
    """What withdrawing consent does, counted, shown on the confirmation screen before it is done."""

    drafts: int  # half-finished questionnaires, deleted
    unsent: int  # completed records not yet forwarded, deleted
    photos: int  # photos of those, deleted (files too)
    forwarded: int  # records the registry has: kept there, a deletion request is forwarded
    family_kept: bool  # the family stays on the RT's list (other members, or the survey frame)
    record_ids: list[str] = field(default_factory=list)  # deleted now
    forwarded_ids: list[str] = field(default_factory=list)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.timezone.utc).isoformat() if value is not None else None


def my_data(uow: UnitOfWork, user: User) -> MyData:
    family = uow.families.get(user.family_id) if user.family_id is not None else None
    area = uow.areas.get(family.sls_id if family else user.sls_id) if (family or user.sls_id) else None
    appointment = uow.appointments.active_for_family(family.id) if family is not None else None
    records = list(uow.privacy.records_of_family(family.id)) if family is not None else []
    delivered = uow.privacy.delivered_ids([r.id for r in records])
    photos = uow.records.photos_of([r.id for r in records]) if records else {}
    return MyData(
        user=user,
        family=None if family is None else {"head_name": family.head_name, "kk_number": family.kk_number,
                                            "members": family.members, "address": family.address,
                                            "house_position": None if family.latitude is None or family.longitude is None
                                            else {"latitude": family.latitude, "longitude": family.longitude},
                                            "status": family.status, "registered_at": _iso(family.created_at),
                                            "home_times": list(family.home_times or [])},
        area=area.name if area is not None else None,
        timezone=area.timezone if area is not None else "Asia/Jakarta",
        appointment=None if appointment is None else {"start": _iso(appointment.start_at), "status": appointment.status,
                                                      "start_at": appointment.start_at},
        records=[_record(r, r.id in delivered, len(photos.get(r.id, []))) for r in records],
        requests=[{"id": q.id, "kind": q.kind, "status": q.status, "created_at": _iso(q.created_at),
                   "closed_at": _iso(q.closed_at)} for q in uow.privacy.of_person(user.telegram_id)],
        objections=_objections(uow, user, family),
    )


def _objections(uow: UnitOfWork, user: User, family: Any) -> list[dict[str, Any]]:
    """The person's own objections at the public consultation (their words; not the group, which is the
    forum's and embargoed until its preparation window)."""
    forum = uow.fkp.forum_of_sls(family.sls_id) if family is not None else None
    if forum is None:
        return []
    return [{"forum_id": o.forum_id, "claimed_group": o.claimed_group, "reason": o.reason, "note": o.note,
             "at": _iso(o.at)} for o in uow.fkp.objections(forum.id) if o.user_id == user.id]


def _record(record: Record, delivered: bool, photos: int) -> dict[str, Any]:
    geotag = None
    if record.latitude is not None and record.longitude is not None:
        geotag = {"latitude": record.latitude, "longitude": record.longitude, "accuracy_m": record.geo_accuracy_m}
    return {"id": record.id, "status": record.status, "version": record.version, "form": record.form_id,
            "answers": dict(record.answers or {}), "geotag": geotag, "photos": photos,
            "delivered_to_registry": delivered, "completed_at": _iso(record.completed_at),
            "updated_at": _iso(record.updated_at)}


def my_data_file(data: MyData, now: dt.datetime) -> bytes:
    """Everything of :func:`my_data` as indented UTF-8 JSON (the file sent with /dataku)."""
    user = data.user
    document = {
        "generated_at": _iso(now),
        "account": {"telegram_id": user.telegram_id, "first_name": user.first_name, "language": user.language,
                    "role": user.role, "consent_version": user.consent_version, "consent_at": _iso(user.consent_at),
                    "created_at": _iso(user.created_at)},
        "rt": data.area, "family": data.family,
        "appointment": None if data.appointment is None else {k: v for k, v in data.appointment.items() if k != "start_at"},
        "records": data.records,
        "requests": data.requests,
        "objections": data.objections,
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


# --- correction ----------------------------------------------------------------------------------

def ask_correction(uow: UnitOfWork, user: User, text: str, now: dt.datetime) -> PrivacyRequest | None:
    """Open a correction request and tell who can make it; None when nobody could be told (no RT)."""
    sls_id = _sls_of(uow, user)
    officers = _officers_of(uow, sls_id) if sls_id is not None else []
    if not officers:
        return None
    request = uow.privacy.add(PrivacyRequest(kind=CORRECTION, telegram_id=user.telegram_id, family_id=user.family_id,
                                             sls_id=sls_id, text=text[:MAX_CORRECTION], created_at=now))
    for officer in officers:
        uow.outbox.add(officer.telegram_id, CORRECTION_ASKED, {"request_id": request.id}, due_at=now, now=now)
    return request


def _sls_of(uow: UnitOfWork, user: User) -> int | None:
    family = uow.families.get(user.family_id) if user.family_id is not None else None
    return family.sls_id if family is not None else user.sls_id


def _officers_of(uow: UnitOfWork, sls_id: int) -> list[User]:
    """The RT heads of the SLS; without one, the enumerators assigned to it who use Telegram."""
    heads = list(uow.users.rt_heads_of(sls_id))
    if heads:
        return heads
    users = [uow.users.get(e.user_id) for e in uow.enumerators.assigned_to(sls_id) if e.user_id is not None]
    return [u for u in users if u is not None]


def may_close(uow: UnitOfWork, officer: User, request: PrivacyRequest) -> bool:
    """An RT head of the request's SLS, an enumerator assigned to it, or an admin."""
    if officer.role == "admin":
        return True
    if request.sls_id is None:
        return False
    return any(o.id == officer.id for o in _officers_of(uow, request.sls_id)) or (
        officer.role == "rt_head" and officer.sls_id == request.sls_id)


def close_request(uow: UnitOfWork, request: PrivacyRequest, now: dt.datetime, closed_by: int | None = None) -> bool:
    """Mark the request done and tell the resident; False when it was already closed."""
    if request.status != OPEN:
        return False
    request.status, request.closed_at, request.closed_by = DONE, now, closed_by
    uow.outbox.add(request.telegram_id, REQUEST_DONE, {"request_id": request.id}, due_at=now, now=now)
    return True


# --- withdrawal and erasure ----------------------------------------------------------------------

def erasure_plan(uow: UnitOfWork, user: User) -> ErasurePlan:
    family_id = user.family_id
    others = [u for u in uow.users.residents_of_family(family_id) if u.id != user.id] if family_id else []
    # Another member still uses Pintu for the family: only this account goes, the family's data stays theirs.
    records = list(uow.privacy.records_of_family(family_id)) if family_id and not others else []
    delivered = uow.privacy.delivered_ids([r.id for r in records])
    erasable = [r.id for r in records if r.id not in delivered]
    photos = uow.records.photos_of(erasable) if erasable else {}
    return ErasurePlan(
        drafts=sum(1 for r in records if r.status == "draft"),
        unsent=sum(1 for r in records if r.status != "draft" and r.id not in delivered),
        photos=sum(len(p) for p in photos.values()),
        forwarded=len(delivered), family_kept=family_id is not None,
        record_ids=erasable, forwarded_ids=sorted(delivered),
    )


def erase_person(uow: UnitOfWork, user: User, media_dir: str | Path, now: dt.datetime) -> PrivacyRequest:
    """Withdraw consent: delete the account, conversation, drafts, unsent records and their photos;
    forward a deletion request for what the registry already has. This is the one place an erasure
    happens (the audit log records it here)."""
    plan = erasure_plan(uow, user)
    paths = uow.privacy.delete_records(plan.record_ids)
    for record_id in plan.forwarded_ids:
        if not any(d.target == ERASURE_TARGET for d in uow.deliveries.for_record(record_id)):
            uow.deliveries.add(record_id, ERASURE_TARGET, now)
    # Record ids (random UUIDs, nothing personal) let the forwarder close the request once all are erased.
    detail = {"drafts": plan.drafts, "unsent": plan.unsent, "photos": len(paths), "forwarded": plan.forwarded,
              "records": plan.forwarded_ids}
    request = uow.privacy.add(PrivacyRequest(
        kind=ERASURE, telegram_id=user.telegram_id, family_id=user.family_id, sls_id=_sls_of(uow, user),
        detail=detail, created_at=now,
        # Done at once unless the registry still has to delete its copies (closed when it has).
        status=OPEN if plan.forwarded else DONE, closed_at=None if plan.forwarded else now))
    audit.record(uow, user, audit.ERASURE, now, family_id=user.family_id, area_id=request.sls_id, always=True)
    uow.privacy.delete_account(user)
    remove_files(media_dir, paths)
    log.info("erasure %d: %s", request.id, detail, extra={"privacy_request": request.id})
    return request


def remove_files(media_dir: str | Path, paths: list[str]) -> int:
    """Delete photo files under the media directory (a file already gone is fine); how many were removed."""
    root = Path(media_dir).resolve()
    removed = 0
    for relative in paths:
        target = (root / relative).resolve()
        if root not in target.parents:  # a stored path never leaves the media directory
            continue
        try:
            target.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    return removed


def age_days(request: PrivacyRequest, now: dt.datetime) -> int:
    return max(0, (now - request.created_at).days)


# --- the notice's versions -----------------------------------------------------------------------

# One notice per role, since each gives Pintu different data for a different purpose: the resident
# (their family; also the notice an enumerator reads out at the door), the RT head (the RT's list)
# and the staff (enumerators, supervisors, coordinators, admins: their work). Every version of each,
# oldest first; "2025-1" and "2026-1" were one notice for everyone. A person who agreed to another
# version is shown their role's current notice again, and asked again, before anything else
# (needs_reconsent says when); a version not in these lists (made by hand, or a test's) is left alone.
RESIDENT_NOTICE, RT_HEAD_NOTICE, STAFF_NOTICE = "resident", "rt_head", "staff"
NOTICES: dict[str, tuple[str, ...]] = {
    RESIDENT_NOTICE: ("2025-1", "2026-1", "2026-2"),
    RT_HEAD_NOTICE: ("2025-1", "2026-1", "rt-2026-2"),
    STAFF_NOTICE: ("2025-1", "2026-1", "staff-2026-2"),
}
KNOWN_VERSIONS = frozenset(v for versions in NOTICES.values() for v in versions)


def notice_kind(role: str | None) -> str:
    """Whose notice a role reads."""
    if role in (None, "resident"):
        return RESIDENT_NOTICE
    return RT_HEAD_NOTICE if role == "rt_head" else STAFF_NOTICE


def current_notice(role: str | None) -> str:
    """The version of the notice the role agrees to now."""
    return NOTICES[notice_kind(role)][-1]


CURRENT_VERSIONS = frozenset(versions[-1] for versions in NOTICES.values())


def needs_reconsent(agreed: str | None, role: str | None) -> bool:
    """An older notice than the current ones; or, for an RT head or staff, another notice than their
    role's (a role given by the admin). Someone who agreed to a current notice of a role with more to
    do and is a resident now (a role taken back, an invite that failed) is not asked again."""
    if agreed not in KNOWN_VERSIONS:
        return False
    if agreed not in CURRENT_VERSIONS:
        return True
    return notice_kind(role) != RESIDENT_NOTICE and agreed != current_notice(role)
