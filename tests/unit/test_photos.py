"""House photos: real images are kept (decoded, not guessed by name), anything else is refused with a
reason; the file is private, named unguessably and known by its SHA-256. Also the transports' download
of attachments (bot/transport.py fetch_attachment): the 20 MB limit and failures never crash."""
from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import io
import stat
from functools import lru_cache
from pathlib import Path

import pytest
from PIL import Image

from bot.transport import fetch_attachment
from chat.client import TelegramRefused
from domain import photos
from domain.errors import RecordStateError
from domain.model import Family, RecordPhoto
from domain.photos import PhotoRejected, inspect_image, store_photo
from domain.records import start_record
from chat.events import Attachment, Incoming, Sender
from simulator.testing import make_png
from storage.db import create_schema, make_engine, make_session_factory
from storage.seed import seed_demo
from storage.uow import SqlUnitOfWork

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.timezone.utc)


def image_bytes(fmt: str, size=(32, 24), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (30, 120, 200) if mode == "RGB" else 1).save(buffer, fmt)
    return buffer.getvalue()


JPEG = image_bytes("JPEG")
PNG = make_png(40, 30)  # written by hand, not by Pillow
WEBP = image_bytes("WEBP")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


# --- checking the bytes ---------------------------------------------------------------------------

@pytest.mark.parametrize("content, mime, size", [
    (JPEG, "image/jpeg", (32, 24)), (PNG, "image/png", (40, 30)), (WEBP, "image/webp", (32, 24)),
])
def test_real_images_are_recognised_with_their_dimensions(content, mime, size):
    assert inspect_image(content) == (mime, *size)


