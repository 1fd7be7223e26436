"""The python-telegram-bot transport: Telegram updates in, plain actions out, nothing else.

Updates become :class:`chat.events.Incoming`, the handlers run in a worker thread, and the actions
they return go through :class:`bot.transport.ActionRunner` over :class:`PtbApi`. Conversion and error
mapping live here; every decision about what to say lives in ``handlers/``.

Concurrency: updates are processed concurrently (``concurrent_updates``) through
:class:`PerUserUpdateProcessor`, which queues the updates of one user behind each other in arrival
order (:class:`bot.transport.PerUserOrder`). One user's steps must not overtake each other (a quick
"text, then button" reads the state the text left), but one slow database call must not hold up every
other resident either, which strictly sequential processing would do.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import warnings
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

# Opt in to PTB's coming behaviour (periods as timedeltas) before PTB is imported, instead of a
# deprecation warning on every 429; the transport reads both forms.
os.environ.setdefault("PTB_TIMEDELTA", "1")

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram import Message as PtbMessage
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBDeprecationWarning

from bot.transport import ALLOWED_UPDATES, CONNECT_TIMEOUT, READ_TIMEOUT, PerUserOrder, attachment_of, is_plain_text, bad_request_kind, command_menu, downloadable, retry_seconds
from bot.inbox import DurablePolling, InboxStore
from bot.replies import Replies
from chat.client import ApiClient, Sent, TelegramRefused
from bot.webhook import WebhookServer, make_webhook_server
from bot.wiring import Pintu
from chat.events import AnswerCallback, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import Keyboard, Markup, RemoveKeyboard, ReplyKeyboard, telegram_rows

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 64  # updates being handled at once (waiting in a user's queue does not count)
POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits for an update
STOP_GRACE = 10.0  # seconds stop() lets updates in progress finish


# --- Telegram objects → plain events ----------------------------------------------------------------

def incoming_from_update(update: Update) -> Incoming | None:
    """The plain event for a message, a button press or a live location's new point (an edited
    message with a location); None for what the bot does not handle."""
    if update.callback_query is not None:
        event = incoming_from_callback(update)
    elif update.message is not None:
        event = incoming_from_message(update.message)
    elif update.edited_message is not None and update.edited_message.location is not None:
        event = incoming_from_message(update.edited_message)
        event = dataclasses.replace(event, is_live_update=True) if event is not None else None
    else:
        return None
    return dataclasses.replace(event, update_id=update.update_id) if event is not None else None


def incoming_from_message(message: PtbMessage) -> Incoming | None:
    """Text and commands as typed; location, contact and the largest photo as plain values; files,
    stickers and voice notes as an :class:`Attachment` (bytes fetched later, see _on_message)."""
    user = message.from_user
    if user is None:  # channel posts and anonymous group admins have no sender
        return None
    location = None
    if message.location is not None:
        loc = message.location
        live = _seconds(loc, "live_period")
        location = Location(loc.latitude, loc.longitude, loc.horizontal_accuracy, int(live) if live is not None else None)
    photo = max(message.photo, key=lambda size: size.width * size.height).file_id if message.photo else None
    return Incoming(
        sender=Sender(user.id, user.first_name or "", user.language_code),
        chat_id=message.chat.id,
        chat_type=str(message.chat.type),
        text=message.text,
        location=location,
        contact_phone=message.contact.phone_number if message.contact is not None else None,
        photo_file_id=photo,
        attachment=attachment_of(message),
    )


def incoming_from_callback(update: Update) -> Incoming | None:
    """A button press: its id and data, and the message the button belongs to (if Telegram says)."""
    query = update.callback_query
    user = query.from_user
    message = query.message  # a Message, an InaccessibleMessage (too old), or None (inline mode)
    return Incoming(
        sender=Sender(user.id, user.first_name or "", user.language_code),
        chat_id=message.chat.id if message is not None else user.id,
        chat_type=str(message.chat.type) if message is not None else "private",
        callback_id=query.id,
        callback_data=query.data or "",
        message_id=message.message_id if message is not None else None,
    )


def _seconds(obj: object, attribute: str) -> float | None:
    """A period in seconds: PTB 22 gives an int (deprecated, with a warning) or, with PTB_TIMEDELTA=1,
    a timedelta; the rest of the bot wants seconds either way."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = getattr(obj, attribute)
    return None if value is None else retry_seconds(value)


