"""deployment_facts: what every process of a deployment must agree on (the shared media store's id)

Revision ID: 0026
Revises: 0018_claims
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import storage.tables


revision = '0026'
down_revision = '0018_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deployment_facts',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_deployment_facts'))
    )


def downgrade() -> None:
    op.drop_table('deployment_facts')
