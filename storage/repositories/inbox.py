"""The updates a polling bot has received (bot/inbox.py), as plain Bot API JSON: kept until handled, and
remembered as handled until Telegram can no longer send them again."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update

from sqlalchemy.orm import Session

from storage.tables import inbox


class InboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def keep(self, bot: str, updates: list[dict[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
        """Store the updates not known yet and return them: Telegram sends an update again until an offset
        above it is asked for, and one already stored (handled or not) must not be handled again."""
        ids = [u["update_id"] for u in updates]
        known = set(self.session.scalars(select(inbox.c.update_id).where(inbox.c.bot_key == bot,
                                                                         inbox.c.update_id.in_(ids))))
        fresh = [u for u in updates if u["update_id"] not in known]
        if fresh:
            self.session.execute(inbox.insert(), [{"bot_key": bot, "update_id": u["update_id"], "payload": u,
                                                   "received_at": now} for u in fresh])
        return fresh

    def pending(self, bot: str) -> list[dict[str, Any]]:
        """Everything received and not handled, oldest first."""
        return [row.payload for row in self.session.execute(
            select(inbox.c.payload).where(inbox.c.bot_key == bot, inbox.c.handled_at.is_(None))
            .order_by(inbox.c.update_id))]

    def mark_handled(self, bot: str, update_id: int, now: dt.datetime) -> None:
        """In the step's transaction: the update counts as handled exactly when its step committed."""
        self.session.execute(update(inbox).where(inbox.c.bot_key == bot, inbox.c.update_id == update_id,
                                                 inbox.c.handled_at.is_(None)).values(handled_at=now))

    def prune(self, bot: str, below: int) -> int:
        """Forget handled updates Telegram has been told about (ids below the offset asked for)."""
        return self.session.execute(delete(inbox).where(inbox.c.bot_key == bot, inbox.c.update_id < below,
                                                        inbox.c.handled_at.is_not(None))).rowcount
