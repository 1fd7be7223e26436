"""How dates, times and visits look to a person: in the area's zone, in the user's language."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date

from chat.i18n import Translator

# Indonesia's three zones have names every Indonesian knows; other zones show their IANA name.
ZONE_ABBREVIATIONS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}


def zone_name(tz: ZoneInfo) -> str:
    return ZONE_ABBREVIATIONS.get(tz.key, tz.key)


def day_label(day: dt.date, language: str) -> str:
    """"Selasa, 25 Nov" — the long form used in confirmations."""
    return format_date(day, "EEEE, d MMM", locale=language)


def day_button(day: dt.date, language: str) -> str:
    """"Sel 25 Nov" — short enough for two buttons side by side on a small phone."""
    return format_date(day, "EEE d MMM", locale=language)


def clock_time(instant: dt.datetime, tz: ZoneInfo, language: str) -> str:
    """Indonesian writes 09.00, English 09:00."""
    local = instant.astimezone(tz)
    return local.strftime("%H.%M" if language == "id" else "%H:%M")


def visit_when(instant: dt.datetime, tz: ZoneInfo, t: Translator) -> str:
    """"Selasa, 25 Nov, 09.00 WITA"."""
    local = instant.astimezone(tz)
    return t("when", day=day_label(local.date(), t.language), time=clock_time(instant, tz, t.language), zone=zone_name(tz))


# When a family is usually home (domain/home_times.py), as its catalog key.
HOME_TIME_KEYS = {
    "weekday_morning": "home-time-weekday-morning",
    "weekday_afternoon": "home-time-weekday-afternoon",
    "weekday_evening": "home-time-weekday-evening",
    "saturday": "home-time-saturday",
    "sunday": "home-time-sunday",
}
HOME_MARK = "🏠"  # a day or time at the family's home times


def home_times_label(codes, t: Translator) -> str:  # type: ignore[no-untyped-def]
    """"Malam hari kerja, Minggu" in the reader's language; "" when the family said nothing."""
    chosen = set(codes or ())
    return ", ".join(t(key) for code, key in HOME_TIME_KEYS.items() if code in chosen)
