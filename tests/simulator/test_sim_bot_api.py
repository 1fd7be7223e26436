"""The bot side over raw HTTP: encodings, objects, and errors worded as Telegram words them."""

from __future__ import annotations

import json

import httpx
import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, call, drain, error, ok
from simulator.testing import make_png

KEYBOARD = {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}, {"text": "No", "callback_data": "no"}]]}


def api_url(sim, method: str, token: str = TOKEN) -> str:
    return f"{sim.url}/bot{token}/{method}"


# --- transport ------------------------------------------------------------------------------------


def test_unknown_token_and_unknown_method(sim):
    assert httpx.get(api_url(sim, "getMe", "999:nope")).json() == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    answer = httpx.post(api_url(sim, "sendTelepathy"))
    assert answer.status_code == 404
    assert answer.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


def test_get_me_and_case_insensitive_method_names(sim):
    me = httpx.get(api_url(sim, "GETME")).json()["result"]
    assert me["id"] == BOT_ID and me["is_bot"] is True and me["username"] == "pintu_test_bot"


@pytest.mark.parametrize("encoding", ["query", "json", "urlencoded", "multipart"])
def test_parameters_in_every_encoding(sim, encoding):
    params = {"chat_id": str(USER_ID), "text": "<b>hi</b>", "parse_mode": "HTML", "reply_markup": json.dumps(KEYBOARD)}
    url = api_url(sim, "sendMessage")
    if encoding == "query":
        answer = httpx.get(url, params=params)
    elif encoding == "json":
        answer = httpx.post(url, json={**params, "chat_id": USER_ID, "reply_markup": KEYBOARD})
    elif encoding == "urlencoded":
        answer = httpx.post(url, data=params)
    else:
        answer = httpx.post(url, files={name: (None, value) for name, value in params.items()})
    message = answer.json()["result"]
    assert message["text"] == "hi"
    assert message["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert message["reply_markup"] == KEYBOARD


def test_form_values_are_coerced_by_type(sim):
    answer = httpx.post(
        api_url(sim, "sendMessage"),
        data={"chat_id": f" {USER_ID}", "text": "x", "disable_notification": "True", "reply_parameters": "{}"},
    )
    assert answer.json()["ok"]
    updates = httpx.post(api_url(sim, "getUpdates"), data={"limit": "0", "offset": "-1"}).json()
    assert updates == {"ok": True, "result": []}


# --- messages -------------------------------------------------------------------------------------


def test_sent_message_is_shaped_like_telegram(sim):
    message = ok(sim, "sendMessage", chat_id=USER_ID, text="Halo", reply_markup=KEYBOARD)
    assert message["message_id"] == 2  # the user's /start was message 1 of this chat
    assert isinstance(message["date"], int)
    assert message["from"] == {"id": BOT_ID, "is_bot": True, "first_name": "Pintu", "username": "pintu_test_bot"}
    assert message["chat"] == {"id": USER_ID, "type": "private", "first_name": "Ayu", "username": "ayu"}
    assert message["reply_markup"] == KEYBOARD
    assert ok(sim, "sendMessage", chat_id=USER_ID, text="again")["message_id"] == 3


def test_reply_keyboards_are_not_echoed_but_shown_to_the_user(sim):
    keyboard = {"keyboard": [[{"text": "Share location", "request_location": True}]], "one_time_keyboard": True}
    message = ok(sim, "sendMessage", chat_id=USER_ID, text="Where?", reply_markup=keyboard)
    assert "reply_markup" not in message  # Message.reply_markup is an InlineKeyboardMarkup only
    assert sim.keyboard(BOT_ID, USER_ID) == keyboard
    assert sim.messages(BOT_ID, USER_ID)[-1]["reply_markup"] == keyboard
    ok(sim, "sendMessage", chat_id=USER_ID, text="Thanks", reply_markup={"remove_keyboard": True})
    assert sim.keyboard(BOT_ID, USER_ID) is None


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"text": ""}, "Bad Request: message text is empty"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ({"text": "x" * 4097}, "Bad Request: message is too long"),
        ({"text": "<x>", "parse_mode": "HTML"}, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'),
        ({"text": "x", "chat_id": 424242}, "Bad Request: chat not found"),
        ({"text": "x", "chat_id": "@nobody"}, "Bad Request: chat not found"),
        ({"text": "x", "chat_id": None}, "Bad Request: chat_id is empty"),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b", "callback_data": "d" * 65}]]}},
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [[{"text": "b"}]]}},
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            {"text": "x", "reply_markup": {"inline_keyboard": [{"text": "b"}]}},
            'Bad Request: Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
        ),
        ({"text": "x", "reply_markup": "{not json"}, "Bad Request: can't parse reply keyboard markup JSON object"),
        ({"text": "x", "reply_parameters": {"message_id": 99}}, "Bad Request: message to be replied not found"),
    ],
)
def test_send_message_refusals(sim, params, description):
    params = {"chat_id": USER_ID, **params}
    assert error(sim, "sendMessage", **{k: v for k, v in params.items() if v is not None}) == (400, description)