# --- plain keyboards → PTB markup -----------------------------------------------------------------

def ptb_markup(markup: Markup) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The plain keyboard as PTB's reply_markup object (None: no keyboard)."""
    if isinstance(markup, Keyboard):
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row] for row in telegram_rows(markup)]
        )
    if isinstance(markup, ReplyKeyboard):
        rows = [
            [KeyboardButton(b.text, request_location=b.request_location or None, request_contact=b.request_contact or None)
             for b in row]
            for row in markup.rows
        ]
        return ReplyKeyboardMarkup(rows, one_time_keyboard=markup.one_time, resize_keyboard=True)
    if isinstance(markup, RemoveKeyboard):
        return ReplyKeyboardRemove()
    return None


# --- PTB exceptions → TelegramRefused ----------------------------------------------------------------

@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Re-raise PTB's errors as :class:`TelegramRefused`, the one type the rest of the bot knows."""
    try:
        yield
    except Forbidden as error:
        raise TelegramRefused("blocked", error.message) from error
    except RetryAfter as error:
        raise TelegramRefused("retry_after", error.message, retry_after=_seconds(error, "retry_after") or 0.0) from error
    except BadRequest as error:  # a subclass of NetworkError in PTB: test it first
        raise TelegramRefused(bad_request_kind(error.message), error.message) from error
    except (TimedOut, NetworkError) as error:
        raise TelegramRefused("network", error.message) from error
    except ChatMigrated as error:  # a 400 naming the group's new id: retrying the same call will not help
        raise TelegramRefused("bad_request", error.message) from error
    except TelegramError as error:  # Conflict, InvalidToken, EndPointNotFound: Telegram, not the request
        raise TelegramRefused("network", f"{type(error).__name__}: {error.message}") from error


class PtbApi(ApiClient):
    """The Bot API calls the bot makes, through PTB's Bot. Refusals raise :class:`TelegramRefused`
    (nothing is swallowed here: replies go through ActionRunner, which applies the error policy, and
    the outbox dispatcher decides for itself)."""

    def __init__(self, bot: Any) -> None:
        self.bot = bot

    async def send_message(self, action: SendMessage) -> Sent:
        """sendMessage in HTML with the action's keyboard; returns the new message's id."""
        with refusals():
            message = await self.bot.send_message(
                action.chat_id, action.text, parse_mode=ParseMode.HTML, reply_markup=ptb_markup(action.markup)
            )
        return Sent(message.message_id)

    async def edit_message(self, action: EditMessage) -> None:
        """editMessageText in HTML; without a keyboard the old inline keyboard goes away (as on Telegram)."""
        with refusals():
            await self.bot.edit_message_text(
                action.text, chat_id=action.chat_id, message_id=action.message_id,
                parse_mode=ParseMode.HTML, reply_markup=ptb_markup(action.markup),
            )

    async def answer_callback(self, action: AnswerCallback) -> None:
        """answerCallbackQuery: stops the button's spinner, with a toast or an alert when there is text."""
        with refusals():
            await self.bot.answer_callback_query(action.callback_id, text=action.text, show_alert=action.show_alert)

    async def set_chat_menu(self, action: Any) -> None:
        """setMyCommands scoped to the action's chat, for each of its languages."""
        for code, commands in action.menus:
            with refusals():
                await self.bot.set_my_commands([BotCommand(name, description) for name, description in commands],
                                               scope=BotCommandScopeChat(action.chat_id), language_code=code or None)

    async def send_document(self, action: Any) -> Sent:
        """sendDocument: an export, uploaded under its file name, with an HTML caption."""
        return await self._upload(self.bot.send_document, action)

    async def send_photo(self, action: Any) -> Sent:
        """sendPhoto: a picture Pintu drew (the day's route), uploaded under its file name, with an HTML caption."""
        return await self._upload(self.bot.send_photo, action)

    async def _upload(self, send: Any, action: Any) -> Sent:
        from telegram import InputFile

        with refusals():
            message = await send(action.chat_id, InputFile(action.content, filename=action.filename),
                                 caption=action.caption, parse_mode=ParseMode.HTML)
        return Sent(message.message_id)


