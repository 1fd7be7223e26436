"""The reference registry's own tables: a metadata of its own, never mixed with Pintu's."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Integer, LargeBinary, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.tables import NAMING, UTCDateTime


class RegistryBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class StoredRecord(RegistryBase):
    __tablename__ = "registry_records"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the Idempotency-Key = record_id
    version: Mapped[int] = mapped_column(Integer)
    replaces: Mapped[str | None] = mapped_column(String(64), index=True)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[str] = mapped_column(String(32))
    sls_code: Mapped[str] = mapped_column(String(32), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # resends answered "already have it"


class StoredPhoto(RegistryBase):
    __tablename__ = "registry_photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[dt.datetime]


class StoredSubmission(RegistryBase):
    """An OpenRosa submission, by its meta/instanceID."""

    __tablename__ = "registry_submissions"

    instance_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    form_id: Mapped[str] = mapped_column(String(64))
    deprecated_id: Mapped[str | None] = mapped_column(String(80))
    xml: Mapped[str] = mapped_column(Text)
    attachments: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name -> sha256
    received_at: Mapped[dt.datetime]
    duplicates: Mapped[int] = mapped_column(Integer, default=0)


class StoredFkpDecision(RegistryBase):
    """A public-consultation decision (pintu.fkp-decision/1), by its decision id: stored once."""

    __tablename__ = "registry_fkp_decisions"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the decision_id
    sls_code: Mapped[str] = mapped_column(String(32), index=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    document_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # resends answered "already have it"
