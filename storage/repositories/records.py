"""Questionnaire records and their photos."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from domain.model import Record, RecordPhoto
from storage.crypto import NIK_FIELD, keyring_of
from storage.tables import member_niks


class RecordRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, record_id: str) -> Record | None:
        return self.session.get(Record, record_id)

    def lock(self, record_id: str) -> Record | None:
        """The record, locked until the transaction ends (PostgreSQL; SQLite holds the write lock already)."""
        return self.session.scalar(
            select(Record).where(Record.id == record_id).with_for_update()
            .execution_options(populate_existing=True))

    def add(self, record: Record) -> Record:
        self.session.add(record)
        self.session.flush()
        return record

    def add_photo(self, photo: RecordPhoto) -> RecordPhoto:
        self.session.add(photo)
        self.session.flush()
        return photo

    def photos(self, record_id: str) -> Sequence[RecordPhoto]:
        return self.session.scalars(
            select(RecordPhoto).where(RecordPhoto.record_id == record_id).order_by(RecordPhoto.id)).all()

    def photos_of(self, record_ids: Sequence[str]) -> dict[str, list[RecordPhoto]]:
        found: dict[str, list[RecordPhoto]] = {rid: [] for rid in record_ids}
        if record_ids:
            for photo in self.session.scalars(
                select(RecordPhoto).where(RecordPhoto.record_id.in_(list(record_ids))).order_by(RecordPhoto.id)
            ):
                found[photo.record_id].append(photo)
        return found

    def many(self, record_ids: Sequence[str]) -> dict[str, Record]:
        if not record_ids:
            return {}
        return {r.id: r for r in self.session.scalars(select(Record).where(Record.id.in_(list(record_ids))))}

    def replacement_of(self, record_id: str) -> Record | None:
        return self.session.scalar(select(Record).where(Record.replaces_id == record_id))

    def replace_member_niks(self, record_id: str, family_id: int, niks: Iterable[str]) -> None:
        """The blind indexes of the family's roster NIKs become this record's (its older versions' go)."""
        keyring = keyring_of(self.session.get_bind().dialect)
        self.session.execute(delete(member_niks).where(member_niks.c.family_id == family_id))
        rows = [{"record_id": record_id, "family_id": family_id, "key_id": keyring.current.key_id,
                 "nik_index": keyring.blind_index(NIK_FIELD, nik)} for nik in sorted(set(niks))]
        if rows:
            self.session.execute(insert(member_niks), rows)
