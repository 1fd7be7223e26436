"""`pintu keys rotate`: rewrite every encrypted field under the current data key (storage/crypto.py).

After a new key is put first in PINTU_DATA_KEY (the old one kept after it), rows written before still
decrypt and are still found; rotating re-encrypts them and re-computes their blind index, in one
transaction, after which the old key can be dropped from the variable.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import JSON, Connection, Engine, String, Table, select, type_coerce, update

from storage.crypto import EncryptedString, Keyring, SealedJSON, keyring_of
from storage.tables import conversations, metadata

BATCH = 500


@dataclass(frozen=True)
class Rotation:
    current: str  # the key id everything is under now
    rewritten: int  # values (KK numbers, conversations holding one) re-encrypted
    before: dict[str, int]  # key id → values found under it before the rotation


def encrypted_columns() -> list[tuple[Table, str, EncryptedString]]:
    """Every encrypted column of the schema (KK numbers; the roster's NIK when its table declares one)."""
    found = []
    for table in metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedString):
                found.append((table, column.name, column.type))
    return found


def rotate(engine: Engine) -> Rotation:
    keyring = keyring_of(engine.dialect)
    current = keyring.current.key_id
    before: Counter[str] = Counter()
    rewritten = 0
    with engine.begin() as connection:
        for table, name, kind in encrypted_columns():
            raw = type_coerce(table.c[name], String())  # the stored ciphertext, not decrypted
            key = list(table.primary_key.columns)[0]
            rows = connection.execute(select(key, raw).where(table.c[name].is_not(None))).all()
            for row_id, stored in rows:
                before[keyring.key_id_of(stored)] += 1
                if keyring.key_id_of(stored) == current:
                    continue
                plain = keyring.decrypt(kind.field, stored)
                values = {name: type_coerce(keyring.encrypt(kind.field, plain), String())}
                if kind.index:
                    values[kind.index] = keyring.blind_index(kind.field, plain)
                connection.execute(update(table).where(key == row_id).values(**values))
                rewritten += 1
        rewritten += _reseal_conversations(connection, keyring, before)
    return Rotation(current, rewritten, dict(before))


def _reseal_conversations(connection: Connection, keyring: Keyring, before: Counter[str]) -> int:
    """A number kept in a conversation between two steps (SealedJSON): sealed again under the current key."""
    raw = type_coerce(conversations.c.data, JSON())
    stale = []
    for telegram_id, data in connection.execute(select(conversations.c.telegram_id, raw)).all():
        ids = [keyring.key_id_of(v["sealed"]) for k, v in (data or {}).items()
               if k in SealedJSON.SEALED_KEYS and isinstance(v, dict) and "sealed" in v]
        before.update(ids)
        if any(key_id != keyring.current.key_id for key_id in ids):
            stale.append(telegram_id)
    for telegram_id in stale:
        data = connection.scalar(select(conversations.c.data).where(conversations.c.telegram_id == telegram_id))
        connection.execute(update(conversations).where(conversations.c.telegram_id == telegram_id).values(data=data))
    return len(stale)