def test_text_limit_counts_characters_after_parsing(sim):
    text = "<b>" + "é" * 4096 + "</b>"  # 8192 bytes of UTF-8, 4096 characters once parsed
    assert ok(sim, "sendMessage", chat_id=USER_ID, text=text, parse_mode="HTML")["entities"][0]["length"] == 4096


def test_callback_data_limit_is_64_bytes(sim):
    fits = {"inline_keyboard": [[{"text": "b", "callback_data": "é" * 32}]]}
    assert ok(sim, "sendMessage", chat_id=USER_ID, text="x", reply_markup=fits)
    too_long = {"inline_keyboard": [[{"text": "b", "callback_data": "é" * 33}]]}
    assert error(sim, "sendMessage", chat_id=USER_ID, text="x", reply_markup=too_long)[1].endswith("BUTTON_DATA_INVALID")


def test_reply_to_a_message(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="answer", reply_parameters={"message_id": 1})
    assert sent["reply_to_message"]["text"] == "/start"
    missing_ok = {"message_id": 77, "allow_sending_without_reply": True}
    assert "reply_to_message" not in ok(sim, "sendMessage", chat_id=USER_ID, text="x", reply_parameters=missing_ok)


def test_blocked_user_and_user_who_never_started(sim):
    sim.block(BOT_ID, USER_ID)
    assert error(sim, "sendMessage", chat_id=USER_ID, text="x") == (403, "Forbidden: bot was blocked by the user")
    assert error(sim, "sendChatAction", chat_id=USER_ID, action="typing")[0] == 403
    sim.unblock(BOT_ID, USER_ID)
    assert ok(sim, "sendMessage", chat_id=USER_ID, text="x")
    sim.create_user(2002, "Budi")
    assert error(sim, "sendMessage", chat_id=2002, text="x") == (403, "Forbidden: bot can't initiate conversation with a user")


def test_send_chat_action(sim):
    assert ok(sim, "sendChatAction", chat_id=USER_ID, action="typing") is True
    assert error(sim, "sendChatAction", chat_id=USER_ID, action="dancing") == (
        400,
        "Bad Request: wrong parameter action in request",
    )


def test_send_location(sim):
    message = ok(sim, "sendLocation", chat_id=USER_ID, latitude="-6.2", longitude=106.8, horizontal_accuracy=50)
    assert message["location"] == {"latitude": -6.2, "longitude": 106.8, "horizontal_accuracy": 50.0}
    assert error(sim, "sendLocation", chat_id=USER_ID, longitude=1) == (400, "Bad Request: latitude is empty")


# --- editing and deleting -------------------------------------------------------------------------


