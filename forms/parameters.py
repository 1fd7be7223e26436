"""The ``parameters`` column: what the chat questionnaire does with each, and a finding for the rest.

ODK gives some question types parameters (``start=1 end=10 step=1`` for a range, ``max-pixels`` for
an image, ``quality`` for audio...). The chat uses those listed in :data:`USED`; any other is named by
``pintu form check`` with its row and what to do instead, so a form author knows the chat ignores it
rather than finding out in the field. A range whose numbers cannot work is an error.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation

RANGE_DEFAULTS = {"start": "1", "end": "10", "step": "1"}  # ODK Collect's when a parameter is left out

# kind -> the parameters the chat questionnaire applies
USED: Mapping[str, frozenset[str]] = {
    "range": frozenset(RANGE_DEFAULTS),
    "image": frozenset({"max-pixels"}),  # photos are kept as sent, below 40 megapixels (domain/photos.py)
}

# Known ODK parameters the chat does not apply, with what to tell the form author.
_ADVICE = {
    "quality": "the chat keeps the voice note or audio file as Telegram delivers it; remove 'quality'",
    "capture-accuracy": "the chat judges accuracy with the area's geotag policy; remove it",
    "warning-accuracy": "the chat judges accuracy with the area's geotag policy; remove it",
    "allow-mock-accuracy": "the chat judges accuracy with the area's geotag policy; remove it",
    "incremental": "the chat always collects the points one by one until \"done\"; remove it",
    "tick_interval": "the chat offers each value as a button (up to 12 values) or asks for the number; remove it",
    "placeholder": "the chat offers each value as a button (up to 12 values) or asks for the number; remove it",
    "tick_labelset": "the chat shows the numbers themselves; remove it",
    "reference-geometry": "the chat shows no map to trace over; remove it",
    "randomize": "the chat shows choices in the sheet's order; remove it",
    "seed": "the chat shows choices in the sheet's order; remove it",
    "value": "the chat takes choice names from the choices sheet's 'name' column; remove it",
    "label": "the chat takes choice labels from the choices sheet's 'label' columns; remove it",
}


def findings(kind: str, parameters: Mapping[str, str]) -> Iterator[tuple[bool, str]]:
    """(is_error, message) for each parameter of a question of ``kind`` the chat cannot honour."""
    used = USED.get(kind, frozenset())
    for written in parameters:
        if written in used:
            continue
        name = _as_written(written)
        close = difflib.get_close_matches(name, sorted(used), n=1)
        if close:
            advice = f"did you mean '{close[0]}'?"
        else:
            advice = _ADVICE.get(name, "remove it" + (f" (this type uses: {', '.join(sorted(used))})"
                                                      if used else " (this type takes no parameters in the chat)"))
        yield False, f"The parameter '{name}' ({kind} question) is not used by the chat questionnaire: {advice}."
    if kind == "range":
        yield from _range_findings(parameters)


def _as_written(name: str) -> str:
    """pyxform renames a few parameters for the XForm ("tick_interval" -> "odk:tick-interval"): the
    author's spelling, to be found in the sheet."""
    bare = name.removeprefix("odk:")
    return bare.replace("-", "_") if bare in ("tick-interval", "tick-labelset") else bare


def range_numbers(parameters: Mapping[str, str]) -> tuple[Decimal, Decimal, Decimal]:
    """(start, end, step) of a range, ODK's defaults for those left out; ValueError if unusable."""
    values = []
    for name in ("start", "end", "step"):
        text = str(parameters.get(name, RANGE_DEFAULTS[name])).strip()
        try:
            values.append(Decimal(text))
        except InvalidOperation:
            raise ValueError(f"'{name}={text}' is not a number") from None
    start, end, step = values
    if step <= 0:
        raise ValueError(f"'step={parameters.get('step')}' must be above 0")
    if start == end:
        raise ValueError("'start' and 'end' must differ")
    return start, end, step


def range_is_integer(parameters: Mapping[str, str]) -> bool:
    """pyxform binds a range as int unless one of its parameters has a decimal point."""
    return not any("." in str(parameters.get(n, "")) for n in RANGE_DEFAULTS)


def range_values(parameters: Mapping[str, str], limit: int) -> list[Decimal] | None:
    """Every value the range allows, in order from start to end; None if more than ``limit``."""
    start, end, step = range_numbers(parameters)
    count = int(abs(end - start) // step) + 1
    if count > limit:
        return None
    sign = 1 if end > start else -1
    return [start + sign * step * i for i in range(count)]


def _range_findings(parameters: Mapping[str, str]) -> Iterator[tuple[bool, str]]:
    try:
        start, end, step = range_numbers(parameters)
    except ValueError as problem:
        yield True, f"The range cannot be used: {problem}. Write for example 'start=1 end=10 step=1'."
        return
    if (abs(end - start) % step) != 0:
        yield False, (f"The range from {start} to {end} does not end on a step of {step}: "
                      f"the last value offered is below 'end'. Choose 'end' = 'start' + a multiple of 'step'.")
