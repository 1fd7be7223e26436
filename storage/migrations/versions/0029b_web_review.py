"""records.reviewed_at / reviewed_by_user_id: a supervisor marked a flagged record as reviewed (web dashboard)

Revision ID: 0029b_web_review
Revises: 0029_web
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0029b_web_review'
down_revision = '0029_web'  # the brief said 0019_privacy; chained after G1's 0029_web once merged (one head)
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', storage.tables.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reviewed_by_user_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_column('reviewed_by_user_id')
        batch_op.drop_column('reviewed_at')
