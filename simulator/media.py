"""Stored files: photos with their sizes, documents, and image headers read by hand."""

from __future__ import annotations

import mimetypes
import secrets
import struct
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import bad_request

# Telegram keeps a photo in several sizes; these are the longest sides of its standard thumbnails,
# and 2560 is the largest side it keeps.
PHOTO_SIDES = (90, 320, 800, 1280)
PHOTO_MAX_SIDE = 2560


@dataclass
class StoredFile:
    """One file a bot can reach by ``file_id``; the sizes of a photo share the original bytes."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo", "document", "audio" or "video"
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    photo: list[dict] | None = None  # every PhotoSize of the photo this file belongs to
    file_path: str | None = None  # given out by getFile

    def photo_size(self) -> dict:
        """This file as a Bot API PhotoSize."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": len(self.data),
        }

    def document(self) -> dict:
        """This file as a Bot API Document."""
        doc = {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.data)}
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc


class FileStore:
    """The files of one bot (file identifiers are per bot in Telegram)."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}

    def get(self, file_id: str) -> StoredFile | None:
        """The file with this ``file_id``, if any."""
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        """The file getFile gave this ``file_path`` to."""
        return self._by_path.get(file_path)

    def add_photo(self, data: bytes) -> list[dict]:
        """Store an uploaded image; returns its PhotoSize array, smallest first."""
        width, height = photo_dimensions(data)
        mime = image_mime(data)
        sizes = []
        for w, h in photo_ladder(width, height):
            stored = StoredFile(_new_id("AgAC", 48), _new_id("AQAD", 12), "photo", data, None, mime, w, h)
            self._by_id[stored.file_id] = stored
            sizes.append(stored.photo_size())
        for size in sizes:
            self._by_id[size["file_id"]].photo = sizes
        return sizes

    def add_document(self, data: bytes, file_name: str | None, mime_type: str | None) -> StoredFile:
        """Store an uploaded document, guessing its MIME type from the name when none is given."""
        if not mime_type or mime_type == "application/octet-stream":
            mime_type = mimetypes.guess_type(file_name or "")[0] or mime_type
        stored = StoredFile(_new_id("BQAC", 48), _new_id("AgAD", 12), "document", data, file_name, mime_type)
        self._by_id[stored.file_id] = stored
        return stored

    def add_media(self, data: bytes, kind: str, file_name: str | None, mime_type: str | None) -> StoredFile:
        """Store an uploaded voice note, audio file or video (``kind``), as getFile will serve it."""
        stored = self.add_document(data, file_name, mime_type)
        stored.kind = kind
        return stored

    def assign_path(self, stored: StoredFile) -> str:
        """Give the file a download path (getFile), keeping an earlier one."""
        if stored.file_path is None:
            # Telegram's own folders in a file_path (voice notes are in "documents" here, as before)
            folder = {"photo": "photos", "audio": "music", "video": "videos"}.get(stored.kind, "documents")
            suffix = PurePosixPath(stored.file_name or "").suffix or _suffix_for(stored)
            stored.file_path = f"{folder}/file_{len(self._by_path)}{suffix}"
            self._by_path[stored.file_path] = stored
        return stored.file_path


def _new_id(prefix: str, size: int) -> str:
    return prefix + secrets.token_urlsafe(size)[:size]


def _suffix_for(stored: StoredFile) -> str:
    return mimetypes.guess_extension(stored.mime_type or "") or ""


def photo_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height of an image Telegram would take as a photo, or a 400 as Telegram gives."""
    size = image_size(data)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    width, height = size
    # Telegram refuses photos whose sides sum over 10000 or whose ratio exceeds 20.
    if width + height > 10000 or max(width, height) > 20 * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return size


def photo_ladder(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each size Telegram keeps of a photo, smallest first."""
    longest = max(width, height)
    sides = [side for side in PHOTO_SIDES if side < longest] + [min(longest, PHOTO_MAX_SIDE)]
    return [(max(1, round(width * side / longest)), max(1, round(height * side / longest))) for side in sides]


def image_mime(data: bytes) -> str | None:
    """The MIME type of a PNG, JPEG, GIF or WebP image."""
    if _png_size(data):
        return "image/png"
    if _gif_size(data):
        return "image/gif"
    if _jpeg_size(data):
        return "image/jpeg"
    if _webp_size(data):
        return "image/webp"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG, JPEG, GIF or WebP header; None for anything else."""
    for reader in (_png_size, _gif_size, _jpeg_size, _webp_size):
        size = reader(data)
        if size is not None:
            return size if size[0] > 0 and size[1] > 0 else None
    return None


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return struct.unpack(">II", data[16:24])


def _gif_size(data: bytes) -> tuple[int, int] | None:
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 10:
        return None
    return struct.unpack("<HH", data[6:10])


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # start of frame
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None
