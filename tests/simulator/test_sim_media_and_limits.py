"""Image headers, photo sizes and the token buckets, without a server."""

from __future__ import annotations

import struct

import pytest

from simulator.config import SimulatorConfig
from simulator.errors import ApiError
from simulator.media import FileStore, image_size, photo_ladder
from simulator.ratelimit import RateLimiter
from simulator.testing import FakeClock, make_png


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def webp_vp8x(width: int, height: int) -> bytes:
    payload = b"\x00" * 4 + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBPVP8X" + struct.pack("<I", len(payload)) + payload


def webp_lossless(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    payload = b"\x2f" + bits.to_bytes(4, "little")
    return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBPVP8L" + struct.pack("<I", len(payload)) + payload


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (make_png(640, 480), (640, 480)),
        (jpeg(1024, 768), (1024, 768)),
        (b"GIF89a" + struct.pack("<HH", 33, 44) + b"\x00" * 10, (33, 44)),
        (webp_vp8x(300, 200), (300, 200)),
        (webp_lossless(120, 90), (120, 90)),
        (b"not an image", None),
    ],
)
def test_image_size_from_headers(data, size):
    assert image_size(data) == size


def test_photo_ladder_keeps_thumbnails_below_the_original():
    assert photo_ladder(1000, 500) == [(90, 45), (320, 160), (800, 400), (1000, 500)]
    assert photo_ladder(50, 40) == [(50, 40)]
    assert photo_ladder(4000, 3000)[-1] == (2560, 1920)


def test_photo_sizes_have_distinct_ids_and_share_the_bytes():
    store = FileStore()
    data = make_png(800, 600)
    sizes = store.add_photo(data)
    assert len(sizes) == 3
    assert len({s["file_id"] for s in sizes}) == len({s["file_unique_id"] for s in sizes}) == 3
    assert all(store.get(s["file_id"]).data == data for s in sizes)


@pytest.mark.parametrize(
    ("data", "description"),
    [(b"junk", "Bad Request: IMAGE_PROCESS_FAILED"), (make_png(2100, 100), "Bad Request: PHOTO_INVALID_DIMENSIONS")],
)
def test_unacceptable_photos(data, description):
    with pytest.raises(ApiError) as caught:
        FileStore().add_photo(data)
    assert caught.value.description == description


def limiter(clock: FakeClock, **settings: object) -> RateLimiter:
    return RateLimiter(SimulatorConfig(clock=clock, **settings))


def test_private_chat_allows_a_burst_then_one_per_second():
    clock = FakeClock()
    limits = limiter(clock)
    for _ in range(3):
        limits.acquire(1, 10, "private")
    with pytest.raises(ApiError) as caught:
        limits.acquire(1, 10, "private")
    assert caught.value.code == 429
    assert caught.value.retry_after == 1
    limits.acquire(1, 11, "private")  # another chat has its own bucket
    clock.advance(1.0)
    limits.acquire(1, 10, "private")


def test_group_allows_twenty_per_minute():
    clock = FakeClock()
    limits = limiter(clock)
    for _ in range(20):
        limits.acquire(1, -5, "group")
    with pytest.raises(ApiError) as caught:
        limits.acquire(1, -5, "group")
    assert caught.value.retry_after == 3  # one message every 3 s
    clock.advance(3)
    limits.acquire(1, -5, "group")


def test_global_limit_across_chats_and_refusals_cost_nothing():
    clock = FakeClock()
    limits = limiter(clock, global_per_second=5, private_burst=1)
    for chat in range(5):
        limits.acquire(1, chat, "private")
    with pytest.raises(ApiError):
        limits.acquire(1, 99, "private")
    clock.advance(0.2)
    limits.acquire(1, 99, "private")  # the refused attempt did not spend chat 99's token
    limits.acquire(2, 99, "private")  # another bot has its own global bucket


def test_limits_can_be_switched_off():
    limits = limiter(FakeClock(), rate_limits=False)
    for _ in range(100):
        limits.acquire(1, 10, "private")
