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


# --- the other question types real forms use ------------------------------------------------------

_TIME = re.compile(r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?")
_DATETIME = re.compile(r"(.+?)(?:\s+|T|,\s*)(?:(?:jam|pukul|pkl\.?|at)\s+)?(\d{1,2}[:.]\d{2}(?:[:.]\d{2})?)",
                       re.IGNORECASE)
_ODK_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
_OK_WORDS = frozenset({"ok", "oke", "okay", "ya", "yes", "siap", "sudah"})


def parse_time(raw: Any, now: dt.datetime | None = None) -> Parsed:
    """14:30, 14.30 or 14:30:05 (or a time/datetime), stored as ODK does: ``14:30:00.000+08:00``, the
    offset of the area's zone (``now``'s; Indonesia has no daylight saving time)."""
    if isinstance(raw, dt.datetime):
        moment = raw.astimezone(now.tzinfo) if now is not None and raw.tzinfo else raw
        return _odk_time(moment.time(), moment.utcoffset() or (now.utcoffset() if now else None))
    if isinstance(raw, dt.time):
        return _odk_time(raw, now.utcoffset() if now else None)
    text = str(raw).strip()
    typed = _typed_time(text)
    if typed is None:
        return Message(m.NOT_A_TIME, {"value": text})
    return _odk_time(typed, now.utcoffset() if now else None)


def _typed_time(text: str) -> dt.time | None:
    match = _TIME.fullmatch(text)
    if not match:
        return None
    try:
        return dt.time(int(match[1]), int(match[2]), int(match[3] or 0))
    except ValueError:
        return None


def _odk_time(value: dt.time, offset: dt.timedelta | None) -> str:
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}" + _offset(offset)


