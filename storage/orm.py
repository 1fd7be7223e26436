"""Maps the domain's plain classes (domain/model.py) onto the tables (storage/tables.py), imperatively.

The domain never learns that it is stored: after :func:`start_mappers` SQLAlchemy instruments those
classes, so what the repositories load and add are domain entities. Called wherever engines and
sessions are made (storage/db.py) and by the repositories, whose prepared statements name mapped
attributes; calling it again does nothing.
"""
from __future__ import annotations

import threading

from sqlalchemy import event
from sqlalchemy.orm import registry, relationship

from domain import model
from storage import tables
from storage.crypto import CLAIM_KK_FIELD, FKP_KK_FIELD, KK_FIELD, keyring_of

mapper_registry = registry(metadata=tables.metadata)
_lock = threading.Lock()
_started = False


def start_mappers() -> None:
    """Map every entity onto its table, once per process."""
    global _started
    with _lock:
        if _started:
            return
        imperative = mapper_registry.map_imperatively
        imperative(model.Area, tables.areas, properties={
            "parent": relationship(model.Area, remote_side=[tables.areas.c.id]),
        })
        imperative(model.User, tables.users)
        imperative(model.Family, tables.families)
        event.listen(model.Family, "before_insert", _index_kk)
        event.listen(model.Family, "before_update", _index_kk)
        event.listen(model.FamilyClaim, "before_insert", _index_claim_kk)
        event.listen(model.FamilyClaim, "before_update", _index_claim_kk)
        imperative(model.Enumerator, tables.enumerators)
        imperative(model.EnumeratorAssignment, tables.enumerator_assignments)
        imperative(model.Appointment, tables.appointments)
        imperative(model.BusyBlock, tables.busy_blocks)
        imperative(model.RedeemedInvite, tables.redeemed_invites)
        imperative(model.Conversation, tables.conversations)
        imperative(model.OutboxMessage, tables.outbox)
        imperative(model.ReminderSetting, tables.reminder_settings)
        imperative(model.DailyDigest, tables.daily_digests)
        imperative(model.Record, tables.records)
        imperative(model.RecordPhoto, tables.record_photos)
        imperative(model.RecordDelivery, tables.record_deliveries)
        imperative(model.FkpDecisionDelivery, tables.fkp_decision_deliveries)
        imperative(model.VisitOutcome, tables.visit_outcomes)
        imperative(model.FamilyNudge, tables.family_nudges)
        imperative(model.RtGroup, tables.rt_groups)
        imperative(model.BotEntry, tables.bots)
        imperative(model.CampaignWindow, tables.campaign_windows)
        imperative(model.FamilyClaim, tables.family_claims)
        imperative(model.KkAttempt, tables.kk_attempts)

        imperative(model.PrivacyRequest, tables.privacy_requests)
        imperative(model.FkpForum, tables.fkp_forums)
        imperative(model.FkpParticipant, tables.fkp_participants)
        imperative(model.FkpProposal, tables.fkp_proposals)
        imperative(model.FkpAddedFamily, tables.fkp_added_families)
        event.listen(model.FkpAddedFamily, "before_insert", _index_added_kk)
        event.listen(model.FkpAddedFamily, "before_update", _index_added_kk)
        imperative(model.FkpObjection, tables.fkp_objections)
        imperative(model.FkpDecision, tables.fkp_decisions)
        _started = True


def _index_claim_kk(_mapper, connection, claim: model.FamilyClaim) -> None:  # type: ignore[no-untyped-def]
    kk = claim.kk_number
    claim.kk_index = None if kk is None else keyring_of(connection.dialect).blind_index(CLAIM_KK_FIELD, kk)  # type: ignore[attr-defined]


def _index_added_kk(_mapper, connection, added: model.FkpAddedFamily) -> None:  # type: ignore[no-untyped-def]
    kk = added.kk_number
    added.kk_index = None if kk is None else keyring_of(connection.dialect).blind_index(FKP_KK_FIELD, kk)  # type: ignore[attr-defined]


def _index_kk(_mapper, connection, family: model.Family) -> None:  # type: ignore[no-untyped-def]
    """Keep the KK number's blind index (what is unique and looked up) in step with the number."""
    kk = family.kk_number
    family.kk_index = None if kk is None else keyring_of(connection.dialect).blind_index(KK_FIELD, kk)  # type: ignore[attr-defined]
