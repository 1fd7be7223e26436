"""House photos of records: checked by decoding, stored privately, known by their SHA-256.

:func:`store_photo` takes the bytes the transport downloaded (a Telegram photo or a file sent as a
document), decodes them with Pillow to be sure they are an image (a name or a MIME type proves
nothing), and writes them under the media directory with a random, non-guessable name: folders
0700, files 0600, no public URL. The database row (``record_photos``) keeps the path relative to the
media directory, the SHA-256, size, dimensions, MIME type, time and the sender's Telegram id; the
registry forwarding (registry/payload.py) reads the file back and sends it with its hash.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import secrets
import warnings
from pathlib import Path
from typing import Any

from domain.errors import RecordStateError
from domain.model import Record, RecordPhoto
from domain.ports import UnitOfWork

MAX_PHOTO_BYTES = 20 * 1024 * 1024  # what a bot can download from Telegram at all
MAX_PIXELS = 40_000_000  # 40 megapixels: larger is a decompression bomb, not a house photo
FORMATS = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}
PHOTO_FOLDER = "photos"

# Why a photo is refused (PhotoRejected.reason), and why a transport could not fetch a file
# (chat.events.Attachment.error): the handlers compare with these names.
NOT_IMAGE = "not-image"
TOO_LARGE = "too-large"
EMPTY = "empty"
DOWNLOAD_FAILED = "download-failed"


class PhotoRejected(Exception):
    """The bytes are not a photo we keep. ``reason``: "not-image" | "too-large" | "empty"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def inspect_image(content: bytes) -> tuple[str, int, int]:
    """(MIME type, width, height) of a JPEG, PNG or WebP image, fully decoded; PhotoRejected otherwise."""
    from PIL import Image, UnidentifiedImageError

    if not content:
        raise PhotoRejected(EMPTY)
    if len(content) > MAX_PHOTO_BYTES:
        raise PhotoRejected(TOO_LARGE)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as image:
                if image.format not in FORMATS:
                    raise PhotoRejected(NOT_IMAGE)
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise PhotoRejected(NOT_IMAGE)
                if width * height > MAX_PIXELS:
                    raise PhotoRejected(TOO_LARGE)
                mime = FORMATS[image.format][0]
                image.verify()  # the file's own checks (PNG chunk CRCs, the end of the data)
            with Image.open(io.BytesIO(content)) as image:
                image.load()  # decode every pixel: a truncated or forged file fails here
    except PhotoRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoRejected(TOO_LARGE) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoRejected(NOT_IMAGE) from None
    return mime, width, height


def store_photo(uow: UnitOfWork, media_dir: str | Path, record: Record, content: bytes, *, sender_telegram_id: int | None,
                now: dt.datetime) -> RecordPhoto:
    """Check ``content`` and keep it as a photo of the draft ``record``; returns the row.

    Raises :class:`PhotoRejected` for anything that is not a JPEG, PNG or WebP image (decoded, not
    guessed), that is empty, or over 20 MB / 40 megapixels. The same bytes sent again for the same
    record give back the photo already stored (nothing is written twice). The file is written before
    the row is flushed; if the caller's transaction rolls back, an unreferenced file may stay behind
    (never a row without its file).
    """
    if record.status != "draft":
        raise RecordStateError(f"record {record.id} is {record.status}")
    inspect_image(content)
    content, mime, width, height = strip_metadata(content)
    digest = hashlib.sha256(content).hexdigest()  # of the bytes stored: the registry checks the file against it
    existing = uow.capture.photo_with_hash(record.id, digest)
    if existing is not None:
        return existing
    relative = f"{PHOTO_FOLDER}/{secrets.token_hex(16)}{dict(FORMATS.values())[mime]}"
    write_private(Path(media_dir), relative, content)
    photo = RecordPhoto(record_id=record.id, path=relative, sha256=digest, size=len(content), width=width,
                        height=height, mime=mime, taken_at=now, sender=sender_telegram_id)
    record.updated_at = now
    return uow.records.add_photo(photo)


# Image info keys that say nothing about who took the picture or where: kept when re-encoding.
_HARMLESS_INFO = {"dpi", "jfif", "jfif_version", "jfif_unit", "jfif_density", "progressive", "progression",
                  "gamma", "transparency", "aspect", "loop", "duration", "background", "lossless", "interlace",
                  "adobe", "adobe_transform", "icc_profile"}


def strip_metadata(content: bytes) -> tuple[bytes, str, int, int]:
    """(bytes to store, MIME type, width, height) of an image already checked by :func:`inspect_image`.

    A photo sent as a file (document) keeps its EXIF, which may hold the GPS position and the phone's
    make, model and serial number; XMP and comments may say as much. Such an image is turned upright
    (ImageOps.exif_transpose applies the EXIF orientation) and encoded again without any of it (the colour
    profile stays). An image without metadata is kept byte for byte.
    """
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(content)) as image:
        mime = FORMATS[image.format][0]
        fmt = image.format
        exif = image.getexif()
        revealing = [key for key in image.info if key not in _HARMLESS_INFO]
        if not len(exif) and not revealing:
            return content, mime, image.width, image.height
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)  # a copy, without the orientation tag
        if upright.mode == "P":  # a palette would not travel with paste
            upright = upright.convert("RGBA" if "transparency" in upright.info else "RGB")
        clean = Image.new(upright.mode, upright.size)
        clean.paste(upright)  # the pixels only: no info, no EXIF travels with them
        if fmt == "JPEG" and clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        options: dict[str, Any] = {"icc_profile": icc} if icc else {}
        if fmt == "JPEG":
            options.update(quality=92, optimize=True)
        elif fmt == "WEBP":
            options.update(quality=90, lossless=bool(image.info.get("lossless")))
        buffer = io.BytesIO()
        clean.save(buffer, fmt, **options)
    return buffer.getvalue(), mime, clean.width, clean.height


def write_private(media_dir: Path, relative: str, content: bytes) -> Path:
    """Write ``content`` at ``media_dir/relative`` readable by this user only (folders 0700, file 0600),
    atomically (a temporary file renamed into place)."""
    target = media_dir / relative
    for folder in (media_dir, target.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask; an existing folder is tightened
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
