"""SQLAlchemy 2.0 models. Every instant is stored in UTC; areas carry the IANA zone used to show it.

The database is the source of truth for what can collide: ``busy_blocks`` makes overlapping visits of
one enumerator impossible (primary key per 15-minute block) and a partial unique index makes a second
active appointment of one family impossible, on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite has no time zones of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use UTC-aware instants")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON}


class Area(Base):
    """One level of the administrative tree: province, regency, district, village, SLS (RT)."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    level: Mapped[str] = mapped_column(String(16))  # province | regency | district | village | sls
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(40))
    # Field capture's geofence (domain/geotag.py): an SLS's polygon as a GeoJSON geometry (Polygon or
    # MultiPolygon, WGS84; imported with `pintu areas boundaries`), and a kelurahan's centre.
    boundary: Mapped[dict[str, Any] | None]
    centre_latitude: Mapped[float | None]
    centre_longitude: Mapped[float | None]

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class User(Base):
    """A Telegram user who agreed to the privacy notice. Nothing is stored before that."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8), default="id")
    role: Mapped[str] = mapped_column(String(16), default="resident")  # resident | rt_head | enumerator | supervisor | coordinator | admin
    sls_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    # A supervisor's or coordinator's area (domain/access.py): they see that area and everything below it.
    scope_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"), index=True)
    consent_version: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[dt.datetime]
    blocked_at: Mapped[dt.datetime | None]  # set when Telegram says the user blocked the bot
    created_at: Mapped[dt.datetime]
    # The role whose command menu this user's chat was given (handlers/menus.py); None: the default
    # menu, the resident's. When it differs from ``role`` the chat's menu is set again.
    menu_role: Mapped[str | None] = mapped_column(String(16))
    # The bot this user talks to, when one deployment runs several (one per kab/kota, handlers/bots.py):
    # messages to them go out through it. None: the deployment's only bot.
    bot_key: Mapped[str | None] = mapped_column(String(32), index=True)


class Family(Base):
    """A family (kartu keluarga) in one SLS."""

    __tablename__ = "families"
    __table_args__ = (Index("ix_families_sls_status", "sls_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sls_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(120))
    kk_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    members: Mapped[int] = mapped_column(Integer)
    address: Mapped[str | None] = mapped_column(String(200))
    # Where the house is (WGS84), when known: orders and measures the enumerator's route (geodesic).
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # Audit only, deliberately without a foreign key: users.family_id already points the other way,
    # and a cycle of foreign keys would make table creation order ambiguous.
    registered_by_user_id: Mapped[int | None]
    created_at: Mapped[dt.datetime]
    # Where the family stands in the field work (domain/family_status.py is the only writer):
    # not_contacted | booked | visited | completed | not_home | refused | moved | not_found
    status: Mapped[str] = mapped_column(String(16), default="not_contacted", server_default="not_contacted")
    status_at: Mapped[dt.datetime | None]
    # The RT head asked for a photo of the house (field capture asks for one when set).
    needs_photo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Enumerator(Base):
    """A field officer (PPL) with working hours, assigned to one or more SLS."""

    __tablename__ = "enumerators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    visit_minutes: Mapped[int] = mapped_column(Integer, default=30)
    work_week: Mapped[dict[str, Any] | None]  # WorkWeek.to_json(); None means the default week


class EnumeratorAssignment(Base):
    __tablename__ = "enumerator_assignments"

    enumerator_id: Mapped[int] = mapped_column(ForeignKey("enumerators.id", ondelete="CASCADE"), primary_key=True)
    sls_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True, index=True)


class Appointment(Base):
    """A visit. Moving keeps history: the old row becomes 'moved' and points at its successor."""

    __tablename__ = "appointments"
    __table_args__ = (
        Index(
            "uq_appointments_one_active_per_family",
            "family_id",
            unique=True,
            sqlite_where=text("status = 'booked'"),
            postgresql_where=text("status = 'booked'"),
        ),
        Index("ix_appointments_enumerator_start", "enumerator_id", "start_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    enumerator_id: Mapped[int] = mapped_column(ForeignKey("enumerators.id"))
    start_at: Mapped[dt.datetime]
    end_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="booked")  # booked | moved | cancelled
    booked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    confirmed_at: Mapped[dt.datetime | None]  # the resident pressed "confirm" on a reminder
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class BusyBlock(Base):
    """One 15-minute block of an enumerator's time taken by a visit: the primary key forbids overlap."""

    __tablename__ = "busy_blocks"

    enumerator_id: Mapped[int] = mapped_column(ForeignKey("enumerators.id"), primary_key=True)
    block_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"), index=True)


