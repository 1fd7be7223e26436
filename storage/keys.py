"""`pintu keys rotate`: rewrite every encrypted field under the current data key (storage/crypto.py).

After a new key is put first in PINTU_DATA_KEY (the old one kept after it), rows written before still
decrypt and are still found; rotating re-encrypts them and re-computes their blind index, in one
transaction, after which the old key can be dropped from the variable.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import JSON, Connection, Engine, String, Table, delete, insert, select, type_coerce, update
from sqlalchemy.orm import aliased

from domain.answer_names import roster_niks
from storage.crypto import NIK_FIELD, EncryptedString, Keyring, SealedJSON, keyring_of
from storage.tables import conversations, member_niks, metadata, records

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
        rewritten += _reindex_member_niks(connection, keyring, before)
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


def _reindex_member_niks(connection: Connection, keyring: Keyring, before: Counter[str]) -> int:
    """The roster NIKs' blind indexes (member_niks) computed again under the current key, and made for
    completed records that have none (written before migration 0023): returns the records re-indexed."""
    current = keyring.current.key_id
    for key_id, in connection.execute(select(member_niks.c.key_id)):
        before[key_id] += 1
    stale = select(member_niks.c.record_id).where(member_niks.c.key_id != current)
    newer = aliased(records)
    unindexed = (select(records.c.id).where(records.c.status == "completed",
                                            ~select(newer.c.id).where(newer.c.replaces_id == records.c.id).exists(),
                                            ~select(member_niks.c.id).where(member_niks.c.record_id == records.c.id)
                                            .exists()))
    ids = sorted(set(connection.scalars(stale)) | set(connection.scalars(unindexed)))
    done = 0
    for start in range(0, len(ids), BATCH):
        rows = connection.execute(select(records.c.id, records.c.family_id, records.c.answers)
                                  .where(records.c.id.in_(ids[start:start + BATCH]))).all()
        for record_id, family_id, answers in rows:
            niks = roster_niks(answers)
            connection.execute(delete(member_niks).where(member_niks.c.family_id == family_id))
            if niks:
                connection.execute(insert(member_niks), [
                    {"record_id": record_id, "family_id": family_id, "key_id": current,
                     "nik_index": keyring.blind_index(NIK_FIELD, nik)} for nik in sorted(niks)])
                done += 1
    return done
