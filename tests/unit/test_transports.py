"""The two transports convert and map alike: the same Bot API JSON gives the same plain event, the same
plain keyboard gives the same reply_markup, and the same refusal gives the same TelegramRefused kind.

The frameworks are imported inside the tests: aiogram alone takes seconds to import, which selecting
other tests with ``-k`` should not pay.
"""
from __future__ import annotations

import dataclasses

import asyncio
import datetime as dt

import pytest

from bot.transport import COMMAND_MENU, PerUserOrder, bad_request_kind, command_menu, retry_seconds
from chat.client import TelegramRefused
from chat.delivery import ReplySender
from handlers.app import COMMANDS
from chat.events import AnswerCallback, Attachment, EditMessage, Incoming, Location, SendMessage, Sender
from chat.keyboard import choices, keyboard, Button, Keyboard, RemoveKeyboard, ReplyButton, ReplyKeyboard

# PTB 22 warns about its own int-valued RetryAfter.retry_after when it builds the exception.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

USER = {"id": 1001, "is_bot": False, "first_name": "Wati", "language_code": "id"}
CHAT = {"id": 1001, "type": "private", "first_name": "Wati"}


def message(**fields) -> dict:
    return {"update_id": 7, "message": {"message_id": 5, "date": 1795334400, "chat": CHAT, "from": USER, **fields}}


UPDATES = {
    "text": (message(text="Wati Lestari"), Incoming(Sender(1001, "Wati", "id"), 1001, text="Wati Lestari")),
    "command": (
        message(text="/start abc", entities=[{"type": "bot_command", "offset": 0, "length": 6}]),
        Incoming(Sender(1001, "Wati", "id"), 1001, text="/start abc"),
    ),
    "location": (
        message(location={"latitude": -0.5, "longitude": 117.1, "horizontal_accuracy": 12.5, "live_period": 60}),
        Incoming(Sender(1001, "Wati", "id"), 1001, location=Location(-0.5, 117.1, 12.5, 60)),
    ),
    "contact": (
        message(contact={"phone_number": "+628123", "first_name": "Wati", "user_id": 1001}),
        Incoming(Sender(1001, "Wati", "id"), 1001, contact_phone="+628123"),
    ),
    "photo": (
        message(photo=[
            {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 60},
            {"file_id": "big", "file_unique_id": "b", "width": 1280, "height": 853},
            {"file_id": "mid", "file_unique_id": "m", "width": 320, "height": 213},
        ], caption="KK"),
        Incoming(Sender(1001, "Wati", "id"), 1001, photo_file_id="big",
                 attachment=Attachment("photo", "big", "b")),
    ),
    "document": (
        message(document={"file_id": "doc", "file_unique_id": "d", "file_name": "kk.pdf",
                          "mime_type": "application/pdf", "file_size": 31457280}),
        Incoming(Sender(1001, "Wati", "id"), 1001,
                 attachment=Attachment("document", "doc", "d", "kk.pdf", "application/pdf", 31457280)),
    ),
    "sticker": (
        message(sticker={"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512,
                         "is_animated": False, "is_video": False}),
        Incoming(Sender(1001, "Wati", "id"), 1001, attachment=Attachment("sticker", "st", "st")),
    ),
    "voice": (
        message(voice={"file_id": "vo", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg",
                       "file_size": 5000}),
        Incoming(Sender(1001, "Wati", "id"), 1001, attachment=Attachment("voice", "vo", "v", None, "audio/ogg", 5000)),
    ),
    "live location moved": (
        {"update_id": 7, "edited_message": {"message_id": 5, "date": 1795334400, "edit_date": 1795334460,
                                            "chat": CHAT, "from": USER,
                                            "location": {"latitude": -0.51, "longitude": 117.2,
                                                         "horizontal_accuracy": 8.0, "live_period": 900}}},
        Incoming(Sender(1001, "Wati", "id"), 1001, location=Location(-0.51, 117.2, 8.0, 900), is_live_update=True),
    ),
    "group": (
        {"update_id": 7, "message": {"message_id": 5, "date": 1795334400, "from": USER, "text": "/janji",
                                     "chat": {"id": -100, "type": "group", "title": "RT 001"}}},
        Incoming(Sender(1001, "Wati", "id"), -100, text="/janji", chat_type="group"),
    ),
    "callback": (
        {"update_id": 8, "callback_query": {"id": "q1", "from": USER, "chat_instance": "ci", "data": "dy:20261123",
                                            "message": {"message_id": 9, "date": 1795334400, "chat": CHAT,
                                                        "from": {"id": 4242, "is_bot": True, "first_name": "Pintu"},
                                                        "text": "Pilih hari"}}},
        Incoming(Sender(1001, "Wati", "id"), 1001, callback_id="q1", callback_data="dy:20261123", message_id=9),
    ),
    "callback on an inaccessible message": (
        {"update_id": 8, "callback_query": {"id": "q2", "from": USER, "chat_instance": "ci", "data": "ok:yes",
                                            "message": {"message_id": 3, "date": 0, "chat": CHAT}}},
        Incoming(Sender(1001, "Wati", "id"), 1001, callback_id="q2", callback_data="ok:yes", message_id=3),
    ),
}


