"""The MarkdownV2 and legacy Markdown parse modes, with the server's error wording.

MarkdownV2 is strict: every character of ``_*[]()~`>#+-=|{}.!`` that is not markup must be escaped
with ``\\``, which is the error bots hit most often. ``__`` is always (greedily) underline, ``_`` italic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .entities import ParseError, utf16_len

_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}
_LEGACY = {"*": "bold", "_": "italic"}


def parse_markdown(text: str, version: int) -> tuple[str, list[dict]]:
    """Parse ``text`` as MarkdownV2 (``version=2``) or legacy Markdown (``version=1``)."""
    parser = _MarkdownV2(text) if version == 2 else _LegacyMarkdown(text)
    return parser.parse()


@dataclass
class _Open:
    kind: str
    offset: int  # UTF-16 offset in the output
    byte: int  # where it began in the input, for errors
    extra: dict = field(default_factory=dict)


class _Output:
    """Plain text and entities being built, with the input position."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.parts: list[str] = []
        self.length = 0
        self.entities: list[dict] = []

    def emit(self, chunk: str) -> None:
        """Append plain text."""
        self.parts.append(chunk)
        self.length += utf16_len(chunk)

    def byte(self, index: int) -> int:
        """The UTF-8 byte offset of an input index (error messages count bytes)."""
        return len(self.text[:index].encode("utf-8"))

    def add(self, kind: str, offset: int, extra: dict | None = None) -> None:
        """Record an entity from ``offset`` to the current end; empty entities are dropped."""
        if self.length > offset:
            self.entities.append({"type": kind, "offset": offset, "length": self.length - offset, **(extra or {})})

    def result(self) -> tuple[str, list[dict]]:
        """The plain text and its entities, ordered by position."""
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))

    def find(self, closing: str, start: int, *, escapes: bool = True) -> int:
        """Index of the next ``closing`` at or after ``start``, skipping escaped characters; -1 if none."""
        j = start
        while j < len(self.text):
            if escapes and self.text[j] == "\\":
                j += 2
            elif self.text.startswith(closing, j):
                return j
            else:
                j += 1
        return -1


def _unescape(raw: str) -> str:
    out, j = [], 0
    while j < len(raw):
        if raw[j] == "\\" and j + 1 < len(raw) and 0 < ord(raw[j + 1]) < 127:
            j += 1
        out.append(raw[j])
        j += 1
    return "".join(out)


