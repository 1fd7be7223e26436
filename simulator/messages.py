"""Bot API methods that create, change or remove messages, and answerCallbackQuery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .calls import Call, method
from .errors import bad_request, forbidden
from .formatting import parse_formatted
from .markup import inline_markup, inline_only, reply_markup
from .media import StoredFile
from .params import Params, Upload
from .world import ChatLog, MessageRecord

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
DELETE_WINDOW_SECONDS = 48 * 3600
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


@dataclass
class Target:
    """A chat the bot addresses."""

    chat_id: int
    chat: dict  # the Bot API Chat object
    log: ChatLog

    @property
    def type(self) -> str:
        """private, group or supergroup."""
        return self.chat["type"]


def resolve_chat(call: Call, p: Params, *, write: bool) -> Target:
    """The chat named by ``chat_id``, checking the bot may post there when ``write``."""
    chat_id = p.chat_id()
    if chat_id is None:
        raise bad_request("chat_id is empty")
    if isinstance(chat_id, str):
        group = call.bot.group_by_username(chat_id)
        chat = group.chat() if group else None
    elif chat_id > 0:
        user = call.world.users.get(chat_id)
        chat = user.chat() if user else None
    else:
        group = call.bot.groups.get(chat_id)
        chat = group.chat() if group else None
    if chat is None:
        raise bad_request("chat not found")
    if write and chat["type"] == "private":
        check_can_write_to_user(call, chat["id"])
    return Target(chat["id"], chat, call.bot.chat_log(chat["id"]))


def check_can_write_to_user(call: Call, user_id: int) -> None:
    """A bot may write to users who started it and did not block it."""
    if user_id in call.bot.blocked:
        raise forbidden("bot was blocked by the user")
    if user_id not in call.bot.started:
        raise forbidden("bot can't initiate conversation with a user")


def formatted(p: Params, text_field: str, entities_field: str) -> tuple[str | None, list[dict]]:
    """Parse a text or caption parameter with the call's parse_mode or explicit entities."""
    raw = p.text(text_field)
    if raw is None:
        return None, []
    return parse_formatted(raw, p.text("parse_mode"), p.obj(entities_field, "entities"))


def message_text(p: Params) -> dict:
    """``{"text", "entities"?}`` for sendMessage and editMessageText."""
    text, entities = formatted(p, "text", "entities")
    if not text:
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return _with_entities({"text": text}, "entities", entities)


def caption(p: Params) -> dict:
    """``{"caption", "caption_entities"}`` of a media message (empty when there is none)."""
    text, entities = formatted(p, "caption", "caption_entities")
    if not text:
        return {}
    if len(text) > MAX_CAPTION_LENGTH:
        raise bad_request("message caption is too long")
    return _with_entities({"caption": text}, "caption_entities", entities)


def _with_entities(content: dict, field: str, entities: list[dict]) -> dict:
    if entities:
        content[field] = entities
    return content


def replied_message(p: Params, target: Target) -> dict | None:
    """The message a new one replies to (reply_parameters or the older reply_to_message_id)."""
    parameters = p.obj("reply_parameters", "reply parameters")
    if parameters is None:
        message_id, allow_missing = p.integer("reply_to_message_id"), p.flag("allow_sending_without_reply")
    elif isinstance(parameters, dict):
        message_id = parameters.get("message_id") or 0
        allow_missing = bool(parameters.get("allow_sending_without_reply"))
    else:
        raise bad_request("object expected as reply parameters")
    if not message_id:
        return None
    record = target.log.get(message_id)
    if record is None:
        if allow_missing:
            return None
        raise bad_request("message to be replied not found")
    return {k: v for k, v in record.message.items() if k != "reply_to_message"}


def post_bot_message(call: Call, target: Target, content: dict, markup: dict | None, p: Params) -> dict:
    """Check the rate limits, store a new bot message and return it as the Bot API shows it."""
    reply = replied_message(p, target)
    call.limiter.acquire(call.bot.id, target.chat_id, target.type)
    body: dict[str, Any] = {"from": call.bot.to_api(), "chat": target.chat, "date": call.world.now()}
    if reply is not None:
        body["reply_to_message"] = reply
    body.update(content)
    if inline_only(markup):
        body["reply_markup"] = markup
    record = target.log.add(body, from_bot=True, markup=markup)
    _update_keyboard(target.log, markup)
    call.bot.stats.new_messages[target.chat_id] += 1
    return record.message


def _update_keyboard(log: ChatLog, markup: dict | None) -> None:
    # The user keeps seeing a reply keyboard until the bot replaces or removes it.
    if markup is None:
        return
    if "keyboard" in markup:
        log.keyboard = markup
    elif markup.get("remove_keyboard") or markup.get("hide_keyboard"):
        log.keyboard = None


# --- sending --------------------------------------------------------------------------------------


@method("sendMessage")
async def send_message(call: Call, p: Params) -> dict:
    """Send a text message."""
    content = message_text(p)
    markup = reply_markup(p)
    target = resolve_chat(call, p, write=True)
    return post_bot_message(call, target, content, markup, p)


