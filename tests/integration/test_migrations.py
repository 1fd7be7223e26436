"""The migrations are the one way a database gets its schema: they must build exactly what the models
describe, on SQLite and on PostgreSQL, and must be able to go down and up again."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from storage.migrate import downgrade, upgrade
from storage.tables import metadata

EXPECTED_TABLES = {table.name for table in metadata.sorted_tables}


def _head() -> str:
    """The newest revision of the migration scripts (one head: the chain must stay linear)."""
    from alembic.script import ScriptDirectory

    from storage.migrate import MIGRATIONS

    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert len(heads) == 1, f"the migrations must form one chain, found heads {heads}"
    return heads[0]


HEAD = _head()


def schema_differences(engine: Engine) -> list:
    """What autogenerate would write to make the database match the tables (nothing, we hope)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "target_metadata": metadata},
        )
        return compare_metadata(context, metadata)


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def partial_unique_index(engine: Engine) -> dict:
    indexes = {ix["name"]: ix for ix in inspect(engine).get_indexes("appointments")}
    return indexes["uq_appointments_one_active_per_family"]


def test_migrations_build_the_schema_the_models_describe(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    assert current_revision(blank_engine) == HEAD
    assert tables(blank_engine) == EXPECTED_TABLES
    assert schema_differences(blank_engine) == []
    # The rule "one active appointment per family" lives in this index: it must be unique and partial.
    index = partial_unique_index(blank_engine)
    assert index["unique"]
    where = index["dialect_options"].get(f"{blank_engine.dialect.name}_where")
    assert where is not None and "booked" in str(where)


def test_downgrade_to_base_and_upgrade_again(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    downgrade(blank_engine, "base")
    assert tables(blank_engine) == set()
    assert current_revision(blank_engine) is None
    upgrade(blank_engine)
    assert current_revision(blank_engine) == HEAD
    assert tables(blank_engine) == EXPECTED_TABLES
    assert schema_differences(blank_engine) == []


def test_upgrade_is_idempotent_at_head(blank_engine: Engine) -> None:
    upgrade(blank_engine)
    upgrade(blank_engine)
    assert current_revision(blank_engine) == HEAD
    assert schema_differences(blank_engine) == []


def test_conversations_saved_before_the_flows_were_declared_resume_in_their_step(blank_engine: Engine) -> None:
    """0016 renames the stored states ("family_kk" → "onboarding.family_kk"): a resident halfway
    through registration when the bot is upgraded continues at the same step."""
    from sqlalchemy import text

    from handlers.app import ROUTER
    from handlers.states import State

    upgrade(blank_engine, "0015")
    old = ["family_kk", "pick_time", "qs", "qs_paused", "rh_import", "idle", "something_else"]
    with blank_engine.begin() as connection:
        for n, state in enumerate(old, start=1):
            connection.execute(text("INSERT INTO conversations (telegram_id, state, data, updated_at) "
                                    "VALUES (:id, :state, '{}', '2026-12-01 00:00:00')"), {"id": n, "state": state})
    upgrade(blank_engine)
    with blank_engine.connect() as connection:
        stored = [row[0] for row in connection.execute(text("SELECT state FROM conversations ORDER BY telegram_id"))]
    assert [ROUTER.read_state(s) for s in stored] == [State.FAMILY_KK, State.PICK_TIME, State.QUESTION, State.PAUSED,
                                                     State.IMPORT_LIST, State.IDLE, None]
    downgrade(blank_engine, "0015")
    with blank_engine.connect() as connection:
        assert [row[0] for row in connection.execute(text("SELECT state FROM conversations ORDER BY telegram_id"))] == old


def test_stored_working_weeks_move_to_windows_without_loss(blank_engine: Engine) -> None:
    """0030_hours rewrites each enumerator's one window per weekday as a list of windows (and back)."""
    import json

    from sqlalchemy import text

    from domain.slots import WorkWeek

    upgrade(blank_engine, "0019_privacy")
    old = {"0": ["07:30", "15:00"], "2": ["08:00", "12:00"], "6": ["09:00", "11:00"]}
    with blank_engine.begin() as connection:
        connection.execute(text("INSERT INTO enumerators (id, name, visit_minutes, work_week) VALUES "
                                "(1, 'Rina', 30, :week), (2, 'Agus', 30, NULL)"), {"week": json.dumps(old)})
    upgrade(blank_engine, "0030_hours")
    with blank_engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, work_week FROM enumerators ORDER BY id")).all())
    rina = stored[1] if isinstance(stored[1], dict) else json.loads(stored[1])
    assert rina == {"days": {"0": [["07:30", "15:00"]], "2": [["08:00", "12:00"]], "6": [["09:00", "11:00"]]},
                    "dates": {}}
    assert WorkWeek.from_json(rina) == WorkWeek.from_json(old)
    assert stored[2] is None  # the default week stays the default
    downgrade(blank_engine, "0019_privacy")
    with blank_engine.connect() as connection:
        back = connection.execute(text("SELECT work_week FROM enumerators WHERE id = 1")).scalar_one()
    assert (back if isinstance(back, dict) else json.loads(back)) == old
