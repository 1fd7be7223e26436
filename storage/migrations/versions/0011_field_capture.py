"""field capture: geotags, geofence flags, photo requests (issue 3)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.add_column(sa.Column('boundary', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('centre_latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('centre_longitude', sa.Double(), nullable=True))
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('needs_photo', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('geo_by', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('geo_sender', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('geo_flag', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('geo_live_until', storage.tables.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_column('geo_live_until')
        batch_op.drop_column('geo_flag')
        batch_op.drop_column('geo_sender')
        batch_op.drop_column('geo_by')
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_column('needs_photo')
    with op.batch_alter_table('areas', schema=None) as batch_op:
        batch_op.drop_column('centre_longitude')
        batch_op.drop_column('centre_latitude')
        batch_op.drop_column('boundary')
