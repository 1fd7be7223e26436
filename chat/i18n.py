"""The message catalog: gettext .po files read with Babel, Indonesian first, English second.

Message ids are stable keys (``booking-confirmed``); both languages are translations of them, so a
missing text is caught by a test instead of silently showing a key. Every argument is HTML-escaped,
because the bot sends with parse_mode HTML.
"""
from __future__ import annotations

import gettext
import html
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "pintu"
LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"


def catalog_files(language: str) -> list[Path]:
    """``pintu.po`` plus one file per area of the product (``capture.po``, ``coordination.po``...):
    each flow keeps its texts together, and a key may live in only one of them."""
    folder = LOCALES / language / "LC_MESSAGES"
    return [folder / f"{DOMAIN}.po"] + sorted(p for p in folder.glob("*.po") if p.stem != DOMAIN)


def read_catalog(language: str) -> Catalog:
    """Every .po file of ``language`` merged into one catalog; a key defined twice is an error."""
    merged = Catalog(locale=language, domain=DOMAIN)
    for path in catalog_files(language):
        with open(path, "rb") as handle:
            for message in read_po(handle, locale=language):
                if not message.id:
                    continue
                if message.id in merged:
                    raise ValueError(f"message {message.id!r} is defined twice ({path.name})")
                merged[message.id] = message
    return merged


@lru_cache(maxsize=None)
def _translations(language: str) -> gettext.GNUTranslations:
    """Compile the .po files in memory once: no build step, no .mo files to keep in sync."""
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language_for(telegram_language_code: str | None, chosen: str | None = None) -> str:
    """The user's own choice wins; otherwise English for English Telegram clients, else Indonesian."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_language_code and telegram_language_code.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


class Translator:
    """``t("key", name=...)`` in one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._gettext = _translations(self.language).gettext

    def __call__(self, key: str, /, **args: object) -> str:
        text = self._gettext(key)
        if text == key:
            raise KeyError(f"message {key!r} missing from the {self.language} catalog")
        if not args:
            return text
        return text.format(**{name: _escape(value) for name, value in args.items()})

    def template(self, key: str, /) -> str:
        """The text with its ``{placeholders}`` unfilled (for a page's script to fill in)."""
        text = self._gettext(key)
        if text == key:
            raise KeyError(f"message {key!r} missing from the {self.language} catalog")
        return text

    def raw(self, key: str, /, **args: object) -> str:
        """For arguments that are already HTML (a rendered list): the caller escaped its parts."""
        return self._gettext(key).format(**args)


def _escape(value: object) -> str:
    return html.escape(str(value), quote=False)


def catalog_keys(language: str) -> set[str]:
    return {str(message.id) for message in read_catalog(language) if message.id}
