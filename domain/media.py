"""Recordings, videos and files answering a questionnaire's audio, video and file questions.

Kept as house photos are (domain/photos.py): the bytes the transport downloaded are checked, written
under the media directory with a random, non-guessable name (folders 0700, files 0600, no public
URL) and listed in ``record_photos`` (the record's media: path, SHA-256, size, MIME type, time,
sender; no width or height), so the registry forwarding sends them with the submission and checks
them by their hash. A recording or video is known by its first bytes (a name or a MIME type proves
nothing); a file question takes any file, its type as the sender's app names it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from pathlib import Path

from domain.errors import RecordStateError
from domain.model import Record, RecordPhoto
from domain.photos import EMPTY, TOO_LARGE, write_private
from domain.ports import UnitOfWork

MEDIA_FOLDER = "media"
MB = 1024 * 1024
# The most a question takes, per kind (a bot can download 20 MB from Telegram at all). A voice note
# of ten minutes is about 1 MB; a phone video of a minute some 15 MB.
MAX_BYTES = {"audio": 10 * MB, "video": 20 * MB, "file": 10 * MB}
# The Telegram attachments that can answer each kind (chat.events.Attachment.kind).
ACCEPTED = {"audio": ("voice", "audio", "document"), "video": ("video", "document"), "file": ("document",)}
WRONG_CONTENT = "wrong-content"  # MediaRejected.reason: the bytes are not a recording / video

# (first bytes, offset, MIME type, suffix): the containers phones record in.
_AUDIO = ((b"OggS", 0, "audio/ogg", ".ogg"), (b"ID3", 0, "audio/mpeg", ".mp3"), (b"\xff\xfb", 0, "audio/mpeg", ".mp3"),
          (b"\xff\xf3", 0, "audio/mpeg", ".mp3"), (b"\xff\xf2", 0, "audio/mpeg", ".mp3"),
          (b"fLaC", 0, "audio/flac", ".flac"), (b"WAVE", 8, "audio/wav", ".wav"), (b"#!AMR", 0, "audio/amr", ".amr"),
          (b"ftyp", 4, "audio/mp4", ".m4a"))
_VIDEO = ((b"ftyp", 4, "video/mp4", ".mp4"), (b"\x1a\x45\xdf\xa3", 0, "video/webm", ".webm"),
          (b"AVI ", 8, "video/x-msvideo", ".avi"))
_MIME = re.compile(r"[a-z]+/[a-z0-9][a-z0-9.+-]{0,60}")
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")


class MediaRejected(Exception):
    """The bytes cannot answer the question. ``reason``: "empty" | "too-large" | "wrong-content"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def max_megabytes(kind: str) -> int:
    return MAX_BYTES[kind] // MB


def too_large(kind: str, size: int | None) -> bool:
    """Known from the size Telegram announces, before anything is downloaded."""
    return size is not None and size > MAX_BYTES[kind]


def identify(kind: str, content: bytes, claimed_mime: str | None, file_name: str | None) -> tuple[str, str]:
    """(MIME type, file suffix) to store ``content`` as an answer of ``kind``; MediaRejected otherwise."""
    if not content:
        raise MediaRejected(EMPTY)
    if len(content) > MAX_BYTES[kind]:
        raise MediaRejected(TOO_LARGE)
    if kind == "file":
        mime = (claimed_mime or "").strip().lower()
        suffix = Path(file_name or "").suffix
        return (mime if _MIME.fullmatch(mime) else "application/octet-stream",
                suffix.lower() if _SUFFIX.fullmatch(suffix) else ".bin")
    for magic, offset, mime, suffix in _AUDIO if kind == "audio" else _VIDEO:
        if content[offset:offset + len(magic)] == magic:
            return mime, suffix
    raise MediaRejected(WRONG_CONTENT)


def store_media(uow: UnitOfWork, media_dir: str | Path, record: Record, kind: str, content: bytes, *,
                claimed_mime: str | None, file_name: str | None, sender_telegram_id: int | None,
                now: dt.datetime) -> RecordPhoto:
    """Check ``content`` and keep it as an ``kind`` ("audio", "video", "file") answer of the draft
    ``record``; the same bytes sent again give back the row already stored."""
    if record.status != "draft":
        raise RecordStateError(f"record {record.id} is {record.status}")
    mime, suffix = identify(kind, content, claimed_mime, file_name)
    digest = hashlib.sha256(content).hexdigest()
    existing = uow.capture.photo_with_hash(record.id, digest)
    if existing is not None:
        return existing
    relative = f"{MEDIA_FOLDER}/{secrets.token_hex(16)}{suffix}"
    write_private(Path(media_dir), relative, content)
    row = RecordPhoto(record_id=record.id, path=relative, sha256=digest, size=len(content), width=None, height=None,
                      mime=mime, taken_at=now, sender=sender_telegram_id)
    record.updated_at = now
    return uow.records.add_photo(row)
