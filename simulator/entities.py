"""Formatted text as Telegram reads it: parse modes, entities and UTF-16 offsets.

Entity offsets and lengths count UTF-16 code units, as the Bot API documents. The HTML parser is built
on :mod:`html.parser` and reproduces the server's strictness: only the documented tags, a bare ``<``
is an error, and only ``&lt; &gt; &amp; &quot;`` plus numeric references are decoded (other ``&name;``
stay as written).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from .errors import ApiError, bad_request


class ParseError(Exception):
    """A markup error; the message is the part after ``can't parse entities:``."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what entity offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def explicit_entities(entities: Any, text: str) -> list[dict]:
    """Validate entities given as JSON (no parse_mode); ones outside the text are dropped."""
    if not isinstance(entities, list):
        return []
    size = utf16_len(text)
    kept = []
    for entity in entities:
        if not isinstance(entity, dict):
            raise _entity_error("expected an Object")
        for name in ("offset", "length"):
            if not isinstance(entity.get(name), int):
                raise _entity_error(f'Field "{name}" must be of type Number')
        if not isinstance(entity.get("type"), str):
            raise _entity_error('Field "type" must be of type String')
        if entity["length"] > 0 and 0 <= entity["offset"] < size:
            kept.append(dict(entity, length=min(entity["length"], size - entity["offset"])))
    return kept


def _entity_error(detail: str) -> ApiError:
    return bad_request(f"can't parse MessageEntity: {detail}")


def trim(text: str, entities: list[dict]) -> tuple[str, list[dict]]:
    """Strip surrounding whitespace, moving and clipping entities to match."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(size, entity["offset"] - shift + entity["length"])
        if end > start:
            kept.append(dict(entity, offset=start, length=end - start))
    return stripped, kept


_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")


def command_entities(text: str) -> list[dict]:
    """``bot_command`` entities for every ``/command`` (optionally ``@botname``) in a user's text."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]


# --- HTML ---------------------------------------------------------------------------------------

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_SUPPORTED_TAGS = set(_SIMPLE_TAGS) | {"a", "span", "tg-emoji", "blockquote"}
_TAG_NAME = re.compile(r"[^\s>]*")
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def parse_html(text: str) -> tuple[str, list[dict]]:
    """Parse Telegram's HTML style; raises ``ParseError`` with the server's wording."""
    parser = _TelegramHtml(text)
    # A trailing space keeps html.parser from dropping the "&" of a reference at the very end
    # ("AT&T"); result() removes it again.
    parser.feed(text + " ")
    parser.close()
    return parser.result()


@dataclass
class _OpenTag:
    tag: str
    entity: dict | None  # None: the tag formats nothing (e.g. <a> without href)
    offset: int
    language: str | None = None


