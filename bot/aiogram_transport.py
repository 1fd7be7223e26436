"""The aiogram 3 transport: the same conversion and error mapping as bot/ptb_transport.py, with aiogram.

Updates become :class:`chat.events.Incoming`, the handlers run in a worker thread, and the actions
they return go through :class:`bot.transport.ActionRunner` over :class:`AiogramApi`.

Concurrency: aiogram's polling starts one task per update (``handle_as_tasks``); an outer middleware
on the dispatcher's ``update`` observer queues the updates of one user behind each other in arrival
order (:class:`bot.transport.PerUserOrder`), while different users proceed concurrently — the same
policy as the PTB transport, for the same reasons (documented there).
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import Bot, Dispatcher, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
    Update,
)

from bot.transport import ALLOWED_UPDATES, READ_TIMEOUT, PerUserOrder, attachment_of, is_plain_text, bad_request_kind, command_menu, downloadable, retry_seconds
from bot.inbox import DurablePolling, InboxStore
from bot.replies import Replies
from chat.client import ApiClient, Sent, TelegramRefused
from bot.webhook import WebhookServer, make_webhook_server
from bot.wiring import Pintu
from chat.events import AnswerCallback, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import Keyboard, Markup, RemoveKeyboard, ReplyKeyboard, telegram_rows

log = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 64  # update tasks at once (aiogram's tasks_concurrency_limit)
POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits for an update
STOP_GRACE = 10.0  # seconds stop() lets updates in progress finish


# --- Telegram objects → plain events ----------------------------------------------------------------

def incoming_from_update(update: Update) -> Incoming | None:
    """The plain event (with its update_id) for a message, a button press or a live location's new
    point (an edited message with a location); None for anything else."""
    if update.callback_query is not None:
        event = incoming_from_callback(update.callback_query)
    elif update.message is not None:
        event = incoming_from_message(update.message)
    elif update.edited_message is not None and update.edited_message.location is not None:
        event = incoming_from_message(update.edited_message)
        event = dataclasses.replace(event, is_live_update=True) if event is not None else None
    else:
        return None
    return dataclasses.replace(event, update_id=update.update_id) if event is not None else None


def incoming_from_message(message: Message) -> Incoming | None:
    """Text and commands as typed; location, contact and the largest photo as plain values; files,
    stickers and voice notes as an :class:`Attachment` (bytes fetched later, see _on_message)."""
    user = message.from_user
    if user is None:  # channel posts and anonymous group admins have no sender
        return None
    location = None
    if message.location is not None:
        loc = message.location
        location = Location(loc.latitude, loc.longitude, loc.horizontal_accuracy, loc.live_period)
    photo = max(message.photo, key=lambda size: size.width * size.height).file_id if message.photo else None
    return Incoming(
        sender=Sender(user.id, user.first_name or "", user.language_code),
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        text=message.text,
        location=location,
        contact_phone=message.contact.phone_number if message.contact is not None else None,
        photo_file_id=photo,
        attachment=attachment_of(message),
    )


def incoming_from_callback(query: CallbackQuery) -> Incoming:
    """A button press: its id and data, and the message the button belongs to (if Telegram says)."""
    user = query.from_user
    message = query.message  # a Message, an InaccessibleMessage (too old), or None (inline mode)
    return Incoming(
        sender=Sender(user.id, user.first_name or "", user.language_code),
        chat_id=message.chat.id if message is not None else user.id,
        chat_type=message.chat.type if message is not None else "private",
        callback_id=query.id,
        callback_data=query.data or "",
        message_id=message.message_id if message is not None else None,
    )


# --- plain keyboards → aiogram markup -------------------------------------------------------------

def aiogram_markup(markup: Markup) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """The plain keyboard as aiogram's reply_markup object (None: no keyboard)."""
    if isinstance(markup, Keyboard):
        return InlineKeyboardMarkup(inline_keyboard=[
            [InlineKeyboardButton(text=b.text, callback_data=b.data, url=b.url) for b in row] for row in telegram_rows(markup)
        ])
    if isinstance(markup, ReplyKeyboard):
        rows = [
            [KeyboardButton(text=b.text, request_location=b.request_location or None,
                            request_contact=b.request_contact or None) for b in row]
            for row in markup.rows
        ]
        return ReplyKeyboardMarkup(keyboard=rows, one_time_keyboard=markup.one_time, resize_keyboard=True)
    if isinstance(markup, RemoveKeyboard):
        return ReplyKeyboardRemove(remove_keyboard=True)
    return None


# --- aiogram exceptions → TelegramRefused -------------------------------------------------------------

