"""The simulator's in-memory state: bots, users, chats, messages, updates, callback queries.

Everything runs on the server's event loop, so the state needs no locks. Waiters (getUpdates long
polls, the chat page's long poll, webhook delivery) sleep on a :class:`Signal` instead of polling.
"""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .config import SimulatorConfig
from .faults import Faults
from .media import FileStore

# Update types a bot gets when it never chose (or chose an empty list), per the getUpdates docs.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


def scope_key(scope: dict | None) -> str:
    """A BotCommandScope as a dictionary key (the default scope when None)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class Signal:
    """Wakes all current waiters at once; each waiter gives up after its own timeout."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake everyone waiting now; later waiters wait for the next notify."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for the next notify; False when the timeout passed first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True


@dataclass
class User:
    """A Telegram user; their private chat with any bot has the same id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_api(self) -> dict:
        """The Bot API User object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for name in ("last_name", "username", "language_code"):
            if getattr(self, name):
                user[name] = getattr(self, name)
        return user

    def chat(self) -> dict:
        """The Bot API Chat object of the private chat with this user."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        for name in ("last_name", "username"):
            if getattr(self, name):
                chat[name] = getattr(self, name)
        return chat


@dataclass
class Group:
    """A group or supergroup the bot is a member of."""

    id: int
    type: str  # "group" or "supergroup"
    title: str
    username: str | None = None

    def chat(self) -> dict:
        """The Bot API Chat object."""
        chat: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class MessageRecord:
    """A message and its history; ``message`` is always the current Bot API Message."""

    message: dict
    from_bot: bool
    markup: dict | None = None  # reply_markup as the bot sent it, of any kind
    revision: int = 0
    edits: int = 0
    deleted: bool = False

    @property
    def message_id(self) -> int:
        """The message's id within its chat."""
        return self.message["message_id"]


class ChatLog:
    """The messages of one chat of one bot, with a revision number the chat page long-polls on."""

    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.messages: dict[int, MessageRecord] = {}
        self.revision = 0
        self.keyboard: dict | None = None  # the reply keyboard the user currently sees
        # A stable id of this chat for callback queries, shaped like Telegram's (a signed 64-bit number).
        self.chat_instance = str(secrets.randbits(63) * (1 if secrets.randbits(1) else -1))
        self._last_message_id = 0
        self._changed = Signal()
        self._closed = False

    def add(self, body: dict, *, from_bot: bool, markup: dict | None = None) -> MessageRecord:
        """Append a new message; ``body`` is the Message without its id."""
        self._last_message_id += 1
        record = MessageRecord({"message_id": self._last_message_id, **body}, from_bot, markup)
        self.messages[record.message_id] = record
        self.touch(record)
        return record

    def get(self, message_id: int) -> MessageRecord | None:
        """A message that exists and was not deleted."""
        record = self.messages.get(message_id)
        return None if record is None or record.deleted else record

    def touch(self, record: MessageRecord) -> None:
        """Record that a message changed, waking the chat page's long polls."""
        self.revision += 1
        record.revision = self.revision
        self._changed.notify()

    def changed_after(self, revision: int) -> list[MessageRecord]:
        """Messages whose last change is newer than ``revision``, in message order."""
        return [record for record in self.messages.values() if record.revision > revision]

    async def wait_for_change(self, revision: int, timeout: float) -> None:
        """Return when something changed after ``revision`` or after ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.revision <= revision and not self._closed:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self._changed.wait(remaining):
                return

    def close(self) -> None:
        """Release every waiter for good (used at shutdown)."""
        self._closed = True
        self._changed.notify()


class UpdateQueue:
    """A bot's pending updates, kept until confirmed (getUpdates offset) or delivered (webhook)."""

    def __init__(self) -> None:
        self._pending: deque[dict] = deque()
        self._last_id = 0
        self.allowed: frozenset[str] | None = None  # None: every type but the default-excluded ones
        self.signal = Signal()

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, kind: str, payload: dict) -> dict | None:
        """Queue an update of ``kind``; dropped (None) when the bot's allowed_updates exclude it.

        As documented, allowed_updates applies to updates created after it was set.
        """
        if not self.accepts(kind):
            return None
        self._last_id += 1
        # A snapshot: later edits of the message must not change an update already queued.
        update = {"update_id": self._last_id, kind: copy.deepcopy(payload)}
        self._pending.append(update)
        self.signal.notify()
        return update

    def accepts(self, kind: str) -> bool:
        """Whether an update of ``kind`` would be queued now."""
        if self.allowed is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed

    def set_allowed(self, types: Any) -> None:
        """Apply an allowed_updates value as the official server does: anything but a list of
        strings is ignored, unknown names are skipped, and no known name means the default."""
        if isinstance(types, list) and all(isinstance(t, str) for t in types):
            names = frozenset(t.lower() for t in types) & UPDATE_TYPES
            self.allowed = names or None

    def confirm(self, offset: int) -> None:
        """Forget updates as getUpdates' ``offset`` says.

        A positive offset confirms every update with a smaller id; a negative one keeps only the
        last ``-offset`` updates.
        """
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()

    def peek(self, limit: int) -> list[dict]:
        """The oldest ``limit`` pending updates (they stay pending)."""
        return [self._pending[i] for i in range(min(limit, len(self._pending)))]

    def drop(self, update_id: int) -> None:
        """Forget one update (delivered or given up by the webhook)."""
        self._pending = deque(u for u in self._pending if u["update_id"] != update_id)

    def clear(self) -> None:
        """Forget every pending update (drop_pending_updates)."""
        self._pending.clear()


