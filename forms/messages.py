"""What the engine tells a person, without saying it itself.

The engine has no catalog: a form's own texts (its constraint or required message, in the user's
language) come back as ``text``; the engine's generic messages come back as a catalog ``key`` with
``args``, which the bot renders from handlers/locales like any other message.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# The catalog keys the engine can return (the bot's catalog must have all of them).
REQUIRED = "form-required"
CONSTRAINT_FAILED = "form-constraint-failed"
NOT_A_NUMBER = "form-not-a-number"
NOT_AN_INTEGER = "form-not-an-integer"
NUMBER_TOO_LARGE = "form-number-too-large"
NOT_A_DATE = "form-not-a-date"
NOT_A_CHOICE = "form-not-a-choice"
NOT_A_LOCATION = "form-not-a-location"
SEND_A_PHOTO = "form-send-a-photo"
NOT_RELEVANT = "form-not-relevant"
NOT_ALLOWED = "form-not-allowed"
NOTHING_TO_GO_BACK = "form-nothing-to-go-back"
TEXT_TOO_LONG = "form-text-too-long"
NOT_A_TIME = "form-not-a-time"
NOT_A_DATETIME = "form-not-a-datetime"
NOT_IN_RANGE = "form-not-in-range"
NOT_ON_STEP = "form-not-on-step"
NOT_A_RANKING = "form-not-a-ranking"
PRESS_OK = "form-press-ok"
SEND_AUDIO = "form-send-audio"
SEND_VIDEO = "form-send-video"
SEND_FILE = "form-send-file"
TRACE_TOO_SHORT = "form-trace-too-short"
SHAPE_TOO_SMALL = "form-shape-too-small"
SHAPE_CROSSES = "form-shape-crosses"

# Why a NIK is refused (forms/nik.py NikProblem values).
NIK_PROBLEMS = {problem: f"nik-{problem}" for problem in ("format", "district", "birth-date", "serial")}

KEYS = (REQUIRED, CONSTRAINT_FAILED, NOT_A_NUMBER, NOT_AN_INTEGER, NUMBER_TOO_LARGE, NOT_A_DATE,
        NOT_A_CHOICE, NOT_A_LOCATION, SEND_A_PHOTO, NOT_RELEVANT, NOT_ALLOWED, NOTHING_TO_GO_BACK,
        NOT_A_TIME, NOT_A_DATETIME, NOT_IN_RANGE, NOT_ON_STEP, NOT_A_RANKING, PRESS_OK, SEND_AUDIO,
        SEND_VIDEO, SEND_FILE, TRACE_TOO_SHORT, SHAPE_TOO_SMALL, SHAPE_CROSSES, TEXT_TOO_LONG, *NIK_PROBLEMS.values())


@dataclass(frozen=True, slots=True)
class Message:
    """Either a catalog key with its arguments, or a text the form itself gives (already translated)."""

    key: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    text: str | None = None

    def render(self, translate: Callable[..., str]) -> str:
        """The text to show: the form's own, or ``translate(key, **args)`` from the bot's catalog."""
        if self.text is not None:
            return self.text
        assert self.key is not None
        return translate(self.key, **self.args)