@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """Re-raise aiogram's errors as :class:`TelegramRefused`, the one type the rest of the bot knows."""
    try:
        yield
    except TelegramForbiddenError as error:
        raise TelegramRefused("blocked", error.message) from error
    except TelegramRetryAfter as error:
        raise TelegramRefused("retry_after", error.message, retry_after=retry_seconds(error.retry_after)) from error
    except TelegramBadRequest as error:
        raise TelegramRefused(bad_request_kind(error.message), error.message) from error
    except (TelegramMigrateToChat, TelegramEntityTooLarge) as error:  # 400 and 413: retrying will not help
        raise TelegramRefused("bad_request", error.message) from error
    except TelegramNetworkError as error:
        raise TelegramRefused("network", error.message) from error
    except TelegramAPIError as error:  # 5xx, 409, 401, 404: Telegram, not the request
        raise TelegramRefused("network", f"{type(error).__name__}: {error.message}") from error
    except ClientDecodeError as error:  # an answer that is not JSON (a proxy's error page)
        raise TelegramRefused("network", str(error)) from error


class AiogramApi(ApiClient):
    """The Bot API calls the bot makes, through aiogram's Bot (parse mode HTML by default). Refusals
    raise :class:`TelegramRefused`; nothing is swallowed here (ActionRunner does that for replies)."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def send_message(self, action: SendMessage) -> Sent:
        """sendMessage with the action's keyboard; returns the new message's id."""
        with refusals():
            message = await self.bot.send_message(
                chat_id=action.chat_id, text=action.text, reply_markup=aiogram_markup(action.markup)
            )
        return Sent(message.message_id)

    async def edit_message(self, action: EditMessage) -> None:
        """editMessageText; without a keyboard the old inline keyboard goes away (as on Telegram)."""
        with refusals():
            await self.bot.edit_message_text(
                text=action.text, chat_id=action.chat_id, message_id=action.message_id,
                reply_markup=aiogram_markup(action.markup),
            )

    async def answer_callback(self, action: AnswerCallback) -> None:
        """answerCallbackQuery: stops the button's spinner, with a toast or an alert when there is text."""
        with refusals():
            await self.bot.answer_callback_query(
                callback_query_id=action.callback_id, text=action.text, show_alert=action.show_alert
            )

    async def set_chat_menu(self, action: Any) -> None:
        """setMyCommands scoped to the action's chat, for each of its languages."""
        for code, commands in action.menus:
            with refusals():
                await self.bot.set_my_commands(
                    [BotCommand(command=name, description=description) for name, description in commands],
                    scope=BotCommandScopeChat(chat_id=action.chat_id), language_code=code or None)

    async def send_document(self, action: Any) -> Sent:
        """sendDocument: an export, uploaded under its file name, with a caption (HTML by default)."""
        return await self._upload(self.bot.send_document, action)

    async def send_photo(self, action: Any) -> Sent:
        """sendPhoto: a picture Pintu drew (the day's route), uploaded under its file name, with a caption."""
        return await self._upload(self.bot.send_photo, action)

    async def _upload(self, send: Any, action: Any) -> Sent:
        from aiogram.types import BufferedInputFile

        with refusals():
            # the file is the second parameter of both methods (document, photo)
            message = await send(action.chat_id, BufferedInputFile(action.content, filename=action.filename),
                                 caption=action.caption)
        return Sent(message.message_id)


# --- the transport -----------------------------------------------------------------------------------

