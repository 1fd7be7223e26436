"""field encryption: KK numbers encrypted (AES-GCM), unique and looked up by a blind index

Existing rows are moved: every clear KK number is encrypted under the current data key and indexed
(storage/crypto.py), and so is a KK number kept in a conversation between two steps; the downgrade
writes them back in clear.

Revision ID: 0021_field_encryption
Revises: 0026
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from storage.crypto import CIPHERTEXT_LENGTH, KK_FIELD, SealedJSON, keyring_of


revision = '0021_field_encryption'
down_revision = '0026'
branch_labels = None
depends_on = None

_families = sa.table('families', sa.column('id', sa.Integer()), sa.column('kk_number', sa.String()),
                     sa.column('kk_index', sa.String()))

_conversations = sa.table('conversations', sa.column('telegram_id', sa.BigInteger()), sa.column('data', sa.JSON()))


def _reseal(connection: sa.Connection, seal: bool) -> None:
    """Conversations' data through SealedJSON (seal) or back to plain JSON (unseal)."""
    sealed = SealedJSON()
    for telegram_id, data in connection.execute(sa.select(_conversations.c.telegram_id, _conversations.c.data)).all():
        if not isinstance(data, dict) or "kk" not in data:
            continue
        new = (sealed.process_bind_param(data, connection.dialect) if seal
               else sealed.process_result_value(data, connection.dialect))
        connection.execute(_conversations.update().where(_conversations.c.telegram_id == telegram_id).values(data=new))


def upgrade() -> None:
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_constraint('uq_families_kk_number', type_='unique')
        batch_op.alter_column('kk_number', existing_type=sa.String(length=16),
                              type_=sa.String(length=CIPHERTEXT_LENGTH), existing_nullable=True)
        batch_op.add_column(sa.Column('kk_index', sa.String(length=64), nullable=True))
    connection = op.get_bind()
    keyring = keyring_of(connection.dialect)
    rows = connection.execute(sa.select(_families.c.id, _families.c.kk_number)
                              .where(_families.c.kk_number.is_not(None))).all()
    for family_id, kk in rows:
        connection.execute(_families.update().where(_families.c.id == family_id).values(
            kk_number=keyring.encrypt(KK_FIELD, kk), kk_index=keyring.blind_index(KK_FIELD, kk)))
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_families_kk_index'), ['kk_index'])
    _reseal(connection, seal=True)


def downgrade() -> None:
    connection = op.get_bind()
    keyring = keyring_of(connection.dialect)
    rows = connection.execute(sa.select(_families.c.id, _families.c.kk_number)
                              .where(_families.c.kk_number.is_not(None))).all()
    for family_id, stored in rows:
        connection.execute(_families.update().where(_families.c.id == family_id).values(
            kk_number=keyring.decrypt(KK_FIELD, stored)))
    _reseal(connection, seal=False)
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_constraint('uq_families_kk_index', type_='unique')
        batch_op.drop_column('kk_index')
        batch_op.alter_column('kk_number', existing_type=sa.String(length=CIPHERTEXT_LENGTH),
                              type_=sa.String(length=16), existing_nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_families_kk_number'), ['kk_number'])
