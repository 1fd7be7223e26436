"""records.consent_recorded_by: the officer who recorded a family's consent at the door (domain/door_consent.py)

Revision ID: 0027c_door_consent
Revises: 0029b_web_review
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0027c_door_consent'
down_revision = '0029b_web_review'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # users.id of the enumerator, no foreign key: the record keeps who it was even if the account goes.
    with op.batch_alter_table('records') as batch:
        batch.add_column(sa.Column('consent_recorded_by', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('records') as batch:
        batch.drop_column('consent_recorded_by')
