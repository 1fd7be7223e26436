"""What both transports share: executing plain actions with Telegram's errors handled the same way.

A transport turns a Telegram update into :class:`chat.events.Incoming`, hands it to the handlers
in a worker thread (they use a blocking database session), and executes the returned actions through
its framework's own client. The error policy lives here once, so PTB and aiogram behave alike, and
so do the other things both need: how a 400 is classified, the command menu, and the per-user
ordering of updates (:class:`PerUserOrder`: one user's updates in arrival order, users concurrently).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from domain.photos import DOWNLOAD_FAILED, TOO_LARGE
from chat.client import Refusal, TelegramRefused
from chat.events import MAX_DOWNLOAD_BYTES, Attachment, Incoming
from handlers.menus import DEFAULT_ROLE, MENU, commands_for

log = logging.getLogger(__name__)

# --- shared by both transports: refusal kinds, the command menu, per-user ordering -----------------

def bad_request_kind(description: str) -> Refusal:
    """Which kind of refusal a 400 is, read from Telegram's description (the frameworks raise one type)."""
    text = description.lower()
    if "message is not modified" in text:
        return Refusal.NOT_MODIFIED
    if "message to edit not found" in text or "message can't be edited" in text:
        return Refusal.MESSAGE_GONE
    if "chat not found" in text:  # the account is gone (deleted) or never talked to the bot
        return Refusal.CHAT_NOT_FOUND
    return Refusal.BAD_REQUEST


def retry_seconds(value: object) -> float:
    """A 429's wait in seconds: PTB 22 gives an int or a timedelta (PTB_TIMEDELTA), aiogram an int."""
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1.0


# The command menu: (Indonesian name, English name), each role's part chosen by the access rules
# (handlers/menus.py). Both names must be routes in handlers.app.COMMANDS (a unit test holds this).
COMMAND_MENU: tuple[tuple[str, str], ...] = MENU

# Updates the bot asks Telegram for: both transports handle exactly these (edited_message only for
# the later points of a live location; other edits are ignored).
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]

# HTTP timeouts of the Bot API clients (seconds): a reply Telegram is slow to acknowledge is waited for,
# since a retry after a timeout could show it twice; chat/delivery.py bounds the whole delivery.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0

DOWNLOAD_TIMEOUT = 60.0  # seconds for getFile plus the download of one file (20 MB at most)


# --- attachments: what came with a message, and its bytes when the handlers may need them ----------

def attachment_of(message: Any) -> Attachment | None:
    """The file, sticker or voice note of a PTB or aiogram Message as a plain :class:`Attachment`
    (both frameworks name the Bot API fields alike); None for a message without one. A photo is its
    largest size. Nothing is downloaded here (see :func:`fetch_attachment`)."""
    if getattr(message, "photo", None):
        size = max(message.photo, key=lambda s: (s.width * s.height, s.file_size or 0))
        return Attachment("photo", size.file_id, size.file_unique_id, None, None, size.file_size)
    for field_name, kind in (("sticker", "sticker"), ("voice", "voice"), ("video_note", "video"),
                             ("animation", "video"), ("video", "video"), ("audio", "audio"),
                             ("document", "document")):
        item = getattr(message, field_name, None)
        if item is not None:
            return Attachment(kind, item.file_id, item.file_unique_id, getattr(item, "file_name", None),
                              getattr(item, "mime_type", None), getattr(item, "file_size", None))
    return None