# --- ordering ----------------------------------------------------------------------------------------

class PerUserUpdateProcessor(BaseUpdateProcessor):
    """PTB's concurrent update processing, with the updates of one user kept in arrival order.

    The user's turn is taken before the concurrency semaphore, so updates queued behind their own
    user's earlier ones do not occupy the slots other users need.
    """

    def __init__(self, order: PerUserOrder, on_coalesced: Callable[[Any], None],
                 max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self.order = order
        self.on_coalesced = on_coalesced

    async def process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for this user's earlier updates, then process within the concurrency limit."""
        user = update.effective_user if isinstance(update, Update) else None
        plain = isinstance(update, Update) and is_plain_text(update.message)
        async with self.order.hold(user.id if user is not None else None, plain) as superseded:
            if superseded:
                coroutine.close()  # type: ignore[attr-defined]  # never awaited: the later text is answered
                self.on_coalesced(update)
                return
            await super().process_update(update, coroutine)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Process the update (the ordering already happened in :meth:`process_update`)."""
        await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


# --- the transport -----------------------------------------------------------------------------------

class PtbTransport:
    """python-telegram-bot: ``await start()``, then ``await stop()``. Updates arrive by long polling, or
    with ``settings.mode == "webhook"`` through :class:`bot.webhook.WebhookServer` into the same
    update processor; ``start(receive=False)`` only opens the Bot API client (an outbox-only worker)."""

    def __init__(self, pintu: Pintu) -> None:
        settings = pintu.settings
        self.pintu = pintu
        self.order = PerUserOrder()
        self.application: Application = (
            ApplicationBuilder()
            .token(settings.bot_token)
            .base_url(f"{settings.api_url}/bot")
            .base_file_url(f"{settings.api_url}/file/bot")
            .concurrent_updates(PerUserUpdateProcessor(self.order, lambda update: pintu.coalesced(update.update_id)))
            # Deliberate timeouts: PTB's 5 s would cut a slow edit and make a delivered reply look lost.
            .connect_timeout(CONNECT_TIMEOUT).read_timeout(READ_TIMEOUT).write_timeout(READ_TIMEOUT)
            .pool_timeout(CONNECT_TIMEOUT)
            .job_queue(None)  # reminders go through the outbox dispatcher, not PTB's APScheduler
            .build()
        )
        self._api = pintu.metrics.instrument(PtbApi(self.application.bot))
        self.webhook: WebhookServer | None = None
        self.polling: DurablePolling | None = None
        self._polling_task: asyncio.Task[None] | None = None
        self.replies = Replies(pintu, self._api)
        self.bot_username: str | None = None
        self._started = False
        app = self.application
        # Every kind of new message (text, commands, location, contact, photo, document, sticker,
        # voice…) goes to one callback: the handlers route by content. Of edited messages only a live
        # location's new points are read.
        app.add_handler(MessageHandler(filters.UpdateType.MESSAGE, self._on_message))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.LOCATION, self._on_message))
        app.add_handler(CallbackQueryHandler(self._on_callback))
        app.add_error_handler(self._on_error)

    @property
    def api(self) -> ApiClient:
        """The Bot API client for other components (the outbox dispatcher); usable after start()."""
        return self._api

    async def start(self, receive: bool = True) -> None:
        """getMe (learn the username); unless ``receive`` is False, publish the command menu, then poll
        in the background or (webhook mode) listen and setWebhook."""
        app = self.application
        webhook = self.pintu.settings.mode == "webhook"
        try:
            await app.initialize()  # calls getMe; a wrong token or an unreachable API fails here
            self.bot_username = app.bot.username
            self.pintu.learn_bot_username(self.bot_username)
            if receive:
                await self._publish_commands()
                await app.start()
                if webhook:
                    self.webhook = make_webhook_server(self.pintu, self._feed)
                    await self.webhook.start()
                    with refusals():
                        await app.bot.set_webhook(self.pintu.settings.webhook_url, allowed_updates=ALLOWED_UPDATES,
                                                  secret_token=self.pintu.settings.webhook_secret)
                else:
                    with refusals():
                        await app.bot.delete_webhook(drop_pending_updates=False)  # getUpdates: 409 while one is set
                    self.polling = DurablePolling(self._fetch, self._feed, InboxStore(self.pintu))
                    self._polling_task = asyncio.create_task(self.polling.run(), name="ptb-polling")
        except BaseException:
            await self._shutdown()
            raise
        self._started = True
        how = "no updates" if not receive else "webhook" if webhook else "polling"
        log.info("started as @%s (python-telegram-bot, %s)", self.bot_username, how)

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """getUpdates as Bot API JSON (the offset acknowledges what came before it)."""
        with refusals():
            updates = await self.application.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT,
                                                             allowed_updates=ALLOWED_UPDATES)
        return [update.to_dict() for update in updates]

    async def _feed(self, data: dict[str, Any]) -> None:
        """One update (polled or from the webhook) through the update processor (per-user order,
        concurrency limit); returns once it has been handled."""
        app = self.application
        update = Update.de_json(data, app.bot)
        await app.update_processor.process_update(update, app.process_update(update))

    async def stop(self) -> None:
        """Stop polling, let updates in progress finish (bounded), and release the HTTP client."""
        if not self._started:
            return
        self._started = False
        await self._shutdown()

    async def _shutdown(self) -> None:
        app = self.application
        webhook, self.webhook = self.webhook, None
        if webhook is not None:
            # Stop accepting updates; the webhook stays set at Telegram, as other workers may serve it.
            await webhook.stop()
        polling, self.polling = self.polling, None
        task, self._polling_task = self._polling_task, None
        if polling is not None:
            await polling.stop()
        if task is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, STOP_GRACE)
        if not await self.order.wait_idle(STOP_GRACE):
            log.warning("stopping with %d update(s) still in progress", self.order.in_flight)
        with contextlib.suppress(Exception):
            if app.running:
                await app.stop()
        with contextlib.suppress(Exception):
            await app.shutdown()
        with contextlib.suppress(Exception):
            await app.bot.shutdown()  # closes the HTTP client also when start() failed half-way

    async def _publish_commands(self) -> None:
        """setMyCommands in Indonesian (everyone) and English (English-language clients)."""
        for language, code in (("id", None), ("en", "en")):
            commands = [BotCommand(name, description) for name, description in command_menu(language)]
            try:
                with refusals():
                    await self.application.bot.set_my_commands(commands, language_code=code)
            except TelegramRefused as refused:
                log.warning("could not set the %s command menu: %s", language, refused)

    async def _on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any new message: convert (a file is downloaded only if its step asks), handle in a worker thread,
        send the replies."""
        event = incoming_from_update(update)
        if event is not None:
            event = downloadable(event, self._download)
            await self.replies.serve(event)

    async def _download(self, file_id: str) -> bytes:
        """getFile, then the file's bytes (refusals as TelegramRefused)."""
        with refusals():
            file = await self.application.bot.get_file(file_id)
            return bytes(await file.download_as_bytearray())

    async def _on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: convert, handle in a worker thread, answer/edit as the handlers say."""
        event = incoming_from_update(update)
        if event is not None:
            await self.replies.serve(event)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A callback raised: log it with the update; polling goes on with the next update."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("error while processing update %s", update_id, exc_info=context.error)

