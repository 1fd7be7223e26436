"""Shared database fixtures: the same schema (built by the migrations) on SQLite and on PostgreSQL.

- ``sqlite_engine``: a fresh SQLite file per test (WAL, BEGIN IMMEDIATE: the production settings).
- ``pg_engine``: the session's own PostgreSQL database, emptied before each test.
- ``engine``: parametrized over both; ``session_factory`` and ``uow_factory`` follow it.
- ``pg_url``: the URL of the session's PostgreSQL database, to open more engines (one per "process").
- ``blank_engine`` (``blank_sqlite_engine``, ``blank_pg_engine``): an empty database of the test's own,
  no migrations applied (the PostgreSQL one is ``pintu_t_<random>``, dropped after the test).
- ``fake_clock``: a FakeClock standing on Sunday 22 November 2026, 18.00 WITA.

The PostgreSQL server is ``PINTU_TEST_PG_URL`` (default postgresql://postgres@127.0.0.1:5432/test); a
database ``pintu_test_<random>`` is created on it for the session and dropped at the end. Without a
reachable server PostgreSQL tests skip and say why, except with ``CI=true``, where they fail.
"""
from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import create_schema, make_engine, make_session_factory
from storage.tables import metadata
from storage.uow import SqlUnitOfWork

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The tests' data key (storage/crypto.py): PostgreSQL refuses to work without one, and one key for every
# engine lets a test open a second engine (or process) on the same database and read what the first wrote.
TEST_DATA_KEY = "test:dGhlLXRlc3RzLWRhdGEta2V5LW5vdC1hLXNlY3JldCE"
os.environ.setdefault("PINTU_DATA_KEY", TEST_DATA_KEY)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes a minute or two (installs into a clean virtualenv)")


def _admin_conninfo() -> str:
    """The server to create test databases on, as a libpq URL (without SQLAlchemy's driver suffix)."""
    url = make_url(os.environ.get("PINTU_TEST_PG_URL", DEFAULT_PG_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required on CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not reachable ({reason}); set PINTU_TEST_PG_URL to run these tests")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL database of this test session, with the migrations applied; dropped afterwards."""
    import psycopg

    admin = _admin_conninfo()
    name = f"pintu_test_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        _unavailable(f"{make_url(admin).render_as_string()}: {str(error).strip()}")
    url = make_url(admin).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        try:
            create_schema(engine)
        finally:
            engine.dispose()
        yield url
    finally:  # also when the migrations fail: no database is left behind on the server
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            # FORCE (PostgreSQL 13+): a test that leaked a connection must not keep the database alive.
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """An engine on the session's PostgreSQL database, every table emptied first."""
    engine = make_engine(pg_url)
    # DELETE, children first, then restart the id sequences: the same as TRUNCATE ... RESTART
    # IDENTITY CASCADE for tables this small, but ~20 ms instead of ~200 ms (TRUNCATE makes new
    # files for every table and index), which adds up over the many PostgreSQL tests.
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(text(
            "SELECT setval(seq, 1, false) FROM ("
            " SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq"
            " FROM information_schema.columns WHERE table_schema = current_schema()) AS s"
            " WHERE seq IS NOT NULL"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per session; each test gets a copy (a copy is ~1 ms, migrating ~0.2 s)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)
    engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def sqlite_engine(tmp_path, _sqlite_template: Path) -> Iterator[Engine]:
    """A fresh SQLite file with the migrations applied (a file, not memory: threads share it)."""
    path = tmp_path / "pintu.db"
    shutil.copyfile(_sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest) -> Engine:
    """The test runs once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{'pg' if request.param == 'postgresql' else 'sqlite'}_engine")


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def uow_factory(session_factory: sessionmaker[Session]) -> Callable[[], SqlUnitOfWork]:
    return lambda: SqlUnitOfWork(session_factory)


# --- added for the storage/booking integration tests (migrations, booking rules, concurrency) ------

@pytest.fixture
def fake_clock():
    """A clock standing still on Sunday 22 November 2026, 18.00 WITA (10.00 UTC); move it by hand.

    The two weeks after it hold no Indonesian public holiday, and the 2-hour lead time ends before
    Monday's working hours, so every working slot of the week of 23 November is bookable.
    """
    import datetime as dt

    from domain.clock import FakeClock

    return FakeClock(dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc))


@pytest.fixture
def blank_pg_engine() -> Iterator[Engine]:
    """An engine on a brand-new, empty PostgreSQL database of its own (no migrations applied),
    dropped afterwards: for tests that build and tear down the schema themselves."""
    import psycopg

    admin = _admin_conninfo()
    name = f"pintu_t_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        _unavailable(f"{make_url(admin).render_as_string()}: {str(error).strip()}")
    engine = make_engine(make_url(admin).set(drivername="postgresql+psycopg", database=name)
                         .render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def blank_sqlite_engine(tmp_path) -> Iterator[Engine]:
    """An engine on a new, empty SQLite file (no migrations applied)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def blank_engine(request: pytest.FixtureRequest) -> Engine:
    """An empty database (no schema), once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"blank_{'pg' if request.param == 'postgresql' else 'sqlite'}_engine")
