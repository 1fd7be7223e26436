"""reminders: appointments.confirmed_at, families' coordinates, reminder_settings, daily_digests

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0010'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_at', storage.tables.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))
    op.create_table('reminder_settings',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('evening_at', sa.String(length=5), nullable=True),
    sa.Column('before_minutes', sa.Integer(), nullable=True),
    sa.Column('confirm_by', sa.String(length=5), nullable=True),
    sa.Column('schedule_at', sa.String(length=5), nullable=True),
    sa.Column('summary_at', sa.String(length=5), nullable=True),
    sa.Column('updated_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_reminder_settings_area_id_areas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('area_id', name=op.f('pk_reminder_settings'))
    )
    op.create_table('daily_digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_digests')),
    sa.UniqueConstraint('kind', 'chat_id', 'day', name='uq_daily_digests_kind_chat_id_day')
    )


def downgrade() -> None:
    op.drop_table('daily_digests')
    op.drop_table('reminder_settings')
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_column('confirmed_at')