@dataclass
class CallbackRecord:
    """A button press and the bot's answer to it."""

    id: str
    message_id: int
    data: str
    answered: bool = False
    text: str | None = None
    show_alert: bool = False
    url: str | None = None

    def to_view(self) -> dict:
        """What the user side sees of the answer."""
        return {
            "callback_query_id": self.id,
            "message_id": self.message_id,
            "data": self.data,
            "answered": self.answered,
            "text": self.text,
            "show_alert": self.show_alert,
            "url": self.url,
        }


@dataclass
class Webhook:
    """A bot's webhook as set by setWebhook."""

    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class Stats:
    """What a bot did, for tests and benchmarks."""

    methods: Counter = field(default_factory=Counter)
    new_messages: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)

    def to_json(self) -> dict:
        """Counts per method, new messages per chat, errors per code and the 429s given."""
        return {
            "methods": dict(self.methods),
            "new_messages": {str(chat): count for chat, count in self.new_messages.items()},
            "errors": {str(code): count for code, count in self.errors.items()},
            "too_many_requests": self.errors[429],
        }


class BotState:
    """One bot hosted by the simulator."""

    def __init__(self, token: str, username: str, first_name: str) -> None:
        self.token = token
        self.id = int(token.split(":", 1)[0])
        self.username = username
        self.first_name = first_name
        self.started: set[int] = set()  # users who ever wrote to the bot
        self.blocked: set[int] = set()
        self.groups: dict[int, Group] = {}
        self.chats: dict[int, ChatLog] = {}
        self.updates = UpdateQueue()
        self.webhook: Webhook | None = None
        self.poll_generation = 0  # bumped by each getUpdates; an older long poll then gives up
        self.commands: dict[tuple[str, str], list[dict]] = {}  # (scope_key, language_code) -> commands
        self.files = FileStore()
        self.callbacks: dict[str, CallbackRecord] = {}
        self.stats = Stats()
        self.faults = Faults()  # failures on demand (user side: /sim/{bot}/faults)

    def to_api(self) -> dict:
        """The bot as a Bot API User."""
        return {"id": self.id, "is_bot": True, "first_name": self.first_name, "username": self.username}

    def chat_log(self, chat_id: int) -> ChatLog:
        """The log of a chat, created on first use (the chat page may watch a chat before it starts)."""
        log = self.chats.get(chat_id)
        if log is None:
            log = self.chats[chat_id] = ChatLog(chat_id)
        return log

    def visible_commands(self, chat_id: int, language_code: str = "") -> list[dict]:
        """The command menu a user sees in their private chat, resolved as Telegram documents:
        the chat's own scope, then all private chats, then the default; the user's language first."""
        scopes = [{"type": "chat", "chat_id": chat_id}, {"type": "all_private_chats"}, None]
        for scope in scopes:
            for language in dict.fromkeys([language_code, ""]):
                commands = self.commands.get((scope_key(scope), language))
                if commands:
                    return commands
        return []

    def group_by_username(self, username: str) -> Group | None:
        """A public group or supergroup by ``@username``."""
        wanted = username.lstrip("@").lower()
        return next((g for g in self.groups.values() if (g.username or "").lower() == wanted), None)


class World:
    """All bots and users of one simulator."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.bots: dict[int, BotState] = {}
        self.users: dict[int, User] = {}
        self.personas: dict[str, Any] = {"bot": None, "personas": []}
        self.closing = False

    def now(self) -> int:
        """Unix time in whole seconds, as message dates are."""
        return int(self.config.wall_clock())

    def add_bot(self, token: str, username: str, first_name: str | None = None) -> BotState:
        """Register a bot (or rename an existing one); the token must look like ``123:secret``."""
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or int(bot_id) <= 0 or not secret:
            raise ValueError("a bot token looks like '123456:secret'")
        bot = self.bots.get(int(bot_id))
        if bot is not None and bot.token != token:
            raise ValueError(f"bot {bot_id} is already registered with another token")
        if bot is None:
            bot = self.bots[int(bot_id)] = BotState(token, username, first_name or username)
        bot.username, bot.first_name = username, first_name or bot.first_name
        return bot

    def bot_by_token(self, token: str) -> BotState | None:
        """The bot with exactly this token."""
        bot_id = token.partition(":")[0]
        bot = self.bots.get(int(bot_id)) if bot_id.isdigit() else None
        return bot if bot is not None and bot.token == token else None

    def upsert_user(self, user_id: int, first_name: str, **details: str | None) -> User:
        """Create a user or update their name and details."""
        user = self.users.get(user_id)
        if user is None:
            user = self.users[user_id] = User(user_id, first_name)
        user.first_name = first_name
        for name, value in details.items():
            setattr(user, name, value)
        return user

    def ensure_user(self, user_id: int) -> User:
        """A user, created with a placeholder name when unknown."""
        return self.users.get(user_id) or self.upsert_user(user_id, f"User {user_id}")

    def close(self) -> None:
        """Release every waiter so the server can stop at once."""
        self.closing = True
        for bot in self.bots.values():
            bot.updates.signal.notify()
            for log in bot.chats.values():
                log.close()
