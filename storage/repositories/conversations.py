"""Where each user is in a flow, and the lock that serialises one user's updates."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from domain.model import Conversation


class ConversationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, telegram_id: int) -> Conversation | None:
        return self.session.get(Conversation, telegram_id)

    def lock_user(self, telegram_id: int) -> None:
        """Serialise this user's updates across processes until the transaction ends.

        PostgreSQL: a transaction-level advisory lock keyed by the Telegram id (stores nothing, so it
        also covers people who have not consented yet and have no row). SQLite: nothing to do, as every
        write transaction starts with BEGIN IMMEDIATE, which already serialises all writers.
        """
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": telegram_id})

    def save(self, telegram_id: int, state: str, data: dict[str, Any], when: dt.datetime,
             update_id: int | None = None, bot: str = "") -> None:
        """Store where the user is; ``update_id`` (of ``bot``: every bot numbers its updates itself) is
        the last one applied."""
        conversation = self.session.get(Conversation, telegram_id)
        if conversation is None:
            self.session.add(Conversation(telegram_id=telegram_id, state=state, data=dict(data), updated_at=when,
                                          last_update_id=update_id, last_update_bot=bot or None))
        else:
            conversation.state, conversation.data, conversation.updated_at = state, dict(data), when
            if update_id is not None:
                same_bot = (conversation.last_update_bot or "") == bot
                last = conversation.last_update_id if same_bot else None
                conversation.last_update_id = max(update_id, last or update_id)
                conversation.last_update_bot = bot or None

    def clear(self, telegram_id: int) -> None:
        self.session.execute(delete(Conversation).where(Conversation.telegram_id == telegram_id))
