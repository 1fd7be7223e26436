"""The entry point of all flows: one update in, a list of actions out, one transaction in between.

The router's tables are built from the flows' declarations (handlers/flows/, handlers/flow.py): a
command goes to the flow that owns it, a press to the flow that owns its prefix, anything else to the
state the conversation is in. After a step, the router enters the state the step went to
(``ctx.go``) or the user's home (``ctx.go_home``). A step that fails for reasons outside the user's
control (the database is briefly away, a bug) still answers the user, and the transaction is rolled
back so nothing is half-written.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, replace
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from chat.events import Action, AnswerCallback, EditMessage, Incoming, SendMessage
from chat.i18n import Translator, language_for
from chat.keyboard import parse
from domain.ports import UnitOfWork
from chat.wire import action_to_json
from domain.access import can_use_command
from domain.booking import BookingRules
from domain.bots import bot_serving, user_area
from domain.clock import Clock
from domain.privacy import needs_reconsent
from handlers.context import Context, HandlerConfig
from handlers.flow import Accepts, Flow, StateSpec, Step
from handlers.flows import FLOWS
from handlers.keyboards import consent as consent_keyboard
from handlers.notices import renewed_notice
from handlers.menus import menu_update
from handlers.notifications import REPLY_KIND
from handlers.screens import SCREEN_KEY, read_screen, stamp_reply, unstamp
from handlers.states import State

log = logging.getLogger(__name__)

# A step may lead to a state whose entry leads on (no free day: back home): this many hops at most.
MAX_ENTRIES = 5
UNEXPECTED_ATTACHMENTS = ("sticker", "voice", "video", "audio", "other")
# Open to someone asked to agree to a new notice: seeing and erasing their data (declining it is withdrawing).
RECONSENT_OPEN = frozenset({"dataku", "mydata", "pv"})


class Router:
    """The routing tables of a set of flows; building it checks that every name has one owner."""

    def __init__(self, flows: Iterable[Flow]) -> None:
        self.flows = tuple(flows)
        self.commands: dict[str, Step] = self._table("command", ((n, s) for f in self.flows for n, s in f.commands.items()))
        self.buttons: dict[str, Step] = self._table("button prefix", ((p, s) for f in self.flows for p, s in f.buttons.items()))
        self.group_commands = self._table("group command", ((n, s) for f in self.flows for n, s in f.group_commands.items()))
        self.states: dict[str, StateSpec] = self._table("state", ((sp.state.value, sp) for f in self.flows for sp in f.states))
        self.homes: dict[str, Step] = self._table("home", ((k, s) for f in self.flows for k, s in f.homes.items()))
        self.before_consent = frozenset().union(*(f.before_consent for f in self.flows))
        self.presses = frozenset().union(*(spec.presses for spec in self.states.values()))
        live = [f.live_locations for f in self.flows if f.live_locations is not None]
        if len(live) > 1:
            raise ValueError("only one flow may read live locations outside its states")
        self.live_locations = live[0] if live else None

    @staticmethod
    def _table(what: str, pairs: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        table: dict[Any, Any] = {}
        for key, value in pairs:
            if key in table:
                raise ValueError(f"{what} {key!r} is declared by two flows")
            table[key] = value
        return table

    def route(self, ctx: Context, stored_state: str | None) -> None:
        """Run the step the event asks for, then enter whatever it went to."""
        if self.read_state(stored_state) is None:  # a state of an older version (or a removed flow): home, say so
            log.info("stored state %r no longer exists; taking the user home", stored_state)
            ctx.stay(State.IDLE)
            if ctx.user is not None and not ctx.event.is_callback and ctx.event.command is None:
                ctx.go_home(notice=ctx.t("state-gone"))
                self.settle(ctx)
                return
        self._step(ctx)
        self.settle(ctx)

    def settle(self, ctx: Context) -> None:
        """Enter the state (or the home) the step went to; entries may lead on, a few hops at most."""
        for _ in range(MAX_ENTRIES):
            if ctx.going_home:
                ctx.going_home = False
                self.home(ctx)
            elif ctx.entering is not None:
                spec = self.states.get(ctx.entering.value)
                ctx.entering = None
                if spec is not None and spec.enter is not None:
                    spec.enter(ctx)
            else:
                ctx.notice = None
                return
        raise RuntimeError(f"entering states did not settle (last: {ctx.state})")

    def read_state(self, stored: str | None) -> State | None:
        """The state a conversation row holds; None when it is not (or no longer) a declared state."""
        if stored is None or stored == State.IDLE.value:
            return State.IDLE
        spec = self.states.get(stored)
        return spec.state if spec is not None else None

    def home(self, ctx: Context) -> None:
        self.homes[home_kind(ctx.user)](ctx)

    def _step(self, ctx: Context) -> None:
        superseded = False
        if ctx.event.is_callback:  # the screen number a button carries (handlers/screens.py)
            data, screen = unstamp(ctx.event.callback_data)
            ctx.event = replace(ctx.event, callback_data=data)
            superseded = screen is not None and ctx.user is not None and screen != ctx.screen
        if self._asks_reconsent(ctx):
            return
        if superseded:
            self._superseded(ctx)
            return
        event = ctx.event
        if event.is_callback:
            prefix, _ = parse(event.callback_data)
            spec = self.states.get(ctx.state.value)
            step = spec.on_input if spec is not None and prefix in spec.presses else self.buttons.get(prefix)
            if step is None and prefix in self.presses:  # a press of a question no longer open
                ctx.answer(ctx.t("stale-button"), alert=True)
            elif step is None:
                ctx.answer(ctx.t("stale-button"), alert=True)
            elif ctx.user is None and prefix not in self.before_consent:
                ctx.answer(ctx.t("need-start"), alert=True)
            else:
                step(ctx)
            return
        command = event.command
        if command is not None:
            step = self.commands.get(command)
            if step is None:
                ctx.send(ctx.t("unknown-command"))
            elif ctx.user is None and command not in self.before_consent:
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
        self._input(ctx, self.states.get(ctx.state.value))

    def _superseded(self, ctx: Context) -> None:
        """A button of a message the conversation has left: say so, and show the current screen anew."""
        ctx.answer(ctx.t("screen-gone"))
        ctx.event = replace(ctx.event, message_id=None)
        spec = self.states.get(ctx.state.value)
        if spec is not None and spec.enter is not None:
            ctx.go(ctx.state, **ctx.data)
        else:
            ctx.go_home()

    def _asks_reconsent(self, ctx: Context) -> bool:
        """Someone who agreed to an older privacy notice sees the new one before anything else; what is
        open before consent (the notice's own buttons, help, language) and their rights stay open."""
        if ctx.user is None or not needs_reconsent(ctx.user.consent_version, ctx.user.role):
            return False
        event = ctx.event
        name = parse(event.callback_data)[0] if event.is_callback else event.command
        if name is not None and (name in self.before_consent or name in RECONSENT_OPEN):
            return False
        if event.is_live_update:
            return True
        if event.is_callback:
            ctx.answer()
        ctx.send(renewed_notice(ctx.t, ctx.config, ctx.user.role), consent_keyboard(ctx.t, ""))
        return True

    def _input(self, ctx: Context, spec: StateSpec | None) -> None:
        """Typed text, a location or a file: the state reads it if it accepts it; else it is answered."""
        event = ctx.event
        accepts = spec.accepts if spec is not None else Accepts.NOTHING
        if event.text is not None and spec is not None and spec.on_text is not None:
            spec.on_text(ctx)
        elif event.text is None and spec is not None and spec.on_input is not None and _is_input_for(event, accepts):
            spec.on_input(ctx)
        elif event.is_live_update:
            if self.live_locations is not None:
                self.live_locations(ctx)
        elif spec is not None and spec.on_other is not None:
            spec.on_other(ctx)
        elif event.text is not None:
            ctx.send(ctx.t("not-understood"))
        elif event.attachment is not None and event.attachment.kind in UNEXPECTED_ATTACHMENTS:
            ctx.send(ctx.t("capture-attachment-not-expected"))
        else:
            ctx.send(ctx.t("not-expected-now"))


def _is_input_for(event: Incoming, accepts: Accepts) -> bool:
    """A state that reads locations or files is given every non-text event: it judges what came (a
    sticker where a photo is asked gets its own answer)."""
    return bool(accepts & (Accepts.LOCATION | Accepts.MEDIA))


def home_kind(user: Any) -> str:
    """Which home screen a user has: the role's, and for residents whether their family is registered."""
    role = user.role
    if role in ("supervisor", "coordinator", "admin"):
        return "supervision"
    if role in ("rt_head", "enumerator"):
        return role
    return "resident" if user.family_id is not None else "newcomer"


@dataclass(frozen=True)
class Handled:
    """What to send for one update, and for each action the id of its outbox row written ahead with the
    step (None for actions not written ahead: callback answers, menus, documents, or no journal)."""

    actions: list[Action]
    journal: tuple[int | None, ...] = ()


class PintuHandlers:
    """The conversation flows, independent of any Telegram library."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock, config: HandlerConfig, rules: BookingRules | None = None,
                 flows: Iterable[Flow] = FLOWS) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.config = config
        self.rules = rules or BookingRules()
        self.router = Router(flows)
        # With a grace period, every message and edit a step returns is also written to the outbox in
        # the step's own transaction, due only after the grace: the transport sends it at once and
        # settles the row; if this process dies first, the dispatcher sends it (bot/replies.py).
        self.reply_grace: dt.timedelta | None = None
        # Called after every update with (outcome, seconds): "ok", "duplicate", "db_error" or "error".
        # The bot's metrics plug in here; the handlers know nothing about how it is measured.
        self.observe: Callable[[str, float], None] | None = None

    def expects_file(self, event: Incoming) -> bool:
        """Whether the conversation expects this update's photo or document, so the transport downloads
        it (bot/transport.py: fetch_expected): only a state declaring ``wants_file`` that says yes for
        its current step. Everything else (a stranger, a file sent out of the blue, a text question) is
        answered without the bytes: nobody makes the bot pull 20 MB files it has no use for. Read-only
        and never raises (a database hiccup: no download, and the step asks to send the file again)."""
        attachment = event.attachment
        if attachment is None or attachment.kind not in ("photo", "document") or event.chat_type != "private":
            return False
        try:
            with self.uow_factory() as uow:
                ctx, _ = self._context(uow, event)
                spec = self.router.states.get(ctx.state.value) if ctx.user is not None else None
                return bool(spec is not None and spec.wants_file is not None and spec.wants_file(ctx))
        except Exception:
            log.warning("could not tell whether a file is expected; not downloading it", exc_info=True,
                        extra={"update_id": event.update_id})
            return False

    def handle(self, event: Incoming) -> list[Action]:
        """Handle one update in one unit of work and return what to send."""
        return self.handle_journaled(event).actions

    def handle_journaled(self, event: Incoming) -> Handled:
        """:meth:`handle`, with the ids of the replies written ahead to the outbox (see reply_grace)."""
        if event.addressee is not None and event.addressee.lower() != self.config.bot_username.lower():
            return Handled([])  # "/janji@another_bot" in a group is that bot's, not ours
        if event.chat_type != "private":
            # In a group only the flows' group commands are read; never answer personal steps there.
            step = self.router.group_commands.get(event.command or "") if not event.callback_id else None
            if step is None:
                return Handled([AnswerCallback(event.callback_id)] if event.callback_id else [])
            return Handled(self._handle_group(event, step))
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
                ctx, stored_state = self._context(uow, event)
                if self._already_applied(ctx, uow):
                    outcome = "duplicate"
                    log.info("dropping update %s: a later or the same update was already applied", event.update_id,
                             extra={"update_id": event.update_id})
                    return Handled([AnswerCallback(event.callback_id)] if event.callback_id else [])
                routed = not self._other_bots_user(ctx)
                state_before = ctx.state
                if routed:
                    self.router.route(ctx, stored_state)
                    self._remember_bot(ctx)
                # A changed role: the chat's menu follows.
                menu = menu_update(ctx.user, event.chat_id) if routed else None
                if ctx.user is not None:
                    self._number_screen(ctx, state_before)
                    uow.conversations.save(event.sender.telegram_id, ctx.state.value, {**ctx.data, SCREEN_KEY: ctx.screen},
                                           ctx.now, event.update_id, self.config.bot.key)
                ctx.answer()  # every button press gets exactly one answer, even a silent one
                if menu is not None:
                    ctx.reply.add(menu)  # last: the user's answer does not wait for it
                journal = ()
                if self.reply_grace is not None:
                    journal = self._write_ahead(uow, ctx, event)
                    if event.update_id is not None:  # a polled update is handled exactly when this commits
                        uow.inbox.mark_handled(self.config.bot.key, event.update_id, ctx.now)
                uow.commit()
            outcome = "ok"
            return Handled(ctx.reply.actions, journal)
        except (OperationalError, DBAPIError):
            outcome = "db_error"
            log.warning("database unavailable while handling an update", exc_info=True,
                        extra={"update_id": event.update_id})
            return Handled(self._apology(event, "error-busy"))
        except Exception:
            log.exception("unexpected error while handling an update", extra={"update_id": event.update_id})
            return Handled(self._apology(event, "error-unexpected"))
        finally:
            if self.observe is not None:
                self.observe(outcome, time.perf_counter() - started)

    @staticmethod
    def _number_screen(ctx: Context, state_before: State) -> None:
        """A new screen with buttons, or another state: the screens before it are superseded
        (handlers/screens.py); a hint or an alert on the same screen leaves its buttons working."""
        following = ctx.screen + 1
        if stamp_reply(ctx.reply.actions, ctx.event.chat_id, following) or ctx.state is not state_before:
            ctx.screen = following

    def _write_ahead(self, uow: Any, ctx: Context, event: Incoming) -> tuple[int | None, ...]:
        """The step's messages and edits as outbox rows, due after the grace (see reply_grace)."""
        due = ctx.now + self.reply_grace  # type: ignore[operator]
        return tuple(
            uow.outbox.add_written_ahead(action.chat_id, REPLY_KIND, {"action": action_to_json(action),
                                                                      "update_id": event.update_id}, due, ctx.now)
            if isinstance(action, (SendMessage, EditMessage)) else None
            for action in ctx.reply.actions)

    def _handle_group(self, event: Incoming, step: Step) -> list[Action]:
        """A group command: its own unit of work; the sender's private conversation is left as it was."""
        try:
            with self.uow_factory() as uow:
                uow.conversations.lock_user(event.sender.telegram_id)
                ctx, _ = self._context(uow, event)
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

    def _already_applied(self, ctx: Context, uow: UnitOfWork) -> bool:
        if ctx.event.update_id is None or ctx.user is None:
            return False
        conversation = uow.conversations.get(ctx.event.sender.telegram_id)
        if conversation is None or (conversation.last_update_bot or "") != self.config.bot.key:
            return False  # another bot's update ids are another sequence (several bots: domain/bots.py)
        last = conversation.last_update_id
        return last is not None and ctx.event.update_id <= last

    def _context(self, uow: UnitOfWork, event: Incoming) -> tuple[Context, str | None]:
        """The step's context, and the state string the conversation row holds."""
        user = uow.users.by_telegram_id(event.sender.telegram_id)
        if user is not None and user.blocked_at is not None:
            user.blocked_at = None  # they wrote to us, so they unblocked the bot
        language = language_for(event.sender.language_code, user.language if user else None)
        ctx = Context(event, uow, self.clock.now(), Translator(language), self.config, self.rules, user)
        conversation = uow.conversations.get(event.sender.telegram_id) if user else None
        stored_state = None
        if conversation is not None:
            stored_state, ctx.data = conversation.state, dict(conversation.data or {})
            ctx.screen = read_screen(ctx.data)
            ctx.state = self.router.read_state(stored_state) or State.IDLE
        return ctx, stored_state

    def _apology(self, event: Incoming, key: str) -> list[Action]:
        t = Translator(language_for(event.sender.language_code))
        if event.callback_id:
            return [AnswerCallback(event.callback_id, t(key), show_alert=True)]
        return [SendMessage(event.chat_id, t(key))]


# The tables of the shipped flows, for the CLI's menus and the tests of the role matrix.
ROUTER = Router(FLOWS)
COMMANDS: Mapping[str, Step] = ROUTER.commands
BEFORE_CONSENT: frozenset[str] = ROUTER.before_consent
