"""Recordings, videos and files for audio, video and file questions (domain/media.py): known by their
first bytes, never by the name or MIME type the sender's app claims; limits per kind."""
from __future__ import annotations

import pytest

from domain import media


@pytest.mark.parametrize("kind, content, expected", [
    ("audio", b"OggS\x00\x02rest", ("audio/ogg", ".ogg")),
    ("audio", b"ID3\x04\x00rest", ("audio/mpeg", ".mp3")),
    ("audio", b"RIFF\x24\x00\x00\x00WAVEfmt ", ("audio/wav", ".wav")),
    ("audio", b"\x00\x00\x00\x20ftypM4A ", ("audio/mp4", ".m4a")),
    ("video", b"\x00\x00\x00\x18ftypmp42", ("video/mp4", ".mp4")),
    ("video", b"\x1a\x45\xdf\xa3webm", ("video/webm", ".webm")),
])
def test_recordings_and_videos_are_known_by_their_bytes(kind: str, content: bytes, expected) -> None:
    assert media.identify(kind, content, "application/octet-stream", "x.bin") == expected


@pytest.mark.parametrize("kind, content, reason", [
    ("audio", b"%PDF-1.4 not a recording", media.WRONG_CONTENT),
    ("video", b"OggS a voice note", media.WRONG_CONTENT),
    ("file", b"", "empty"),
    ("audio", b"OggS" + bytes(media.MAX_BYTES["audio"]), "too-large"),
])
def test_what_cannot_answer_is_refused_with_its_reason(kind: str, content: bytes, reason: str) -> None:
    with pytest.raises(media.MediaRejected) as refused:
        media.identify(kind, content, "audio/ogg", "voice.ogg")
    assert refused.value.reason == reason


def test_a_file_keeps_its_claimed_type_and_a_safe_suffix_only() -> None:
    assert media.identify("file", b"%PDF", "application/pdf", "surat.PDF") == ("application/pdf", ".pdf")
    assert media.identify("file", b"data", "text/html; charset=x", "../../etc/passwd") == (
        "application/octet-stream", ".bin")
    assert media.too_large("video", 21 * 1024 * 1024) and not media.too_large("video", None)
