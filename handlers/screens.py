"""Old screens: a button of a message the conversation has left says so and shows the current screen.

Every screen with buttons that a step shows in the user's own chat is numbered: the conversation keeps
the number of the screen shown last (``SCREEN_KEY`` in its data), and each button of that screen
carries the number after ``~`` in its callback data (``ok:yes~12``). A press whose number is not the
conversation's current one belongs to a superseded message (the confirmation before a move, the times
of an earlier day, a question already answered): the router answers "this screen is no longer
current" and shows the current screen as a new message, and the flow never sees the press.

Buttons without a number are read as before: those the outbox sends (reminders, notices, a claim's
approve/reject) stand on their own and check their own ids, and a number is never added where it
would push the data over Telegram's 64 bytes. A forged number (not digits, too long) is stale like
an old one: nothing crashes, nothing is acted on.
"""
from __future__ import annotations

from dataclasses import replace

from chat.events import EditMessage, SendMessage
from chat.keyboard import MAX_CALLBACK_BYTES, Group, Keyboard

SCREEN_KEY = "_screen"  # conversation data: the number of the screen shown last
MARK = "~"
FORGED = -1  # what a number that does not parse reads as: never the current screen


def unstamp(data: str | None) -> tuple[str | None, int | None]:
    """(the flow's own callback data, the screen number it carries: None without one, FORGED if unreadable)."""
    if not data or MARK not in data:
        return data, None
    own, _, number = data.rpartition(MARK)
    if not number.isascii() or not number.isdigit() or len(number) > 9:
        return own, FORGED
    return own, int(number)


def stamp_keyboard(markup: Keyboard, screen: int) -> Keyboard:
    suffix = f"{MARK}{screen}"

    def stamped(data: str | None) -> str | None:
        if data is None or MARK in data or len((data + suffix).encode()) > MAX_CALLBACK_BYTES:
            return data
        return data + suffix

    return Keyboard(tuple(Group(g.kind, tuple(replace(b, data=stamped(b.data)) for b in g.buttons))
                          for g in markup.groups))


def stamp_reply(actions: list, chat_id: int, screen: int) -> bool:
    """Number the screens with buttons among ``actions`` (in place); whether there was any."""
    shown = False
    for index, action in enumerate(actions):
        if isinstance(action, (SendMessage, EditMessage)) and action.chat_id == chat_id \
                and isinstance(action.markup, Keyboard):
            actions[index] = replace(action, markup=stamp_keyboard(action.markup, screen))
            shown = True
    return shown


def read_screen(data: dict) -> int:
    """The current screen's number, taken out of the conversation data the flows see."""
    value = data.pop(SCREEN_KEY, 0)
    return value if isinstance(value, int) and value >= 0 else 0
