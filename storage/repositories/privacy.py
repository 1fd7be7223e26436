"""Privacy requests, and the deletions behind erasure and retention (domain/privacy.py, scheduling/retention.py).

Deleting a record deletes its photos' rows and its delivery rows with it, and first unhooks a later
version that names it (``records.replaces_id``), so the foreign keys never stop a batch halfway.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from domain.model import Appointment, Conversation, OutboxMessage, PrivacyRequest, Record, RecordDelivery, RecordPhoto, User
from storage.tables import redeemed_invites


class PrivacyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- requests ---------------------------------------------------------------------------------
    def add(self, request: PrivacyRequest) -> PrivacyRequest:
        self.session.add(request)
        self.session.flush()
        return request

    def get(self, request_id: int) -> PrivacyRequest | None:
        return self.session.get(PrivacyRequest, request_id)

    def open_requests(self, limit: int = 200) -> Sequence[PrivacyRequest]:
        return list(self.session.scalars(select(PrivacyRequest).where(PrivacyRequest.status == "open")
                                          .order_by(PrivacyRequest.created_at, PrivacyRequest.id).limit(limit)))

    def of_person(self, telegram_id: int, limit: int = 20) -> Sequence[PrivacyRequest]:
        return list(self.session.scalars(select(PrivacyRequest).where(PrivacyRequest.telegram_id == telegram_id)
                                          .order_by(PrivacyRequest.id.desc()).limit(limit)))

    # --- what a family has --------------------------------------------------------------------------
    def records_of_family(self, family_id: int) -> Sequence[Record]:
        return list(self.session.scalars(select(Record).where(Record.family_id == family_id).order_by(Record.created_at)))

    def delivered_ids(self, record_ids: Sequence[str]) -> set[str]:
        """Of these records, those at least one registry has received."""
        if not record_ids:
            return set()
        return set(self.session.scalars(select(RecordDelivery.record_id).where(
            RecordDelivery.record_id.in_(record_ids), RecordDelivery.status == "delivered")))

    # --- deleting ------------------------------------------------------------------------------------
    def delete_records(self, record_ids: Sequence[str]) -> list[str]:
        """Delete these records with their photos and delivery rows; returns the photos' paths (the
        caller removes the files)."""
        if not record_ids:
            return []
        ids = list(record_ids)
        paths = list(self.session.scalars(select(RecordPhoto.path).where(RecordPhoto.record_id.in_(ids))))
        self.session.execute(update(Record).where(Record.replaces_id.in_(ids)).values(replaces_id=None))
        self.session.execute(delete(RecordPhoto).where(RecordPhoto.record_id.in_(ids)))
        self.session.execute(delete(RecordDelivery).where(RecordDelivery.record_id.in_(ids)))
        self.session.execute(delete(Record).where(Record.id.in_(ids)))
        self.session.expire_all()
        return paths

    def delete_account(self, user: User) -> None:
        """Delete a resident's account and conversation; their bookings stay, no longer naming them."""
        self.session.execute(update(Appointment).where(Appointment.booked_by_user_id == user.id).values(booked_by_user_id=None))
        self.session.execute(delete(redeemed_invites).where(redeemed_invites.c.user_id == user.id))
        self.session.execute(delete(Conversation).where(Conversation.telegram_id == user.telegram_id))
        # Reminders and notices still queued for them would reach someone who has left: skipped, not sent.
        self.session.execute(update(OutboxMessage).where(OutboxMessage.chat_id == user.telegram_id,
                                                         OutboxMessage.status == "pending")
                             .values(status="skipped", last_error="recipient withdrew consent"))
        self.session.delete(user)
        self.session.flush()

    # --- retention -----------------------------------------------------------------------------------
    def stale_drafts(self, cutoff: dt.datetime, limit: int) -> list[str]:
        """Drafts nobody touched since ``cutoff``, oldest first."""
        return list(self.session.scalars(select(Record.id).where(Record.status == "draft", Record.updated_at < cutoff)
                                          .order_by(Record.updated_at).limit(limit)))

    def delivered_before(self, cutoff: dt.datetime, limit: int) -> list[str]:
        """Completed records every registry received before ``cutoff`` (none still waiting), oldest first."""
        last = func.max(RecordDelivery.delivered_at)
        waiting = func.sum(case((RecordDelivery.status != "delivered", 1), else_=0))
        query = (select(RecordDelivery.record_id).group_by(RecordDelivery.record_id)
                 .having(last < cutoff, waiting == 0).order_by(last).limit(limit))
        return list(self.session.scalars(query))

    def stale_conversations(self, cutoff: dt.datetime, limit: int) -> int:
        """Delete conversations (a half-finished registration's name and KK among them) untouched since
        ``cutoff``; returns how many. Their users simply start from their home screen."""
        ids = list(self.session.scalars(select(Conversation.telegram_id).where(Conversation.updated_at < cutoff)
                                        .order_by(Conversation.updated_at).limit(limit)))
        if ids:
            self.session.execute(delete(Conversation).where(Conversation.telegram_id.in_(ids), Conversation.updated_at < cutoff))
        return len(ids)

    def forget_closed_texts(self, cutoff: dt.datetime) -> int:
        """Blank the words of correction requests closed before ``cutoff`` (they may name people); the
        request itself (kind, status, dates) stays as the record that it was answered."""
        result = self.session.execute(update(PrivacyRequest).where(
            PrivacyRequest.status == "done", PrivacyRequest.closed_at < cutoff, PrivacyRequest.text.is_not(None))
            .values(text=None))
        return result.rowcount or 0
