"""Actions as plain JSON and back: a reply written ahead to the outbox (bot/replies.py) is stored so,
and sent by the dispatcher exactly as the handlers meant it if this process cannot."""
from __future__ import annotations

from typing import Any

from chat.events import EditMessage, SendMessage
from chat.keyboard import Button, Group, GroupKind, Keyboard, Markup, RemoveKeyboard, ReplyButton, ReplyKeyboard


def action_to_json(action: SendMessage | EditMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"chat_id": action.chat_id, "text": action.text, "markup": markup_to_json(action.markup)}
    if isinstance(action, EditMessage):
        data["message_id"] = action.message_id
    return data


def action_from_json(data: dict[str, Any]) -> SendMessage | EditMessage:
    """The stored action; ValueError (or KeyError, TypeError) for anything that is not one."""
    markup = markup_from_json(data.get("markup"))
    if data.get("message_id") is not None:
        if markup is not None and not isinstance(markup, Keyboard):
            raise ValueError("an edit carries inline buttons only")
        return EditMessage(int(data["chat_id"]), int(data["message_id"]), str(data["text"]), markup)
    return SendMessage(int(data["chat_id"]), str(data["text"]), markup)


def markup_to_json(markup: Markup) -> dict[str, Any] | None:
    if isinstance(markup, Keyboard):
        return {"groups": [{"kind": g.kind.value, "buttons": [_button(b) for b in g.buttons]} for g in markup.groups]}
    if isinstance(markup, ReplyKeyboard):
        return {"reply": [[{"text": b.text, "location": b.request_location, "contact": b.request_contact} for b in row]
                          for row in markup.rows], "one_time": markup.one_time}
    if isinstance(markup, RemoveKeyboard):
        return {"remove": True}
    return None


def markup_from_json(data: dict[str, Any] | None) -> Markup:
    if data is None:
        return None
    if "groups" in data:
        return Keyboard(tuple(Group(GroupKind(g["kind"]), tuple(Button(b["text"], b.get("data"), b.get("url"))
                                                             for b in g["buttons"])) for g in data["groups"]))
    if "reply" in data:
        return ReplyKeyboard(tuple(tuple(ReplyButton(b["text"], bool(b.get("location")), bool(b.get("contact")))
                                         for b in row) for row in data["reply"]), bool(data.get("one_time", True)))
    if data.get("remove"):
        return RemoveKeyboard()
    raise ValueError("unknown markup")


def _button(button: Button) -> dict[str, Any]:
    return {key: value for key, value in (("text", button.text), ("data", button.data), ("url", button.url))
            if value is not None}
