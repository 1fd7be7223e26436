"""What every flow step receives: the event, the unit of work, the user, their conversation, a translator."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from domain.booking import BookingRules
from domain.bots import EVERYWHERE, BotScope
from domain.geotag import GeoPolicy
from domain.model import User
from handlers.events import AnswerCallback, EditMessage, Incoming, InlineKeyboard, Markup, Reply, SendMessage
from handlers.i18n import Translator


@dataclass(frozen=True)
class HandlerConfig:
    invite_secret: str
    bot_username: str = "PintuBot"
    consent_version: str = "2025-1"
    invite_days: int = 14  # how long an RT head's resident invite stays valid
    page_size: int = 8  # families per page in the RT head's list
    media_dir: str = "media"  # field capture: where photos are stored (PINTU_MEDIA_DIR)
    geo_policy: GeoPolicy = field(default_factory=GeoPolicy)  # field capture: geotag limits
    form_path: str = ""  # the questionnaire's XLSForm (PINTU_FORM); "": the default first-visit form
    bot: BotScope = EVERYWHERE  # this bot's key and areas when the deployment runs several (domain/bots.py)


@dataclass
class Context:
    event: Incoming
    uow: Any
    now: dt.datetime
    t: Translator
    config: HandlerConfig
    rules: BookingRules
    user: User | None
    state: str = "idle"
    data: dict[str, Any] = field(default_factory=dict)
    reply: Reply = field(default_factory=Reply)

    # --- conversation state -------------------------------------------------------------------
    def goto(self, state: str, **data: Any) -> None:
        """Enter a step; ``data`` replaces what the previous step kept unless keys are carried over."""
        self.state = state
        self.data = data

    def keep(self, **data: Any) -> None:
        self.data.update(data)

    # --- answering ----------------------------------------------------------------------------
    def send(self, text: str, markup: Markup = None) -> None:
        self.reply.add(SendMessage(self.event.chat_id, text, markup))

    def show(self, text: str, markup: InlineKeyboard | None = None) -> None:
        """Edit the pressed message in place when there is one (message economy), else send."""
        if self.event.is_callback and self.event.message_id is not None:
            self.reply.add(EditMessage(self.event.chat_id, self.event.message_id, text, markup))
        else:
            self.send(text, markup)

    def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Stop the button's spinner; every callback gets exactly one answer (see app.py)."""
        if self.event.callback_id and not self.answered:
            self.reply.add(AnswerCallback(self.event.callback_id, text, alert))

    @property
    def answered(self) -> bool:
        return any(isinstance(a, AnswerCallback) for a in self.reply.actions)