def test_edit_message_text_in_place(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="Pick one", reply_markup=KEYBOARD)
    edited = ok(sim, "editMessageText", chat_id=USER_ID, message_id=sent["message_id"], text="Picked: yes")
    assert edited["message_id"] == sent["message_id"]
    assert edited["text"] == "Picked: yes"
    assert "reply_markup" not in edited  # an edit without reply_markup removes the inline keyboard
    assert isinstance(edited["edit_date"], int)
    view = sim.messages(BOT_ID, USER_ID)[-1]
    assert (view["text"], view["edited"], view["reply_markup"]) == ("Picked: yes", 1, None)


def test_edit_refusals(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="Same", reply_markup=KEYBOARD)
    same = {"chat_id": USER_ID, "message_id": sent["message_id"], "text": "Same", "reply_markup": KEYBOARD}
    code, description = error(sim, "editMessageText", **same)
    assert code == 400 and description.startswith("Bad Request: message is not modified: specified new message")
    assert error(sim, "editMessageText", chat_id=USER_ID, message_id=99, text="x") == (
        400,
        "Bad Request: message to edit not found",
    )
    assert error(sim, "editMessageText", chat_id=USER_ID, message_id=1, text="x") == (
        400,
        "Bad Request: message can't be edited",
    )
    assert error(sim, "editMessageText", chat_id=424242, message_id=1, text="x") == (400, "Bad Request: chat not found")
    keyboard = {"keyboard": [["a"]]}
    assert error(sim, "editMessageReplyMarkup", chat_id=USER_ID, message_id=sent["message_id"], reply_markup=keyboard)[
        1
    ] == ("Bad Request: inline keyboard expected")


def test_edit_reply_markup_and_caption(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="Menu", reply_markup=KEYBOARD)
    ids = {"chat_id": USER_ID, "message_id": sent["message_id"]}
    assert "reply_markup" not in ok(sim, "editMessageReplyMarkup", **ids)
    code, description = error(sim, "editMessageReplyMarkup", **ids)
    assert description.startswith("Bad Request: message is not modified")
    assert error(sim, "editMessageCaption", **ids, caption="c") == (
        400,
        "Bad Request: there is no caption in the message to edit",
    )
    photo = httpx.post(api_url(sim, "sendPhoto"), data={"chat_id": USER_ID}, files={"photo": ("p.png", make_png(10, 10))})
    photo_id = photo.json()["result"]["message_id"]
    captioned = ok(sim, "editMessageCaption", chat_id=USER_ID, message_id=photo_id, caption="<i>c</i>", parse_mode="HTML")
    assert captioned["caption"] == "c" and captioned["caption_entities"][0]["type"] == "italic"


def test_delete_message(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="bye")
    assert ok(sim, "deleteMessage", chat_id=USER_ID, message_id=sent["message_id"]) is True
    assert sim.messages(BOT_ID, USER_ID)[-1]["deleted"] is True
    assert error(sim, "deleteMessage", chat_id=USER_ID, message_id=sent["message_id"]) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert ok(sim, "deleteMessage", chat_id=USER_ID, message_id=1)  # bots may delete incoming private messages


def test_messages_older_than_48_hours_cannot_be_deleted():
    from simulator.testing import running_simulator

    now = [1_700_000_000.0]
    with running_simulator(rate_limits=False, wall_clock=lambda: now[0]) as handle:
        handle.register_bot(TOKEN, "pintu_test_bot")
        handle.send_text(BOT_ID, USER_ID, "/start")
        now[0] += 48 * 3600
        assert error(handle, "deleteMessage", chat_id=USER_ID, message_id=1) == (
            400,
            "Bad Request: message can't be deleted",
        )


# --- callback queries -----------------------------------------------------------------------------


