"""The schema: every table, column, index and constraint, on one MetaData (Alembic compares against it).

The entities these rows hold are plain classes in domain/model.py; storage/orm.py maps one onto the
other. Every instant is stored in UTC (:class:`UTCDateTime`); areas carry the IANA zone used to show it.

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
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)

from storage.crypto import CLAIM_KK_FIELD, FKP_KK_FIELD, KK_FIELD, EncryptedString, SealedAnswers, SealedJSON

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


metadata = MetaData(naming_convention=NAMING)


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True)


def _instant(name: str, *, nullable: bool = False) -> Column[dt.datetime]:
    return Column(name, UTCDateTime(), nullable=nullable)


areas = Table(
    "areas", metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("level", String(16), nullable=False),  # province | regency | district | village | sls
    Column("name", String(120), nullable=False),
    Column("parent_id", ForeignKey("areas.id"), nullable=True, index=True),
    Column("timezone", String(40), nullable=False),
    # An SLS's GeoJSON geometry (domain/geotag.py). none_as_null: an entity's None (its default) is stored
    # as SQL NULL, not as the JSON value null, so "no boundary" stays one thing in SQL.
    Column("boundary", JSON(none_as_null=True), nullable=True),
    Column("centre_latitude", Double(), nullable=True),
    Column("centre_longitude", Double(), nullable=True),
    # Working-time rules (domain/working_time.py); NULL: as the parent area.
    Column("work_earliest", String(5), nullable=True),
    Column("work_latest", String(5), nullable=True),
    Column("cuti_bersama_open", Boolean, nullable=True),
)

users = Table(
    "users", metadata,
    _id(),
    Column("telegram_id", BigInteger, nullable=False, unique=True),
    Column("first_name", String(120), nullable=False),
    Column("language", String(8), nullable=False, default="id"),
    Column("role", String(16), nullable=False, default="resident"),
    Column("sls_id", ForeignKey("areas.id"), nullable=True, index=True),
    Column("scope_area_id", ForeignKey("areas.id"), nullable=True, index=True),
    Column("family_id", ForeignKey("families.id"), nullable=True, index=True),
    Column("consent_version", String(16), nullable=False),
    _instant("consent_at"),
    _instant("blocked_at", nullable=True),
    _instant("created_at"),
    Column("menu_role", String(16), nullable=True),
    Column("bot_key", String(32), nullable=True, index=True),
)

families = Table(
    "families", metadata,
    _id(),
    Column("sls_id", ForeignKey("areas.id"), nullable=False, index=True),
    Column("head_name", String(120), nullable=False),
    # Encrypted (storage/crypto.py); kk_index, its blind index, is what is unique and looked up.
    Column("kk_number", EncryptedString(KK_FIELD, index="kk_index"), nullable=True),
    Column("kk_index", String(64), nullable=True, unique=True),
    Column("members", Integer, nullable=False),
    Column("address", String(200), nullable=True),
    Column("latitude", Double(), nullable=True),
    Column("longitude", Double(), nullable=True),
    # Audit only, deliberately without a foreign key: users.family_id already points the other way,
    # and a cycle of foreign keys would make table creation order ambiguous.
    Column("registered_by_user_id", Integer, nullable=True),
    _instant("created_at"),
    Column("status", String(16), nullable=False, default="not_contacted", server_default="not_contacted"),
    _instant("status_at", nullable=True),
    Column("needs_photo", Boolean, nullable=False, default=False, server_default=false()),
    Column("home_times", JSON(none_as_null=True), nullable=True),  # domain/home_times.py codes; NULL: not said
    Index("ix_families_sls_status", "sls_id", "status"),
)

enumerators = Table(
    "enumerators", metadata,
    _id(),
    Column("name", String(120), nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=True, unique=True),
    Column("visit_minutes", Integer, nullable=False, default=30),
    # {"days": {"0": [["08:00", "12:00"], …]}, "dates": {"2026-03-20": [...]}} (domain/slots.py WorkWeek);
    # None: the default week (as boundary)
    Column("work_week", JSON(none_as_null=True), nullable=True),
)

enumerator_assignments = Table(
    "enumerator_assignments", metadata,
    Column("enumerator_id", ForeignKey("enumerators.id", ondelete="CASCADE"), primary_key=True),
    Column("sls_id", ForeignKey("areas.id"), primary_key=True, index=True),
)

appointments = Table(
    "appointments", metadata,
    _id(),
    Column("family_id", ForeignKey("families.id"), nullable=False),
    Column("enumerator_id", ForeignKey("enumerators.id"), nullable=False),
    _instant("start_at"),
    _instant("end_at"),
    Column("status", String(16), nullable=False, default="booked"),  # booked | moved | cancelled | visited
    Column("booked_by_user_id", ForeignKey("users.id"), nullable=True),
    Column("replaced_by_id", ForeignKey("appointments.id"), nullable=True),
    _instant("confirmed_at", nullable=True),
    _instant("created_at"),
    _instant("updated_at"),
    # At most one active visit per family, enforced by the database on both backends.
    Index(
        "uq_appointments_one_active_per_family",
        "family_id",
        unique=True,
        sqlite_where=text("status = 'booked'"),
        postgresql_where=text("status = 'booked'"),
    ),
    Index("ix_appointments_enumerator_start", "enumerator_id", "start_at"),
)

busy_blocks = Table(
    "busy_blocks", metadata,
    Column("enumerator_id", ForeignKey("enumerators.id"), primary_key=True),
    Column("block_start", UTCDateTime(), primary_key=True),
    Column("appointment_id", ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False, index=True),
)

redeemed_invites = Table(
    "redeemed_invites", metadata,
    _id(),
    Column("kind", Integer, nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    _instant("redeemed_at"),
    UniqueConstraint("kind", "nonce", name="uq_redeemed_invites_kind_nonce"),
)

conversations = Table(
    "conversations", metadata,
    Column("telegram_id", BigInteger, primary_key=True),
    Column("state", String(40), nullable=False),
    Column("data", SealedJSON(), nullable=False, default=dict),  # a typed KK number is kept encrypted
    _instant("updated_at"),
    Column("last_update_id", BigInteger, nullable=True),
    Column("last_update_bot", String(32), nullable=True),
)

outbox = Table(
    "outbox", metadata,
    _id(),
    Column("chat_id", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", JSON, nullable=False),
    _instant("due_at"),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    _instant("claimed_until", nullable=True),
    _instant("sent_at", nullable=True),
    _instant("created_at"),
    Index("ix_outbox_due", "status", "due_at"),
)

reminder_settings = Table(
    "reminder_settings", metadata,
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
    Column("evening_at", String(5), nullable=True),
    Column("before_minutes", Integer, nullable=True),
    Column("confirm_by", String(5), nullable=True),
    Column("schedule_at", String(5), nullable=True),
    Column("summary_at", String(5), nullable=True),
    _instant("updated_at"),
)

daily_digests = Table(
    "daily_digests", metadata,
    _id(),
    Column("kind", String(40), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("day", Date(), nullable=False),
    _instant("created_at"),
    UniqueConstraint("kind", "chat_id", "day", name="uq_daily_digests_kind_chat_id_day"),
)

records = Table(
    "records", metadata,
    Column("id", String(36), primary_key=True),
    Column("family_id", ForeignKey("families.id"), nullable=False),
    Column("form_id", String(64), nullable=False),
    Column("form_version", String(32), nullable=False),
    Column("answers", SealedAnswers(), nullable=False, default=dict),  # every NIK in it encrypted
    Column("latitude", Double(), nullable=True),
    Column("longitude", Double(), nullable=True),
    Column("geo_accuracy_m", Double(), nullable=True),
    Column("geo_source", String(16), nullable=True),
    _instant("geo_captured_at", nullable=True),
    Column("geo_by", String(16), nullable=True),
    Column("geo_sender", BigInteger, nullable=True),
    Column("geo_flag", String(32), nullable=True),
    _instant("geo_live_until", nullable=True),
    Column("status", String(16), nullable=False, default="draft"),
    _instant("completed_at", nullable=True),
    Column("consent_version", String(16), nullable=True),
    _instant("consent_at", nullable=True),
    # The officer (users.id) who recorded the family's consent at the door; None when it came from the chat.
    Column("consent_recorded_by", Integer, nullable=True),
    Column("appointment_id", ForeignKey("appointments.id"), nullable=True),
    Column("enumerator_id", ForeignKey("enumerators.id"), nullable=True),
    Column("version", Integer, nullable=False, default=1),
    Column("replaces_id", ForeignKey("records.id"), nullable=True, unique=True),
    _instant("created_at"),
    _instant("updated_at"),
    # A supervisor marked the record reviewed (the web dashboard's review page): when, and who (a plain
    # id, like the audit log's: the mark outlives the erasure of the account).
    _instant("reviewed_at", nullable=True),
    Column("reviewed_by_user_id", Integer, nullable=True),
    Index("ix_records_family_version", "family_id", "version"),
)

record_photos = Table(
    "record_photos", metadata,
    _id(),
    Column("record_id", ForeignKey("records.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("path", String(255), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("mime", String(64), nullable=False),
    _instant("taken_at", nullable=True),
    Column("sender", BigInteger, nullable=True),
    UniqueConstraint("record_id", "path", name="uq_record_photos_record_id_path"),
)

# The blind index of every NIK in a family's newest completed record (storage/crypto.py: an HMAC, never
# the number): the same NIK in two families' records is a finding for the supervisors' review list.
# ``key_id`` says which data key made the index, so `pintu keys rotate` knows which rows to rebuild.
member_niks = Table(
    "member_niks", metadata,
    _id(),
    Column("record_id", ForeignKey("records.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("family_id", ForeignKey("families.id"), nullable=False),
    Column("nik_index", String(64), nullable=False, index=True),
    Column("key_id", String(32), nullable=False),
)

record_deliveries = Table(
    "record_deliveries", metadata,
    _id(),
    Column("record_id", ForeignKey("records.id"), nullable=False),
    Column("target", String(32), nullable=False, default="registry"),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    _instant("next_attempt_at"),
    _instant("claimed_until", nullable=True),
    Column("last_error", Text, nullable=True),
    _instant("delivered_at", nullable=True),
    _instant("created_at"),
    UniqueConstraint("record_id", "target", name="uq_record_deliveries_record_id_target"),
    Index("ix_record_deliveries_due", "status", "next_attempt_at"),
)

visit_outcomes = Table(
    "visit_outcomes", metadata,
    _id(),
    Column("family_id", ForeignKey("families.id"), nullable=False, index=True),
    Column("appointment_id", ForeignKey("appointments.id"), nullable=True),
    Column("enumerator_id", ForeignKey("enumerators.id"), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("note", Text, nullable=True),
    _instant("recorded_at"),
    Column("recorded_by_user_id", ForeignKey("users.id"), nullable=True),
    Index("ix_visit_outcomes_enumerator_recorded", "enumerator_id", "recorded_at"),
)

family_nudges = Table(
    "family_nudges", metadata,
    _id(),
    Column("family_id", ForeignKey("families.id"), nullable=False),
    Column("day", Date(), nullable=False),
    Column("sent_by_user_id", ForeignKey("users.id"), nullable=True),
    _instant("created_at"),
    UniqueConstraint("family_id", "day", name="uq_family_nudges_family_id_day"),
)

rt_groups = Table(
    "rt_groups", metadata,
    _id(),
    Column("chat_id", BigInteger, nullable=False, unique=True),
    Column("sls_id", ForeignKey("areas.id"), nullable=False, unique=True),
    Column("linked_by_user_id", ForeignKey("users.id"), nullable=True),
    _instant("linked_at"),
    Column("bot_key", String(32), nullable=True),
)

bots = Table(
    "bots", metadata,
    Column("key", String(32), primary_key=True),
    Column("username", String(64), nullable=False),
    Column("area_codes", JSON, nullable=False),
    _instant("updated_at"),
)

campaign_windows = Table(
    "campaign_windows", metadata,
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
    Column("starts_on", Date(), nullable=False),
    Column("ends_on", Date(), nullable=False),
    _instant("updated_at"),
)

# Invites withdrawn before use (`pintu invite revoke`): refused when they are opened.
revoked_invites = Table(
    "revoked_invites", metadata,
    Column("kind", Integer, primary_key=True),
    Column("nonce", BigInteger, primary_key=True),
    _instant("revoked_at"),
)

# Updates received by long polling (bot/inbox.py): written before getUpdates acknowledges them, marked
# handled in the step's own transaction, deleted once Telegram will not send them again.
inbox = Table(
    "inbox", metadata,
    Column("bot_key", String(32), primary_key=True),
    Column("update_id", BigInteger, primary_key=True),
    Column("payload", JSON, nullable=False),
    _instant("received_at"),
    _instant("handled_at", nullable=True),
)

# Facts of the deployment that every process must agree on, set once by the first process that
# needs them: ``media_store`` is the id written into the shared media folder (bot/media_store.py).
deployment_facts = Table(
    "deployment_facts", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
    _instant("created_at"),
)

# Claims on a family (domain/claims.py): a resident asking to be linked to a family; pending until the
# RT head decides, unless the resident came by the RT's invite and the KK and name match a listed family.
# ``kk_number`` is the number the resident typed, needed to create the family on approval when no family
# has it yet; it is read and written only through storage/repositories/claims.py, encrypted like the
# families' (storage/crypto.py).
family_claims = Table(
    "family_claims", metadata,
    _id(),
    # Erasing a person (UU 27/2022) erases their claims and attempts with them.
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sls_id", ForeignKey("areas.id"), nullable=False),
    Column("family_id", ForeignKey("families.id"), nullable=True, index=True),
    Column("head_name", String(120), nullable=False),
    Column("kk_number", EncryptedString(CLAIM_KK_FIELD, index="kk_index"), nullable=True),
    Column("kk_index", String(64), nullable=True),
    Column("members", Integer, nullable=False),
    Column("address", String(200), nullable=True),
    Column("latitude", Double(), nullable=True),
    Column("longitude", Double(), nullable=True),
    Column("via_invite", Boolean, nullable=False, default=False, server_default=false()),
    Column("status", String(16), nullable=False, default="pending"),  # pending | linked | rejected | removed
    _instant("created_at"),
    _instant("decided_at", nullable=True),
    Column("decided_by_user_id", ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Index("ix_family_claims_sls_status", "sls_id", "status"),
)

# KK numbers typed by residents, for the rate limits (domain/claims.py): the number itself is not kept,
# only a keyed digest, so the table says nothing about which cards exist.
kk_attempts = Table(
    "kk_attempts", metadata,
    _id(),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("kk_digest", String(64), nullable=False),
    _instant("attempted_at"),
    Index("ix_kk_attempts_user_at", "user_id", "attempted_at"),
    Index("ix_kk_attempts_digest_at", "kk_digest", "attempted_at"),
)

# Staff access to personal data (domain/audit.py): append-only, no values, plain ids (no foreign keys:
# an entry must outlive the erasure of the family or user it names).
audit_log = Table(
    "audit_log", metadata,
    _id(),
    _instant("at"),
    Column("actor_user_id", Integer, nullable=True),
    Column("actor_role", String(16), nullable=False),
    Column("action", String(32), nullable=False),
    Column("family_id", Integer, nullable=True),
    Column("area_id", Integer, nullable=True),
    Column("count", Integer, nullable=True),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_actor_at", "actor_user_id", "at"),
    Index("ix_audit_log_family_at", "family_id", "at"),
)

# A resident's use of their rights (domain/privacy.py): a correction asked of the RT head, or a withdrawal
# of consent with erasure. Keyed by the Telegram id, not users.id: the account may be erased meanwhile,
# and the request (with its status and age) must outlive it.
privacy_requests = Table(
    "privacy_requests", metadata,
    _id(),
    Column("kind", String(16), nullable=False),  # correction | erasure
    Column("status", String(16), nullable=False, default="open"),  # open | done
    Column("telegram_id", BigInteger, nullable=False, index=True),
    Column("family_id", Integer, nullable=True),
    Column("sls_id", Integer, nullable=True),
    Column("text", Text, nullable=True),  # the correction asked for
    Column("detail", JSON, nullable=False, default=dict),  # erasure: how many of what were deleted or forwarded
    _instant("created_at"),
    _instant("closed_at", nullable=True),
    Column("closed_by", BigInteger, nullable=True),  # Telegram id of the RT head, or None (CLI, worker)
    Index("ix_privacy_requests_status", "status", "created_at"),
)

# --- the public consultation (FKP, domain/fkp.py) -------------------------------------------------------
# One forum per kelurahan, or one per up to 12 of its SLS. Everything said in it is kept as given: an RT
# head's proposals and added families, residents' objections, the forum's decisions, who was present and
# who signed. The welfare groups themselves live in D's welfare_ranks (uow.rankings); a decision accepted
# becomes an override there when the forum closes.
fkp_forums = Table(
    "fkp_forums", metadata,
    _id(),
    Column("village_id", ForeignKey("areas.id"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, … within the kelurahan
    _instant("at"),  # when the session starts (UTC)
    Column("place", String(200), nullable=False, default=""),
    _instant("prep_opens_at"),  # the embargo: nobody sees a group before this
    Column("status", String(16), nullable=False, default="planned"),  # planned | open | closed | escalated
    _instant("opened_at", nullable=True),
    _instant("closed_at", nullable=True),
    _instant("created_at"),
    UniqueConstraint("village_id", "number", name="uq_fkp_forums_village_number"),
)

# Which SLS a forum covers: an SLS belongs to one forum.
fkp_forum_sls = Table(
    "fkp_forum_sls", metadata,
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), primary_key=True),
    Column("sls_id", ForeignKey("areas.id"), primary_key=True),
    UniqueConstraint("sls_id", name="uq_fkp_forum_sls_sls_id"),
)

# The forum's roles: a seat per facilitator, assistant, administrator, community figure and RT head. A seat
# is what an invite names (domain/invites.py FKP_SEAT); redeeming it puts the user in the seat, so the role
# is scoped to this forum and leaves users.role alone.
fkp_participants = Table(
    "fkp_participants", metadata,
    _id(),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # facilitator | assistant | administrator | figure | rt_head
    Column("user_id", ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("sls_id", ForeignKey("areas.id"), nullable=True),  # an RT head's SLS
    _instant("joined_at", nullable=True),
)

# An RT head's word on a family of their SLS: confirm, or move to another group with a reason.
fkp_proposals = Table(
    "fkp_proposals", metadata,
    _id(),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", ForeignKey("families.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(8), nullable=False),  # confirm | move
    Column("proposed_group", Integer, nullable=True),  # 1-4 for a move
    Column("reason", String(16), nullable=True),
    Column("note", String(500), nullable=True),
    Column("by_user_id", ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _instant("at"),
    UniqueConstraint("forum_id", "family_id", name="uq_fkp_proposals_forum_family"),
)

# A family missing from the list, added by the RT head with its status. Its KK is encrypted like the
# families' (storage/crypto.py), read and written only through storage/repositories/fkp.py.
fkp_added_families = Table(
    "fkp_added_families", metadata,
    _id(),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("sls_id", ForeignKey("areas.id"), nullable=False),
    Column("head_name", String(120), nullable=False),
    Column("kk_number", EncryptedString(FKP_KK_FIELD, index="kk_index"), nullable=True),
    Column("kk_index", String(64), nullable=True),
    Column("status", String(16), nullable=False),  # present | moved | died | not_found
    Column("by_user_id", ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _instant("at"),
)

# A resident's objection (sanggah) about their own family's group.
fkp_objections = Table(
    "fkp_objections", metadata,
    _id(),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", ForeignKey("families.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("claimed_group", Integer, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("note", String(500), nullable=True),
    _instant("at"),
    UniqueConstraint("forum_id", "family_id", "user_id", name="uq_fkp_objections_forum_family"),
)

# The forum's decision on one family (a proposal or an objection) or one added family.
fkp_decisions = Table(
    "fkp_decisions", metadata,
    _id(),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("family_id", ForeignKey("families.id", ondelete="CASCADE"), nullable=True),
    Column("added_id", ForeignKey("fkp_added_families.id", ondelete="CASCADE"), nullable=True),
    Column("group", Integer, nullable=True),  # the group decided on (accepted moves)
    Column("outcome", String(8), nullable=False),  # accepted | rejected
    Column("reason", String(500), nullable=True),  # why rejected
    Column("by_user_id", ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _instant("at"),
    UniqueConstraint("forum_id", "family_id", name="uq_fkp_decisions_forum_family"),
    UniqueConstraint("added_id", name="uq_fkp_decisions_added_id"),
)

fkp_attendance = Table(
    "fkp_attendance", metadata,
    Column("participant_id", ForeignKey("fkp_participants.id", ondelete="CASCADE"), primary_key=True),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False, index=True),
    _instant("at"),
)

fkp_signatures = Table(
    "fkp_signatures", metadata,
    Column("participant_id", ForeignKey("fkp_participants.id", ondelete="CASCADE"), primary_key=True),
    Column("forum_id", ForeignKey("fkp_forums.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("answer", String(8), nullable=False),  # agreed | refused
    _instant("at"),
)

# The welfare ranking (domain/ranking.py): one row per ranked family, the proxy-means score and where it
# puts the family within its kabupaten/kota. ``final_group`` is the model's group unless the public
# consultation (FKP) moved the family, in which case ``override_source`` names the decision; a re-run of
# the model replaces score, decile and model group but keeps the forum's decisions.
welfare_ranks = Table(
    "welfare_ranks", metadata,
    Column("family_id", ForeignKey("families.id", ondelete="CASCADE"), primary_key=True),
    Column("kabkota_code", String(32), nullable=False, index=True),
    Column("score", Double(), nullable=False),
    Column("decile", Integer, nullable=False),
    Column("model_group", Integer, nullable=False),
    Column("final_group", Integer, nullable=False),
    Column("override_source", Text, nullable=True),  # e.g. "fkp:<forum_id>:<decision_id>"
    Column("model_version", String(80), nullable=False),
    _instant("ranked_at"),
)

# The public consultation's decisions on their way to the central registry (domain/fkp_registry.py,
# registry/fkp.py): one row per decision, keyed by the decision's id (a second enqueue of the same key is
# a no-op), the document as it was decided, delivered through the same leased queue as the records
# (storage/leased_queue.py). A table of its own because record_deliveries rows belong to a record.
fkp_decision_deliveries = Table(
    "fkp_decision_deliveries", metadata,
    _id(),
    Column("decision_key", String(64), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
    Column("target", String(32), nullable=False, default="registry"),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    _instant("next_attempt_at"),
    _instant("claimed_until", nullable=True),
    Column("last_error", Text, nullable=True),
    _instant("delivered_at", nullable=True),
    _instant("created_at"),
    Index("ix_fkp_decision_deliveries_due", "status", "next_attempt_at"),
)

# The web dashboard's sign-in (domain/dashboard.py): one-time links sent by the bot and the sessions they
# start. Only SHA-256 digests of the tokens are kept, so a copy of the database opens no session.
web_links = Table(
    "web_links", metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    _instant("created_at"),
    _instant("expires_at"),
    _instant("used_at", nullable=True),
)

web_sessions = Table(
    "web_sessions", metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    _instant("created_at"),
    _instant("expires_at"),
    _instant("ended_at", nullable=True),
)
