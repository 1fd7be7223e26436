"""What every flow step receives: the event, the unit of work, the user, their conversation, a translator."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from domain.ports import UnitOfWork
from domain.booking import BookingRules
from domain.bots import EVERYWHERE, BotScope
from domain.geotag import GeoPolicy
from chat.events import AnswerCallback, EditMessage, Incoming, Reply, SendMessage
from chat.keyboard import Keyboard, Markup, Part, with_group
from chat.i18n import Translator
from handlers.states import State
from domain.model import User


@dataclass(frozen=True)
class HandlerConfig:
    invite_secret: str
    bot_username: str = "PintuBot"
    # The data controller the privacy notices name, and how to reach it (PINTU_CONTROLLER_NAME, _CONTACT);
    # each role's notice and its version: domain/privacy.py NOTICES, handlers/notices.py.
    controller_name: str = "BPS Kabupaten/Kota"
    controller_contact: str = "https://www.bps.go.id"
    invite_days: int = 14  # how long an RT head's resident invite stays valid
    page_size: int = 8  # families per page in the RT head's list
    media_dir: str = "media"  # field capture: where photos are stored (PINTU_MEDIA_DIR)
    geo_policy: GeoPolicy = field(default_factory=GeoPolicy)  # field capture: geotag limits
    form_path: str = ""  # the questionnaire's XLSForm (PINTU_FORM); "": the default first-visit form
    bot: BotScope = EVERYWHERE  # this bot's key and areas when the deployment runs several (domain/bots.py)
    web_url: str = ""  # the web dashboard's base URL (PINTU_WEB_URL); "": /dasbor says there is none


@dataclass
class Context:
    event: Incoming
    uow: UnitOfWork
    now: dt.datetime
    t: Translator
    config: HandlerConfig
    rules: BookingRules
    user: User | None
    state: State = State.IDLE
    data: dict[str, Any] = field(default_factory=dict)
    reply: Reply = field(default_factory=Reply)
    # Set by go()/go_home(), read by the router once the step returns (handlers/app.py).
    entering: State | None = None
    going_home: bool = False
    notice: str | None = None  # shown above the screen the router enters next, then forgotten
    screen: int = 0  # the number of the screen shown last (handlers/screens.py), kept with the conversation

    # --- conversation state -------------------------------------------------------------------
    def go(self, state: State, *, notice: str | None = None, **data: Any) -> None:
        """Move to ``state`` with ``data`` (replacing what the previous step kept); the router then
        enters it: the state's screen is shown, with ``notice`` above it."""
        self.stay(state, **data)
        self.entering, self.going_home, self.notice = state, False, notice

    def stay(self, state: State, **data: Any) -> None:
        """Set the state and its data without entering it: the step shows its own screen."""
        self.state = state
        self.data = data

    def go_home(self, *, notice: str | None = None, fresh: bool = False) -> None:
        """To the user's home screen (their role's main screen, or the step they are in); ``fresh``:
        as a new message, because the pressed one shows something the user should keep reading."""
        self.entering, self.going_home, self.notice = None, True, notice
        if fresh:
            self.event = replace(self.event, message_id=None)

    def keep(self, **data: Any) -> None:
        self.data.update(data)

    # --- answering ----------------------------------------------------------------------------
    def send(self, text: str, markup: Markup = None) -> None:
        self.reply.add(SendMessage(self.event.chat_id, self._with_notice(text), markup))

    def show(self, text: str, markup: Keyboard | None = None) -> None:
        """Edit the pressed message in place when there is one (message economy), else send."""
        if self.event.is_callback and self.event.message_id is not None:
            self.reply.add(EditMessage(self.event.chat_id, self.event.message_id, self._with_notice(text), markup))
        else:
            self.send(text, markup)

    def extend_screen(self, group: Part) -> None:
        """One more group of buttons under the screen just shown (a home screen that also offers the
        questionnaire); nothing when the last action is not a screen with inline buttons (or none)."""
        last = self.reply.actions[-1] if self.reply.actions else None
        if not isinstance(last, (SendMessage, EditMessage)) or not isinstance(last.markup, (Keyboard, type(None))):
            return
        self.reply.actions[-1] = replace(last, markup=with_group(last.markup, group))

    def _with_notice(self, text: str) -> str:
        """The first screen after a go() carries its notice ("that time was just taken") on top (the
        message is cut to Telegram's limit when it is made: chat/events.py, chat/fit.py)."""
        notice, self.notice = self.notice, None
        return f"{notice}\n\n{text}" if notice else text

    def answer(self, text: str | None = None, alert: bool = False) -> None:
        """Stop the button's spinner; every callback gets exactly one answer (see app.py)."""
        if self.event.callback_id and not self.answered:
            self.reply.add(AnswerCallback(self.event.callback_id, text, alert))

    @property
    def answered(self) -> bool:
        return any(isinstance(a, AnswerCallback) for a in self.reply.actions)
