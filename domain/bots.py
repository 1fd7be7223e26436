"""Several bots in one deployment, each bound to its areas (one token per kab/kota).

Telegram lets one token send about 30 messages a second, so a province or the country runs one bot per
kab/kota, all on one PostgreSQL. Each bot process is started with its key and its area codes
(PINTU_BOT_KEY, PINTU_BOT_AREAS; docs/operations.md, Deploy); a code serves itself and everything below it
("64.72" is Kota Samarinda with all its kecamatan, kelurahan and SLS). A deployment with one bot sets
neither: its scope, :data:`EVERYWHERE`, serves every area, and nothing here changes its behaviour.

- A user talks to the bot of their area: ``users.bot_key`` records it, and every message to them
  (reminders, notices, daily lists) is claimed by that bot's dispatcher only (storage, OutboxRepository),
  so each token keeps to its own limits. A group records the bot that is in it.
- A newcomer chooses among their bot's kecamatan only; an invite to an area of another bot, or a
  registered user writing to a bot that does not serve their area, is told which bot to use (the
  ``bots`` table, written by each bot process at start, names it).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.invites import Invite, InviteKind
from domain.model import Area, BotEntry, User
from domain.ports import UnitOfWork


@dataclass(frozen=True)
class BotScope:
    key: str = ""  # "": the deployment's only bot
    area_codes: tuple[str, ...] = ()  # empty: every area

    @property
    def everywhere(self) -> bool:
        return not self.area_codes

    def serves_code(self, code: str) -> bool:
        return self.everywhere or any(within(code, mine) for mine in self.area_codes)

    def serves(self, area: Area | None) -> bool:
        return area is None or self.serves_code(area.code)


EVERYWHERE = BotScope()


def within(code: str, ancestor: str) -> bool:
    """Is the area ``code`` the area ``ancestor`` or below it (codes are dotted: 64.72 → 64.72.01 …)?"""
    return code == ancestor or code.startswith(ancestor + ".")


def user_area(uow: UnitOfWork, user: User) -> Area | None:
    """The area that places a user: their RT, an enumerator's first SLS, a supervisor's scope; None for
    a newcomer who has not chosen yet (and for an admin, who is everywhere)."""
    if user.role == "enumerator":
        enumerator = uow.enumerators.by_user(user.id)
        areas = list(uow.enumerators.assigned_sls(enumerator.id)) if enumerator is not None else []
        return areas[0] if areas else None
    if user.role in ("supervisor", "coordinator"):
        return uow.areas.get(user.scope_area_id) if user.scope_area_id is not None else None
    return uow.areas.get(user.sls_id) if user.sls_id is not None else None


def bot_serving(uow: UnitOfWork, area: Area) -> BotEntry | None:
    """The registered bot whose areas hold ``area`` (the most specific one), None when no bot does."""
    best: tuple[int, BotEntry] | None = None
    for entry in uow.bots.all():
        for code in entry.area_codes or []:
            if within(area.code, code) and (best is None or len(code) > best[0]):
                best = (len(code), entry)
    return best[1] if best else None


def register_bot(uow: UnitOfWork, scope: BotScope, username: str, now: dt.datetime) -> None:
    """Write (or refresh) this bot's row of the directory; the caller commits."""
    uow.bots.save(scope.key, username, list(scope.area_codes), now)


def answering_bot(uow: UnitOfWork, key: str, area: Area | None) -> str | None:
    """The username of the bot that will answer a link into ``area``: the bot serving it, else the
    bot of this ``key`` (PINTU_BOT_KEY, "" for a deployment's only bot), as each recorded at its start
    from getMe; None when no bot has run yet."""
    entry = bot_serving(uow, area) if area is not None else None
    entry = entry or uow.bots.get(key)
    return entry.username if entry is not None and entry.username else None


def invite_area(uow: UnitOfWork, invite: Invite) -> Area | None:
    """The area an invite places its user in (domain/invites.py kinds): an RT, an enumerator's first SLS,
    a supervisor's or coordinator's area."""
    if invite.kind is InviteKind.ENUMERATOR:
        areas = list(uow.enumerators.assigned_sls(invite.target_id)) if uow.enumerators.get(invite.target_id) else []
        return areas[0] if areas else None
    if invite.kind is InviteKind.FKP_SEAT:  # a forum's seat: the forum's kelurahan
        seat = uow.fkp.participant(invite.target_id)
        forum = uow.fkp.get(seat.forum_id) if seat is not None else None
        return uow.areas.get(forum.village_id) if forum is not None else None
    return uow.areas.get(invite.target_id)