class _TelegramHtml(HTMLParser):
    """Collects plain text and entities; any markup Telegram refuses raises ``ParseError``."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [i + 1 for i, char in enumerate(source) if char == "\n"]
        self._parts: list[str] = []
        self._length = 0
        self._open: list[_OpenTag] = []
        self._entities: list[dict] = []
        self._languages: dict[int, str] = {}  # id(code entity) -> language, for <pre><code class=…>

    def result(self) -> tuple[str, list[dict]]:
        """The plain text and its entities, ordered by position."""
        if self._open:
            raise ParseError(f'Can\'t find end tag corresponding to start tag "{self._open[-1].tag}"')
        entities = sorted(self._entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self._parts)[:-1], entities

    # Positions ---------------------------------------------------------------------------------

    def _index(self, extra: int = 0) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column + extra

    def _byte_offset(self, extra: int = 0) -> int:
        return len(self._source[: self._index(extra)].encode("utf-8"))

    def _append(self, text: str) -> None:
        self._parts.append(text)
        self._length += utf16_len(text)

    # Text --------------------------------------------------------------------------------------

    def handle_data(self, data: str) -> None:
        """Plain text; a ``<`` left here was not a tag, which Telegram refuses."""
        if "<" in data:
            self._bad_angle_bracket(self._index(data.index("<")))
        self._append(data)

    def _bad_angle_bracket(self, start: int) -> None:
        # Telegram reads a tag name up to whitespace or ">"; running out of text is "unclosed".
        name = _TAG_NAME.match(self._source, start + 1).group()
        offset = len(self._source[:start].encode("utf-8"))
        if start + 1 + len(name) >= len(self._source):
            raise ParseError(f"Unclosed start tag at byte offset {offset}")
        raise ParseError(f'Unsupported start tag "{name.lower()}" at byte offset {offset}')

    def handle_entityref(self, name: str) -> None:
        """Named references: the four Telegram knows; any other stays literal."""
        if name in _NAMED_REFERENCES:
            self._append(_NAMED_REFERENCES[name])
            return
        start = self._index()
        end = start + 1 + len(name)
        self._append(self._source[start : end + (self._source[end : end + 1] == ";")])

    def handle_charref(self, name: str) -> None:
        """Numeric references (``&#65;``, ``&#x41;``); invalid code points stay literal."""
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
        except ValueError:
            code = -1
        if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF:
            self._append(chr(code))
        else:
            self._append(f"&#{name};")

    # Tags --------------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a supported tag; anything else is an error."""
        if tag not in _SUPPORTED_TAGS:
            raise ParseError(f'Unsupported start tag "{tag}" at byte offset {self._byte_offset()}')
        values = {name.lower(): value for name, value in attrs}
        self._open.append(self._open_tag(tag, values))

    def _open_tag(self, tag: str, attrs: dict[str, str | None]) -> _OpenTag:
        if tag == "a":
            href = (attrs.get("href") or "").strip()
            return _OpenTag(tag, {"type": "text_link", "url": href} if href else None, self._length)
        if tag == "span":
            if attrs.get("class") != "tg-spoiler":
                raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset()}')
            return _OpenTag(tag, {"type": "spoiler"}, self._length)
        if tag == "tg-emoji":
            emoji_id = attrs.get("emoji-id") or ""
            if not emoji_id.isdigit():
                raise ParseError("Invalid custom emoji identifier specified")
            return _OpenTag(tag, {"type": "custom_emoji", "custom_emoji_id": emoji_id}, self._length)
        if tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
            return _OpenTag(tag, {"type": kind}, self._length)
        language = None
        css = attrs.get("class") or ""
        if tag == "code" and css.startswith("language-"):
            language = css.removeprefix("language-")
        return _OpenTag(tag, {"type": _SIMPLE_TAGS[tag]}, self._length, language)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """``<br/>`` and friends: Telegram knows no self-closing tags."""
        raise ParseError(f'Unsupported start tag "{tag}/" at byte offset {self._byte_offset()}')

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open tag, which must be this one."""
        offset = self._byte_offset()
        if not self._open:
            raise ParseError(f"Unexpected end tag at byte offset {offset}")
        top = self._open[-1]
        if tag != top.tag:
            raise ParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", found "</{tag}>"'
            )
        self._open.pop()
        self._close(top)

    def _close(self, top: _OpenTag) -> None:
        length = self._length - top.offset
        if top.entity is None or length <= 0:
            return
        entity = dict(top.entity, offset=top.offset, length=length)
        last = self._entities[-1] if self._entities else None
        if top.tag == "pre" and last and last["type"] == "code" and (last["offset"], last["length"]) == (
            top.offset,
            length,
        ):
            # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
            language = self._languages.pop(id(last), None)
            self._entities[-1] = entity if language is None else dict(entity, language=language)
            return
        self._entities.append(entity)
        if top.language:
            self._languages[id(entity)] = top.language

    # Constructs Telegram does not accept -------------------------------------------------------

    def handle_comment(self, data: str) -> None:
        """Comments are not part of Telegram's HTML."""
        self._unsupported("!--")

    def handle_decl(self, decl: str) -> None:
        """``<!DOCTYPE …>`` and similar."""
        self._unsupported("!" + decl.split(" ", 1)[0].lower())

    def unknown_decl(self, data: str) -> None:
        """``<![CDATA[…]]>`` and similar."""
        self._unsupported("![" + data.split("[", 1)[0].lower())

    def handle_pi(self, data: str) -> None:
        """``<?…>`` processing instructions."""
        self._unsupported("?" + data.split(" ", 1)[0].lower())

    def _unsupported(self, name: str) -> None:
        raise ParseError(f'Unsupported start tag "{name}" at byte offset {self._byte_offset()}')
