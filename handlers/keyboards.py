"""Inline keyboards and their callback data.

Callback data is ``prefix:argument`` and never longer than Telegram's 64 bytes. Every press is
parsed back by :func:`parse`; anything that does not parse is treated as a forged or stale button.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from domain.slots import Slot
from handlers.events import Button, InlineKeyboard
from handlers.i18n import Translator
from handlers.render import clock_time, day_button

MAX_CALLBACK_BYTES = 64


def keyboard(rows: Iterable[Iterable[Button]]) -> InlineKeyboard:
    built = tuple(tuple(row) for row in rows)
    for row in built:
        for button in row:
            if button.data is not None and len(button.data.encode()) > MAX_CALLBACK_BYTES:
                raise ValueError(f"callback data too long: {button.data!r}")
    return InlineKeyboard(tuple(row for row in built if row))


def chunked(buttons: Sequence[Button], per_row: int) -> list[list[Button]]:
    return [list(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row)]


def parse(data: str | None) -> tuple[str, str]:
    """Split callback data into (prefix, argument); ("", "") for anything malformed."""
    if not data or len(data.encode()) > MAX_CALLBACK_BYTES or ":" not in data:
        return "", ""
    prefix, _, argument = data.partition(":")
    return prefix, argument


def parse_id(text: str) -> int | None:
    """A database id or small count from callback data or typed text; None unless plain ASCII digits.

    Fix: the flows used ``text.isdigit()`` then ``int(text)``, which crashes on "²" (a digit to
    isdigit, not to int) and passed ids too large for the database integer to the query.
    """
    if not text or len(text) > 9 or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def consent(t: Translator, payload: str, language: str | None = None) -> InlineKeyboard:
    """Agree ("cs:y", or "cs:y.en" when the newcomer picked a language first, plus ":<invite>") or decline."""
    chosen = f".{language}" if language else ""
    suffix = f":{payload}" if payload else ""
    return keyboard([[Button(t("btn-agree"), f"cs:y{chosen}{suffix}")], [Button(t("btn-decline"), "cs:n")]])


def areas(choices: Sequence[tuple[int, str]], back_to: int | None, t: Translator) -> InlineKeyboard:
    rows = chunked([Button(name, f"ar:{area_id}") for area_id, name in choices], 2)
    if back_to is not None:
        rows.append([Button(t("btn-back"), f"ar:{back_to}")])
    return keyboard(rows)


def members(t: Translator) -> InlineKeyboard:
    return keyboard(chunked([Button(str(n), f"mb:{n}") for n in range(1, 11)], 5))


def days(available: Sequence[dt.date], t: Translator) -> InlineKeyboard:
    buttons = [Button(day_button(d, t.language), f"dy:{d:%Y%m%d}") for d in available]
    return keyboard([*chunked(buttons, 2), [Button(t("btn-close"), "nv:close")]])


def times(slots: Sequence[Slot], tz: ZoneInfo, t: Translator) -> InlineKeyboard:
    # One button per start time: enumerators with different visit lengths give two slots with the
    # same start, which showed the same time twice (booking picks by start anyway).
    starts = sorted({s.start for s in slots})
    buttons = [Button(clock_time(start, tz, t.language), f"tm:{start.astimezone(tz):%Y%m%d%H%M}") for start in starts]
    return keyboard([*chunked(buttons, 4), [Button(t("btn-back"), "nv:days")]])


def confirm(t: Translator) -> InlineKeyboard:
    return keyboard([[Button(t("btn-confirm"), "ok:yes")], [Button(t("btn-other-time"), "nv:days")]])


def appointment_actions(t: Translator, family_id: int) -> InlineKeyboard:
    return keyboard([[Button(t("btn-move"), f"ap:move:{family_id}"), Button(t("btn-cancel-visit"), f"ap:cancel:{family_id}")]])


def cancel_confirm(t: Translator, family_id: int) -> InlineKeyboard:
    return keyboard([[Button(t("btn-yes-cancel"), f"ap:yes:{family_id}")], [Button(t("btn-keep"), f"ap:keep:{family_id}")]])


def book_again(t: Translator, family_id: int) -> InlineKeyboard:
    return keyboard([[Button(t("btn-book-again"), f"ap:book:{family_id}")]])


def language(t: Translator) -> InlineKeyboard:
    return keyboard([[Button("Bahasa Indonesia", "lg:id"), Button("English", "lg:en")]])


def rt_menu(t: Translator) -> InlineKeyboard:
    return keyboard(
        [
            [Button(t("btn-rt-families"), "rt:list:0")],
            [Button(t("btn-rt-add-family"), "rt:add")],
            [Button(t("btn-rt-invite"), "rt:invite")],
        ]
    )


def back_to_rt_menu(t: Translator) -> InlineKeyboard:
    return keyboard([[Button(t("btn-back"), "rt:menu")]])


def enumerator_days(t: Translator, showing: str) -> InlineKeyboard:
    other = ("tomorrow", t("btn-tomorrow")) if showing == "today" else ("today", t("btn-today"))
    return keyboard([[Button(other[1], f"en:{other[0]}")]])


def parse_local(stamp: str, fmt: str, tz: ZoneInfo) -> dt.datetime | None:
    """A date or time from callback data, in the area's zone; None if malformed.

    Fix: strptime is lenient ("2026112310" passes as %Y%m%d%H%M) and accepts years 1 and 9999,
    whose conversion to UTC then overflowed (a crash on a forged button). Only the exact width of
    digits the keyboards write, in a sane range of years, is read.
    """
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) != len(_SAMPLE.strftime(fmt)):
        return None
    try:
        parsed = dt.datetime.strptime(stamp, fmt)
    except ValueError:
        return None
    if not 2000 <= parsed.year <= 2999:
        return None
    return parsed.replace(tzinfo=tz)


_SAMPLE = dt.datetime(2000, 1, 1)


def reminder_actions(t: Translator, appointment_id: int, family_id: int, confirmed: bool) -> InlineKeyboard:
    """Under a reminder: confirm (rm:ok:<appointment>), move, cancel (the booking flow's own buttons)."""
    confirm = [] if confirmed else [Button(t("btn-reminder-confirm"), f"rm:ok:{appointment_id}")]
    return keyboard([confirm, [Button(t("btn-move"), f"ap:move:{family_id}"),
                               Button(t("btn-cancel-visit"), f"ap:cancel:{family_id}")]])
