"""Every process checks at start that its media folder is writable and is the deployment's shared one
(bot/media_store.py), on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.media_store import MARKER, MediaStoreRefused, adopt, ensure_shared_media

NOW = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.timezone.utc)


def test_processes_sharing_the_folder_start_and_agree_on_the_store(engine, tmp_path) -> None:
    shared = tmp_path / "volume"
    first = ensure_shared_media(engine, shared, NOW)
    assert (shared / MARKER).read_text().strip() == first
    assert ensure_shared_media(engine, shared, NOW) == first  # another container, same volume
    assert ensure_shared_media(engine, tmp_path / "other-cwd" / ".." / "volume", NOW) == first


def test_a_per_container_folder_is_refused_with_what_to_fix(engine, tmp_path) -> None:
    ensure_shared_media(engine, tmp_path / "volume", NOW)
    with pytest.raises(MediaStoreRefused) as refused:
        ensure_shared_media(engine, tmp_path / "tmpfs-of-the-dispatcher", NOW)
    message = str(refused.value)
    assert "PINTU_MEDIA_DIR" in message and "not the shared media folder" in message
    assert "pintu media adopt" in message


def test_a_folder_of_another_store_is_refused_even_after_restarts(engine, tmp_path) -> None:
    ensure_shared_media(engine, tmp_path / "bot-volume", NOW)
    foreign = tmp_path / "dispatcher-tmpfs"
    foreign.mkdir()
    (foreign / MARKER).write_text("0123456789abcdef\n")  # it raced the bot at the first start, and lost
    for _ in range(2):
        with pytest.raises(MediaStoreRefused, match="another media store"):
            ensure_shared_media(engine, foreign, NOW)


def test_a_folder_that_cannot_be_written_is_refused(engine, tmp_path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(MediaStoreRefused, match="not writable"):
        ensure_shared_media(engine, blocker / "media", NOW)


def test_a_new_store_chosen_on_purpose_is_adopted(engine, tmp_path) -> None:
    store = ensure_shared_media(engine, tmp_path / "old-disk", NOW)
    assert adopt(engine, tmp_path / "new-disk", NOW) == store
    assert ensure_shared_media(engine, tmp_path / "new-disk", NOW) == store
