"""welfare_ranks: the proxy-means welfare ranking per family (domain/ranking.py); fkp_decision_deliveries:
the public consultation's decisions on their way to the registry (domain/fkp_registry.py)

Revision ID: 0027_ranking
Revises: 0030_hours
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0027_ranking'
down_revision = '0030_hours'
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
    op.create_table('fkp_decision_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_key', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_decision_deliveries')),
    sa.UniqueConstraint('decision_key', name=op.f('uq_fkp_decision_deliveries_decision_key'))
    )
    op.create_index('ix_fkp_decision_deliveries_due', 'fkp_decision_deliveries', ['status', 'next_attempt_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_fkp_decision_deliveries_due', table_name='fkp_decision_deliveries')
    op.drop_table('fkp_decision_deliveries')
    op.drop_index(op.f('ix_welfare_ranks_kabkota_code'), table_name='welfare_ranks')
    op.drop_table('welfare_ranks')
