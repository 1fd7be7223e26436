"""bots: several bot tokens in one deployment, each bound to its areas (issue 7)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bots',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('area_codes', sa.JSON(), nullable=False),
    sa.Column('updated_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_bots'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_key', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_bot_key'), ['bot_key'], unique=False)
    with op.batch_alter_table('rt_groups', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bot_key', sa.String(length=32), nullable=True))
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_update_bot', sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('last_update_bot')
    with op.batch_alter_table('rt_groups', schema=None) as batch_op:
        batch_op.drop_column('bot_key')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_bot_key'))
        batch_op.drop_column('bot_key')
    op.drop_table('bots')
