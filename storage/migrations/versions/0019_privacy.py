"""privacy_requests: corrections and erasures asked by residents (domain/privacy.py)

Revision ID: 0019_privacy
Revises: 0020_audit
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0019_privacy'
down_revision = '0020_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('telegram_id', sa.BigInteger(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('sls_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    op.create_index('ix_privacy_requests_status', 'privacy_requests', ['status', 'created_at'], unique=False)
    op.create_index(op.f('ix_privacy_requests_telegram_id'), 'privacy_requests', ['telegram_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_requests_telegram_id'), table_name='privacy_requests')
    op.drop_index('ix_privacy_requests_status', table_name='privacy_requests')
    op.drop_table('privacy_requests')
