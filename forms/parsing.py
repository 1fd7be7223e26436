"""From what a person typed (or what the chat sent: a location, a photo) to the string the instance stores.

The stored strings are ODK's: integers and decimals in plain notation with a dot, dates as
YYYY-MM-DD, a select_multiple as space-separated choice names, a geopoint as "lat lon alt accuracy".
Each parser returns that string, or a :class:`~forms.messages.Message` saying what is wrong.

Indonesian habits are accepted: a decimal comma (``12,5``), dots between thousands in whole numbers
(``1.500``), day-first dates (``17-08-1990``, ``17/08/1990``).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from forms import messages as m
from forms.form import Choice
from forms.messages import Message

INT_MAX = 2_147_483_647  # an XForm int is 32-bit (ODK Collect stores it in a Java int)
DECIMAL_MAX = Decimal("1e15")

_INTEGER = re.compile(r"[+-]?\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")  # 1.500 / 2.000.000: Indonesian thousands
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the chat received for an image question (e.g. a Telegram file_id); stored as ``ref``."""

    ref: str


@dataclass(frozen=True, slots=True)
class Location:
    """A point the chat received (e.g. a Telegram location)."""

    latitude: float
    longitude: float
    altitude: float = 0.0
    accuracy: float = 0.0


Parsed = str | Message


def is_blank(raw: Any) -> bool:
    """Nothing was given: None, an empty or blank string, or an empty selection."""
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    return isinstance(raw, (list, tuple, set, frozenset)) and not raw


def parse_integer(raw: Any) -> Parsed:
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, (float, Decimal)) and raw == raw and raw % 1 == 0:  # a whole 3.0 (not NaN)
        number = int(raw)
    else:
        text = _compact(raw)
        if _THOUSANDS.fullmatch(text):
            text = text.replace(".", "")
        if not _INTEGER.fullmatch(text):
            whole = parse_decimal(raw)
            return Message(m.NOT_AN_INTEGER if isinstance(whole, str) else m.NOT_A_NUMBER,
                           {"value": str(raw).strip()})
        number = int(text)
    if abs(number) > INT_MAX:
        return Message(m.NUMBER_TOO_LARGE, {"value": str(raw).strip()})
    return str(number)