def _offset(offset: dt.timedelta | None) -> str:
    if offset is None:
        return "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_datetime(raw: Any, now: dt.datetime | None = None) -> Parsed:
    """A date and a time ("17-08-2026 14:30", "2026-08-17 14.30", "17/08/2026 jam 14:30"), read in the
    area's zone (``now``'s), stored as ODK does: ``2026-08-17T14:30:00.000+08:00``."""
    zone = now.tzinfo if now is not None else None
    if isinstance(raw, dt.datetime):
        moment = raw.astimezone(zone) if zone is not None and raw.tzinfo else raw.replace(tzinfo=raw.tzinfo or zone)
        return _odk_datetime(moment)
    text = " ".join(str(raw).split())
    if _ODK_DATETIME.fullmatch(text):
        return _odk_datetime(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    match = _DATETIME.fullmatch(text)
    day = parse_date(match[1].strip()) if match else None
    clock = _typed_time(match[2]) if match else None
    if not isinstance(day, str) or clock is None:
        return Message(m.NOT_A_DATETIME, {"value": text})
    return _odk_datetime(dt.datetime.combine(dt.date.fromisoformat(day), clock, tzinfo=zone))


def _odk_datetime(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT") + _odk_time(moment.time(), moment.utcoffset())


def parse_range(raw: Any, parameters: Mapping[str, str]) -> Parsed:
    """A number from start to end on a step (ODK's defaults 1, 10, 1), stored as an int unless a
    parameter has a decimal point (as pyxform binds it)."""
    from forms.parameters import range_is_integer, range_numbers

    start, end, step = range_numbers(parameters)
    number = parse_decimal(raw)
    if isinstance(number, Message):
        return number
    value = Decimal(number)
    low, high = min(start, end), max(start, end)
    limits = {"value": str(raw).strip(), "low": _plain(low), "high": _plain(high), "step": _plain(step)}
    if not low <= value <= high:
        return Message(m.NOT_IN_RANGE, limits)
    if (value - start) % step != 0:
        return Message(m.NOT_ON_STEP, limits)
    if range_is_integer(parameters):
        return str(int(value))
    return _plain(value)


def parse_rank(raw: Any, choices: tuple[Choice, ...]) -> Parsed:
    """Every choice once, most important first: a list of names, or typed "2 1 3" / "b, a, c".
    Stored as ODK's rank widget stores it: the names space-separated in the ranked order."""
    parts = [str(p) for p in raw] if isinstance(raw, (list, tuple)) else re.split(r"[,;\s]+", str(raw).strip())
    ranked: list[str] = []
    for part in (p for p in parts if p.strip()):
        choice = resolve_choice(part, choices)
        if choice is None or choice.name in ranked:
            return Message(m.NOT_A_RANKING, {"value": str(raw).strip(), "count": len(choices)})
        ranked.append(choice.name)
    if len(ranked) != len(choices):
        return Message(m.NOT_A_RANKING, {"value": str(raw).strip(), "count": len(choices)})
    return " ".join(ranked)


def parse_acknowledge(raw: Any) -> Parsed:
    """The OK button (True), or a typed "OK"/"ya": stored as ODK stores an acknowledged trigger, "OK"."""
    if raw is True or str(raw).strip().casefold().rstrip(".!") in _OK_WORDS:
        return "OK"
    return Message(m.PRESS_OK)


def parse_barcode(raw: Any) -> Parsed:
    """The code as typed (a chat has no scanner): the text, kept exactly but for outer spaces."""
    return parse_text(raw)


def _file_parser(message: str) -> Callable[[Any], Parsed]:
    def parse(raw: Any) -> Parsed:
        parsed = parse_image(raw)
        return Message(message) if isinstance(parsed, Message) else parsed
    return parse


parse_audio = _file_parser(m.SEND_AUDIO)
parse_video = _file_parser(m.SEND_VIDEO)
parse_file = _file_parser(m.SEND_FILE)


def parse_geotrace(raw: Any) -> Parsed:
    """Two or more points (Locations, or typed "lat lon; lat lon"), stored as ODK does: geopoints
    ("lat lon alt acc") separated by ";"."""
    points = _points(raw)
    if isinstance(points, Message):
        return points
    from shapely.geometry import LineString

    if len(points) < 2 or LineString([_xy(p) for p in points]).length == 0:
        return Message(m.TRACE_TOO_SHORT, {"count": len(points)})
    return ";".join(points)


def parse_geoshape(raw: Any) -> Parsed:
    """Three or more points around an area; the ring is closed (the first point repeated last, as ODK
    stores it) and must not cross itself."""
    points = _points(raw)
    if isinstance(points, Message):
        return points
    if len(points) > 1 and _xy(points[0]) == _xy(points[-1]):
        points = points[:-1]
    from shapely.geometry import Polygon

    polygon = Polygon([_xy(p) for p in points]) if len(points) >= 3 else None
    if polygon is None or len({_xy(p) for p in points}) < 3 or polygon.convex_hull.area == 0:
        return Message(m.SHAPE_TOO_SMALL, {"count": len(points)})  # fewer than 3 corners, or all on a line
    if not polygon.is_valid:
        return Message(m.SHAPE_CROSSES)  # the edges cross (a bow tie): not the outline of an area
    return ";".join([*points, points[0]])


def _points(raw: Any) -> list[str] | Message:
    """Each point of a trace or shape as a stored geopoint."""
    items = list(raw) if isinstance(raw, (list, tuple)) and raw and not isinstance(raw[0], (int, float)) \
        else [p for p in str(raw).split(";") if p.strip()]
    points = []
    for item in items:
        point = parse_geopoint(item)
        if isinstance(point, Message):
            return point
        points.append(point)
    return points


def _xy(point: str) -> tuple[float, float]:
    """A stored geopoint as (x, y) = (longitude, latitude), as shapely reads coordinates."""
    latitude, longitude = point.split()[:2]
    return float(longitude), float(latitude)


PARSERS: dict[str, Callable[[Any], Parsed]] = {
    "text": parse_text, "integer": parse_integer, "decimal": parse_decimal, "date": parse_date,
    "geopoint": parse_geopoint, "image": parse_image, "acknowledge": parse_acknowledge,
    "barcode": parse_barcode, "audio": parse_audio, "video": parse_video, "file": parse_file,
    "geotrace": parse_geotrace, "geoshape": parse_geoshape,
}


def parse_answer(kind: str, raw: Any, choices: Iterable[Choice] = (), *,
                 parameters: Mapping[str, str] | None = None, now: dt.datetime | None = None) -> Parsed:
    """The stored string for a non-blank answer of a question of ``kind``, or what is wrong with it.

    ``parameters`` are the question's (a range's start, end, step); ``now`` is the current time in the
    area's zone, whose offset a time or dateTime is stored with."""
    if kind == "select_one":
        return parse_select_one(raw, tuple(choices))
    if kind == "select_multiple":
        return parse_select_multiple(raw, tuple(choices))
    if kind == "rank":
        return parse_rank(raw, tuple(choices))
    if kind == "range":
        return parse_range(raw, parameters or {})
    if kind == "time":
        return parse_time(raw, now)
    if kind == "datetime":
        return parse_datetime(raw, now)
    return PARSERS[kind](raw)


def measure_points(value: str) -> tuple[int, float, float]:
    """(points, length in metres, area in square metres) of a stored geotrace or geoshape, for a person
    to check it at a glance (a shape's length is its perimeter; a trace has no area)."""
    from geopy.distance import geodesic
    from shapely.geometry import Polygon

    points = [(float(p.split()[0]), float(p.split()[1])) for p in value.split(";") if p.strip()]
    length = sum(geodesic(a, b).meters for a, b in zip(points, points[1:]))
    closed = len(points) > 3 and points[0] == points[-1]
    area = 0.0
    if closed:
        # Metres on a plane around the shape: fine for a house plot or a field, not for a province.
        import math

        lat0 = sum(lat for lat, _ in points) / len(points)
        scale = 111_320 * math.cos(math.radians(lat0))
        area = Polygon([(lon * scale, lat * 110_574) for lat, lon in points]).area
    return (len(points) - 1 if closed else len(points)), length, area
