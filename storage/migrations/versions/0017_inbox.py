"""inbox: updates received by long polling, kept until handled (bot/inbox.py)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('bot_key', sa.String(length=32), nullable=False),
    sa.Column('update_id', sa.BigInteger(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('received_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('handled_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('bot_key', 'update_id', name=op.f('pk_inbox'))
    )


def downgrade() -> None:
    op.drop_table('inbox')