def parse_decimal(raw: Any) -> Parsed:
    if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
        text = repr(raw) if isinstance(raw, float) else str(raw)
    else:
        text = _decimal_text(_compact(raw))
    if not _DECIMAL.fullmatch(text):
        return Message(m.NOT_A_NUMBER, {"value": str(raw).strip()})
    try:
        number = Decimal(text)
    except InvalidOperation:
        return Message(m.NOT_A_NUMBER, {"value": str(raw).strip()})
    if abs(number) >= DECIMAL_MAX:
        return Message(m.NUMBER_TOO_LARGE, {"value": str(raw).strip()})
    plain = format(number, "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _compact(raw: Any) -> str:
    """The typed text without spaces (people write 1 500 or 12 , 5)."""
    return re.sub(r"[\s\u00a0]+", "", str(raw))


def _decimal_text(text: str) -> str:
    """1.234,5 / 1,234.5 / 12,5 / 12.5 / 1.500.000 in the notation Decimal reads."""
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        return text.replace(thousands, "").replace(decimal_mark, ".")
    if "," in text:
        return text.replace(",", ".") if text.count(",") == 1 else text
    if text.count(".") > 1 and _THOUSANDS.fullmatch(text):
        return text.replace(".", "")
    return text


def parse_date(raw: Any) -> Parsed:
    """DD-MM-YYYY (or / or .), YYYY-MM-DD, or a date object."""
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    text = str(raw).strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match[1], match[2], match[3]
    elif match := _DAY_FIRST.fullmatch(text):
        day, month, year = match[1], match[2], match[3]
    else:
        return Message(m.NOT_A_DATE, {"value": text})
    try:
        return dt.date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return Message(m.NOT_A_DATE, {"value": text})


def parse_select_one(raw: Any, choices: tuple[Choice, ...]) -> Parsed:
    """A choice by name, by label (any language, any case) or by its 1-based number."""
    choice = resolve_choice(str(raw), choices)
    if choice is None:
        return Message(m.NOT_A_CHOICE, {"value": str(raw).strip(), "count": len(choices)})
    return choice.name


def parse_select_multiple(raw: Any, choices: tuple[Choice, ...]) -> Parsed:
    """Several choices: a list, or text separated by commas/semicolons (or spaces: "1 3 4")."""
    parts = [str(p) for p in raw] if isinstance(raw, (list, tuple, set, frozenset)) else re.split(r"[,;]", str(raw))
    chosen: set[str] = set()
    for part in (p for p in parts if p.strip()):
        found = _resolve_part(part, choices)
        if isinstance(found, Message):
            return found
        chosen.update(found)
    if not chosen:
        return Message(m.NOT_A_CHOICE, {"value": str(raw).strip(), "count": len(choices)})
    return " ".join(c.name for c in choices if c.name in chosen)  # the form's order, not the typing order


def _resolve_part(part: str, choices: tuple[Choice, ...]) -> list[str] | Message:
    """One comma-separated part: a whole choice, else words that are each a choice ("1 3")."""
    if (choice := resolve_choice(part, choices)) is not None:
        return [choice.name]
    names = []
    for word in part.split():
        if (choice := resolve_choice(word, choices)) is None:
            return Message(m.NOT_A_CHOICE, {"value": part.strip(), "count": len(choices)})
        names.append(choice.name)
    return names


def resolve_choice(text: str, choices: tuple[Choice, ...]) -> Choice | None:
    wanted = " ".join(text.split())
    folded = wanted.casefold()
    for matches in (lambda c: c.name == wanted, lambda c: c.name.casefold() == folded,
                    lambda c: any(" ".join(v.split()).casefold() == folded for v in c.labels.values())):
        if found := next((c for c in choices if matches(c)), None):
            return found
    if wanted.isdigit() and 1 <= int(wanted) <= len(choices):
        return choices[int(wanted) - 1]
    return None


def parse_geopoint(raw: Any) -> Parsed:
    """A Location, a (lat, lon[, alt, acc]) sequence or mapping, or typed "lat lon" / "lat, lon"."""
    numbers = _geo_numbers(raw)
    if numbers is None or not 2 <= len(numbers) <= 4:
        return Message(m.NOT_A_LOCATION, {"value": str(raw).strip()})
    latitude, longitude, *rest = numbers
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return Message(m.NOT_A_LOCATION, {"value": str(raw).strip()})
    altitude, accuracy = (list(rest) + [Decimal(0), Decimal(0)])[:2]
    if accuracy < 0:  # an accuracy is a distance: a negative one is a broken or forged value
        return Message(m.NOT_A_LOCATION, {"value": str(raw).strip()})
    return " ".join(_plain(x) for x in (latitude, longitude, altitude, accuracy))


def _geo_numbers(raw: Any) -> list[Decimal] | None:
    if isinstance(raw, Location):
        raw = (raw.latitude, raw.longitude, raw.altitude, raw.accuracy)
    elif isinstance(raw, Mapping):
        raw = tuple(raw.get(k, 0) for k in ("latitude", "longitude", "altitude", "accuracy"))
    if isinstance(raw, (list, tuple)):
        parts = [str(x) for x in raw]
    else:
        parts = _geo_parts(str(raw).strip())
    numbers = []
    for part in parts:
        parsed = parse_decimal(part)
        if isinstance(parsed, Message):
            return None
        numbers.append(Decimal(parsed))
    return numbers


def _geo_parts(text: str) -> list[str]:
    """"-0.5 117.1", "-0,5 117,1" (decimal commas), "-0.5, 117.1", "-0.5;117.1", "-0.5,117.1"."""
    if ";" in text:
        return [p for p in text.split(";") if p.strip()]
    words = [w.rstrip(",") for w in text.split()]
    if len(words) >= 2:
        return words
    return text.split(",")


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def parse_image(raw: Any) -> Parsed:
    """Only an Attachment (or a mapping with "ref"): typed text is never taken for a photo."""
    ref = raw.ref if isinstance(raw, Attachment) else raw.get("ref") if isinstance(raw, Mapping) else None
    if not isinstance(ref, str) or not ref.strip():
        return Message(m.SEND_A_PHOTO)
    return ref.strip()


# A text answer's length limit when the form sets none: a name, an address or a note fits many times over,
# and the question that shows the answer again (and the review) stays far below Telegram's 4,096
# characters. A form's constraint (string-length(.) <= 50) may ask for less, never for more.
MAX_TEXT_CHARS = 1000


def parse_text(raw: Any) -> Parsed:
    """The text without outer spaces, and without characters XML cannot carry (the submission is XML);
    longer than :data:`MAX_TEXT_CHARS` is refused (``form-text-too-long``), never cut silently."""
    text = _NOT_IN_XML.sub("", str(raw)).strip()
    if len(text) > MAX_TEXT_CHARS:
        return Message(m.TEXT_TOO_LONG, {"max": MAX_TEXT_CHARS, "length": len(text)})
    return text


PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "text": parse_text, "integer": parse_integer, "decimal": parse_decimal, "date": parse_date,
    "geopoint": parse_geopoint, "image": parse_image,
}


def parse_answer(kind: str, raw: Any, choices: Iterable[Choice] = ()) -> Parsed:
    """The stored string for a non-blank answer of a question of ``kind``, or what is wrong with it."""
    if kind == "select_one":
        return parse_select_one(raw, tuple(choices))
    if kind == "select_multiple":
        return parse_select_multiple(raw, tuple(choices))
    return PARSERS[kind](raw)