@pytest.mark.parametrize("content, reason", [
    (PDF, photos.NOT_IMAGE),  # a PDF named rumah.jpg is still a PDF
    (b"Ini foto rumah saya, percayalah.", photos.NOT_IMAGE),  # text named .jpg
    (JPEG[: len(JPEG) // 2], photos.NOT_IMAGE),  # a JPEG cut in half: the header alone proves nothing
    (PNG[:-20], photos.NOT_IMAGE),  # PNG without its end
    (image_bytes("GIF"), photos.NOT_IMAGE),  # an image, but not a photo format we keep
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, photos.NOT_IMAGE),  # a JPEG signature with nothing behind it
    (b"", photos.EMPTY),
    (b"\x00" * (20 * 1024 * 1024 + 1), photos.TOO_LARGE),
    (image_bytes("PNG", (8000, 6000), mode="1"), photos.TOO_LARGE),  # 48 megapixels in 7 kB: a bomb
])
def test_anything_else_is_refused_with_a_reason(content, reason):
    with pytest.raises(PhotoRejected) as refused:
        inspect_image(content)
    assert refused.value.reason == reason


# --- storing ----------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _template():
    engine = make_engine("sqlite://")
    create_schema(engine)
    with SqlUnitOfWork(make_session_factory(engine)) as uow:
        seed_demo(uow, NOW)
        uow.commit()
    return engine


@pytest.fixture
def uow():
    engine = make_engine("sqlite://")
    with _template().connect() as source, engine.connect() as target:
        source.connection.driver_connection.backup(target.connection.driver_connection)
    with SqlUnitOfWork(make_session_factory(engine)) as unit:
        yield unit
    engine.dispose()


@pytest.fixture
def record(uow):
    family = uow.session.query(Family).order_by(Family.id).first()
    return start_record(uow, family.id, "regsosek", "1", NOW)


def test_a_photo_is_stored_privately_with_its_hash_size_dimensions_time_and_sender(uow, record, tmp_path):
    media = tmp_path / "media"
    photo = store_photo(uow, media, record, JPEG, sender_telegram_id=4242, now=NOW)
    file = media / photo.path
    assert file.read_bytes() == JPEG
    assert photo.sha256 == hashlib.sha256(JPEG).hexdigest() and photo.size == len(JPEG)
    assert (photo.width, photo.height, photo.mime, photo.taken_at, photo.sender) == (32, 24, "image/jpeg", NOW, 4242)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(media.stat().st_mode) == 0o700 and stat.S_IMODE(file.parent.stat().st_mode) == 0o700
    name = Path(photo.path).stem
    assert len(name) == 32 and int(name, 16) >= 0 and photo.sha256[:8] not in name  # random, not the hash
    assert not list(file.parent.glob(".*.tmp"))
    assert uow.records.photos(record.id) == [photo]


def test_the_same_photo_sent_twice_is_kept_once(uow, record, tmp_path):
    first = store_photo(uow, tmp_path, record, PNG, sender_telegram_id=1, now=NOW)
    again = store_photo(uow, tmp_path, record, PNG, sender_telegram_id=1, now=NOW)
    assert again.id == first.id and uow.session.query(RecordPhoto).count() == 1
    assert len(list((tmp_path / "photos").iterdir())) == 1


def test_a_refused_file_leaves_nothing_behind(uow, record, tmp_path):
    with pytest.raises(PhotoRejected):
        store_photo(uow, tmp_path, record, PDF, sender_telegram_id=1, now=NOW)
    assert uow.session.query(RecordPhoto).count() == 0 and not (tmp_path / "photos").exists()


def test_a_completed_record_takes_no_photo(uow, record, tmp_path):
    record.status = "completed"
    with pytest.raises(RecordStateError):
        store_photo(uow, tmp_path, record, JPEG, sender_telegram_id=1, now=NOW)


def test_an_existing_media_folder_is_made_private(uow, record, tmp_path):
    media = tmp_path / "media"
    media.mkdir(mode=0o755)
    media.chmod(0o755)
    store_photo(uow, media, record, WEBP, sender_telegram_id=1, now=NOW)
    assert stat.S_IMODE(media.stat().st_mode) == 0o700


# --- the transports' download ----------------------------------------------------------------------

def event_with(attachment: Attachment | None) -> Incoming:
    return Incoming(Sender(1, "Wati"), 1, attachment=attachment)


def fetch(event: Incoming, download, timeout: float = 5.0) -> Incoming:
    return asyncio.run(fetch_attachment(event, download, timeout))


def test_a_photo_and_a_document_are_downloaded():
    asked = []

    async def download(file_id: str) -> bytes:
        asked.append(file_id)
        return JPEG

    for kind in ("photo", "document"):
        got = fetch(event_with(Attachment(kind, f"id-{kind}", file_size=len(JPEG))), download).attachment
        assert (got.content, got.error) == (JPEG, None)
    assert asked == ["id-photo", "id-document"]


def test_over_20_mb_is_never_downloaded():
    async def download(file_id: str) -> bytes:
        raise AssertionError("getFile must not be called for a file over 20 MB")

    got = fetch(event_with(Attachment("document", "big", file_size=30 * 1024 * 1024)), download).attachment
    assert (got.content, got.error) == (None, photos.TOO_LARGE)


@pytest.mark.parametrize("failure, error", [
    (TelegramRefused("bad_request", "Bad Request: file is too big"), photos.TOO_LARGE),
    (TelegramRefused("bad_request", "Bad Request: invalid file_id"), photos.DOWNLOAD_FAILED),
    (TelegramRefused("network", "Timed out"), photos.DOWNLOAD_FAILED),
    (ConnectionResetError("reset"), photos.DOWNLOAD_FAILED),
])
def test_a_failed_download_becomes_an_error_not_a_crash(failure, error):
    async def download(file_id: str) -> bytes:
        raise failure

    got = fetch(event_with(Attachment("photo", "p")), download).attachment
    assert (got.content, got.error) == (None, error)


def test_a_download_that_hangs_is_given_up():
    async def download(file_id: str) -> bytes:
        await asyncio.sleep(10)
        return JPEG

    got = fetch(event_with(Attachment("photo", "p")), download, timeout=0.05).attachment
    assert (got.content, got.error) == (None, photos.DOWNLOAD_FAILED)


def test_stickers_and_plain_messages_are_not_downloaded():
    async def download(file_id: str) -> bytes:
        raise AssertionError("nothing to download")

    for attachment in (Attachment("sticker", "s"), None):
        event = event_with(attachment)
        assert fetch(event, download) == event


def test_a_file_is_downloaded_only_when_a_step_asks_for_it():
    """The transport gives the attachment a fetch; nothing is downloaded until a handler calls it
    (from its worker thread), and then once, through the event loop."""
    from bot.transport import downloadable
    from chat.events import fetched

    calls: list[str] = []

    async def download(file_id: str) -> bytes:
        calls.append(file_id)
        return b"OggS voice"

    async def scenario() -> tuple[Attachment, list[str]]:
        event = downloadable(event_with(Attachment("voice", "v1", file_size=10)), download)
        before = list(calls)
        got = await asyncio.to_thread(fetched, event.attachment)
        return got, before

    got, before = asyncio.run(scenario())
    assert before == [] and calls == ["v1"]
    assert got.content == b"OggS voice" and got.error is None


# --- metadata is not kept ---------------------------------------------------------------------------

def _jpeg_with_gps_sideways() -> bytes:
    """A 40x20 picture, stored as 20x40 with EXIF orientation 6 (turn 90° clockwise to view), with the
    phone's make, model and GPS position; its top half is red, bottom half blue when upright."""
    from PIL import ExifTags
    upright = Image.new("RGB", (40, 20), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 40, 10))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote; orientation 6 undoes it
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pintu-Test-Phone SN123456"
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S", ExifTags.GPS.GPSLatitude: (6.0, 12.0, 30.0),
                                  ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (106.0, 49.0, 5.0)}
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def test_a_photo_sent_as_a_file_loses_its_gps_and_phone_identity_and_stays_upright(uow, record, tmp_path):
    original = _jpeg_with_gps_sideways()
    with Image.open(io.BytesIO(original)) as check:  # the test input really carries what must go
        assert check.getexif().get_ifd(0x8825) and b"SN123456" in original
    photo = store_photo(uow, tmp_path, record, original, sender_telegram_id=7, now=NOW)
    stored = (tmp_path / photo.path).read_bytes()
    assert photo.sha256 == hashlib.sha256(stored).hexdigest() and photo.size == len(stored)
    assert b"SN123456" not in stored and b"PhoneMaker" not in stored and b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and len(image.getexif()) == 0 and "exif" not in image.info
        assert image.size == (40, 20) and (photo.width, photo.height) == (40, 20)  # upright: landscape
        red, blue = image.convert("RGB").getpixel((20, 3)), image.convert("RGB").getpixel((20, 16))
        assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60  # red on top, blue below
    again = store_photo(uow, tmp_path, record, original, sender_telegram_id=7, now=NOW)
    assert again.id == photo.id  # the same file sent twice is still kept once


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_metadata_of_png_and_webp_is_not_kept_either(uow, record, tmp_path, fmt):
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 200, 10)).save(buffer, fmt, exif=exif)
    photo = store_photo(uow, tmp_path, record, buffer.getvalue(), sender_telegram_id=7, now=NOW)
    stored = (tmp_path / photo.path).read_bytes()
    assert b"PhoneMaker" not in stored and photo.sha256 == hashlib.sha256(stored).hexdigest()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == fmt and image.size == (16, 12) and len(image.getexif()) == 0
