"""family_claims: the house a resident gave while claiming a family (address, position)

Families already have address, latitude and longitude (0001, 0010); a resident's claim that waits for
the RT head now carries them too, so the family created or linked on approval gets them.

Revision ID: 0027b_family_position
Revises: 0023_member_niks
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0027b_family_position'
down_revision = '0023_member_niks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('family_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('family_claims', schema=None) as batch_op:
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('address')
