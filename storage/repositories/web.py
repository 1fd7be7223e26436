"""The web dashboard's one-time links and sessions (domain/dashboard.py); rows hold token digests only."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.model import WebLink, WebSession
from storage.tables import web_links, web_sessions


class WebRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_link(self, token_hash: str, user_id: int, now: dt.datetime, expires_at: dt.datetime) -> None:
        self.session.execute(web_links.insert().values(token_hash=token_hash, user_id=user_id, created_at=now,
                                                       expires_at=expires_at))

    def link(self, token_hash: str) -> WebLink | None:
        row = self.session.execute(select(web_links).where(web_links.c.token_hash == token_hash)).first()
        return WebLink(row.user_id, row.expires_at, row.used_at) if row is not None else None

    def use_link(self, token_hash: str, now: dt.datetime) -> bool:
        """Mark the link used; False when it already was (a second tab racing the first loses here)."""
        result = self.session.execute(update(web_links).where(web_links.c.token_hash == token_hash,
                                                              web_links.c.used_at.is_(None)).values(used_at=now))
        return result.rowcount == 1

    def add_session(self, token_hash: str, user_id: int, language: str, now: dt.datetime,
                    expires_at: dt.datetime) -> None:
        self.session.execute(web_sessions.insert().values(token_hash=token_hash, user_id=user_id, language=language,
                                                          created_at=now, expires_at=expires_at))

    def session_of(self, token_hash: str) -> WebSession | None:
        row = self.session.execute(select(web_sessions).where(web_sessions.c.token_hash == token_hash)).first()
        if row is None:
            return None
        return WebSession(row.id, row.user_id, row.language, row.created_at, row.expires_at, row.ended_at)

    def set_language(self, token_hash: str, language: str) -> None:
        self.session.execute(update(web_sessions).where(web_sessions.c.token_hash == token_hash)
                             .values(language=language))

    def end_session(self, token_hash: str, now: dt.datetime) -> None:
        self.session.execute(update(web_sessions).where(web_sessions.c.token_hash == token_hash,
                                                        web_sessions.c.ended_at.is_(None)).values(ended_at=now))

    def forget_before(self, cutoff: dt.datetime) -> int:
        """Delete links and sessions that expired before ``cutoff`` (they open nothing any more)."""
        links = self.session.execute(web_links.delete().where(web_links.c.expires_at < cutoff)).rowcount
        sessions = self.session.execute(web_sessions.delete().where(web_sessions.c.expires_at < cutoff)).rowcount
        return links + sessions
