"""Messages that always fit: Telegram refuses a text over 4,096 characters (after its HTML is parsed) and
HTML whose tags do not match, so a message that repeats what a user typed is cut here, safely.

:func:`fit_html` counts what Telegram counts — the visible text, a character reference (``&amp;``) as one
character — in UTF-16 code units (an emoji is two; the stricter reading of the limit), and cuts only
between characters: never inside a tag or a reference; the tags still open are closed, and an ellipsis
marks the cut. Every SendMessage and EditMessage (chat/events.py) is fitted when it is made, whoever
composes it (a step, a notification, the outbox); a screen
that repeats long answers (the questionnaire's review) also shortens each value first, so the cut falls
on its own lines rather than on its buttons' explanation.
"""
from __future__ import annotations

import re

TELEGRAM_MAX_CHARS = 4096
MAX_MESSAGE_CHARS = 4000  # room below Telegram's limit (a notice above the screen, a line added later)
ELLIPSIS = "…"
_TOKENS = re.compile(r"<[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);|[^<&]+|[<&]")
_TAG = re.compile(r"<[^<>]+>")
_REFERENCE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z]+);")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")


def units(text: str) -> int:
    """Length in UTF-16 code units (how Telegram measures)."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(html_text: str) -> int:
    """The length Telegram sees once the tags are parsed (a reference counts as one character)."""
    return units(_REFERENCE.sub("x", _TAG.sub("", html_text)))


def fit_html(html_text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``html_text`` unchanged when it fits in ``limit`` visible characters; else cut to fit, with an
    ellipsis, its open tags closed, and never a tag or a character reference cut in two."""
    if len(html_text) * 2 <= limit or visible_length(html_text) <= limit:  # most messages: no counting at all
        return html_text
    budget = limit - units(ELLIPSIS)
    out: list[str] = []
    open_tags: list[str] = []
    for token in _TOKENS.findall(html_text):
        if _is_tag(token):
            _follow(token, open_tags)
            out.append(token)
            continue
        size = 1 if token.startswith("&") and len(token) > 1 else units(token)
        if size <= budget:
            out.append(token)
            budget -= size
            continue
        if not token.startswith("&"):
            out.append(_prefix(token, budget))
        break
    while out and _is_tag(out[-1]) and not out[-1].startswith("</"):  # a tag opened right at the cut
        _follow("</" + _name(out.pop()) + ">", open_tags)
    closing = "".join(f"</{name}>" for name in reversed(open_tags))
    return "".join(out).rstrip() + ELLIPSIS + closing


def shorten(text: str, limit: int) -> str:
    """Plain text (not yet escaped) at most ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def _is_tag(token: str) -> bool:
    return token.startswith("<") and token.endswith(">") and len(token) > 2


def _name(tag: str) -> str:
    found = _TAG_NAME.match(tag)
    return found.group(1).lower() if found else ""


def _follow(tag: str, open_tags: list[str]) -> None:
    name = _name(tag)
    if tag.startswith("</"):
        if name in open_tags:
            del open_tags[len(open_tags) - 1 - open_tags[::-1].index(name)]
    elif not tag.endswith("/>"):
        open_tags.append(name)


def _prefix(text: str, budget: int) -> str:
    """The longest start of ``text`` within ``budget`` UTF-16 units (a surrogate pair is never split)."""
    taken, used = [], 0
    for char in text:
        size = units(char)
        if used + size > budget:
            break
        taken.append(char)
        used += size
    return "".join(taken)
