"""reply_markup validation, worded as the official server words its refusals."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .params import Params

MAX_CALLBACK_DATA_BYTES = 64

# What makes an inline button do something; a button with none of these is a "text button".
# url and callback_data count only when non-empty; the others count by being present.
_NON_EMPTY_ACTIONS = ("url", "callback_data")
_PRESENT_ACTIONS = (
    "callback_game",
    "pay",
    "switch_inline_query",
    "switch_inline_query_chosen_chat",
    "switch_inline_query_current_chat",
    "login_url",
    "web_app",
    "copy_text",
)

def reply_markup(p: Params) -> dict | None:
    """The call's reply_markup, validated; None when absent or carrying no keyboard."""
    value = p.obj("reply_markup", "reply keyboard markup")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request("object expected as reply markup")
    if value.get("keyboard") is not None:
        _check_rows(value["keyboard"], 'Field "keyboard" must be an Array of Arrays', _check_keyboard_button)
        return value if value["keyboard"] else None
    if value.get("inline_keyboard") is not None:
        _check_rows(
            value["inline_keyboard"],
            'Field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
            _check_inline_button,
        )
        # An empty inline keyboard means "no keyboard" (editing with it removes the buttons).
        return value if any(value["inline_keyboard"]) else None
    if value.get("remove_keyboard") or value.get("hide_keyboard") or value.get("force_reply"):
        return value
    return None


def inline_markup(p: Params) -> dict | None:
    """reply_markup for edits: only an inline keyboard (or nothing) is allowed."""
    markup = reply_markup(p)
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    return markup


def inline_only(markup: dict | None) -> dict | None:
    """What Message.reply_markup shows: Telegram echoes inline keyboards only."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def callback_data_of(markup: dict | None) -> set[str]:
    """Every callback_data of an inline keyboard."""
    if markup is None:
        return set()
    rows = markup.get("inline_keyboard") or []
    return {button["callback_data"] for row in rows for button in row if button.get("callback_data")}


def _check_rows(rows: Any, error: str, check_button: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(error)
    for row in rows:
        for button in row:
            check_button(button)


def _check_keyboard_button(button: Any) -> None:
    if isinstance(button, str):
        return
    if not isinstance(button, dict):
        raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
    _check_text(button, "keyboard button")


def _check_inline_button(button: Any) -> None:
    where = "inline keyboard button"
    if not isinstance(button, dict):
        raise bad_request(f"can't parse {where}: InlineKeyboardButton must be an Object")
    _check_text(button, where)
    data = button.get("callback_data")
    if data is not None and not isinstance(data, str):
        raise bad_request(f'can\'t parse {where}: Field "callback_data" must be of type String')
    if data and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise bad_request("BUTTON_DATA_INVALID")
    if not any(button.get(a) for a in _NON_EMPTY_ACTIONS) and not any(a in button for a in _PRESENT_ACTIONS):
        raise bad_request(f"can't parse {where}: Text buttons are unallowed in the inline keyboard")


def _check_text(button: dict, where: str) -> None:
    if "text" not in button:
        raise bad_request(f'can\'t parse {where}: Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise bad_request(f'can\'t parse {where}: Field "text" must be of type String')
