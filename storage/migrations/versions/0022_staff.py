"""staff: invites withdrawn before use (pintu invite revoke)

Revision ID: 0022_staff
Revises: 0021_field_encryption
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0022_staff'
down_revision = '0021_field_encryption'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('revoked_invites',
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'nonce', name=op.f('pk_revoked_invites'))
    )


def downgrade() -> None:
    op.drop_table('revoked_invites')
