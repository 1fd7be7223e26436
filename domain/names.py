"""The one rule for a family head's name, wherever it is typed: the resident's registration, the RT
head's (and their corrections), the family import and the questionnaire's head-name question.

Real names and the titles written with them use letters of any script and ``&``, ``,``, ``.``, ``'``
(and the typographic ’ phones put in), ``-``: "Budi & Ani", "Hasan, S.Pd.", "Ni Made O'Neil-Putri",
"Dr. Ir. H. Joko". What is refused, each with its own reason (a catalog key, so the person hears WHAT
is wrong): digits, markup and links (``<``, ``>``, ``http://``, ``www.``, ``t.me``, a ``name.com``), the
characters Telegram would format or that mean nothing in a name (``*``, ``_``, ``~``, backticks, ``@``,
``#``, emoji…), control characters, a first character that is not a letter, and a length outside
2–120 characters. Spacing is normalised (runs of spaces become one).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MIN_NAME, MAX_NAME = 2, 120
PUNCTUATION = frozenset("&,.'’-")
# Telegram's Markdown and the like would format these; none is part of a name.
FORMATTING = frozenset("*_~`|")
LINK = re.compile(r"(?i)(https?:|://|www\.|t\.me\b|\.(com|net|org|id|me|io|info|xyz|ly|co)\b)")


@dataclass(frozen=True)
class NameCheck:
    """The outcome: the normalised name, or the catalog key of what is wrong (``name-*``)."""

    name: str | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_name(raw: str | None) -> NameCheck:
    """A family head's name as typed, checked (see the module's docstring)."""
    text = raw or ""
    if any(unicodedata.category(c) in ("Cc", "Cf") and not c.isspace() for c in text):
        return NameCheck(None, "name-control")
    name = " ".join(text.split())
    if not name:
        return NameCheck(None, "name-empty")
    if any(c.isdigit() for c in name):
        return NameCheck(None, "name-digits")
    if "<" in name or ">" in name or LINK.search(name):
        return NameCheck(None, "name-markup")
    if any(c in FORMATTING for c in name):
        return NameCheck(None, "name-formatting")
    if any(not (_is_letter(c) or c == " " or c in PUNCTUATION) for c in name):
        return NameCheck(None, "name-symbol")
    if not name[0].isalpha():
        return NameCheck(None, "name-start")
    if sum(1 for c in name if c.isalpha()) < MIN_NAME:
        return NameCheck(None, "name-too-short")
    if len(name) > MAX_NAME:
        return NameCheck(None, "name-too-long")
    return NameCheck(name, None)


def valid_name(raw: str | None) -> str | None:
    """The normalised name, or None when :func:`check_name` refuses it."""
    return check_name(raw).name


def _is_letter(c: str) -> bool:
    """A letter, or a combining mark written on one (Devanagari, Balinese, decomposed accents)."""
    return c.isalpha() or unicodedata.category(c).startswith("M")
