"""People who agreed to the privacy notice, by Telegram id."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.model import User


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_telegram_id(self, telegram_id: int) -> User | None:
        return self.session.scalar(select(User).where(User.telegram_id == telegram_id))

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def many(self, user_ids: Iterable[int]) -> dict[int, User]:
        """Users by id, one query per 500 (and in the session afterwards: ``get`` is free)."""
        ids, found = list(user_ids), {}
        for i in range(0, len(ids), 500):
            for user in self.session.scalars(select(User).where(User.id.in_(ids[i:i + 500]))):
                found[user.id] = user
        return found

    def languages_of(self, telegram_ids: Iterable[int]) -> dict[int, str]:
        """The chosen language of each known Telegram id (unknown ones are left out)."""
        ids, found = list(telegram_ids), {}
        for i in range(0, len(ids), 500):
            rows = self.session.execute(
                select(User.telegram_id, User.language).where(User.telegram_id.in_(ids[i:i + 500])))
            found.update((telegram_id, language) for telegram_id, language in rows)
        return found

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user

    def staff(self) -> Sequence[User]:
        """Everyone with a role beyond resident, by role and Telegram id."""
        return self.session.scalars(select(User).where(User.role != "resident").order_by(User.role, User.telegram_id)).all()

    def rt_heads_of(self, sls_id: int) -> Sequence[User]:
        return self.session.scalars(select(User).where(User.sls_id == sls_id, User.role == "rt_head")).all()

    def residents_of_family(self, family_id: int) -> Sequence[User]:
        return self.session.scalars(select(User).where(User.family_id == family_id)).all()

    def mark_blocked(self, telegram_id: int, when: dt.datetime | None) -> None:
        self.session.execute(update(User).where(User.telegram_id == telegram_id).values(blocked_at=when))

    def blocked_among(self, telegram_ids: Iterable[int]) -> set[int]:
        """Which of these chats belong to users who blocked the bot (one query for a whole batch)."""
        ids = list(set(telegram_ids))
        if not ids:
            return set()
        return set(self.session.scalars(
            select(User.telegram_id).where(User.telegram_id.in_(ids), User.blocked_at.is_not(None))
        ))
