"""The keyboard model: what a screen offers, by intent, never by a channel's layout.

A :class:`Keyboard` is a sequence of :class:`Group`: the *choices* of one question (days, times, areas,
a question's options: any number, any layout), the *actions* that go together (move / cancel; they are
shown side by side where they fit), and a *pager* (previous / next page). A channel lays a keyboard out
its own way: Telegram packs choices several to a row by the length of their labels
(:func:`telegram_rows`); a channel with other limits (WhatsApp: at most three reply buttons, lists of at
most ten rows, 20/24-character titles) can make a list of the choices and buttons of the actions from
the same screen.

Callback data is ``prefix:argument`` and never longer than Telegram's 64 bytes; :func:`parse` reads a
press back, and anything that does not parse is treated as a forged or stale button.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

MAX_CALLBACK_BYTES = 64


@dataclass(frozen=True)
class Button:
    text: str
    data: str | None = None  # callback data (at most 64 bytes)
    url: str | None = None


class GroupKind(StrEnum):
    CHOICES = "choices"  # the options of one question: laid out freely, in order
    ACTIONS = "actions"  # things to do that belong together, most important first
    PAGER = "pager"  # previous / next page of a long list


@dataclass(frozen=True)
class Group:
    kind: GroupKind
    buttons: tuple[Button, ...]


@dataclass(frozen=True)
class Keyboard:
    """Buttons under a message, grouped by what they are for."""

    groups: tuple[Group, ...]

    @property
    def buttons(self) -> Iterator[Button]:
        """Every button, in order (what a test or a channel without layout needs)."""
        for group in self.groups:
            yield from group.buttons


@dataclass(frozen=True)
class ReplyButton:
    """A button of the keyboard that replaces the phone's keyboard: it sends the user's location or
    phone number when pressed (Telegram's request_location / request_contact)."""

    text: str
    request_location: bool = False
    request_contact: bool = False


@dataclass(frozen=True)
class ReplyKeyboard:
    rows: tuple[tuple[ReplyButton, ...], ...]
    one_time: bool = True


@dataclass(frozen=True)
class RemoveKeyboard:
    pass


Markup = Keyboard | ReplyKeyboard | RemoveKeyboard | None

Part = Group | Iterable[Button]


def choices(buttons: Iterable[Button]) -> Group:
    return Group(GroupKind.CHOICES, tuple(buttons))


def actions(*buttons: Button) -> Group:
    return Group(GroupKind.ACTIONS, buttons)


def pager(previous: Button | None, following: Button | None) -> Group:
    return Group(GroupKind.PAGER, tuple(b for b in (previous, following) if b is not None))


def keyboard(parts: Iterable[Part]) -> Keyboard:
    """A keyboard from groups; a plain sequence of buttons is a group of actions. Empty groups vanish.

    Raises ValueError for callback data over Telegram's 64 bytes: a bug, caught by tests."""
    groups = tuple(part if isinstance(part, Group) else Group(GroupKind.ACTIONS, tuple(part)) for part in parts)
    for group in groups:
        for button in group.buttons:
            if button.data is not None and len(button.data.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"callback data too long: {button.data!r}")
    return Keyboard(tuple(group for group in groups if group.buttons))


def with_group(markup: Keyboard | None, group: Part) -> Keyboard:
    """``markup`` with one more group at the end (a screen that offers one more thing)."""
    return keyboard([*(markup.groups if markup is not None else ()), group])


def parse(data: str | None) -> tuple[str, str]:
    """Split callback data into (prefix, argument); ("", "") for anything malformed."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES or ":" not in data:
        return "", ""
    prefix, _, argument = data.partition(":")
    return prefix, argument


def parse_id(text: str) -> int | None:
    """A database id or small count from callback data or typed text; None unless plain ASCII digits.

    ``str.isdigit`` alone is not enough: "²" is a digit to it but not to ``int``, and an id too large
    for the database's integer must not reach a query."""
    if not text or len(text) > 9 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


# --- Telegram's layout ----------------------------------------------------------------------------

# Labels up to this many characters fit this many buttons to a row on a small phone.
_CHOICES_PER_ROW = ((2, 5), (5, 4), (18, 2))
_ACTION_ROW_CHARS = 40  # actions side by side while their labels add up to at most this


def telegram_rows(markup: Keyboard) -> tuple[tuple[Button, ...], ...]:
    """The rows of an inline keyboard: choices packed by label length, actions side by side when they
    fit, a pager on one row."""
    rows: list[tuple[Button, ...]] = []
    for group in markup.groups:
        if group.kind is GroupKind.CHOICES:
            rows += _chunked(group.buttons, _choices_per_row(group.buttons))
        elif group.kind is GroupKind.ACTIONS and sum(len(b.text) for b in group.buttons) > _ACTION_ROW_CHARS:
            rows += [(button,) for button in group.buttons]
        else:
            rows.append(group.buttons)
    return tuple(rows)


def _choices_per_row(buttons: Sequence[Button]) -> int:
    longest = max(len(b.text) for b in buttons)
    return next((per_row for chars, per_row in _CHOICES_PER_ROW if longest <= chars), 1)


def _chunked(buttons: Sequence[Button], per_row: int) -> list[tuple[Button, ...]]:
    return [tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]
