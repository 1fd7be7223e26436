"""What field capture needs from the simulator, held to the Bot API docs: getFile's 20 MB limit with
Telegram's exact error, live locations moving as edited_message updates, stickers and voice notes."""

from __future__ import annotations

import httpx
import pytest

from sim_helpers import BOT_ID, TOKEN, USER_ID, drain, error, ok
from simulator.testing import SimulatorError, make_png

MB = 1024 * 1024


def test_get_file_refuses_over_20_mb_exactly_as_telegram(sim):
    big = sim.send_document(BOT_ID, USER_ID, b"\x00" * (30 * MB), "rumah.jpg", mime_type="image/jpeg")
    assert big["document"]["file_size"] == 30 * MB
    assert error(sim, "getFile", file_id=big["document"]["file_id"]) == (400, "Bad Request: file is too big")
    edge = sim.send_document(BOT_ID, USER_ID, b"\x01" * (20 * MB), "edge.bin")
    path = ok(sim, "getFile", file_id=edge["document"]["file_id"])["file_path"]
    assert len(httpx.get(f"{sim.url}/file/bot{TOKEN}/{path}", timeout=30).content) == 20 * MB


def test_a_live_location_moves_as_an_edited_message(sim):
    sent = sim.share_location(BOT_ID, USER_ID, -0.55, 117.2, horizontal_accuracy=30, live_period=900)
    moved = sim.move_live_location(BOT_ID, USER_ID, sent["message_id"], -0.5505, 117.2005, horizontal_accuracy=5)
    assert moved["location"] == {"latitude": -0.5505, "longitude": 117.2005, "horizontal_accuracy": 5.0,
                                 "live_period": 900}
    assert moved["message_id"] == sent["message_id"] and "edit_date" in moved
    updates = drain(sim)
    assert [next(k for k in u if k != "update_id") for u in updates] == ["message", "edited_message"]
    assert updates[1]["edited_message"]["location"]["latitude"] == -0.5505
    assert updates[0]["message"]["location"]["latitude"] == -0.55, "the first update keeps the first point"
    view = next(m for m in sim.messages(BOT_ID, USER_ID) if m["message_id"] == sent["message_id"])
    assert view["edited"] == 1 and view["location"]["latitude"] == -0.5505


def test_only_a_running_live_location_of_the_user_can_move(sim):
    still = sim.share_location(BOT_ID, USER_ID, -0.55, 117.2)
    with pytest.raises(SimulatorError, match="not a live location"):
        sim.move_live_location(BOT_ID, USER_ID, still["message_id"], -0.56, 117.21)
    text = sim.send_text(BOT_ID, USER_ID, "halo")
    with pytest.raises(SimulatorError, match="not a live location"):
        sim.move_live_location(BOT_ID, USER_ID, text["message_id"], -0.56, 117.21)
    with pytest.raises(SimulatorError) as missing:
        sim.move_live_location(BOT_ID, USER_ID, 999, -0.56, 117.21)
    assert missing.value.status == 404


def test_a_live_location_cannot_move_after_its_period():
    from simulator.testing import running_simulator

    now = [1_800_000_000.0]
    with running_simulator(rate_limits=False, wall_clock=lambda: now[0]) as sim:
        sim.register_bot(TOKEN, "pintu_test_bot")
        sent = sim.share_location(BOT_ID, USER_ID, -0.55, 117.2, live_period=60)
        now[0] += 61
        with pytest.raises(SimulatorError, match="live period"):
            sim.move_live_location(BOT_ID, USER_ID, sent["message_id"], -0.56, 117.21)


def test_stickers_and_voice_notes(sim):
    sticker = sim.send_sticker(BOT_ID, USER_ID, "🏠")["sticker"]
    assert sticker["emoji"] == "🏠" and sticker["type"] == "regular" and {"file_id", "file_unique_id"} <= set(sticker)
    voice = sim.send_voice(BOT_ID, USER_ID, b"OggS" + b"\x00" * 100, duration=3)["voice"]
    assert (voice["duration"], voice["mime_type"], voice["file_size"]) == (3, "audio/ogg", 104)
    path = ok(sim, "getFile", file_id=voice["file_id"])["file_path"]
    assert httpx.get(f"{sim.url}/file/bot{TOKEN}/{path}").content == b"OggS" + b"\x00" * 100
    kinds = [next(k for k in ("sticker", "voice") if k in u["message"]) for u in drain(sim)]
    assert kinds == ["sticker", "voice"]


def test_an_image_sent_as_a_file_is_a_document_not_a_photo(sim):
    document = sim.send_document(BOT_ID, USER_ID, make_png(30, 20), "rumah.png")
    assert "photo" not in document and document["document"]["mime_type"] == "image/png"


def test_audio_files_and_videos_are_the_bot_apis_audio_and_video(sim):
    """Bot API Audio (duration, title, file_name, mime_type, file_size) and Video (width, height, duration…),
    each fetched with getFile from Telegram's own folders."""
    audio = sim.send_audio(BOT_ID, USER_ID, b"ID3" + b"\x00" * 50, "wawancara.mp3", duration=12, title="Wawancara")
    assert (audio["audio"]["duration"], audio["audio"]["title"], audio["audio"]["file_name"],
            audio["audio"]["mime_type"], audio["audio"]["file_size"]) == (12, "Wawancara", "wawancara.mp3", "audio/mpeg", 53)
    video = sim.send_video(BOT_ID, USER_ID, b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 20, duration=4, width=720, height=1280)
    assert (video["video"]["width"], video["video"]["height"], video["video"]["duration"],
            video["video"]["mime_type"]) == (720, 1280, 4, "video/mp4")
    for item, folder in ((audio["audio"], "music/"), (video["video"], "videos/")):
        path = ok(sim, "getFile", file_id=item["file_id"])["file_path"]
        assert path.startswith(folder) and httpx.get(f"{sim.url}/file/bot{TOKEN}/{path}").content[:3] in (b"ID3", b"\x00\x00\x00")
    kinds = [next(k for k in ("audio", "video") if k in u["message"]) for u in drain(sim)]
    assert kinds == ["audio", "video"]
