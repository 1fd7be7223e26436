"""supervision: area-scoped roles for supervisors and coordinators (issue 6)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_area_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_scope_area_id'), ['scope_area_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_scope_area_id_areas'), 'areas', ['scope_area_id'], ['id'])
    op.create_table('campaign_windows',
    sa.Column('area_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('updated_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['areas.id'], name=op.f('fk_campaign_windows_area_id_areas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('area_id', name=op.f('pk_campaign_windows'))
    )


def downgrade() -> None:
    op.drop_table('campaign_windows')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_scope_area_id_areas'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_scope_area_id'))
        batch_op.drop_column('scope_area_id')
