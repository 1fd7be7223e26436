"""welfare_ranks: the proxy-means welfare ranking per family (domain/ranking.py)

Revision ID: 0027_ranking
Revises: 0019_privacy
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0027_ranking'
down_revision = '0019_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('welfare_ranks',
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('kabkota_code', sa.String(length=32), nullable=False),
    sa.Column('score', sa.Double(), nullable=False),
    sa.Column('decile', sa.Integer(), nullable=False),
    sa.Column('model_group', sa.Integer(), nullable=False),
    sa.Column('final_group', sa.Integer(), nullable=False),
    sa.Column('override_source', sa.Text(), nullable=True),
    sa.Column('model_version', sa.String(length=80), nullable=False),
    sa.Column('ranked_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_welfare_ranks_family_id_families'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('family_id', name=op.f('pk_welfare_ranks'))
    )
    op.create_index(op.f('ix_welfare_ranks_kabkota_code'), 'welfare_ranks', ['kabkota_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_welfare_ranks_kabkota_code'), table_name='welfare_ranks')
    op.drop_table('welfare_ranks')