class RedeemedInvite(Base):
    """Single-use invites are remembered by nonce once redeemed."""

    __tablename__ = "redeemed_invites"
    __table_args__ = (UniqueConstraint("kind", "nonce", name="uq_redeemed_invites_kind_nonce"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[int] = mapped_column(Integer)
    nonce: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    redeemed_at: Mapped[dt.datetime]


class Conversation(Base):
    """Where a user is in a flow, so a restart in the middle of a booking resumes there."""

    __tablename__ = "conversations"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    state: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime]
    # The Telegram update_id of the last update applied to this conversation: with several workers a
    # redelivered or late update (id <= this) is dropped instead of applied twice or out of order.
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    last_update_bot: Mapped[str | None] = mapped_column(String(32))  # whose numbering (several bots: domain/bots.py)


class OutboxMessage(Base):
    """A message to send later, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # catalog key and arguments, rendered at send time
    due_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed | undeliverable | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # claims so far, minus those given back
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_until: Mapped[dt.datetime | None]  # a dispatcher's lease; also the token that settles the row
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class ReminderSetting(Base):
    """Reminder and daily-message times of an area and everything below it; None means the default.

    Times are local wall-clock "HH:MM" in the area's zone; ``before_minutes`` is the offset of the
    reminder shortly before the visit.
    """

    __tablename__ = "reminder_settings"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    evening_at: Mapped[str | None] = mapped_column(String(5))
    before_minutes: Mapped[int | None] = mapped_column(Integer)
    confirm_by: Mapped[str | None] = mapped_column(String(5))
    schedule_at: Mapped[str | None] = mapped_column(String(5))
    summary_at: Mapped[str | None] = mapped_column(String(5))
    updated_at: Mapped[dt.datetime]


class DailyDigest(Base):
    """One daily message (enumerator's schedule, RT head's summary) per recipient and local day:
    the unique key makes a second one impossible, whatever the number of processes or restarts."""

    __tablename__ = "daily_digests"
    __table_args__ = (UniqueConstraint("kind", "chat_id", "day", name="uq_daily_digests_kind_chat_id_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[dt.date]
    created_at: Mapped[dt.datetime]


class Record(Base):
    """One questionnaire for one family: a draft while it is filled, then completed and immutable.

    A correction after completion is a new row (``version`` + 1) that names the one it replaces; the
    registry receives every completed version under its own id (the idempotency key).
    """

    __tablename__ = "records"
    __table_args__ = (Index("ix_records_family_version", "family_id", "version"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # UUID, made by Pintu
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[str] = mapped_column(String(32))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    geo_accuracy_m: Mapped[float | None]
    geo_source: Mapped[str | None] = mapped_column(String(16))  # gps | network | telegram | manual
    geo_captured_at: Mapped[dt.datetime | None]
    # Who shared the geotag (domain/geotag.py): "resident" (a hint) or "enumerator" (at the door,
    # authoritative), their Telegram id, and why it needs review ("outside-sls", "too-far") or None.
    geo_by: Mapped[str | None] = mapped_column(String(16))
    geo_sender: Mapped[int | None] = mapped_column(BigInteger)
    geo_flag: Mapped[str | None] = mapped_column(String(32))
    geo_live_until: Mapped[dt.datetime | None]  # a live location: its later points update the geotag until then
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | completed
    completed_at: Mapped[dt.datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(16))  # the notice agreed to, copied at completion
    consent_at: Mapped[dt.datetime | None]
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    enumerator_id: Mapped[int | None] = mapped_column(ForeignKey("enumerators.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    replaces_id: Mapped[str | None] = mapped_column(ForeignKey("records.id"), unique=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class RecordPhoto(Base):
    """A photo of a record; the file lives under PINTU_MEDIA_DIR at ``path``, checked by its SHA-256."""

    __tablename__ = "record_photos"
    __table_args__ = (UniqueConstraint("record_id", "path", name="uq_record_photos_record_id_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    path: Mapped[str] = mapped_column(String(255))  # relative to the media directory
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[dt.datetime | None]
    sender: Mapped[int | None] = mapped_column(BigInteger)  # Telegram user id of whoever sent it


class RecordDelivery(Base):
    """The registry outbox: one row per completed record and target, written with the completion."""

    __tablename__ = "record_deliveries"
    __table_args__ = (
        UniqueConstraint("record_id", "target", name="uq_record_deliveries_record_id_target"),
        Index("ix_record_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    target: Mapped[str] = mapped_column(String(32), default="registry")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | parked
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    claimed_until: Mapped[dt.datetime | None]  # a worker's lease; also the token that settles the row
    last_error: Mapped[str | None] = mapped_column(Text)  # status code and reason only, never personal data
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class VisitOutcome(Base):
    """What happened at the door, as the enumerator recorded it (one row per attempt)."""

    __tablename__ = "visit_outcomes"
    __table_args__ = (Index("ix_visit_outcomes_enumerator_recorded", "enumerator_id", "recorded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), index=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id"))
    enumerator_id: Mapped[int | None] = mapped_column(ForeignKey("enumerators.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # done | not_home | refused | moved | not_found
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime]
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class FamilyNudge(Base):
    """An RT head's reminder to a family that has not booked: the unique key allows one per family and day."""

    __tablename__ = "family_nudges"
    __table_args__ = (UniqueConstraint("family_id", "day", name="uq_family_nudges_family_id_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"))
    day: Mapped[dt.date]  # the local day in the family's area
    sent_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class RtGroup(Base):
    """An RT's Telegram group, linked by its RT head with /grup; gets a daily progress line (counts only)."""

    __tablename__ = "rt_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    sls_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), unique=True)
    linked_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    linked_at: Mapped[dt.datetime]
    bot_key: Mapped[str | None] = mapped_column(String(32))  # the bot that is in the group (users.bot_key)


class BotEntry(Base):
    """One of the deployment's bots and the areas it serves (area codes; a code serves everything below
    it). Each bot process writes its own row at start, so the others can name it to a user who wrote to
    the wrong one."""

    __tablename__ = "bots"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    area_codes: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime]


class CampaignWindow(Base):
    """The field work's window of an area and everything below it (the nearest area with one wins):
    progress reports count a unit as behind schedule against it (domain/progress.py)."""

    __tablename__ = "campaign_windows"

    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    updated_at: Mapped[dt.datetime]