@method("sendLocation")
async def send_location(call: Call, p: Params) -> dict:
    """Send a point on the map."""
    location = {}
    for name in ("latitude", "longitude"):
        value = p.number(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        location[name] = value
    if p.number("horizontal_accuracy") is not None:
        location["horizontal_accuracy"] = p.number("horizontal_accuracy")
    for name in ("live_period", "heading", "proximity_alert_radius"):
        if p.has(name):
            location[name] = p.integer(name)
    markup = reply_markup(p)
    target = resolve_chat(call, p, write=True)
    return post_bot_message(call, target, {"location": location}, markup, p)


@method("sendPhoto")
async def send_photo(call: Call, p: Params) -> dict:
    """Send a photo: an upload or the file_id of a photo the bot has seen."""
    photo = p.file("photo")
    if photo is None:
        raise bad_request("there is no photo in the request")
    content = caption(p)
    markup = reply_markup(p)
    target = resolve_chat(call, p, write=True)
    if isinstance(photo, Upload):
        sizes = call.bot.files.add_photo(_non_empty(photo).data)
    else:
        sizes = _known_file(call, photo, "photo").photo
    return post_bot_message(call, target, {"photo": sizes, **content}, markup, p)


@method("sendDocument")
async def send_document(call: Call, p: Params) -> dict:
    """Send a general file: an upload or the file_id of a document the bot has seen."""
    document = p.file("document")
    if document is None:
        raise bad_request("there is no document in the request")
    content = caption(p)
    markup = reply_markup(p)
    target = resolve_chat(call, p, write=True)
    if isinstance(document, Upload):
        upload = _non_empty(document)
        stored = call.bot.files.add_document(upload.data, upload.filename, upload.content_type)
    else:
        stored = _known_file(call, document, "document")
    return post_bot_message(call, target, {"document": stored.document(), **content}, markup, p)


def _non_empty(upload: Upload) -> Upload:
    if not upload.data:
        raise bad_request("file must be non-empty")
    return upload


def _known_file(call: Call, reference: str, kind: str) -> StoredFile:
    """A file sent again by file_id; URLs cannot be fetched here (no network)."""
    if _URL.match(reference):
        raise bad_request(
            "failed to get HTTP URL content (the simulator has no network access: upload the file instead)"
        )
    stored = call.bot.files.get(reference)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.title()} as {kind.title()}")
    return stored


@method("sendChatAction")
async def send_chat_action(call: Call, p: Params) -> bool:
    """Show "typing…" and the like; the simulator only checks the call."""
    if p.text("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    resolve_chat(call, p, write=True)
    return True


# --- editing and deleting -------------------------------------------------------------------------


def editable_message(call: Call, p: Params) -> tuple[Target, MessageRecord]:
    """The bot message an edit method names, or the server's refusal."""
    if not p.has("chat_id") and not p.has("message_id"):
        if p.has("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")  # no inline mode here, so no inline messages
        raise bad_request("message identifier is not specified")
    target = resolve_chat(call, p, write=False)
    message_id = p.integer("message_id")
    record = target.log.get(message_id) if message_id > 0 else None
    if record is None:
        raise bad_request("message to edit not found")
    if not record.from_bot:
        raise bad_request("message can't be edited")
    return target, record


def apply_edit(call: Call, target: Target, record: MessageRecord, changes: dict, markup: dict | None) -> dict:
    """Change fields (None removes one) and the inline keyboard, refusing a no-op as Telegram does."""
    message = record.message
    unchanged = all(message.get(name) == value for name, value in changes.items())
    if unchanged and inline_only(record.markup) == markup:
        raise bad_request(NOT_MODIFIED)
    for name, value in {**changes, "reply_markup": markup}.items():
        if value is None:
            message.pop(name, None)
        else:
            message[name] = value
    message["edit_date"] = call.world.now()
    record.markup = markup
    record.edits += 1
    target.log.touch(record)
    return message


@method("editMessageText")
async def edit_message_text(call: Call, p: Params) -> dict:
    """Replace the text (and inline keyboard) of a bot message."""
    content = message_text(p)
    markup = inline_markup(p)
    target, record = editable_message(call, p)
    if "text" not in record.message:
        raise bad_request("there is no text in the message to edit")
    changes = {"text": content["text"], "entities": content.get("entities")}
    return apply_edit(call, target, record, changes, markup)


@method("editMessageCaption")
async def edit_message_caption(call: Call, p: Params) -> dict:
    """Replace the caption (and inline keyboard) of a bot's photo or document."""
    content = caption(p)
    markup = inline_markup(p)
    target, record = editable_message(call, p)
    if "photo" not in record.message and "document" not in record.message:
        raise bad_request("there is no caption in the message to edit")
    changes = {"caption": content.get("caption"), "caption_entities": content.get("caption_entities")}
    return apply_edit(call, target, record, changes, markup)


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(call: Call, p: Params) -> dict:
    """Replace (or, without reply_markup, remove) the inline keyboard of a bot message."""
    markup = inline_markup(p)
    target, record = editable_message(call, p)
    return apply_edit(call, target, record, {}, markup)


@method("deleteMessage")
async def delete_message(call: Call, p: Params) -> bool:
    """Delete a message under Telegram's rules for bots."""
    if not p.has("chat_id"):
        raise bad_request("chat identifier is not specified")
    message_id = p.integer("message_id")
    if message_id <= 0:
        raise bad_request("message identifier is not specified")
    target = resolve_chat(call, p, write=False)
    record = target.log.get(message_id)
    if record is None:
        raise bad_request("message to delete not found")
    too_old = call.world.now() - record.message["date"] >= DELETE_WINDOW_SECONDS
    # Outside private chats a bot that is not an administrator may delete only its own messages.
    not_its_own = target.type != "private" and not record.from_bot
    if too_old or not_its_own:
        raise bad_request("message can't be deleted")
    record.deleted = True
    target.log.touch(record)
    return True


@method("answerCallbackQuery")
async def answer_callback_query(call: Call, p: Params) -> bool:
    """Answer a button press once; later answers and unknown ids are refused."""
    record = call.bot.callbacks.get(p.text("callback_query_id") or "")
    if record is None or record.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    record.answered = True
    record.text = p.text("text")
    record.show_alert = p.flag("show_alert")
    record.url = p.text("url")
    return True
