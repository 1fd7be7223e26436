"""records, their photos, and the registry outbox (record_deliveries)

Revision ID: 0002
Revises: 0009
Create Date: 2026-12-01

Numbered 0002 as planned, but chained after 0009 (conversations.last_update_id), which was written
first against 0001: the migrations must stay one chain (tests/integration/test_migrations.py).
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0002'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('records',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('family_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.String(length=64), nullable=False),
    sa.Column('form_version', sa.String(length=32), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.Column('geo_accuracy_m', sa.Double(), nullable=True),
    sa.Column('geo_source', sa.String(length=16), nullable=True),
    sa.Column('geo_captured_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('completed_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consent_version', sa.String(length=16), nullable=True),
    sa.Column('consent_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('enumerator_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('replaces_id', sa.String(length=36), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_records_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['enumerator_id'], ['enumerators.id'], name=op.f('fk_records_enumerator_id_enumerators')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_records_family_id_families')),
    sa.ForeignKeyConstraint(['replaces_id'], ['records.id'], name=op.f('fk_records_replaces_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_records')),
    sa.UniqueConstraint('replaces_id', name=op.f('uq_records_replaces_id'))
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_family_version', ['family_id', 'version'], unique=False)

    op.create_table('record_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('target', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_deliveries_record_id_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_deliveries')),
    sa.UniqueConstraint('record_id', 'target', name='uq_record_deliveries_record_id_target')
    )
    with op.batch_alter_table('record_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_record_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('record_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('mime', sa.String(length=64), nullable=False),
    sa.Column('taken_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sender', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['records.id'], name=op.f('fk_record_photos_record_id_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_photos')),
    sa.UniqueConstraint('record_id', 'path', name='uq_record_photos_record_id_path')
    )
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_photos_record_id'), ['record_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_photos_record_id'))

    op.drop_table('record_photos')
    with op.batch_alter_table('record_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_record_deliveries_due')

    op.drop_table('record_deliveries')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_family_version')

    op.drop_table('records')
