"""Bot API parameters from any request encoding, coerced as the official server coerces them.

Telegram accepts the query string, JSON bodies, urlencoded and multipart forms. Form values are
strings (objects arrive JSON-encoded), so every getter converts by the type the method expects; like
the real server, an empty value counts as absent and a malformed number reads as 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import bad_request

_LEADING_INT = re.compile(r"\s*([-+]?\d+)")


@dataclass
class Upload:
    """A file sent in a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


async def read_params(request: web.Request) -> Params:
    """Collect the parameters of a Bot API call (the body wins over the query string)."""
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.body_exists:
        if request.content_type == "application/json":
            values.update(await _json_body(request))
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    uploads[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    values[key] = value
    return Params(values, uploads)


async def _json_body(request: web.Request) -> dict:
    try:
        body = json.loads(await request.text() or "{}")
    except ValueError:
        raise bad_request("can't parse JSON body of the request") from None
    if not isinstance(body, dict):
        raise bad_request("JSON body of the request must be an Object")
    return body


class Params:
    """Typed access to the parameters of one call."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self._values = {k: v for k, v in values.items() if v is not None and v != ""}
        self._uploads = uploads or {}

    def has(self, name: str) -> bool:
        """Whether the parameter was given (an upload counts)."""
        return name in self._values or name in self._uploads

    def text(self, name: str) -> str | None:
        """A String parameter; numbers and objects given natively are rendered as text."""
        value = self._values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value)

    def integer(self, name: str, default: int = 0) -> int:
        """An Integer parameter; unreadable text reads as 0, as on the official server."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, (int, float)):
            return int(value)
        match = _LEADING_INT.match(str(value))
        return int(match.group(1)) if match else 0

    def number(self, name: str) -> float | None:
        """A Float parameter, or None when absent or unreadable."""
        value = self._values.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        try:
            return float(str(value).strip()) if value is not None else None
        except ValueError:
            return None

    def flag(self, name: str) -> bool:
        """A Boolean parameter: true, yes or 1 (any case) mean true."""
        value = self._values.get(name)
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "yes", "1") if value is not None else False

    def obj(self, name: str, what: str) -> Any:
        """A JSON-serialized parameter (object or array), or None when absent.

        ``what`` names it in the error, e.g. "reply keyboard markup" gives
        ``can't parse reply keyboard markup JSON object``.
        """
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None

    def lenient_obj(self, name: str) -> Any:
        """A JSON-serialized parameter the server ignores when malformed (None then)."""
        value = self._values.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return None

    def chat_id(self, name: str = "chat_id") -> int | str | None:
        """A chat identifier: an integer, or ``@username`` for public groups."""
        value = self._values.get(name)
        if isinstance(value, str) and value.strip().startswith("@"):
            return value.strip()
        return None if value is None else self.integer(name)

    def file(self, name: str) -> Upload | str | None:
        """An InputFile (uploaded directly or via ``attach://<part>``) or a string (file_id or URL)."""
        if name in self._uploads:
            return self._uploads[name]
        value = self.text(name)
        if value is not None and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part not in self._uploads:
                raise bad_request(f"file {part!r} is not found in the request")
            return self._uploads[part]
        return value
