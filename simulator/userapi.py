"""The user side: JSON endpoints under ``/sim`` through which tests and the chat page act as users."""

from __future__ import annotations

import functools
import json
import secrets
from typing import Any, Awaitable, Callable

from aiohttp import web

from .entities import command_entities
from .errors import ApiError, UserApiError
from .faults import Fault, FaultError
from .markup import callback_data_of
from .world import BotState, CallbackRecord, ChatLog, Group, MessageRecord, User, World

_dumps = functools.partial(json.dumps, ensure_ascii=False)
Handler = Callable[[web.Request], Awaitable[Any]]


def _endpoint(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap a handler's result as ``{"ok": true, "result"}`` and refusals as ``{"ok": false, …}``."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            result = await handler(request)
        except UserApiError as error:
            return web.json_response({"ok": False, "description": error.description}, status=error.status)
        except web.HTTPRequestEntityTooLarge:
            return web.json_response({"ok": False, "description": "request entity too large"}, status=413)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response({"ok": True, "result": result}, dumps=_dumps)

    return wrapped


class UserApi:
    """Acts as Telegram users (and their clients) towards the hosted bots."""

    def __init__(self, world: World) -> None:
        self.world = world

    def add_routes(self, app: web.Application) -> None:
        """Register the ``/sim`` routes."""
        user = "/sim/{bot}/users/{user}"
        routes = [
            ("POST", "/sim/bots", self.register_bot),
            ("GET", "/sim/bots", self.list_bots),
            ("POST", "/sim/users", self.upsert_user),
            ("POST", "/sim/personas", self.set_personas),
            ("GET", "/sim/personas", self.get_personas),
            ("POST", "/sim/{bot}/chats", self.create_group),
            ("POST", f"{user}/messages", self.send_text),
            ("POST", f"{user}/callback", self.press),
            ("POST", f"{user}/location", self.share_location),
            ("POST", f"{user}/live_location", self.move_live_location),
            ("POST", f"{user}/sticker", self.send_sticker),
            ("POST", f"{user}/voice", self.send_voice),
            ("POST", f"{user}/audio", self.send_audio),
            ("POST", f"{user}/video", self.send_video),
            ("POST", f"{user}/contact", self.share_contact),
            ("POST", f"{user}/photo", self.send_photo),
            ("POST", f"{user}/document", self.send_document),
            ("POST", f"{user}/block", self.block),
            ("POST", f"{user}/unblock", self.unblock),
            ("GET", "/sim/{bot}/chats/{chat}/messages", self.chat_messages),
            ("GET", "/sim/{bot}/callbacks/{id}", self.callback_answer),
            ("GET", "/sim/{bot}/stats", self.stats),
            ("GET", "/sim/{bot}/commands", self.commands),
            ("GET", "/sim/{bot}/photos/{file_id}", self.file_bytes),
            ("POST", "/sim/{bot}/faults", self.inject_fault),
            ("GET", "/sim/{bot}/faults", self.faults),
            ("DELETE", "/sim/{bot}/faults", self.clear_faults),
        ]
        for http_method, path, handler in routes:
            app.router.add_route(http_method, path, _endpoint(handler))

    # --- lookups ----------------------------------------------------------------------------------

    def _bot(self, request: web.Request) -> BotState:
        """The bot named by ``{bot}``: its numeric id or its whole token."""
        ref = request.match_info["bot"]
        if ":" in ref:
            bot = self.world.bot_by_token(ref)
        else:
            bot = self.world.bots.get(_int(ref, "bot"))
        if bot is None:
            raise UserApiError(f"bot {ref.partition(':')[0]} is not registered", 404)
        return bot

    def _user(self, request: web.Request) -> User:
        return self.world.ensure_user(_int(request.match_info["user"], "user"))

    def _chat_of(self, bot: BotState, user: User, body: dict) -> tuple[dict, ChatLog]:
        """The chat a user acts in: their private chat, or the group named by ``chat_id``."""
        chat_id = body.get("chat_id")
        if chat_id is None or chat_id == user.id:
            if user.id in bot.blocked:
                raise UserApiError(f"user {user.id} has blocked the bot; unblock first")
            return user.chat(), bot.chat_log(user.id)
        group = bot.groups.get(_int(chat_id, "chat_id"))
        if group is None:
            raise UserApiError(f"chat {chat_id} is not a group of bot {bot.id}", 404)
        return group.chat(), bot.chat_log(group.id)

    # --- setup --------------------------------------------------------------------------------------

    async def register_bot(self, request: web.Request) -> dict:
        """``{"token", "username", "first_name"?}`` -> the bot's User."""
        body = await _json(request)
        try:
            bot = self.world.add_bot(
                _str(body, "token"), _str(body, "username"), _str(body, "first_name", required=False)
            )
        except ValueError as error:
            raise UserApiError(str(error)) from None
        return bot.to_api()

    async def list_bots(self, request: web.Request) -> list[dict]:
        """Every registered bot as a User."""
        return [bot.to_api() for bot in self.world.bots.values()]

    async def upsert_user(self, request: web.Request) -> dict:
        """``{"id", "first_name", "last_name"?, "username"?, "language_code"?}`` -> the User."""
        body = await _json(request)
        user_id = _int(body.get("id"), "id")
        details = {name: _str(body, name, required=False) for name in ("last_name", "username", "language_code")}
        return self.world.upsert_user(user_id, _str(body, "first_name"), **details).to_api()

    async def create_group(self, request: web.Request) -> dict:
        """``{"id" (negative), "type"?, "title", "username"?}`` -> the group's Chat; any user may post there."""
        bot = self._bot(request)
        body = await _json(request)
        chat_id = _int(body.get("id"), "id")
        kind = body.get("type", "group")
        if chat_id >= 0 or kind not in ("group", "supergroup"):
            raise UserApiError("a group needs a negative id and type 'group' or 'supergroup'")
        group = Group(chat_id, kind, _str(body, "title"), _str(body, "username", required=False))
        bot.groups[chat_id] = group
        return group.chat()

    async def set_personas(self, request: web.Request) -> dict:
        """``{"bot", "personas": [{"user_id", "title", "start"?}], "links"?: [{"title", "url"}]}``: the panes
        of the chat page, and links its header shows (the demo's web dashboard)."""
        body = await _json(request)
        bot = self.world.bots.get(_int(body.get("bot"), "bot"))
        if bot is None:
            raise UserApiError(f"bot {body.get('bot')} is not registered", 404)
        personas = body.get("personas")
        if not isinstance(personas, list) or not all(isinstance(p, dict) for p in personas):
            raise UserApiError("personas must be a list of objects")
        for persona in personas:
            user_id = _int(persona.get("user_id"), "user_id")
            if user_id not in self.world.users:
                self.world.upsert_user(user_id, _str(persona, "title"))
        links = body.get("links") or []
        if not isinstance(links, list) or not all(isinstance(link, dict) and str(link.get("url", "")).startswith(
                ("http://", "https://")) for link in links):
            raise UserApiError("links must be a list of {title, url} with http(s) URLs")
        self.world.personas = {"bot": bot.id, "personas": personas}
        if links:
            self.world.personas["links"] = [{"title": str(link.get("title", "")), "url": link["url"]} for link in links]
        return await self.get_personas(request)

    async def get_personas(self, request: web.Request) -> dict:
        """The personas last set, with the bot's username."""
        bot = self.world.bots.get(self.world.personas["bot"] or 0)
        return {**self.world.personas, "bot_username": bot.username if bot else None}

    # --- acting as a user ---------------------------------------------------------------------------

    def _post(self, request: web.Request, content: dict, body: dict) -> dict:
        """Post a user's message with ``content`` and queue the ``message`` update."""
        bot, user = self._bot(request), self._user(request)
        chat, log = self._chat_of(bot, user, body)
        if chat["type"] == "private":
            bot.started.add(user.id)
        message = {"from": user.to_api(), "chat": chat, "date": self.world.now()}
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None:
            message["reply_to_message"] = _replied(log, _int(reply_to, "reply_to_message_id"))
        record = log.add({**message, **content}, from_bot=False)
        bot.updates.push("message", record.message)
        return record.message

    async def send_text(self, request: web.Request) -> dict:
        """``{"text", "chat_id"?, "reply_to_message_id"?}``; commands get bot_command entities."""
        body = await _json(request)
        text = _str(body, "text")
        content: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            content["entities"] = entities
        return self._post(request, content, body)

    async def share_location(self, request: web.Request) -> dict:
        """``{"latitude", "longitude", "horizontal_accuracy"?, "live_period"?}``."""
        body = await _json(request)
        location = {name: _number(body, name) for name in ("latitude", "longitude")}
        if body.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = _number(body, "horizontal_accuracy")
        if body.get("live_period") is not None:
            location["live_period"] = _int(body["live_period"], "live_period")
        if not (-90 <= location["latitude"] <= 90 and -180 <= location["longitude"] <= 180):
            raise UserApiError("latitude must be within ±90 and longitude within ±180")
        return self._post(request, {"location": location}, body)

    async def move_live_location(self, request: web.Request) -> dict:
        """``{"message_id", "latitude", "longitude", "horizontal_accuracy"?, "chat_id"?}``: a new point of
        the user's live location, delivered to the bot as an ``edited_message`` (as Telegram does).

        Refused (400) unless that message is this user's live location whose period has not ended."""
        bot, user = self._bot(request), self._user(request)
        body = await _json(request)
        _, log = self._chat_of(bot, user, body)
        message_id = _int(body.get("message_id"), "message_id")
        record = log.get(message_id)
        if record is None:
            raise UserApiError(f"message {message_id} not found in chat {log.chat_id}", 404)
        message = record.message
        old = message.get("location") or {}
        if record.from_bot or message["from"]["id"] != user.id or "live_period" not in old:
            raise UserApiError(f"message {message_id} is not a live location of user {user.id}")
        now = self.world.now()
        if now > message["date"] + old["live_period"]:
            raise UserApiError(f"the live period of message {message_id} has ended")
        location = {name: _number(body, name) for name in ("latitude", "longitude")}
        if not (-90 <= location["latitude"] <= 90 and -180 <= location["longitude"] <= 180):
            raise UserApiError("latitude must be within ±90 and longitude within ±180")
        if body.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = _number(body, "horizontal_accuracy")
        location["live_period"] = old["live_period"]
        message["location"] = location
        message["edit_date"] = now
        record.edits += 1
        log.touch(record)
        bot.updates.push("edited_message", message)
        return message

    async def send_sticker(self, request: web.Request) -> dict:
        """``{"emoji"?, "chat_id"?}``: a (regular, static) sticker from a set."""
        body = await _json(request)
        sticker = {
            "file_id": "CAAC" + secrets.token_urlsafe(36)[:36], "file_unique_id": "AgAD" + secrets.token_urlsafe(9)[:9],
            "type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False,
            "emoji": _str(body, "emoji", required=False) or "\U0001F44D", "file_size": 20480,
        }
        return self._post(request, {"sticker": sticker}, body)

    async def send_voice(self, request: web.Request) -> dict:
        """Multipart ``file`` (the audio, OGG/Opus on Telegram) and ``duration``? (seconds): a voice note."""
        bot = self._bot(request)
        data, form = await _upload(request)
        stored = bot.files.add_document(data.file.read(), None, "audio/ogg")
        voice = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "duration": _int(form.get("duration", 1), "duration"), "mime_type": "audio/ogg",
                 "file_size": len(stored.data)}
        return self._post(request, {"voice": voice}, form)

    async def send_audio(self, request: web.Request) -> dict:
        """Multipart ``file`` (a music/audio file), ``duration``?, ``performer``?, ``title``?, ``caption``?:
        an Audio (the Bot API's: file_id, file_unique_id, duration, performer, title, file_name,
        mime_type, file_size)."""
        bot = self._bot(request)
        data, form = await _upload(request)
        stored = bot.files.add_media(data.file.read(), "audio", data.filename, data.content_type)
        audio = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "duration": _int(form.get("duration", 1), "duration"), "file_size": len(stored.data)}
        audio.update({k: form[k] for k in ("performer", "title") if form.get(k)})
        audio.update({k: v for k, v in (("file_name", stored.file_name), ("mime_type", stored.mime_type)) if v})
        return self._post(request, {"audio": audio, **_caption(form)}, form)

    async def send_video(self, request: web.Request) -> dict:
        """Multipart ``file`` (the video), ``width``?, ``height``?, ``duration``?, ``caption``?: a Video (the
        Bot API's: file_id, file_unique_id, width, height, duration, file_name, mime_type, file_size)."""
        bot = self._bot(request)
        data, form = await _upload(request)
        stored = bot.files.add_media(data.file.read(), "video", data.filename, data.content_type or "video/mp4")
        video = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "width": _int(form.get("width", 640), "width"), "height": _int(form.get("height", 360), "height"),
                 "duration": _int(form.get("duration", 1), "duration"), "file_size": len(stored.data)}
        video.update({k: v for k, v in (("file_name", stored.file_name), ("mime_type", stored.mime_type)) if v})
        return self._post(request, {"video": video, **_caption(form)}, form)

    async def share_contact(self, request: web.Request) -> dict:
        """``{"phone_number", "first_name"?, "last_name"?}``: the user's own contact (request_contact)."""
        body = await _json(request)
        user = self._user(request)
        contact = {
            "phone_number": _str(body, "phone_number"),
            "first_name": _str(body, "first_name", required=False) or user.first_name,
            "user_id": user.id,
        }
        last_name = _str(body, "last_name", required=False) or user.last_name
        if last_name:
            contact["last_name"] = last_name
        return self._post(request, {"contact": contact}, body)

    async def send_photo(self, request: web.Request) -> dict:
        """Multipart ``file`` (an image) and ``caption``?: a photo with several sizes."""
        bot = self._bot(request)
        data, form = await _upload(request)
        try:
            sizes = bot.files.add_photo(data.file.read())
        except ApiError as error:
            raise UserApiError(f"not a photo Telegram would accept: {error.description}") from None
        return self._post(request, {"photo": sizes, **_caption(form)}, form)

    async def send_document(self, request: web.Request) -> dict:
        """Multipart ``file`` and ``caption``?: a document."""
        bot = self._bot(request)
        data, form = await _upload(request)
        stored = bot.files.add_document(data.file.read(), data.filename, data.content_type)
        return self._post(request, {"document": stored.document(), **_caption(form)}, form)

    async def press(self, request: web.Request) -> dict:
        """``{"message_id", "data", "force"?, "chat_id"?}``: press an inline button."""
        bot, user = self._bot(request), self._user(request)
        body = await _json(request)
        _, log = self._chat_of(bot, user, body)
        message_id, data = _int(body.get("message_id"), "message_id"), _str(body, "data")
        record = log.get(message_id)
        if record is None:
            raise UserApiError(f"message {message_id} not found in chat {log.chat_id}", 404)
        if not body.get("force") and data not in callback_data_of(record.markup):
            raise UserApiError(f"message {message_id} has no button with callback_data {data!r} (force to forge)")
        query_id = str(secrets.randbits(63))
        bot.callbacks[query_id] = CallbackRecord(query_id, message_id, data)
        query = {
            "id": query_id,
            "from": user.to_api(),
            "message": record.message,
            "chat_instance": log.chat_instance,
            "data": data,
        }
        bot.updates.push("callback_query", query)
        return {"callback_query_id": query_id}

    async def block(self, request: web.Request) -> bool:
        """The user blocks the bot: sends fail with 403; the bot gets a my_chat_member update."""
        return self._set_blocked(request, blocked=True)

    async def unblock(self, request: web.Request) -> bool:
        """The user unblocks the bot."""
        return self._set_blocked(request, blocked=False)

    def _set_blocked(self, request: web.Request, *, blocked: bool) -> bool:
        bot, user = self._bot(request), self._user(request)
        if (user.id in bot.blocked) == blocked:
            return True
        if blocked:
            bot.blocked.add(user.id)
        else:
            bot.blocked.discard(user.id)
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        update = {
            "chat": user.chat(),
            "from": user.to_api(),
            "date": self.world.now(),
            "old_chat_member": _member(bot, old),
            "new_chat_member": _member(bot, new),
        }
        bot.updates.push("my_chat_member", update)
        return True

    # --- observing ----------------------------------------------------------------------------------

    async def chat_messages(self, request: web.Request) -> dict:
        """``?after=REV&wait=S``: messages changed after REV, waiting up to S seconds for a change."""
        bot = self._bot(request)
        log = bot.chat_log(_int(request.match_info["chat"], "chat"))
        after = _int(request.query.get("after", 0), "after")
        wait = min(max(_float(request.query.get("wait", 0), "wait"), 0.0), self.world.config.max_long_poll)
        if wait > 0:
            await log.wait_for_change(after, wait)
        return {
            "revision": log.revision,
            "messages": [message_view(bot, record) for record in log.changed_after(after)],
            "keyboard": log.keyboard,
        }

    async def callback_answer(self, request: web.Request) -> dict:
        """How the bot answered a press."""
        record = self._bot(request).callbacks.get(request.match_info["id"])
        if record is None:
            raise UserApiError(f"no callback query {request.match_info['id']}", 404)
        return record.to_view()

    async def stats(self, request: web.Request) -> dict:
        """Counts per method, new messages per chat, errors per code and 429s."""
        return self._bot(request).stats.to_json()

    async def commands(self, request: web.Request) -> list[dict]:
        """``?chat_id=&language_code=``: the command menu a user sees in their private chat."""
        bot = self._bot(request)
        chat_id = _int(request.query.get("chat_id", 0), "chat_id")
        return bot.visible_commands(chat_id, request.query.get("language_code", ""))

    async def file_bytes(self, request: web.Request) -> web.Response:
        """The bytes of a photo or document, for the chat page."""
        stored = self._bot(request).files.get(request.match_info["file_id"])
        if stored is None:
            raise UserApiError(f"no file {request.match_info['file_id']}", 404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")


    # --- faults on demand ------------------------------------------------------------------------------

    async def inject_fault(self, request: web.Request) -> dict:
        """``{"method"?, "kind", "count"?, "skip"?, "chat_id"?, "seconds"?}`` -> the armed fault."""
        bot = self._bot(request)
        body = await _json(request)
        chat_id = body.get("chat_id")
        if chat_id is not None and not (isinstance(chat_id, str) and chat_id.startswith("@")):
            chat_id = _int(chat_id, "chat_id")
        seconds = body.get("seconds")
        kind = body.get("kind")
        kind = str(kind) if isinstance(kind, int) and not isinstance(kind, bool) else _str(body, "kind")
        try:
            fault = Fault.create(
                _str(body, "method", required=False),
                kind,
                count=_int(body.get("count", 1), "count"),
                skip=_int(body.get("skip", 0), "skip"),
                chat_id=chat_id,
                seconds=None if seconds is None else _float(seconds, "seconds"),
            )
        except FaultError as error:
            raise UserApiError(str(error)) from None
        return bot.faults.add(fault).to_view()

    async def faults(self, request: web.Request) -> dict:
        """``{"fired", "faults"}``: how many times faults fired, and each fault with its counters."""
        return self._bot(request).faults.to_view()

    async def clear_faults(self, request: web.Request) -> bool:
        """Disarm every fault of the bot."""
        self._bot(request).faults.clear()
        return True


def message_view(bot: BotState, record: MessageRecord) -> dict:
    """A message as the chat page and tests see it (current state, any markup kind)."""
    message = record.message
    photo = message.get("photo")
    document = message.get("document")
    files = f"/sim/{bot.id}/photos"
    return {
        "message_id": record.message_id,
        "from_bot": record.from_bot,
        "from_id": message["from"]["id"],
        "text": message.get("text", message.get("caption")),
        "entities": message.get("entities", message.get("caption_entities", [])),
        "reply_markup": record.markup,
        "photo_url": f"{files}/{photo[-1]['file_id']}" if photo else None,
        "document": {**document, "url": f"{files}/{document['file_id']}"} if document else None,
        "location": message.get("location"),
        "contact": message.get("contact"),
        "reply_to_message_id": (message.get("reply_to_message") or {}).get("message_id"),
        "edited": record.edits,
        "deleted": record.deleted,
        "date": message["date"],
        "revision": record.revision,
    }


def _member(bot: BotState, status: str) -> dict:
    member: dict[str, Any] = {"status": status, "user": bot.to_api()}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _replied(log: ChatLog, message_id: int) -> dict:
    record = log.get(message_id)
    if record is None:
        raise UserApiError(f"message {message_id} not found in chat {log.chat_id}", 404)
    return {k: v for k, v in record.message.items() if k != "reply_to_message"}


def _caption(form: dict) -> dict:
    caption = form.get("caption")
    return {"caption": caption} if caption else {}


async def _upload(request: web.Request) -> tuple[web.FileField, dict]:
    """The multipart ``file`` field and the other form fields."""
    if request.content_type != "multipart/form-data":
        raise UserApiError("send multipart/form-data with a 'file' field")
    form = await request.post()
    upload = form.get("file")
    if not isinstance(upload, web.FileField):
        raise UserApiError("the 'file' field must be a file")
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if "chat_id" in fields:
        fields["chat_id"] = _int(fields["chat_id"], "chat_id")
    return upload, fields


async def _json(request: web.Request) -> dict:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        raise UserApiError("the body must be JSON") from None
    if not isinstance(body, dict):
        raise UserApiError("the body must be a JSON object")
    return body


def _int(value: Any, name: str) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)
    except (TypeError, ValueError):
        raise UserApiError(f"{name} must be an integer") from None


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserApiError(f"{name} must be a number") from None


def _number(body: dict, name: str) -> float:
    return _float(body.get(name), name)


def _str(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise UserApiError(f"{name} must be a non-empty string")
    return value