class AiogramTransport:
    """aiogram: ``await start()``, then ``await stop()``. Updates arrive by long polling, or with
    ``settings.mode == "webhook"`` through :class:`bot.webhook.WebhookServer` into the same dispatcher;
    ``start(receive=False)`` only opens the Bot API client (an outbox-only worker)."""

    def __init__(self, pintu: Pintu) -> None:
        settings = pintu.settings
        self.pintu = pintu
        self.order = PerUserOrder()
        # A deliberate timeout (aiogram adds the long poll's own to it for getUpdates): long enough that a
        # slow Telegram delays a reply rather than making one that went through look lost.
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_url), timeout=READ_TIMEOUT)
        self.bot = Bot(settings.bot_token, session=session, default=DefaultBotProperties(parse_mode="HTML"))
        self._api = pintu.metrics.instrument(AiogramApi(self.bot))
        self.webhook: WebhookServer | None = None
        self.replies = Replies(pintu, self._api)
        self.bot_username: str | None = None
        self.polling: DurablePolling | None = None
        self._polling: asyncio.Task[None] | None = None

        self.dispatcher = Dispatcher(disable_fsm=True)  # conversation state lives in the database
        self.dispatcher.update.outer_middleware(self._in_order)
        self.dispatcher.errors.register(self._on_error)
        router = Router(name="pintu")
        # Every kind of new message (text, commands, location, contact, photo, document, sticker,
        # voice…) goes to one handler: the handlers route by content. Of edited messages only a live
        # location's new points are read (incoming_from_update drops the others).
        router.message.register(self._on_message)
        router.edited_message.register(self._on_message)
        router.callback_query.register(self._on_callback)
        self.dispatcher.include_router(router)

    @property
    def api(self) -> ApiClient:
        """The Bot API client for other components (the outbox dispatcher); usable after start()."""
        return self._api

    async def start(self, receive: bool = True) -> None:
        """getMe (learn the username); unless ``receive`` is False, publish the command menu, then poll
        in a background task or (webhook mode) listen and setWebhook."""
        webhook = self.pintu.settings.mode == "webhook"
        try:
            me = await self.bot.me()  # getMe, cached for aiogram's polling; a wrong token fails here
            self.bot_username = me.username
            self.pintu.learn_bot_username(me.username or "")
            if not receive:
                log.info("started as @%s (aiogram, no updates)", self.bot_username)
                return
            await self._publish_commands()
            if webhook:
                self.webhook = make_webhook_server(self.pintu, self._feed)
                await self.webhook.start()
                with refusals():
                    await self.bot.set_webhook(self.pintu.settings.webhook_url, allowed_updates=ALLOWED_UPDATES,
                                               secret_token=self.pintu.settings.webhook_secret)
                log.info("started as @%s (aiogram, webhook)", self.bot_username)
                return
            # getUpdates answers 409 while a webhook is set.
            with refusals():
                await self.bot.delete_webhook(drop_pending_updates=False)
            self.polling = DurablePolling(self._fetch, self._feed, InboxStore(self.pintu))
            self._polling = asyncio.create_task(self.polling.run(), name="aiogram-polling")
        except BaseException:
            await self._close()
            raise
        log.info("polling as @%s (aiogram)", self.bot_username)

    async def stop(self) -> None:
        """Stop polling, let updates in progress finish (bounded), and close the HTTP session."""
        await self._close()

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """getUpdates as Bot API JSON (the offset acknowledges what came before it)."""
        with refusals():
            updates = await self.bot.get_updates(offset=offset, timeout=POLL_TIMEOUT, allowed_updates=ALLOWED_UPDATES)
        return [update.model_dump(mode="json", by_alias=True, exclude_none=True) for update in updates]

    async def _feed(self, data: dict[str, Any]) -> None:
        """One update (polled or from the webhook) through the dispatcher and its middleware (per-user
        order); returns once it has been handled."""
        update = Update.model_validate(data, context={"bot": self.bot})
        await self.dispatcher.feed_update(self.bot, update, **self.dispatcher.workflow_data)

    async def _close(self) -> None:
        webhook, self.webhook = self.webhook, None
        if webhook is not None:
            # Stop accepting updates; the webhook stays set at Telegram, as other workers may serve it.
            await webhook.stop()
        poller, self.polling = self.polling, None
        polling, self._polling = self._polling, None
        if poller is not None:
            await poller.stop()
        if polling is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(polling, STOP_GRACE)
        await asyncio.sleep(0)  # update tasks created just before the stop reach the order gate
        if not await self.order.wait_idle(STOP_GRACE):
            log.warning("stopping with %d update(s) still in progress", self.order.in_flight)
        await self.bot.session.close()

    async def _publish_commands(self) -> None:
        """setMyCommands in Indonesian (everyone) and English (English-language clients)."""
        for language, code in (("id", None), ("en", "en")):
            commands = [BotCommand(command=name, description=description) for name, description in command_menu(language)]
            try:
                with refusals():
                    await self.bot.set_my_commands(commands, language_code=code)
            except TelegramRefused as refused:
                log.warning("could not set the %s command menu: %s", language, refused)

    async def _in_order(
        self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Outer middleware on every update: wait for this user's earlier updates before going on."""
        user = data.get("event_from_user")
        plain = isinstance(event, Update) and is_plain_text(event.message)
        async with self.order.hold(user.id if user is not None else None, plain) as superseded:
            if superseded:  # a later text of this user is answered instead
                self.pintu.coalesced(event.update_id if isinstance(event, Update) else None)
                return None
            return await handler(event, data)

    async def _on_message(self, message: Message, event_update: Update) -> None:
        """Any new message: convert (a file is downloaded only if its step asks), handle in a worker thread,
        send the replies."""
        event = incoming_from_update(event_update)
        if event is not None:
            event = downloadable(event, self._download)
            await self.replies.serve(event)

    async def _download(self, file_id: str) -> bytes:
        """getFile, then the file's bytes (refusals as TelegramRefused)."""
        with refusals():
            file = await self.bot.get_file(file_id)
            if file.file_path is None:
                raise TelegramRefused("bad_request", "no file_path")
            buffer = await self.bot.download_file(file.file_path)
        return buffer.getvalue() if buffer is not None else b""

    async def _on_callback(self, query: CallbackQuery, event_update: Update) -> None:
        """A button press: convert, handle in a worker thread, answer/edit as the handlers say."""
        event = incoming_from_update(event_update)
        if event is not None:
            await self.replies.serve(event)

    async def _on_error(self, error: ErrorEvent) -> bool:
        """A handler raised: log it with the update; polling goes on with the next update."""
        update: Update = error.update
        log.error("error while processing update %s", update.update_id, exc_info=error.exception)
        return True
