"""The one place where everything is wired: settings → database → handlers → transport → scheduler."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field, replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.ops import Metrics
from chat.ratelimit import RateLimiter
from domain.booking import BookingRules
from domain.bots import BotScope, register_bot
from domain.clock import Clock, SystemClock
from handlers.app import PintuHandlers
from domain.geotag import GeoPolicy
from handlers.context import HandlerConfig
from storage.crypto import Keyring
from storage.db import make_engine, make_session_factory
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


@dataclass
class Pintu:
    """The assembled application, shared by the transports, the scheduler and the CLI."""

    settings: Settings
    clock: Clock
    engine: Engine
    session_factory: sessionmaker[Session]
    handlers: PintuHandlers
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.handlers.observe = self.metrics.observe_update
        if self.settings.reply_deadline >= self.settings.reply_grace:
            raise ValueError("PINTU_REPLY_DEADLINE must be shorter than PINTU_REPLY_GRACE, or a reply could be "
                             "sent by this process and by the dispatcher")
        self.handlers.reply_grace = dt.timedelta(seconds=self.settings.reply_grace)
        # One pace for everything this process sends: the step's replies and the outbox dispatcher's
        # messages share Telegram's ~30 messages/s and ~1/s per chat (chat/ratelimit.py).
        self.limiter = RateLimiter.from_settings(self.settings)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    def learn_bot_username(self, username: str) -> None:
        """Invite links name the bot; the name is Telegram's answer to getMe unless configured. This
        bot's row of the directory is written whatever the configuration, so that `pintu invite` and
        the other bots name the bot that really answers."""
        if username and not self.settings.bot_username:
            self.handlers.config = replace(self.handlers.config, bot_username=username)
        with self.uow() as uow:
            register_bot(uow, self.handlers.config.bot, self.handlers.config.bot_username, self.clock.now())
            uow.commit()

    def coalesced(self, update_id: int | None) -> None:
        """A text superseded by a later one of the same user in a flood (bot/transport.PerUserOrder)."""
        log.info("update %s coalesced with a later text of the same user", update_id, extra={"update_id": update_id})
        self.metrics.replies.labels("coalesced").inc()

    async def mark_blocked(self, chat_id: int) -> None:
        """Remember that a user blocked the bot, so bulk sends skip them until they write again."""
        def _mark() -> None:
            with self.uow() as uow:
                uow.users.mark_blocked(chat_id, self.clock.now())
                uow.commit()

        await asyncio.to_thread(_mark)


def build(settings: Settings, clock: Clock | None = None, rules: BookingRules | None = None) -> Pintu:
    clock = clock or SystemClock()
    keyring = Keyring.parse(settings.data_key) if settings.data_key else None
    engine = make_engine(settings.database_url, keyring=keyring)
    session_factory = make_session_factory(engine)
    config = HandlerConfig(invite_secret=settings.invite_secret, bot_username=settings.bot_username or "PintuBot",
                           media_dir=settings.media_dir, form_path=settings.form_path,
                           geo_policy=GeoPolicy(settings.geo_max_accuracy_m, settings.geo_max_distance_km),
                           bot=BotScope(settings.bot_key, settings.bot_areas), web_url=settings.web_url,
                           controller_name=settings.controller_name, controller_contact=settings.controller_contact)
    handlers = PintuHandlers(lambda: SqlUnitOfWork(session_factory), clock, config, rules)
    return Pintu(settings, clock, engine, session_factory, handlers)
