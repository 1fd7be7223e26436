"""fkp: the public consultation's forums, seats, proposals, objections, decisions

Revision ID: 0028_fkp
Revises: 0027_ranking
Create Date: 2026-12-02

The public consultation (Forum Konsultasi Publik, docs/fkp.md): storage/tables.py says what each table holds.
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0028_fkp'
down_revision = '0027_ranking'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('fkp_forums',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('prep_opens_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['village_id'], ['areas.id'], name=op.f('fk_fkp_forums_village_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_forums')),
    sa.UniqueConstraint('village_id', 'number', name='uq_fkp_forums_village_number')
    )
    op.create_table('fkp_forum_sls',
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('sls_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_forum_sls_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sls_id'], ['areas.id'], name=op.f('fk_fkp_forum_sls_sls_id_areas')),
    sa.PrimaryKeyConstraint('forum_id', 'sls_id', name=op.f('pk_fkp_forum_sls')),
    sa.UniqueConstraint('sls_id', name='uq_fkp_forum_sls_sls_id')
    )
    op.create_table('fkp_added_families',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('sls_id', sa.Integer(), nullable=False),
    sa.Column('head_name', sa.String(length=120), nullable=False),
    sa.Column('kk_number', sa.String(length=96), nullable=True),
    sa.Column('kk_index', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_fkp_added_families_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_added_families_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sls_id'], ['areas.id'], name=op.f('fk_fkp_added_families_sls_id_areas')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_added_families'))
    )
    with op.batch_alter_table('fkp_added_families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fkp_added_families_forum_id'), ['forum_id'], unique=False)

    op.create_table('fkp_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('claimed_group', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_fkp_objections_family_id_families'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_objections_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fkp_objections_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_objections')),
    sa.UniqueConstraint('forum_id', 'family_id', 'user_id', name='uq_fkp_objections_forum_family')
    )
    op.create_table('fkp_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('sls_id', sa.Integer(), nullable=True),
    sa.Column('joined_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_participants_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sls_id'], ['areas.id'], name=op.f('fk_fkp_participants_sls_id_areas')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fkp_participants_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_participants'))
    )
    with op.batch_alter_table('fkp_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fkp_participants_forum_id'), ['forum_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fkp_participants_user_id'), ['user_id'], unique=False)

    op.create_table('fkp_proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('proposed_group', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_fkp_proposals_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_fkp_proposals_family_id_families'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_proposals_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_proposals')),
    sa.UniqueConstraint('forum_id', 'family_id', name='uq_fkp_proposals_forum_family')
    )
    op.create_table('fkp_attendance',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_attendance_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['fkp_participants.id'], name=op.f('fk_fkp_attendance_participant_id_fkp_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_fkp_attendance'))
    )
    with op.batch_alter_table('fkp_attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fkp_attendance_forum_id'), ['forum_id'], unique=False)

    op.create_table('fkp_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=True),
    sa.Column('added_id', sa.Integer(), nullable=True),
    sa.Column('group', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('by_user_id', sa.Integer(), nullable=True),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_id'], ['fkp_added_families.id'], name=op.f('fk_fkp_decisions_added_id_fkp_added_families'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_fkp_decisions_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_fkp_decisions_family_id_families'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_decisions_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fkp_decisions')),
    sa.UniqueConstraint('added_id', name='uq_fkp_decisions_added_id'),
    sa.UniqueConstraint('forum_id', 'family_id', name='uq_fkp_decisions_forum_family')
    )
    with op.batch_alter_table('fkp_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fkp_decisions_forum_id'), ['forum_id'], unique=False)

    op.create_table('fkp_signatures',
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('forum_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['forum_id'], ['fkp_forums.id'], name=op.f('fk_fkp_signatures_forum_id_fkp_forums'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['participant_id'], ['fkp_participants.id'], name=op.f('fk_fkp_signatures_participant_id_fkp_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_fkp_signatures'))
    )
    with op.batch_alter_table('fkp_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fkp_signatures_forum_id'), ['forum_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fkp_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fkp_signatures_forum_id'))

    op.drop_table('fkp_signatures')
    with op.batch_alter_table('fkp_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fkp_decisions_forum_id'))

    op.drop_table('fkp_decisions')
    with op.batch_alter_table('fkp_attendance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fkp_attendance_forum_id'))

    op.drop_table('fkp_attendance')
    op.drop_table('fkp_proposals')
    with op.batch_alter_table('fkp_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fkp_participants_user_id'))
        batch_op.drop_index(batch_op.f('ix_fkp_participants_forum_id'))

    op.drop_table('fkp_participants')
    op.drop_table('fkp_objections')
    with op.batch_alter_table('fkp_added_families', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fkp_added_families_forum_id'))

    op.drop_table('fkp_added_families')
    op.drop_table('fkp_forum_sls')
    op.drop_table('fkp_forums')
