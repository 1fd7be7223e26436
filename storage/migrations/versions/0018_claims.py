"""claims: residents' claims on families and the KK attempts behind their rate limits (domain/claims.py)

Revision ID: 0018_claims
Revises: 0017
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0018_claims'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('family_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sls_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('head_name', sa.String(length=120), nullable=False),
    sa.Column('kk_number', sa.String(length=96), nullable=True),
    sa.Column('kk_index', sa.String(length=64), nullable=True),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('via_invite', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_family_claims_decided_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_claims_family_id_families')),
    sa.ForeignKeyConstraint(['sls_id'], ['areas.id'], name=op.f('fk_family_claims_sls_id_areas')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_family_claims_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_claims'))
    )
    op.create_index(op.f('ix_family_claims_family_id'), 'family_claims', ['family_id'], unique=False)
    op.create_index(op.f('ix_family_claims_user_id'), 'family_claims', ['user_id'], unique=False)
    op.create_index('ix_family_claims_sls_status', 'family_claims', ['sls_id', 'status'], unique=False)
    op.create_table('kk_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kk_digest', sa.String(length=64), nullable=False),
    sa.Column('attempted_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kk_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kk_attempts'))
    )
    op.create_index('ix_kk_attempts_user_at', 'kk_attempts', ['user_id', 'attempted_at'], unique=False)
    op.create_index('ix_kk_attempts_digest_at', 'kk_attempts', ['kk_digest', 'attempted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kk_attempts_digest_at', table_name='kk_attempts')
    op.drop_index('ix_kk_attempts_user_at', table_name='kk_attempts')
    op.drop_table('kk_attempts')
    op.drop_index('ix_family_claims_sls_status', table_name='family_claims')
    op.drop_index(op.f('ix_family_claims_user_id'), table_name='family_claims')
    op.drop_index(op.f('ix_family_claims_family_id'), table_name='family_claims')
    op.drop_table('family_claims')