def test_answer_callback_query_once(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text="?", reply_markup=KEYBOARD)
    query_id = sim.press(BOT_ID, USER_ID, sent["message_id"], "yes")
    [update] = drain(sim)
    query = update["callback_query"]
    assert query["id"] == query_id and query["data"] == "yes"
    assert query["message"]["message_id"] == sent["message_id"]
    assert query["from"]["id"] == USER_ID and isinstance(query["chat_instance"], str)
    assert ok(sim, "answerCallbackQuery", callback_query_id=query_id, text="Saved", show_alert=True) is True
    too_old = (400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
    assert error(sim, "answerCallbackQuery", callback_query_id=query_id) == too_old
    assert error(sim, "answerCallbackQuery", callback_query_id="12345") == too_old
    assert sim.callback_answer(BOT_ID, query_id) == {
        "callback_query_id": query_id,
        "message_id": sent["message_id"],
        "data": "yes",
        "answered": True,
        "text": "Saved",
        "show_alert": True,
        "url": None,
    }


# --- files ----------------------------------------------------------------------------------------


def test_send_photo_upload_then_file_id_and_download(sim):
    png = make_png(1280, 720)
    answer = httpx.post(
        api_url(sim, "sendPhoto"),
        data={"chat_id": str(USER_ID), "caption": "<b>Rumah</b>", "parse_mode": "HTML"},
        files={"photo": ("house.png", png, "image/png")},
    ).json()
    photo = answer["result"]["photo"]
    assert [(p["width"], p["height"]) for p in photo] == [(90, 51), (320, 180), (800, 450), (1280, 720)]
    assert answer["result"]["caption"] == "Rumah"
    again = ok(sim, "sendPhoto", chat_id=USER_ID, photo=photo[0]["file_id"])
    assert again["photo"] == photo
    file = ok(sim, "getFile", file_id=photo[-1]["file_id"])
    assert file["file_size"] == len(png) and file["file_unique_id"] == photo[-1]["file_unique_id"]
    download = httpx.get(f"{sim.url}/file/bot{TOKEN}/{file['file_path']}")
    assert download.content == png
    assert httpx.get(f"{sim.url}/file/bot{TOKEN}/photos/nothing.png").status_code == 404


def test_attach_uploads_as_aiogram_sends_them(sim):
    answer = httpx.post(
        api_url(sim, "sendDocument"),
        files={"chat_id": (None, str(USER_ID)), "document": (None, "attach://f1"), "f1": ("notes.txt", b"hello")},
    ).json()
    document = answer["result"]["document"]
    assert document["file_name"] == "notes.txt" and document["mime_type"] == "text/plain" and document["file_size"] == 5
    file = ok(sim, "getFile", file_id=document["file_id"])
    assert httpx.get(f"{sim.url}/file/bot{TOKEN}/{file['file_path']}").content == b"hello"


@pytest.mark.parametrize(
    ("photo", "description"),
    [
        ("https://example.com/cat.jpg", "Bad Request: failed to get HTTP URL content"),
        ("AgACnot-a-known-id", "Bad Request: wrong file identifier/HTTP URL specified"),
        (None, "Bad Request: there is no photo in the request"),
    ],
)
def test_send_photo_refusals(sim, photo, description):
    params = {"chat_id": USER_ID} if photo is None else {"chat_id": USER_ID, "photo": photo}
    code, text = error(sim, "sendPhoto", **params)
    assert code == 400 and text.startswith(description)


def test_non_images_and_document_ids_are_not_photos(sim):
    answer = httpx.post(api_url(sim, "sendPhoto"), data={"chat_id": USER_ID}, files={"photo": ("x.png", b"nope")})
    assert answer.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
    document = httpx.post(api_url(sim, "sendDocument"), data={"chat_id": USER_ID}, files={"document": ("a.pdf", b"%PDF")})
    file_id = document.json()["result"]["document"]["file_id"]
    assert error(sim, "sendPhoto", chat_id=USER_ID, photo=file_id) == (
        400,
        "Bad Request: can't use file of type Document as Photo",
    )


def test_get_file_limits(sim):
    assert error(sim, "getFile") == (400, "Bad Request: file_id not specified")
    assert error(sim, "getFile", file_id="nope") == (400, "Bad Request: invalid file_id")
    big = sim.send_document(BOT_ID, USER_ID, b"\0" * (20 * 1024 * 1024 + 1), "big.bin")
    assert error(sim, "getFile", file_id=big["document"]["file_id"]) == (400, "Bad Request: file is too big")


# --- bot settings and chats -----------------------------------------------------------------------


def test_commands_per_scope_and_language(sim):
    commands = [{"command": "start", "description": "Mulai"}, {"command": "jadwal", "description": "Jadwal kunjungan"}]
    assert ok(sim, "setMyCommands", commands=commands) is True
    assert ok(sim, "setMyCommands", commands=[{"command": "start", "description": "Start"}], language_code="en")
    assert ok(sim, "getMyCommands") == commands
    assert ok(sim, "getMyCommands", language_code="en") == [{"command": "start", "description": "Start"}]
    assert sim.commands(BOT_ID, USER_ID, "en")[0]["description"] == "Start"
    assert sim.commands(BOT_ID, USER_ID, "id") == commands
    assert ok(sim, "deleteMyCommands") is True and ok(sim, "getMyCommands") == []
    assert error(sim, "setMyCommands", commands=[{"command": "Bad-Name", "description": "x"}]) == (
        400,
        "Bad Request: BOT_COMMAND_INVALID",
    )


def test_get_chat(sim):
    chat = ok(sim, "getChat", chat_id=USER_ID)
    assert chat["id"] == USER_ID and chat["type"] == "private" and chat["first_name"] == "Ayu"
    assert {"accent_color_id", "max_reaction_count", "accepted_gift_types"} <= set(chat)
    assert error(sim, "getChat", chat_id=5) == (400, "Bad Request: chat not found")


def test_groups(sim):
    sim.create_group(BOT_ID, -100123, "Tim RT 05", type="supergroup", username="tim_rt05")
    sent = ok(sim, "sendMessage", chat_id="@tim_rt05", text="Rapat jam 7")
    assert sent["chat"] == {"id": -100123, "type": "supergroup", "title": "Tim RT 05", "username": "tim_rt05"}
    message = sim.send_text(BOT_ID, USER_ID, "siap", chat_id=-100123)
    assert message["chat"]["id"] == -100123 and message["from"]["id"] == USER_ID
    # A bot that is not an administrator cannot delete other members' messages in a group.
    assert error(sim, "deleteMessage", chat_id=-100123, message_id=message["message_id"]) == (
        400,
        "Bad Request: message can't be deleted",
    )


def test_log_out_and_close_are_accepted(sim):
    assert ok(sim, "logOut") is True and ok(sim, "close") is True


def test_stats_count_methods_messages_and_errors(sim):
    ok(sim, "sendMessage", chat_id=USER_ID, text="a")
    error(sim, "sendMessage", chat_id=USER_ID, text="")
    stats = sim.stats(BOT_ID)
    assert stats["methods"]["sendMessage"] == 2
    assert stats["new_messages"] == {str(USER_ID): 1}
    assert stats["errors"] == {"400": 1}
    assert stats["too_many_requests"] == 0
    assert call(sim, "getMe")["ok"]


def test_bodies_over_the_upload_limit_are_refused():
    from simulator.testing import running_simulator

    with running_simulator(rate_limits=False, max_upload_bytes=1000) as handle:
        handle.register_bot(TOKEN, "pintu_test_bot")
        handle.send_text(BOT_ID, USER_ID, "/start")
        big = {"document": ("big.bin", b"x" * 2 * 1024 * 1024)}
        answer = httpx.post(f"{handle.url}/bot{TOKEN}/sendDocument", data={"chat_id": USER_ID}, files=big)
        assert answer.status_code == 413
        assert answer.json() == {"ok": False, "error_code": 413, "description": "Request Entity Too Large"}


def test_markdown_v2_over_http(sim):
    sent = ok(sim, "sendMessage", chat_id=USER_ID, text=r"*Jadwal* 12\.30", parse_mode="MarkdownV2")
    assert (sent["text"], sent["entities"]) == ("Jadwal 12.30", [{"type": "bold", "offset": 0, "length": 6}])
    code, description = error(sim, "sendMessage", chat_id=USER_ID, text="Jam 12.30", parse_mode="MarkdownV2")
    assert description == (
        "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
    )
