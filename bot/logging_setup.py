"""Logging for operators: JSON lines (``PINTU_LOG_FORMAT=json``, the image's default) or plain text,
and never personal data in either.

A JSON line is one object: ``time`` (UTC, RFC 3339), ``level``, ``logger``, ``message``, then the
context fields a call passes with ``extra=`` when they are in :data:`CONTEXT_FIELDS` (update_id,
outbox_id, record_id, delivery_id, ...); anything else passed in ``extra`` is dropped, since nobody
checked it for personal data. An exception becomes ``exc_type`` and ``stack`` (file:line function per
frame) without its message: database errors repeat the parameters of the failed statement, which can
be a name or a KK number.

Defence in depth, in both formats, for what a library or a careless message might still carry:
:class:`RedactingFilter` rewrites every message (and, in text, the traceback) replacing 16-digit
numbers (KK, NIK), phone numbers, decimal coordinates and Bot API tokens with placeholders.
Names cannot be recognised by a pattern: they are kept out by the code (log ids, never people), and
tests/integration/test_logging.py drives a booking and a registry delivery to prove it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback
from typing import Any

FORMATS = ("json", "text")

# Context a log call may attach with extra={...}: ids and small enumerations only, never a person's data.
CONTEXT_FIELDS = frozenset({
    "update_id", "outbox_id", "record_id", "delivery_id", "appointment_id", "job", "role", "target",
    "status", "attempts", "count", "duration_ms", "zone", "framework",
})

# (pattern, replacement), applied in order.
REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b\d{5,16}:[A-Za-z0-9_-]{20,}\b"), "[token]"),  # a Bot API token
    (re.compile(r"(?<![\d.])\d{16}(?![\d.])"), "[id-number]"),  # KK / NIK (16 digits)
    (re.compile(r"(?<![\w.-])(?:\+62|62|0)8\d{1,3}[ -]?\d{3,4}[ -]?\d{3,5}(?![\w-])"), "[phone]"),  # mobile
    (re.compile(r"(?<![\w.])-?\d{1,3}\.\d{4,}(?!\d)"), "[coordinate]"),  # a degree with 4+ decimals
)

# Library loggers kept at WARNING whatever PINTU_LOG_LEVEL says: httpx logs every request URL (Bot API
# URLs contain the token), APScheduler every job run; at DEBUG python-telegram-bot and aiogram log whole
# updates (names, texts) and SQLAlchemy every statement with its parameters (names, KK numbers).
QUIET = ("httpx", "httpcore", "apscheduler", "aiogram", "telegram", "sqlalchemy")

_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, replacement in REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the message once, scrubbed; the record then carries no arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template, drop the arguments
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key in CONTEXT_FIELDS and key not in _STANDARD and value is not None:
                entry[key] = value if isinstance(value, (int, float, bool)) else redact(str(value))
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            entry["exc_type"] = kind.__name__
            entry["stack"] = [f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} {frame.name}"
                              for frame in traceback.extract_tb(tb)][-12:]
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei: Any) -> str:  # noqa: N802 (logging's name)
        return redact(super().formatException(ei))


def configure_logging(level: str = "INFO", fmt: str = "text", stream: Any = None) -> logging.Handler:
    """Replace the root logger's handlers with one that writes ``fmt`` to ``stream`` (stderr)."""
    if fmt not in FORMATS:
        raise ValueError(f"PINTU_LOG_FORMAT must be one of {FORMATS}, not {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
