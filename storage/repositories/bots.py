"""The directory of the deployment's bots (domain/bots.py): each bot process writes its own row."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from domain.model import BotEntry
from storage.tables import bots


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

    def save(self, key: str, username: str, area_codes: list[str], now: dt.datetime) -> None:
        """Write or refresh the bot's row in one statement: the processes of one bot (the bot, the
        dispatcher) start together, and two plain inserts of the same key would make one of them fail."""
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        values = {"username": username, "area_codes": area_codes, "updated_at": now}
        self.session.execute(insert(bots).values(key=key, **values)
                             .on_conflict_do_update(index_elements=[bots.c.key], set_=values))
        self.session.expire_all()
