"""The directory of the deployment's bots (domain/bots.py): each bot process writes its own row."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.model import BotEntry


class BotRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def all(self) -> Sequence[BotEntry]:
        return self.session.scalars(select(BotEntry)).all()

    def get(self, key: str) -> BotEntry | None:
        return self.session.get(BotEntry, key)

    def add(self, entry: BotEntry) -> BotEntry:
        self.session.add(entry)
        self.session.flush()
        return entry
