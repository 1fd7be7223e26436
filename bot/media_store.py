"""The media folder every process shares, checked before a process starts working.

Photos are written by whichever bot process received them and read by the dispatcher that forwards
the record to the registry, possibly in another container: they must all use one folder (in the
shipped compose file, the named volume ``media``). A folder that only looks right — a per-container
tmpfs, a relative path resolved in another working directory, a volume mounted in one service only —
would park every record with a photo and lose the photos on restart, so a process refuses to start
unless its folder is writable *and* is the one the database knows:

- the first process of a deployment writes a random id into ``<media>/.pintu-media-store`` and
  records the same id in the database (``deployment_facts``);
- every later process finds the marker in its folder and compares it with the database's.

A deliberately new, empty store (photos moved to another disk) is adopted with ``pintu media adopt``.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from storage.tables import deployment_facts

MARKER = ".pintu-media-store"
FACT = "media_store"


class MediaStoreRefused(RuntimeError):
    """The process must not start: the message says what is wrong and how to fix it."""


def ensure_shared_media(engine: Engine, media_dir: str | os.PathLike[str], now: dt.datetime) -> str:
    """The store's id once ``media_dir`` is writable and is the deployment's shared folder."""
    folder = Path(media_dir).resolve()
    _check_writable(folder)
    known = _known_id(engine)
    found = _marker_id(folder)
    if known is None:  # the deployment's first process: this folder becomes the store
        found = found or _claim_marker(folder)
        known = _record_id(engine, found, now)
    if found is None:
        raise MediaStoreRefused(
            f"PINTU_MEDIA_DIR {folder} is not the shared media folder of this database: it has no "
            f"{MARKER} marker, so photos taken by other processes are not in it (a per-container "
            f"/tmp, a relative path in another working directory, or a volume mounted in one service "
            f"only?). Point PINTU_MEDIA_DIR of every bot and dispatcher at the same folder (compose: "
            f"the 'media' volume). If you moved the photos to this new folder on purpose, run "
            f"'pintu media adopt'.")
    if found != known:
        raise MediaStoreRefused(
            f"PINTU_MEDIA_DIR {folder} belongs to another media store ({found}) than this database's "
            f"({known}): this process would not see the photos the others took. Point PINTU_MEDIA_DIR "
            f"of every bot and dispatcher at the same folder (compose: the 'media' volume).")
    return known


def adopt(engine: Engine, media_dir: str | os.PathLike[str], now: dt.datetime) -> str:
    """Make ``media_dir`` this database's store (``pintu media adopt``): writes the known id into it."""
    folder = Path(media_dir).resolve()
    _check_writable(folder)
    known = _known_id(engine) or _record_id(engine, secrets.token_hex(16), now)
    _write_atomically(folder / MARKER, known)
    return known


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".pintu-probe-{secrets.token_hex(8)}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as error:
        raise MediaStoreRefused(
            f"PINTU_MEDIA_DIR {folder} is not writable ({error.strerror or error}): photos could not be "
            f"stored. Mount a writable volume there (compose: the 'media' volume) or set PINTU_MEDIA_DIR "
            f"to a writable folder shared by every bot and dispatcher.") from None


def _marker_id(folder: Path) -> str | None:
    try:
        return (folder / MARKER).read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None


def _claim_marker(folder: Path) -> str:
    """Write a new id into the folder, unless a process sharing it got there first (then use theirs)."""
    candidate = secrets.token_hex(16)
    try:
        with open(folder / MARKER, "x", encoding="ascii") as marker:
            marker.write(candidate + "\n")
        return candidate
    except FileExistsError:
        return _marker_id(folder) or candidate


def _write_atomically(path: Path, value: str) -> None:
    temporary = path.with_name(path.name + ".new")
    temporary.write_text(value + "\n", encoding="ascii")
    temporary.replace(path)


def _known_id(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(deployment_facts.c.value)
                                  .where(deployment_facts.c.name == FACT)).scalar_one_or_none()


def _record_id(engine: Engine, value: str, now: dt.datetime) -> str:
    """Record ``value`` as the store's id unless another process recorded one first; the id that won."""
    try:
        with engine.begin() as connection:
            connection.execute(insert(deployment_facts).values(name=FACT, value=value, created_at=now))
    except IntegrityError:
        pass
    known = _known_id(engine)
    assert known is not None
    return known
