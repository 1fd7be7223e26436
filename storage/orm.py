"""Maps the domain's plain classes (domain/model.py) onto the tables (storage/tables.py), imperatively.

The domain never learns that it is stored: after :func:`start_mappers` SQLAlchemy instruments those
classes, so what the repositories load and add are domain entities. Called wherever engines and
sessions are made (storage/db.py) and by the repositories, whose prepared statements name mapped
attributes; calling it again does nothing.
"""
from __future__ import annotations

import threading

from sqlalchemy.orm import registry, relationship

from domain import model
from storage import tables

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
        imperative(model.VisitOutcome, tables.visit_outcomes)
        imperative(model.FamilyNudge, tables.family_nudges)
        imperative(model.RtGroup, tables.rt_groups)
        imperative(model.BotEntry, tables.bots)
        imperative(model.CampaignWindow, tables.campaign_windows)
        imperative(model.PrivacyRequest, tables.privacy_requests)
        _started = True
