"""The entry point of all flows: one update in, a list of actions out, one transaction in between.

Routing is a table per kind of event: commands, button prefixes, and conversation states for typed
input. A step that fails for reasons outside the user's control (the database is briefly away, a bug)
still answers the user, and the transaction is rolled back so nothing is half-written.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from domain.access import can_use_command
from domain.booking import BookingRules
from domain.bots import bot_serving, user_area
from domain.clock import Clock
from handlers import booking, capture, common, enumerator, group, onboarding, outcomes, questionnaire, reminders, rt_head, supervisor
from handlers.context import Context, HandlerConfig
from handlers.events import Action, AnswerCallback, Incoming, SendMessage
from handlers.i18n import Translator, language_for
from handlers.keyboards import parse
from handlers.menus import menu_update

log = logging.getLogger(__name__)

Step = Callable[[Context], None]

COMMANDS: dict[str, Step] = {
    "start": onboarding.on_start,
    "menu": common.on_menu,
    "bantuan": common.on_help,
    "help": common.on_help,
    "bahasa": common.on_language,
    "language": common.on_language,
    "janji": booking.on_show_appointment,
    "appointment": booking.on_show_appointment,
    "pindah": booking.on_move,
    "move": booking.on_move,
    "batal": booking.on_cancel,
    "cancel": booking.on_cancel,
    "keluarga": rt_head.on_families,
    "families": rt_head.on_families,
    "jadwal": enumerator.on_schedule,
    "schedule": enumerator.on_schedule,
    "isi": questionnaire.on_fill_command,
    "fill": questionnaire.on_fill_command,
    "kunjungan": questionnaire.on_visit_command,
    "visit": questionnaire.on_visit_command,
    "progres": supervisor.on_progress,
    "progress": supervisor.on_progress,
    "tinjau": supervisor.on_review,
    "review": supervisor.on_review,
    "ekspor": supervisor.on_export,
    "export": supervisor.on_export,
}

# Steps that anyone may reach before agreeing to the privacy notice.
BEFORE_CONSENT = {"start", "bantuan", "help", "bahasa", "language"}

BUTTONS: dict[str, Step] = {
    "cs": onboarding.on_consent_button,
    "ar": onboarding.on_area_button,
    "mb": onboarding.on_members_button,
    "dy": booking.on_day_button,
    "tm": booking.on_time_button,
    "ok": booking.on_confirm_button,
    "nv": booking.on_navigation_button,
    "ap": booking.on_appointment_button,
    "lg": common.on_language_button,
    "rt": rt_head.on_rt_button,
    "en": enumerator.on_schedule_button,
    "rm": reminders.on_reminder_button,
    "rh": rt_head.on_rh_button,
    "nu": rt_head.on_nudge_button,
    "fe": rt_head.on_edit_button,
    "oc": outcomes.on_outcome_button,
    "gc": capture.on_geo_button,
    "qa": questionnaire.on_answer_button,
    "qn": questionnaire.on_navigation_button,
    "sv": supervisor.on_sv_button,
    "ex": supervisor.on_export_button,
}

# The only commands read in a group chat (handlers/group.py); nothing else is answered there.
GROUP_COMMANDS: dict[str, Step] = {
    "grup": group.on_group_command,
    "group": group.on_group_command,
}

TYPED_INPUT: dict[str, Step] = {
    "family_name": onboarding.on_family_name,
    "family_kk": onboarding.on_family_kk,
    "family_members": onboarding.on_family_members_typed,
    "fe_value": rt_head.on_edit_typed,
    "oc_note": outcomes.on_note_typed,
    "qs": questionnaire.on_typed,
}


class PintuHandlers:
    """The conversation flows, independent of any Telegram library."""

    def __init__(self, uow_factory: Callable[[], Any], clock: Clock, config: HandlerConfig, rules: BookingRules | None = None) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.config = config
        self.rules = rules or BookingRules()
        # Called after every update with (outcome, seconds): "ok", "duplicate", "db_error" or "error".
        # The bot's metrics plug in here; the handlers know nothing about how it is measured.
        self.observe: Callable[[str, float], None] | None = None

    def handle(self, event: Incoming) -> list[Action]:
        """Handle one update in one unit of work and return what to send."""
        if event.chat_type != "private":
            # In a group only GROUP_COMMANDS are read; never answer personal steps there.
            step = GROUP_COMMANDS.get(event.command or "") if not event.callback_id else None
            if step is None:
                return [AnswerCallback(event.callback_id)] if event.callback_id else []
            return self._handle_group(event, step)
        started = time.perf_counter()
        outcome = "error"
        try:
            with self.uow_factory() as uow:
                # Several workers may receive updates of the same user at the same moment. First take
                # that user's lock (held until commit/rollback), so their steps run one after the
                # other, each reading the state the previous one committed: no corrupted conversation,
                # no double booking. Then drop an update already applied (a webhook redelivery) or
                # older than the last applied one (it would act on a screen the user has left).
                uow.conversations.lock_user(event.sender.telegram_id)
                ctx = self._context(uow, event)
                if self._already_applied(ctx, uow):
                    outcome = "duplicate"
                    log.info("dropping update %s: a later or the same update was already applied", event.update_id,
                             extra={"update_id": event.update_id})
                    return [AnswerCallback(event.callback_id)] if event.callback_id else []
                routed = not self._other_bots_user(ctx)
                if routed:
                    self._route(ctx)
                    self._remember_bot(ctx)
                # A changed role: the chat's menu follows.
                menu = menu_update(ctx.user, event.chat_id) if routed else None
                if ctx.user is not None:
                    uow.conversations.save(event.sender.telegram_id, ctx.state, ctx.data, ctx.now, event.update_id,
                                           self.config.bot.key)
                uow.commit()
            ctx.answer()  # every button press gets exactly one answer, even a silent one
            if menu is not None:
                ctx.reply.add(menu)  # last: the user's answer does not wait for it
            outcome = "ok"
            return ctx.reply.actions
        except (OperationalError, DBAPIError):
            outcome = "db_error"
            log.warning("database unavailable while handling an update", exc_info=True,
                        extra={"update_id": event.update_id})
            return self._apology(event, "error-busy")
        except Exception:
            log.exception("unexpected error while handling an update", extra={"update_id": event.update_id})
            return self._apology(event, "error-unexpected")
        finally:
            if self.observe is not None:
                self.observe(outcome, time.perf_counter() - started)

    def _handle_group(self, event: Incoming, step: Step) -> list[Action]:
        """A group command: its own unit of work; the sender's private conversation is left as it was."""
        try:
            with self.uow_factory() as uow:
                uow.conversations.lock_user(event.sender.telegram_id)
                ctx = self._context(uow, event)
                step(ctx)
                uow.commit()
            return ctx.reply.actions
        except (OperationalError, DBAPIError):
            log.warning("database unavailable while handling a group command", exc_info=True)
            return self._apology(event, "error-busy")
        except Exception:
            log.exception("unexpected error while handling a group command")
            return self._apology(event, "error-unexpected")

    def _other_bots_user(self, ctx: Context) -> bool:
        """With several bots: a user placed in another bot's area is sent there, and nothing else happens."""
        scope = self.config.bot
        if scope.everywhere or ctx.user is None:
            return False
        area = user_area(ctx.uow, ctx.user)
        if scope.serves(area):
            return False
        other = bot_serving(ctx.uow, area)
        text = ctx.t("wrong-bot", area=area.name, bot=other.username) if other else \
            ctx.t("wrong-bot-unknown", area=area.name)
        if ctx.event.callback_id:
            ctx.answer(text, alert=True)
        else:
            ctx.send(text)
        return True

    def _remember_bot(self, ctx: Context) -> None:
        """After the step (which may have created the user): messages to them go out through this bot."""
        scope = self.config.bot
        if not scope.everywhere and ctx.user is not None and ctx.user.bot_key != scope.key:
            ctx.user.bot_key = scope.key

    def _already_applied(self, ctx: Context, uow: Any) -> bool:
        if ctx.event.update_id is None or ctx.user is None:
            return False
        conversation = uow.conversations.get(ctx.event.sender.telegram_id)
        if conversation is None or (conversation.last_update_bot or "") != self.config.bot.key:
            return False  # another bot's update ids are another sequence (several bots: domain/bots.py)
        last = conversation.last_update_id
        return last is not None and ctx.event.update_id <= last

    def _context(self, uow: Any, event: Incoming) -> Context:
        user = uow.users.by_telegram_id(event.sender.telegram_id)
        if user is not None and user.blocked_at is not None:
            user.blocked_at = None  # they wrote to us, so they unblocked the bot
        language = language_for(event.sender.language_code, user.language if user else None)
        ctx = Context(event, uow, self.clock.now(), Translator(language), self.config, self.rules, user)
        conversation = uow.conversations.get(event.sender.telegram_id) if user else None
        if conversation is not None:
            ctx.state, ctx.data = conversation.state, dict(conversation.data or {})
        return ctx

    def _route(self, ctx: Context) -> None:
        event = ctx.event
        if event.is_callback:
            prefix, _ = parse(event.callback_data)
            step = BUTTONS.get(prefix)
            if step is None:
                ctx.answer(ctx.t("stale-button"), alert=True)
            elif ctx.user is None and prefix not in ("cs", "lg"):
                ctx.answer(ctx.t("need-start"), alert=True)
            else:
                step(ctx)
            return
        command = event.command
        if command is not None:
            step = COMMANDS.get(command)
            if step is None:
                ctx.send(ctx.t("unknown-command"))
            elif ctx.user is None and command not in BEFORE_CONSENT:
                ctx.send(ctx.t("need-start"))
            elif ctx.user is not None and not can_use_command(ctx.user, command):
                ctx.send(ctx.t("not-allowed"))  # the role x command matrix (domain/access.py)
            else:
                step(ctx)
            return
        if ctx.user is None:
            if not event.is_live_update:  # a live location's later points: never answered
                ctx.send(ctx.t("need-start"))
            return
        step = TYPED_INPUT.get(ctx.state) if event.text is not None else None
        (step or common.on_unexpected_input)(ctx)

    def _apology(self, event: Incoming, key: str) -> list[Action]:
        t = Translator(language_for(event.sender.language_code))
        if event.callback_id:
            return [AnswerCallback(event.callback_id, t(key), show_alert=True)]
        return [SendMessage(event.chat_id, t(key))]