def ptb_incoming(data: dict) -> Incoming | None:
    from telegram import Update

    from bot.ptb_transport import incoming_from_update

    return incoming_from_update(Update.de_json(data, None))


def aiogram_incoming(data: dict) -> Incoming | None:
    from aiogram.types import Update

    from bot.aiogram_transport import incoming_from_update

    return incoming_from_update(Update.model_validate(data))


@pytest.mark.parametrize("kind", list(UPDATES))
def test_both_transports_read_an_update_alike(kind: str) -> None:
    data, expected = UPDATES[kind]
    expected = dataclasses.replace(expected, update_id=data["update_id"])  # kept for ordering across workers
    assert ptb_incoming(data) == expected
    assert aiogram_incoming(data) == expected


def test_an_edited_text_is_ignored() -> None:
    data = {"update_id": 9, "edited_message": {"message_id": 1, "date": 1795334400, "edit_date": 1795334460,
                                               "text": "Wati L.", "chat": CHAT, "from": USER}}
    assert ptb_incoming(data) is None
    assert aiogram_incoming(data) is None


def test_a_message_without_sender_is_ignored() -> None:
    data = {"update_id": 9, "message": {"message_id": 1, "date": 1795334400, "text": "hi",
                                        "chat": {"id": -1001, "type": "channel", "title": "Info"}}}
    assert ptb_incoming(data) is None
    assert aiogram_incoming(data) is None


KEYBOARDS = [
    keyboard([choices([Button("Sen 23 Nov", "dy:20261123"), Button("Peta", url="https://example.org")]),
              [Button("Nanti saja", "nv:close")]]),
    ReplyKeyboard(((ReplyButton("Kirim lokasi", request_location=True), ReplyButton("Kirim nomor", request_contact=True)),
                   (ReplyButton("Batal"),)), one_time=True),
    RemoveKeyboard(),
]


@pytest.mark.parametrize("markup", KEYBOARDS, ids=["inline", "reply", "remove"])
def test_both_transports_send_the_same_keyboard(markup) -> None:
    from bot.aiogram_transport import aiogram_markup
    from bot.ptb_transport import ptb_markup

    ptb = ptb_markup(markup).to_dict()
    aiogram = aiogram_markup(markup).model_dump(exclude_none=True)
    assert ptb == aiogram
    assert ptb_markup(None) is None and aiogram_markup(None) is None


# --- refusals ---------------------------------------------------------------------------------------

NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")


@pytest.mark.parametrize(("description", "kind"), [
    (NOT_MODIFIED, "not_modified"),
    ("Bad Request: message to edit not found", "not_found"),
    ("Bad Request: message can't be edited", "not_found"),
    ("Bad Request: chat not found", "chat_not_found"),
    ("Bad Request: query is too old and response timeout expired or query ID is invalid", "bad_request"),
])
def test_bad_requests_are_told_apart(description: str, kind: str) -> None:
    assert bad_request_kind(description) == kind
    assert bad_request_kind(description.removeprefix("Bad Request: ").capitalize()) == kind  # PTB's spelling


def test_retry_after_may_be_seconds_or_a_timedelta() -> None:
    assert retry_seconds(5) == 5.0
    assert retry_seconds(dt.timedelta(seconds=3)) == 3.0
    assert retry_seconds(2.5) == 2.5


def ptb_errors() -> list[tuple[Exception, str, float]]:
    from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

    return [
        (Forbidden("Forbidden: bot was blocked by the user"), "blocked", 0.0),
        (BadRequest(NOT_MODIFIED), "not_modified", 0.0),
        (BadRequest("Bad Request: message to edit not found"), "not_found", 0.0),
        (BadRequest("Bad Request: message can't be edited"), "not_found", 0.0),
        (BadRequest("Bad Request: can't parse entities: Unsupported start tag"), "bad_request", 0.0),
        (RetryAfter(7), "retry_after", 7.0),
        (RetryAfter(dt.timedelta(seconds=2)), "retry_after", 2.0),
        (TimedOut(), "network", 0.0),
        (NetworkError("Bad Gateway"), "network", 0.0),
        (ChatMigrated(-1002), "bad_request", 0.0),
        (Conflict("terminated by other getUpdates request"), "network", 0.0),
    ]


