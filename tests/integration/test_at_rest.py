"""Personal data at rest: KK numbers are encrypted per field (storage/crypto.py), found and kept unique
by a blind index, readable again only with the key; the SQLite file is the owner's alone."""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, String, insert, select, text, type_coerce

from domain.errors import DuplicateKK
from domain.exports import export_area
from domain.model import Family
from storage.crypto import DataKeyError, Keyring, UndecryptableField, keyring_from_env
from storage.db import create_schema, make_engine, make_session_factory
from storage.keys import rotate
from storage.migrate import downgrade, upgrade
from storage.seed import seed_demo, synthetic_kk
from storage.tables import families, metadata
from storage.uow import SqlUnitOfWork

NOW = dt.datetime(2026, 11, 23, 0, 0, tzinfo=dt.timezone.utc)
SEEDED_KKS = [synthetic_kk(index) for index in range(30)]


def uow_on(engine: Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(make_session_factory(engine))


def seed(engine: Engine):
    with uow_on(engine) as uow:
        area = seed_demo(uow, NOW)
        uow.commit()
    return area


def dump(engine: Engine) -> str:
    """The SQL text of every table, as a backup would hold it (sqlite3's iterdump; PostgreSQL's rows as
    text, what pg_dump writes)."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        with sqlite3.connect(path) as connection:
            return "\n".join(connection.iterdump())
    with engine.connect() as connection:
        return "\n".join(str(row[0]) for table in metadata.sorted_tables
                         for row in connection.execute(text(f'SELECT t::text FROM "{table.name}" t')))


def stored_kk(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(connection.scalars(select(type_coerce(families.c.kk_number, String())).order_by(families.c.id)))


def test_a_dump_without_the_key_shows_no_kk_number(engine: Engine) -> None:
    area = seed(engine)
    text_of_db = dump(engine)
    assert "Rawa Makmur" in text_of_db  # the dump did dump the data
    assert not [kk for kk in SEEDED_KKS if kk in text_of_db]
    assert not [kk for kk in SEEDED_KKS if kk[-8:] in text_of_db]  # not even a run of its digits
    # With the key everything reads as before: look-up, uniqueness, exports.
    with uow_on(engine) as uow:
        family = uow.families.by_kk(SEEDED_KKS[4])
        assert family is not None and family.kk_number == SEEDED_KKS[4]
        assert uow.coordination.kk_taken([SEEDED_KKS[0], "6472010101209999"]) == {SEEDED_KKS[0]}
        with pytest.raises(DuplicateKK):
            uow.families.register(Family(sls_id=family.sls_id, head_name="Someone", kk_number=SEEDED_KKS[4],
                                         members=1, created_at=NOW))
        village = uow.areas.get(area.village_id)
        csv = export_area(uow, village, "csv", NOW)
    assert "····9004" in csv.content.decode()


def test_equal_numbers_are_stored_differently_and_a_changed_byte_is_refused(sqlite_engine: Engine) -> None:
    keyring = Keyring.generate()
    first, second = keyring.encrypt("f", SEEDED_KKS[0]), keyring.encrypt("f", SEEDED_KKS[0])
    assert first != second and keyring.decrypt("f", first) == SEEDED_KKS[0]
    broken = first[:-2] + ("A" if first[-2] != "A" else "B") + first[-1]
    with pytest.raises(UndecryptableField):
        keyring.decrypt("f", broken)
    with pytest.raises(UndecryptableField):  # bound to its field: not readable as another column
        keyring.decrypt("nik", first)
    with pytest.raises(UndecryptableField):  # another deployment's key
        Keyring.generate().decrypt("f", first)


def test_rotation_re_encrypts_every_row_under_the_new_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rotate.db'}"
    old = Keyring.parse("old:" + Keyring.generate().spec().split(":", 1)[1])
    new_only = Keyring.parse("new:" + Keyring.generate().spec().split(":", 1)[1])
    both = Keyring([new_only.current, old.current])
    engine = make_engine(url, keyring=old)
    create_schema(engine)
    seed(engine)
    with uow_on(engine) as uow:  # someone half-way through registering: the number typed is sealed too
        uow.conversations.save(1001, "onboarding.ask_members", {"kk": SEEDED_KKS[20]}, NOW)
        uow.commit()
    engine.dispose()

    engine = make_engine(url, keyring=both)  # the new key put first, the old one kept after it
    with uow_on(engine) as uow:
        assert uow.families.by_kk(SEEDED_KKS[7]) is not None, "rows of the old key are found before rotating"
    done = rotate(engine)
    assert (done.current, done.rewritten, done.before) == ("new", 31, {"old": 31})
    assert all(value.startswith("new:") for value in stored_kk(engine))
    assert rotate(engine).rewritten == 0  # nothing left to do
    engine.dispose()

    engine = make_engine(url, keyring=new_only)  # the old key dropped: everything still reads
    with uow_on(engine) as uow:
        family = uow.families.by_kk(SEEDED_KKS[7])
        assert family is not None and family.kk_number == SEEDED_KKS[7]
        assert uow.conversations.get(1001).data == {"kk": SEEDED_KKS[20]}
        with pytest.raises(DuplicateKK):
            uow.families.register(Family(sls_id=family.sls_id, head_name="X", kk_number=SEEDED_KKS[7],
                                         members=1, created_at=NOW))
    engine.dispose()
    engine = make_engine(url, keyring=old)  # and the old key alone reads nothing any more
    with pytest.raises(UndecryptableField):
        with uow_on(engine) as uow:
            uow.families.get(1)
    engine.dispose()


def test_rotation_rebuilds_the_roster_nik_index_and_fills_it_for_older_records(tmp_path: Path) -> None:
    from domain.model import Record
    from domain.records import correct_record
    from storage.tables import member_niks

    old = Keyring.parse("old:" + Keyring.generate().spec().split(":", 1)[1])
    new = Keyring.parse("new:" + Keyring.generate().spec().split(":", 1)[1])
    engine = make_engine(f"sqlite:///{tmp_path / 'niks.db'}", keyring=old)
    create_schema(engine)
    seed(engine)
    nik = "6472014501900001"
    with uow_on(engine) as uow:
        for family_id, version in ((1, 1), (2, 1)):
            uow.records.add(Record(id=f"r{family_id}", family_id=family_id, form_id="f", form_version="1",
                                   answers={"art_nik[1]": nik}, status="completed", completed_at=NOW,
                                   created_at=NOW, updated_at=NOW))
        correct_record(uow, "r1", {"art_nik[1]": nik}, NOW, targets=())  # indexed under the old key
        uow.commit()
    engine.dispose()

    engine = make_engine(f"sqlite:///{tmp_path / 'niks.db'}", keyring=Keyring([new.current, old.current]))
    rotate(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(member_niks.c.family_id, member_niks.c.nik_index, member_niks.c.key_id)).all()
    # Family 2's record, written without an index, has one now; family 1's is under the new key.
    assert sorted(rows) == [(1, new.blind_index("nik", nik), "new"), (2, new.blind_index("nik", nik), "new")]
    engine.dispose()


def test_migration_encrypts_the_rows_already_there(blank_engine: Engine) -> None:
    upgrade(blank_engine, "0017")
    with blank_engine.begin() as connection:
        connection.execute(text("INSERT INTO areas (id, code, level, name, timezone) "
                                "VALUES (1, '64.72.01.1001.0001', 'sls', 'RT 001', 'Asia/Makassar')"))
        for index, kk in enumerate(SEEDED_KKS[:3]):
            connection.execute(text("INSERT INTO families (sls_id, head_name, kk_number, members, created_at, status, "
                                    "needs_photo) VALUES (1, :name, :kk, 3, :now, 'not_contacted', false)"),
                               {"name": f"Kepala {index}", "kk": kk, "now": NOW.replace(tzinfo=None)})
        connection.execute(text("INSERT INTO conversations (telegram_id, state, data, updated_at) "
                                "VALUES (7, 'onboarding.ask_members', :data, :now)"),
                           {"data": '{"head_name": "Wati", "kk": "%s"}' % SEEDED_KKS[5], "now": NOW.replace(tzinfo=None)})
    upgrade(blank_engine)
    assert not [kk for kk in SEEDED_KKS[:3] if kk in dump_of_families(blank_engine)]
    with blank_engine.connect() as connection:
        assert SEEDED_KKS[5] not in str(connection.scalar(text("SELECT data FROM conversations")))
    with uow_on(blank_engine) as uow:
        assert uow.conversations.get(7).data["kk"] == SEEDED_KKS[5]
    with uow_on(blank_engine) as uow:
        assert [uow.families.by_kk(kk).head_name for kk in SEEDED_KKS[:3]] == ["Kepala 0", "Kepala 1", "Kepala 2"]
    downgrade(blank_engine, "0017")  # and back: the numbers in clear again
    with blank_engine.connect() as connection:
        assert list(connection.scalars(text("SELECT kk_number FROM families ORDER BY id"))) == SEEDED_KKS[:3]
        assert SEEDED_KKS[5] in str(connection.scalar(text("SELECT data FROM conversations")))


def dump_of_families(engine: Engine) -> str:
    return "\n".join(stored_kk(engine))


def test_the_sqlite_file_and_its_wal_are_the_owners_alone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("PINTU_DATA_KEY")
    previous = os.umask(0o022)  # the usual umask, which would make files 0644
    try:
        path = tmp_path / "pintu.db"
        engine = make_engine(f"sqlite:///{path}")
        create_schema(engine)
        seed(engine)
        with engine.connect() as connection:  # a reader open: the WAL and SHM files exist
            connection.execute(text("SELECT count(*) FROM families"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        engine.dispose()
    finally:
        os.umask(previous)
    assert {"pintu.db", "pintu.db-wal", "pintu.db-shm", "pintu.db.key"} <= modes.keys()
    assert set(modes.values()) == {0o600}, modes
    # The development key beside the file is kept: the same database reads after a restart.
    engine = make_engine(f"sqlite:///{path}")
    with uow_on(engine) as uow:
        assert uow.families.by_kk(SEEDED_KKS[1]) is not None
    engine.dispose()


def test_an_older_0644_database_is_made_private_on_start(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_postgresql_refuses_to_work_without_a_data_key() -> None:
    with pytest.raises(DataKeyError, match="PINTU_DATA_KEY is not set"):
        keyring_from_env("postgresql+psycopg://pintu@db/pintu", {})
    with pytest.raises(DataKeyError, match="32 bytes"):
        keyring_from_env("postgresql+psycopg://pintu@db/pintu", {"PINTU_DATA_KEY": "k1:c2hvcnQ"})
    assert keyring_from_env("postgresql+psycopg://pintu@db/pintu",
                            {"PINTU_DATA_KEY": Keyring.generate("k9").spec()}).current.key_id == "k9"


def test_rows_written_without_the_orm_are_encrypted_too(sqlite_engine: Engine) -> None:
    """The column type encrypts, not the ORM: a Core insert (an import, a bench) writes no clear number."""
    with sqlite_engine.begin() as connection:
        connection.execute(text("INSERT INTO areas (id, code, level, name, timezone) "
                                "VALUES (1, '64.72.01.1001.0001', 'sls', 'RT 001', 'Asia/Makassar')"))
        connection.execute(insert(families).values(sls_id=1, head_name="Bulk", kk_number=SEEDED_KKS[9], members=1,
                                                   created_at=NOW, status="not_contacted", needs_photo=False))
    assert SEEDED_KKS[9] not in dump(sqlite_engine)


def test_the_registry_document_carries_the_number_in_clear(engine: Engine, tmp_path: Path) -> None:
    from registry.payload import PayloadBuilder
    from registry_support import make_completed

    kk = "6472010101201234"
    factory = make_session_factory(engine)
    [record_id] = make_completed(lambda: SqlUnitOfWork(factory), NOW, 1, kk=kk)
    assert kk not in dump(engine)
    with factory() as session:
        payload = PayloadBuilder(tmp_path).build_many(session, [record_id])[record_id]
    assert payload.document["family"]["kk_number"] == kk


def test_queries_comparing_the_number_use_the_blind_index(sqlite_engine: Engine) -> None:
    seed(sqlite_engine)
    with uow_on(sqlite_engine) as uow:
        session = uow.session
        assert session.scalar(select(Family.id).where(Family.kk_number == SEEDED_KKS[3])) == 4
        assert sorted(session.scalars(select(Family.id).where(Family.kk_number.in_(SEEDED_KKS[:2])))) == [1, 2]
        assert len(session.scalars(select(Family.id).where(Family.kk_number != SEEDED_KKS[3])).all()) == 29
        assert session.scalar(select(Family.id).where(Family.kk_number == None)) is None  # noqa: E711


def test_a_number_typed_between_two_steps_is_kept_encrypted(engine: Engine) -> None:
    with uow_on(engine) as uow:
        uow.conversations.save(1001, "onboarding.ask_members", {"head_name": "Wati", "kk": SEEDED_KKS[5]}, NOW)
        uow.commit()
    assert SEEDED_KKS[5] not in dump(engine) and "Wati" in dump(engine)
    with uow_on(engine) as uow:
        assert uow.conversations.get(1001).data == {"head_name": "Wati", "kk": SEEDED_KKS[5]}


def test_a_conversation_sealed_under_a_dropped_key_loses_the_number_not_the_chat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dropped.db'}"
    engine = make_engine(url, keyring=Keyring.generate("old"))
    create_schema(engine)
    with uow_on(engine) as uow:
        uow.conversations.save(1001, "onboarding.ask_members", {"head_name": "Wati", "kk": SEEDED_KKS[2]}, NOW)
        uow.commit()
    engine.dispose()
    engine = make_engine(url, keyring=Keyring.generate("new"))
    with uow_on(engine) as uow:
        assert uow.conversations.get(1001).data == {"head_name": "Wati"}
    engine.dispose()


def test_every_nik_of_a_roster_is_kept_encrypted_in_drafts_and_records(engine: Engine) -> None:
    from domain.records import start_record

    seed(engine)
    niks = ["6472014506850003", "3174011208900001"]
    draft = {"values": {"member_nik[1]": niks[0], "member_nik[2]": niks[1], "members": "2", "nik_note": ""},
             "history": ["member_nik[1]"]}
    record = {"roster": [{"member_name": "Siti", "member_nik": niks[0]}, {"member_name": "Budi", "member_nik": niks[1]}],
              "NIK": niks[0]}
    with uow_on(engine) as uow:
        family = uow.families.by_kk(SEEDED_KKS[0])
        first = start_record(uow, family.id, "f", "1", NOW, answers=draft).id
        second = start_record(uow, uow.families.by_kk(SEEDED_KKS[1]).id, "f", "1", NOW, answers=record).id
        uow.commit()
    text_of_db = dump(engine)
    assert "Siti" in text_of_db and not [n for n in niks if n in text_of_db or n[-8:] in text_of_db]
    with uow_on(engine) as uow:
        assert uow.records.get(first).answers == draft  # read back as it was given
        assert uow.records.get(second).answers == record
