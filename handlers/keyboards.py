"""The keyboards of Pintu's screens, built on the chat keyboard model (chat/keyboard.py).

Several flows show buttons that lead into another flow (a visit's move/cancel buttons under a reminder,
the questionnaire's button under the home screen): they are built here, so that flows share this
vocabulary instead of importing each other. Each prefix still belongs to exactly one flow, which reads
the press back (handlers/flows/).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from chat.i18n import Translator
from chat.keyboard import Button, Keyboard, choices, keyboard
from chat.render import HOME_MARK, HOME_TIME_KEYS, clock_time, day_button
from domain.home_times import HOME_TIMES
from domain.slots import Slot


def consent(t: Translator, payload: str, language: str | None = None) -> Keyboard:
    """Agree ("cs:y", or "cs:y.en" when the newcomer picked a language first, plus ":<invite>") or decline."""
    chosen = f".{language}" if language else ""
    suffix = f":{payload}" if payload else ""
    return keyboard([[Button(t("btn-agree"), f"cs:y{chosen}{suffix}")], [Button(t("btn-decline"), "cs:n")]])


def areas(areas: Sequence[tuple[int, str]], back_to: int | None, t: Translator) -> Keyboard:
    back = [Button(t("btn-back"), f"ar:{back_to}")] if back_to is not None else []
    return keyboard([choices(Button(name, f"ar:{area_id}") for area_id, name in areas), back])


def members(t: Translator) -> Keyboard:
    return keyboard([choices(Button(str(n), f"mb:{n}") for n in range(1, 11))])


def days(available: Sequence[dt.date], t: Translator, home: frozenset[dt.date] = frozenset(),
         family_id: int | None = None) -> Keyboard:
    """The days in the order given (at the family's home times first), those marked 🏠; and, for a
    family being booked, the button to say when it is usually home."""
    buttons = [Button(_home_marked(day_button(d, t.language), d in home), f"dy:{d:%Y%m%d}") for d in available]
    ask = [[home_times_button(t, family_id, "b")]] if family_id is not None else []
    return keyboard([choices(buttons), *ask, [Button(t("btn-close"), "nv:close")]])


def times(slots: Sequence[Slot], tz: ZoneInfo, t: Translator, home: frozenset[dt.datetime] = frozenset()) -> Keyboard:
    """The times in the order given (domain/booking.py order_offers), those at the family's home times marked."""
    # One button per start time: enumerators with different visit lengths give two slots with the
    # same start, which showed the same time twice (booking picks by start anyway).
    # In the order offered (domain/booking.py order_offers: home times, then next to the officer's visits).
    starts = list(dict.fromkeys(s.start for s in slots))
    buttons = [Button(_home_marked(clock_time(start, tz, t.language), start in home),
                      f"tm:{start.astimezone(tz):%Y%m%d%H%M}") for start in starts]
    return keyboard([choices(buttons), [Button(t("btn-back"), "nv:days")]])


def _home_marked(label: str, at_home: bool) -> str:
    return f"{HOME_MARK} {label}" if at_home else label


def home_times_button(t: Translator, family_id: int, back: str) -> Button:
    """Opens the family's "when are you home" screen (booking flow, "hm"); ``back``: "b" to the
    booking's days, "r" to the RT head's family page."""
    return Button(t("btn-home-times"), f"hm:open:{family_id}:{back}")


def home_times(t: Translator, family_id: int, chosen: Sequence[str], back: str) -> Keyboard:
    """The multi-select: each home time with ✅ when chosen (a press toggles it), then "Selesai"."""
    # A press names its home time by its place in HOME_TIMES (short callback data; read back the same way).
    buttons = [Button(("✅ " if code in chosen else "") + t(HOME_TIME_KEYS[code]), f"hm:t:{family_id}:{index}:{back}")
               for index, code in enumerate(HOME_TIMES)]
    done = f"rt:fam:{family_id}" if back == "r" else f"hm:done:{family_id}:{back}"
    return keyboard([choices(buttons), [Button(t("btn-home-times-done"), done)]])


def confirm(t: Translator) -> Keyboard:
    return keyboard([[Button(t("btn-confirm"), "ok:yes")], [Button(t("btn-other-time"), "nv:days")]])


def appointment_actions(t: Translator, family_id: int) -> Keyboard:
    return keyboard([[Button(t("btn-move"), f"ap:move:{family_id}"), Button(t("btn-cancel-visit"), f"ap:cancel:{family_id}")]])


def cancel_confirm(t: Translator, family_id: int) -> Keyboard:
    return keyboard([[Button(t("btn-yes-cancel"), f"ap:yes:{family_id}")], [Button(t("btn-keep"), f"ap:keep:{family_id}")]])


def book_again(t: Translator, family_id: int) -> Keyboard:
    return keyboard([[Button(t("btn-book-again"), f"ap:book:{family_id}")]])


def language(t: Translator) -> Keyboard:
    return keyboard([[Button("Bahasa Indonesia", "lg:id"), Button("English", "lg:en")]])


def rt_menu(t: Translator) -> Keyboard:
    return keyboard(
        [
            [Button(t("btn-rt-families"), "rt:list:0")],
            [Button(t("btn-rt-add-family"), "rt:add")],
            [Button(t("btn-rt-invite"), "rt:invite")],
        ]
    )


def back_to_rt_menu(t: Translator) -> Keyboard:
    return keyboard([[Button(t("btn-back"), "rt:menu")]])


def enumerator_days(t: Translator, showing: str) -> Keyboard:
    other = ("tomorrow", t("btn-tomorrow")) if showing == "today" else ("today", t("btn-today"))
    return keyboard([[Button(other[1], f"en:{other[0]}")]])


def parse_local(stamp: str, fmt: str, tz: ZoneInfo) -> dt.datetime | None:
    """A date or time from callback data, in the area's zone; None if malformed.

    strptime alone is lenient ("2026112310" passes as %Y%m%d%H%M) and accepts years 1 and 9999, whose
    conversion to UTC overflows; so only the exact width of digits the keyboards write, in a sane range
    of years, is read.
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


def reminder_actions(t: Translator, appointment_id: int, family_id: int, confirmed: bool) -> Keyboard:
    """Under a reminder: confirm (rm:ok:<appointment>), move, cancel (the booking flow's own buttons)."""
    confirm = [] if confirmed else [Button(t("btn-reminder-confirm"), f"rm:ok:{appointment_id}")]
    return keyboard([confirm, [Button(t("btn-move"), f"ap:move:{family_id}"),
                               Button(t("btn-cancel-visit"), f"ap:cancel:{family_id}")]])


# --- buttons into the questionnaire (qn), the outcomes (oc) and the booking (ap) from other flows -----

def fill_questionnaire(t: Translator, family_id: int) -> Button:
    """The resident's "fill in the family's data" button (under the home screen)."""
    return Button(t("btn-qn-fill"), f"qn:go:{family_id}")


def identify_family(t: Translator, family_id: int) -> Button:
    """The RT head's family screen: fill the identification of a family nobody of which uses Telegram."""
    return Button(t("btn-qn-identify"), f"qn:go:{family_id}")


def visit_rows(t: Translator, visits: Sequence[tuple[int, int, str, dt.datetime]], tz: ZoneInfo,
               open_records: set[int], visited: set[int] = frozenset()) -> list[list[Button]]:
    """The enumerator's day: per visit (appointment id, family id, head's name, start) a "record what
    happened" button until the visit took place (appointment ids in ``visited``), and a questionnaire
    button for a family whose record is still open."""
    rows = []
    for appointment_id, family_id, name, start in visits:
        row = []
        if appointment_id not in visited:
            row.append(Button(t("btn-oc-visit", time=clock_time(start, tz, t.language), name=name),
                              f"oc:v:{appointment_id}"))
        if family_id in open_records:
            row.append(Button(t("btn-qn-visit", name=name), f"qn:go:{family_id}"))
        if row:
            rows.append(row)
    return rows


def book_family(t: Translator, family_id: int) -> Button:
    return Button(t("btn-book"), f"ap:book:{family_id}")


def claim_decision(t: Translator, claim_id: int) -> Keyboard:
    """Under a family claim sent to the RT head (rt_head flow, "kl"): approve or reject."""
    return keyboard([[Button(t("btn-claim-approve"), f"kl:ok:{claim_id}"),
                      Button(t("btn-claim-reject"), f"kl:no:{claim_id}")]])

# --- the privacy flow's buttons (pv) shown elsewhere -----------------------------------------------

def privacy_request_done(t: Translator, request_id: int) -> Keyboard:
    """Under a correction request sent to the RT head: "done" closes it and tells the resident."""
    return keyboard([[Button(t("btn-pv-done"), f"pv:done:{request_id}")]])


# --- the public consultation's buttons (fk) shown elsewhere -------------------------------------------

def fkp_open(t: Translator) -> Keyboard:
    """Under a forum invite's welcome and the consultation's notices: to the forum's screen (/fkp)."""
    return keyboard([[Button(t("fkp-chat-btn-open"), "fk:home")]])


def fkp_sign(t: Translator, forum_id: int) -> Keyboard:
    """Under "please sign the minutes": agree (setuju) or refuse."""
    return keyboard([[Button(t("fkp-chat-btn-agree"), f"fk:sg:{forum_id}:y"),
                      Button(t("fkp-chat-btn-refuse"), f"fk:sg:{forum_id}:n")]])


def fkp_minutes(t: Translator, forum_id: int) -> Keyboard:
    return keyboard([[Button(t("fkp-chat-btn-minutes"), f"fk:pdf:{forum_id}")]])