class _MarkdownV2(_Output):
    """MarkdownV2: nested entities on a stack, quotations line by line."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.stack: list[_Open] = []
        self.quote: _Open | None = None

    def parse(self) -> tuple[str, list[dict]]:
        """Parse the whole text; raises ``ParseError``."""
        text = self.text
        while self.i < len(text):
            if self.i == 0 or text[self.i - 1] == "\n":
                self._line_start()
            char, following = text[self.i], text[self.i + 1 : self.i + 2]
            if char == "\\" and following and 0 < ord(following) < 127:
                self.emit(following)
                self.i += 2
            elif char == "`":
                self._code()
            elif char == "\n":
                self._newline()
            elif char in "*~" or (char == "|" and following == "|") or char == "_":
                self._toggle(char, following)
            elif char == "[" or (char == "!" and following == "["):
                self.stack.append(_Open("custom_emoji" if char == "!" else "text_link", self.length, self.byte(self.i)))
                self.i += 2 if char == "!" else 1
            elif char == "]" and self.stack and self.stack[-1].kind in ("text_link", "custom_emoji"):
                self._close_link()
            elif char in _RESERVED:
                raise ParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
            else:
                self.emit(char)
                self.i += 1
        self._close_quote()
        if self.stack:
            top = self.stack[-1]
            raise ParseError(f"Can't find end of {_NAMES[top.kind]} entity at byte offset {top.byte}")
        return self.result()

    def _line_start(self) -> None:
        text = self.text
        if text.startswith("**>", self.i) and self.quote is None:
            self.quote = _Open("expandable_blockquote", self.length, self.byte(self.i))
            self.i += 3
        elif text.startswith(">", self.i):
            if self.quote is None:
                self.quote = _Open("blockquote", self.length, self.byte(self.i))
            self.i += 1

    def _newline(self) -> None:
        rest = self.text[self.i + 1 :]
        if self.quote is not None and not rest.startswith(">"):
            self._close_quote()
        self.emit("\n")
        self.i += 1

    def _close_quote(self) -> None:
        if self.quote is not None:
            self.add(self.quote.kind, self.quote.offset)
            self.quote = None

    def _toggle(self, char: str, following: str) -> None:
        if char == "_":
            kind, width = ("underline", 2) if following == "_" else ("italic", 1)
        elif char == "|":
            kind, width = "spoiler", 2
        else:
            kind, width = ("bold" if char == "*" else "strikethrough"), 1
        if kind == "spoiler" and self._ends_expandable_quote():
            self.i += 2
            self._close_quote()
            return
        if self.stack and self.stack[-1].kind == kind:
            opened = self.stack.pop()
            self.add(kind, opened.offset)
        else:
            self.stack.append(_Open(kind, self.length, self.byte(self.i)))
        self.i += width

    def _ends_expandable_quote(self) -> bool:
        # "||" at the end of a line of an expandable quotation ends it (unless it closes a spoiler).
        after = self.text[self.i + 2 : self.i + 3]
        at_line_end = after in ("", "\n")
        closes_spoiler = bool(self.stack) and self.stack[-1].kind == "spoiler"
        quote = self.quote
        return quote is not None and quote.kind == "expandable_blockquote" and at_line_end and not closes_spoiler

    def _code(self) -> None:
        start = self.i
        fence = "```" if self.text.startswith("```", start) else "`"
        end = self.find(fence, start + len(fence))
        if end < 0:
            name = "Pre" if fence == "```" else "Code"
            raise ParseError(f"Can't find end of {name} entity at byte offset {self.byte(start)}")
        body = self.text[start + len(fence) : end]
        extra: dict = {}
        if fence == "```":
            first, newline, rest = body.partition("\n")
            if newline and first and not any(c.isspace() for c in first):
                body, extra = rest, {"language": first}
        offset = self.length
        self.emit(_unescape(body))
        self.add("pre" if fence == "```" else "code", offset, extra)
        self.i = end + len(fence)

    def _close_link(self) -> None:
        opened = self.stack.pop()
        self.i += 1
        if not self.text.startswith("(", self.i):
            return  # "[text]" without a URL formats nothing
        end = self.find(")", self.i + 1)
        if end < 0:
            raise ParseError(f"Can't find end of a URL at byte offset {self.byte(self.i)}")
        url = _unescape(self.text[self.i + 1 : end])
        self.i = end + 1
        if opened.kind == "text_link":
            self.add("text_link", opened.offset, {"url": url})
            return
        emoji_id = url.removeprefix("tg://emoji?id=")
        if not url.startswith("tg://emoji?id=") or not emoji_id.isdigit():
            raise ParseError("Custom emoji URL must have an emoji identifier")
        self.add("custom_emoji", opened.offset, {"custom_emoji_id": emoji_id})


class _LegacyMarkdown(_Output):
    """The old Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""

    def parse(self) -> tuple[str, list[dict]]:
        """Parse the whole text; raises ``ParseError``."""
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char == "\\" and text[self.i + 1 : self.i + 2] in ("_", "*", "`", "["):
                self.emit(text[self.i + 1])
                self.i += 2
            elif char in "_*`[":
                self._entity(char)
            else:
                self.emit(char)
                self.i += 1
        return self.result()

    def _entity(self, char: str) -> None:
        start = self.i
        if char == "[":
            self._link(start)
            return
        fence = "```" if self.text.startswith("```", start) else char
        end = self.find(fence, start + len(fence), escapes=False)
        if end < 0:
            raise ParseError(f"Can't find end of the entity starting at byte offset {self.byte(start)}")
        body, extra = self.text[start + len(fence) : end], {}
        if fence == "```":
            first, newline, rest = body.partition("\n")
            if newline and first and not any(c.isspace() for c in first):
                body, extra = rest, {"language": first}
        offset = self.length
        self.emit(body)
        kind = {"```": "pre", "`": "code"}.get(fence) or _LEGACY[char]
        self.add(kind, offset, extra)
        self.i = end + len(fence)

    def _link(self, start: int) -> None:
        close = self.find("]", start + 1, escapes=False)
        if close < 0:
            raise ParseError(f"Can't find end of the entity starting at byte offset {self.byte(start)}")
        offset = self.length
        self.emit(self.text[start + 1 : close])
        self.i = close + 1
        if self.text.startswith("(", self.i):
            end = self.find(")", self.i + 1, escapes=False)
            if end >= 0:
                self.add("text_link", offset, {"url": self.text[self.i + 1 : end]})
                self.i = end + 1