def aiogram_errors() -> list[tuple[Exception, str, float]]:
    from aiogram.exceptions import (
        TelegramBadRequest,
        TelegramForbiddenError,
        TelegramMigrateToChat,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
    )
    from aiogram.methods import SendMessage as Method

    method = Method(chat_id=1, text="x")
    return [
        (TelegramForbiddenError(method, "Forbidden: bot was blocked by the user"), "blocked", 0.0),
        (TelegramBadRequest(method, NOT_MODIFIED), "not_modified", 0.0),
        (TelegramBadRequest(method, "Bad Request: message to edit not found"), "not_found", 0.0),
        (TelegramBadRequest(method, "Bad Request: message can't be edited"), "not_found", 0.0),
        (TelegramBadRequest(method, "Bad Request: chat not found"), "chat_not_found", 0.0),
        (TelegramRetryAfter(method, "Too Many Requests: retry after 7", retry_after=7), "retry_after", 7.0),
        (TelegramNetworkError(method, "HTTP Client says - ClientConnectorError"), "network", 0.0),
        (TelegramServerError(method, "Internal Server Error"), "network", 0.0),
        (TelegramMigrateToChat(method, "Bad Request: group chat was upgraded", migrate_to_chat_id=-1002), "bad_request", 0.0),
    ]


class FailingBot:
    """Stands in for the framework's Bot: every call raises ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def send_message(self, *args, **kwargs):
        raise self.error

    edit_message_text = answer_callback_query = send_message


@pytest.mark.parametrize("framework", ["ptb", "aiogram"])
async def test_api_clients_raise_telegram_refused(framework: str) -> None:
    """transport.api is for the outbox dispatcher: it must raise, never swallow."""
    if framework == "ptb":
        from bot.ptb_transport import PtbApi as Api
        cases = ptb_errors()
    else:
        from bot.aiogram_transport import AiogramApi as Api
        cases = aiogram_errors()
    actions = [SendMessage(1, "x"), EditMessage(1, 2, "x"), AnswerCallback("q")]
    for error, kind, wait in cases:
        api = Api(FailingBot(error))
        for action in actions:
            call = {SendMessage: api.send_message, EditMessage: api.edit_message, AnswerCallback: api.answer_callback}
            with pytest.raises(TelegramRefused) as refused:
                await call[type(action)](action)
            assert (refused.value.kind, refused.value.retry_after) == (kind, wait), error
            assert refused.value.__cause__ is error


@pytest.mark.parametrize("opt_in", ["", "1"])
async def test_ptb_retry_after_and_live_period_in_either_form(opt_in: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB_TIMEDELTA=1 turns PTB 22's periods into timedeltas; the transport reads both as seconds."""
    from telegram.error import RetryAfter

    from bot.ptb_transport import PtbApi

    monkeypatch.setenv("PTB_TIMEDELTA", opt_in)
    with pytest.raises(TelegramRefused) as refused:
        await PtbApi(FailingBot(RetryAfter(dt.timedelta(seconds=4)))).send_message(SendMessage(1, "x"))
    assert refused.value.retry_after == 4.0
    data, expected = UPDATES["location"]
    assert ptb_incoming(data) == dataclasses.replace(expected, update_id=data["update_id"])


async def test_the_reply_sender_swallows_what_the_client_raises() -> None:
    from telegram.error import Forbidden

    from bot.ptb_transport import PtbApi

    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    sender = ReplySender(PtbApi(FailingBot(Forbidden("Forbidden: bot was blocked by the user"))), on_blocked=on_blocked)
    await sender.run([SendMessage(1001, "x")])
    assert blocked == [1001]


# --- the command menu -------------------------------------------------------------------------------

def test_command_menu_names_are_routes_of_the_same_step() -> None:
    for indonesian, english in COMMAND_MENU:
        assert COMMANDS[indonesian] is COMMANDS[english]
    assert [name for name, _ in command_menu("id")][2:5] == ["janji", "pindah", "batal"]
    assert [name for name, _ in command_menu("en")][2:5] == ["appointment", "move", "cancel"]
    assert all(0 < len(description) <= 256 for _, description in command_menu("id") + command_menu("en"))


# --- per-user ordering ------------------------------------------------------------------------------

async def test_one_users_updates_wait_for_each_other_and_others_do_not() -> None:
    order = PerUserOrder()
    log: list[str] = []
    release = asyncio.Event()

    async def update(user: int, name: str, hold: bool = False) -> None:
        async with order.hold(user):
            log.append(f"start {name}")
            if hold:
                await release.wait()
            log.append(f"end {name}")

    tasks = [asyncio.create_task(update(1, "a1", hold=True)), asyncio.create_task(update(1, "a2")),
             asyncio.create_task(update(2, "b1")), asyncio.create_task(update(1, "a3"))]
    await asyncio.sleep(0.01)
    assert log == ["start a1", "start b1", "end b1"]  # b1 is not held up by a1; a2 and a3 wait
    assert order.in_flight == 3
    release.set()
    await asyncio.gather(*tasks)
    assert log[3:] == ["end a1", "start a2", "end a2", "start a3", "end a3"]
    assert await order.wait_idle(0.1) and order._locks == {}
