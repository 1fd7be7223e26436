"""member_niks: the blind index of each roster NIK, for the same NIK in two families (review list)

Revision ID: 0023_member_niks
Revises: 0019_privacy
Create Date: 2026-12-02

Records completed before this revision get their rows from `pintu keys rotate` (which rebuilds the
table from the records' answers): a migration has no data key to compute the HMAC with.
"""
from alembic import op
import sqlalchemy as sa


revision = '0023_member_niks'
down_revision = '0019_privacy'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('member_niks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('nik_index', sa.String(length=64), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_member_niks_family_id_families')),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_member_niks_record_id_records'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_niks'))
    )
    op.create_index(op.f('ix_member_niks_nik_index'), 'member_niks', ['nik_index'], unique=False)
    op.create_index(op.f('ix_member_niks_record_id'), 'member_niks', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_member_niks_record_id'), table_name='member_niks')
    op.drop_index(op.f('ix_member_niks_nik_index'), table_name='member_niks')
    op.drop_table('member_niks')
