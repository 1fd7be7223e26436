"""working time with several windows a day and opted-in dates; area limits and cuti bersama; home times

- enumerators.work_week: ``{"0": ["08:00", "16:00"], …}`` (one window per weekday) becomes
  ``{"days": {"0": [["08:00", "16:00"]], …}, "dates": {}}`` (domain/slots.py WorkWeek), nothing lost;
  downgrade keeps each weekday's first window (the old shape holds only one) and drops opened dates.
- areas.work_earliest, work_latest, cuti_bersama_open: the area's working-time rules.
- families.home_times: when the family is usually home.

Revision ID: 0030_hours
Revises: 0027b_family_position
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0030_hours'
down_revision = '0027b_family_position'
branch_labels = None
depends_on = None

_enumerators = sa.table('enumerators', sa.column('id', sa.Integer()), sa.column('work_week', sa.JSON()))


def _rewrite_weeks(convert) -> None:  # type: ignore[no-untyped-def]
    connection = op.get_bind()
    rows = connection.execute(sa.select(_enumerators.c.id, _enumerators.c.work_week)
                              .where(_enumerators.c.work_week.isnot(None))).all()
    for enumerator_id, week in rows:
        if week:
            connection.execute(_enumerators.update().where(_enumerators.c.id == enumerator_id)
                               .values(work_week=convert(week)))


def _to_windows(week: dict) -> dict:
    if "days" in week or "dates" in week:
        return week  # already the new shape
    return {"days": {day: [list(hours)] for day, hours in week.items()}, "dates": {}}


def _to_one_window(week: dict) -> dict:
    if "days" not in week:
        return week
    return {day: list(windows[0]) for day, windows in week["days"].items() if windows}


def upgrade() -> None:
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_earliest', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('work_latest', sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column('cuti_bersama_open', sa.Boolean(), nullable=True))
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('home_times', sa.JSON(), nullable=True))
    _rewrite_weeks(_to_windows)


def downgrade() -> None:
    _rewrite_weeks(_to_one_window)
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy: copying ``areas`` means dropping it, which the
    # families' foreign keys to it forbid once there are rows.
    op.drop_column('families', 'home_times')
    for column in ('cuti_bersama_open', 'work_latest', 'work_earliest'):
        op.drop_column('areas', column)
