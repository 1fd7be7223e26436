"""parse_mode dispatch: a bot's text or caption becomes plain text plus entities."""

from __future__ import annotations

from typing import Any

from .entities import ParseError, explicit_entities, parse_html, trim
from .errors import bad_request
from .markdown import parse_markdown


def parse_formatted(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[dict]]:
    """Turn a bot's text or caption into ``(plain text, entities)``, as sendMessage does.

    Raises ``ApiError`` for an unknown parse mode or malformed markup. Leading and trailing
    whitespace is trimmed afterwards (entities follow), as Telegram does.
    """
    mode = (parse_mode or "").lower()
    try:
        if mode in ("", "none"):
            plain, found = text, explicit_entities(entities, text)
        elif mode == "html":
            plain, found = parse_html(text)
        elif mode in ("markdown", "markdownv2"):
            plain, found = parse_markdown(text, version=2 if mode == "markdownv2" else 1)
        else:
            raise bad_request("unsupported parse_mode")
    except ParseError as error:
        raise bad_request(f"can't parse entities: {error}") from None
    return trim(plain, found)
