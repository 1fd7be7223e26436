"""coordination: family status, visit outcomes, nudges, RT groups (issue 6)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), server_default='not_contacted', nullable=False))
        batch_op.add_column(sa.Column('status_at', storage.tables.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_families_sls_status', ['sls_id', 'status'], unique=False)
    # Backfill: a completed record wins, else an active appointment means booked.
    op.execute(
        "UPDATE families SET status = 'booked', status_at = ("
        " SELECT max(a.updated_at) FROM appointments a WHERE a.family_id = families.id AND a.status = 'booked')"
        " WHERE EXISTS (SELECT 1 FROM appointments a WHERE a.family_id = families.id AND a.status = 'booked')"
    )
    op.execute(
        "UPDATE families SET status = 'completed', status_at = ("
        " SELECT max(r.completed_at) FROM records r WHERE r.family_id = families.id AND r.status = 'completed')"
        " WHERE EXISTS (SELECT 1 FROM records r WHERE r.family_id = families.id AND r.status = 'completed')"
    )
    op.create_table('visit_outcomes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('enumerator_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_visit_outcomes_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['enumerator_id'], ['enumerators.id'], name=op.f('fk_visit_outcomes_enumerator_id_enumerators')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_visit_outcomes_family_id_families')),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_visit_outcomes_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_outcomes'))
    )
    op.create_index('ix_visit_outcomes_enumerator_recorded', 'visit_outcomes', ['enumerator_id', 'recorded_at'], unique=False)
    op.create_index(op.f('ix_visit_outcomes_family_id'), 'visit_outcomes', ['family_id'], unique=False)
    op.create_table('family_nudges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('sent_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_nudges_family_id_families')),
    sa.ForeignKeyConstraint(['sent_by_user_id'], ['users.id'], name=op.f('fk_family_nudges_sent_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_family_nudges')),
    sa.UniqueConstraint('family_id', 'day', name='uq_family_nudges_family_id_day')
    )
    op.create_table('rt_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('sls_id', sa.Integer(), nullable=False),
    sa.Column('linked_by_user_id', sa.Integer(), nullable=True),
    sa.Column('linked_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['linked_by_user_id'], ['users.id'], name=op.f('fk_rt_groups_linked_by_user_id_users')),
    sa.ForeignKeyConstraint(['sls_id'], ['areas.id'], name=op.f('fk_rt_groups_sls_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rt_groups')),
    sa.UniqueConstraint('chat_id', name=op.f('uq_rt_groups_chat_id')),
    sa.UniqueConstraint('sls_id', name=op.f('uq_rt_groups_sls_id'))
    )


def downgrade() -> None:
    op.drop_table('rt_groups')
    op.drop_table('family_nudges')
    op.drop_index(op.f('ix_visit_outcomes_family_id'), table_name='visit_outcomes')
    op.drop_index('ix_visit_outcomes_enumerator_recorded', table_name='visit_outcomes')
    op.drop_table('visit_outcomes')
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_index('ix_families_sls_status')
        batch_op.drop_column('status_at')
        batch_op.drop_column('status')