async def fetch_attachment(event: Incoming, download: Callable[[str], Awaitable[bytes]],
                           timeout: float = DOWNLOAD_TIMEOUT) -> Incoming:
    """The event with its photo's or document's bytes in ``attachment.content``, fetched with
    ``download(file_id)`` (the framework's getFile + download) when the file is at most 20 MB.

    Never raises: a file over 20 MB (by its announced size, by Telegram's "file is too big", or by
    what arrived) becomes ``error="too-large"``; a refusal, a network error or the ``timeout``
    becomes ``error="download-failed"``. Other attachments are left as they are."""
    attachment = event.attachment
    if attachment is None or attachment.kind not in ("photo", "document") or attachment.content is not None:
        return event
    if attachment.file_size is not None and attachment.file_size > MAX_DOWNLOAD_BYTES:
        return dataclasses.replace(event, attachment=dataclasses.replace(attachment, error=TOO_LARGE))
    error: str | None = None
    content: bytes | None = None
    try:
        content = bytes(await asyncio.wait_for(download(attachment.file_id), timeout))
    except TelegramRefused as refused:
        error = TOO_LARGE if "too big" in refused.description.lower() else DOWNLOAD_FAILED
        log.warning("could not fetch an attachment (%s)", refused.kind, extra={"update_id": event.update_id})
    except Exception as failure:  # network, timeout, an unexpected answer: the user is asked to resend
        error = DOWNLOAD_FAILED
        log.warning("could not fetch an attachment (%s)", type(failure).__name__, extra={"update_id": event.update_id})
    if content is not None and len(content) > MAX_DOWNLOAD_BYTES:
        content, error = None, TOO_LARGE
    return dataclasses.replace(event, attachment=dataclasses.replace(attachment, content=content, error=error))


async def fetch_expected(event: Incoming, expects_file: Callable[[Incoming], bool],
                         download: Callable[[str], Awaitable[bytes]]) -> Incoming:
    """The event with its file's bytes when the conversation expects a file now (the handlers decide:
    ``PintuHandlers.expects_file``, asked in a worker thread as it reads the database), else as it came:
    a photo or document nobody asked for is never downloaded."""
    attachment = event.attachment
    if attachment is None or attachment.kind not in ("photo", "document") or attachment.content is not None:
        return event
    if not await asyncio.to_thread(expects_file, event):
        return event
    return await fetch_attachment(event, download)


def is_plain_text(message: Any) -> bool:
    """A new message of text that is no command (the kind a flood is made of; see PerUserOrder)."""
    text = getattr(message, "text", None) if message is not None else None
    return isinstance(text, str) and not text.startswith("/")


def command_menu(language: str) -> list[tuple[str, str]]:
    """The bot's default menu (everyone's until their role has its own: the resident's) for setMyCommands:
    Indonesian names by default, English ones for "en"."""
    return commands_for(DEFAULT_ROLE, language)


class PerUserOrder:
    """Updates of one user are handled one at a time, in arrival order; different users run concurrently.

    Both frameworks start one task per update in the order Telegram delivered them, and each task
    reaches :meth:`hold` before its first real suspension, so queuing on an :class:`asyncio.Lock`
    (which wakes waiters first in, first out) keeps each user's order. Why it matters: a quick double
    press or "text then button" must see the state the previous update left behind, and replies must
    reach the chat in the order of the questions. Locks are dropped when nobody holds or awaits them.
    It also counts updates in flight, so a transport can let them finish before it stops.

    A flood is answered at a humane pace: a plain text (no command) whose turn comes while the user's
    next update, already waiting behind it, is a plain text too is *superseded* (``hold`` yields True):
    every step that reads text expects one answer, so the latest of several is the one that counts,
    and answering each would only queue replies behind Telegram's one-message-a-second. Only that
    user's own queue is involved; nobody else waits for it.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        self._waiting: dict[int, list[tuple[int, bool]]] = {}  # per user: (arrival, plain text) not yet begun
        self._arrivals = 0
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def hold(self, user_id: int | None, plain_text: bool = False) -> AsyncIterator[bool]:
        """Run the body as the only update of ``user_id`` in progress (no lock without a user); the
        value is True when a later plain text of the same user supersedes this one (see above)."""
        self._in_flight += 1
        self._idle.clear()
        try:
            if user_id is None:
                yield False
                return
            self._arrivals += 1
            me = (self._arrivals, plain_text)
            waiting = self._waiting.setdefault(user_id, [])
            waiting.append(me)
            lock, users = self._locks.get(user_id, (None, 0))
            lock = lock or asyncio.Lock()
            self._locks[user_id] = (lock, users + 1)
            try:
                async with lock:
                    waiting.remove(me)
                    yield plain_text and bool(waiting) and waiting[0][1]
            finally:
                if not waiting:
                    self._waiting.pop(user_id, None)
                lock, users = self._locks[user_id]
                if users <= 1:
                    del self._locks[user_id]
                else:
                    self._locks[user_id] = (lock, users - 1)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is in progress; False if some still were after ``timeout`` seconds."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True
