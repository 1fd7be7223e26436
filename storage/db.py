"""Engine and session factory for the embedded default (SQLite) and production (PostgreSQL)."""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.crypto import Keyring, attach_keyring, keyring_from_env, sqlite_path
from storage.orm import start_mappers

PRIVATE = 0o600  # the database holds personal data: its files are the owner's alone


def make_engine(url: str, *, echo: bool = False, pool_size: int = 10, keyring: Keyring | None = None) -> Engine:
    """Create an engine tuned for the backend behind ``url``.

    ``hide_parameters``: a database error's message would otherwise quote the statement's values
    (names, KK numbers, coordinates) into the logs. ``keyring``: the keys of the encrypted columns
    (storage/crypto.py); by default PINTU_DATA_KEY or a development key, resolved on first use.
    """
    start_mappers()
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, echo)
    else:
        if url.startswith("postgresql://"):
            # Name the driver explicitly: psycopg 3 is what we install.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        engine = create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True,
                               hide_parameters=True)
    plain_url = engine.url.render_as_string(hide_password=False)
    attach_keyring(engine.dialect, keyring or (lambda: keyring_from_env(plain_url)))
    return engine


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (its WAL and SHM files take the database's
    mode), and take group and other access away from files an older version made 0644."""
    path = sqlite_path(url)
    if path is None:
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        pass
    except FileNotFoundError:
        return  # no such folder: SQLite says so itself on connecting
    for suffix in ("", "-wal", "-shm", "-journal"):
        file = Path(f"{path}{suffix}")
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(PRIVATE)


def _sqlite_engine(url: str, echo: bool) -> Engine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:") or "mode=memory" in url
    private_sqlite_file(url)
    # An in-memory database lives in one connection: share it, or every session sees an empty one.
    extra = {"poolclass": StaticPool} if in_memory else {}
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False},
                           hide_parameters=True, **extra)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the driver, decide when transactions begin (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads and then
        # writes can fail with "database is locked" without waiting; this one waits its turn instead.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    start_mappers()
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    """Build the schema through Alembic migrations, the one way a database gets its tables."""
    from storage.migrate import upgrade

    upgrade(engine)
