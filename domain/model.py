"""The domain's entities: plain Python classes, with no knowledge of how they are stored.

storage/tables.py describes the tables and storage/orm.py maps these classes onto them (imperatively,
at start-up), so the business rules work on these objects while only storage/ knows SQL. Every instant
is UTC; areas carry the IANA zone used to show it.

What can collide is settled by the database, not here: ``busy_blocks`` makes overlapping visits of one
enumerator impossible (primary key per 15-minute block) and a partial unique index makes a second
active appointment of one family impossible, on SQLite and PostgreSQL alike (storage/tables.py).

Every field has a default, so an entity can be made with only what the caller knows: the defaults are
those the database would apply, and :func:`unset` marks a value the row needs but nobody fills in for
the caller (the id the database assigns, a name, an instant): it stays None until set, and saving a
row without it fails exactly as it would without these classes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def unset() -> Any:
    """The default of a field the stored row needs but that has no default value: None until set."""
    return field(default=None)


@dataclass(kw_only=True, eq=False)
class Area:
    """One level of the administrative tree: province, regency, district, village, SLS (RT)."""

    id: int = unset()
    code: str = unset()
    level: str = unset()  # province | regency | district | village | sls
    name: str = unset()
    parent_id: int | None = None
    timezone: str = unset()
    # Field capture's geofence (domain/geotag.py): an SLS's polygon as a GeoJSON geometry (Polygon or
    # MultiPolygon, WGS84; imported with `pintu areas boundaries`), and a kelurahan's centre.
    boundary: dict[str, Any] | None = None
    centre_latitude: float | None = None
    centre_longitude: float | None = None
    # Working-time rules (domain/working_time.py), None: as the parent area (default 07:00, 21:00, closed):
    # the earliest and latest an enumerator may set themselves ("HH:MM"), and whether cuti bersama are open.
    work_earliest: str | None = None
    work_latest: str | None = None
    cuti_bersama_open: bool | None = None

    # The parent area, loaded on access (storage/orm.py); not a constructor argument: set parent_id.
    parent: Area | None = field(default=None, init=False, repr=False)


@dataclass(kw_only=True, eq=False)
class User:
    """A Telegram user who agreed to the privacy notice. Nothing is stored before that."""

    id: int = unset()
    telegram_id: int = unset()
    first_name: str = unset()
    language: str = "id"
    role: str = "resident"  # resident | rt_head | enumerator | supervisor | coordinator | admin
    sls_id: int | None = None
    # A supervisor's or coordinator's area (domain/access.py): they see that area and everything below it.
    scope_area_id: int | None = None
    family_id: int | None = None
    consent_version: str = unset()
    consent_at: dt.datetime = unset()
    blocked_at: dt.datetime | None = None  # set when Telegram says the user blocked the bot
    created_at: dt.datetime = unset()
    # The role whose command menu this user's chat was given (handlers/menus.py); None: the default
    # menu, the resident's. When it differs from ``role`` the chat's menu is set again.
    menu_role: str | None = None
    # The bot this user talks to, when one deployment runs several (one per kab/kota, handlers/bots.py):
    # messages to them go out through it. None: the deployment's only bot.
    bot_key: str | None = None


@dataclass(kw_only=True, eq=False)
class Family:
    """A family (kartu keluarga) in one SLS."""

    id: int = unset()
    sls_id: int = unset()
    head_name: str = unset()
    kk_number: str | None = None
    members: int = unset()
    address: str | None = None
    # Where the house is (WGS84), when known: orders and measures the enumerator's route (geodesic).
    latitude: float | None = None
    longitude: float | None = None
    # Audit only, deliberately without a foreign key: users.family_id already points the other way,
    # and a cycle of foreign keys would make table creation order ambiguous.
    registered_by_user_id: int | None = None
    created_at: dt.datetime = unset()
    # Where the family stands in the field work (domain/family_status.py is the only writer):
    # not_contacted | booked | visited | completed | not_home | refused | moved | not_found
    status: str = "not_contacted"
    status_at: dt.datetime | None = None
    # The RT head asked for a photo of the house (field capture asks for one when set).
    needs_photo: bool = False
    # When the family is usually home (domain/home_times.py codes: "weekday_morning", "saturday", …);
    # None: not said. Offers and the enumerator's route put these times first.
    home_times: list[str] | None = None


@dataclass(kw_only=True, eq=False)
class Enumerator:
    """A field officer (PPL) with working hours, assigned to one or more SLS."""

    id: int = unset()
    name: str = unset()
    user_id: int | None = None
    visit_minutes: int = 30
    # WorkWeek.to_json(): windows per weekday and opted-in dates; None means the default week
    work_week: dict[str, Any] | None = None


@dataclass(kw_only=True, eq=False)
class EnumeratorAssignment:
    """An enumerator works in an SLS."""

    enumerator_id: int = unset()
    sls_id: int = unset()


@dataclass(kw_only=True, eq=False)
class Appointment:
    """A visit. Moving keeps history: the old row becomes 'moved' and points at its successor."""

    id: int = unset()
    family_id: int = unset()
    enumerator_id: int = unset()
    start_at: dt.datetime = unset()
    end_at: dt.datetime = unset()
    status: str = "booked"  # booked | moved | cancelled | visited (the visit took place: domain/visits.py)
    booked_by_user_id: int | None = None
    replaced_by_id: int | None = None
    confirmed_at: dt.datetime | None = None  # the resident pressed "confirm" on a reminder
    created_at: dt.datetime = unset()
    updated_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class BusyBlock:
    """One 15-minute block of an enumerator's time taken by a visit: the primary key forbids overlap."""

    enumerator_id: int = unset()
    block_start: dt.datetime = unset()
    appointment_id: int = unset()


@dataclass(kw_only=True, eq=False)
class RedeemedInvite:
    """Single-use invites are remembered by nonce once redeemed."""

    id: int = unset()
    kind: int = unset()
    nonce: int = unset()
    user_id: int = unset()
    redeemed_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class Conversation:
    """Where a user is in a flow, so a restart in the middle of a booking resumes there."""

    telegram_id: int = unset()
    state: str = unset()
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: dt.datetime = unset()
    # The Telegram update_id of the last update applied to this conversation: with several workers a
    # redelivered or late update (id <= this) is dropped instead of applied twice or out of order.
    last_update_id: int | None = None
    last_update_bot: str | None = None  # whose numbering (several bots: domain/bots.py)


@dataclass(kw_only=True, eq=False)
class OutboxMessage:
    """A message to send later, written in the same transaction as the change that causes it."""

    id: int = unset()
    chat_id: int = unset()
    kind: str = unset()
    payload: dict[str, Any] = unset()  # catalog key and arguments, rendered at send time
    due_at: dt.datetime = unset()
    status: str = "pending"  # pending | sent | failed | undeliverable | skipped
    attempts: int = 0  # claims so far, minus those given back
    last_error: str | None = None
    claimed_until: dt.datetime | None = None  # a dispatcher's lease; also the token that settles the row
    sent_at: dt.datetime | None = None
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class ReminderSetting:
    """Reminder and daily-message times of an area and everything below it; None means the default.

    Times are local wall-clock "HH:MM" in the area's zone; ``before_minutes`` is the offset of the
    reminder shortly before the visit.
    """

    area_id: int = unset()
    evening_at: str | None = None
    before_minutes: int | None = None
    confirm_by: str | None = None
    schedule_at: str | None = None
    summary_at: str | None = None
    updated_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class DailyDigest:
    """One daily message (enumerator's schedule, RT head's summary) per recipient and local day:
    the unique key makes a second one impossible, whatever the number of processes or restarts."""

    id: int = unset()
    kind: str = unset()
    chat_id: int = unset()
    day: dt.date = unset()
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class Record:
    """One questionnaire for one family: a draft while it is filled, then completed and immutable.

    A correction after completion is a new row (``version`` + 1) that names the one it replaces; the
    registry receives every completed version under its own id (the idempotency key).
    """

    id: str = unset()  # UUID, made by Pintu
    family_id: int = unset()
    form_id: str = unset()
    form_version: str = unset()
    answers: dict[str, Any] = field(default_factory=dict)
    latitude: float | None = None
    longitude: float | None = None
    geo_accuracy_m: float | None = None
    geo_source: str | None = None  # gps | network | telegram | manual
    geo_captured_at: dt.datetime | None = None
    # Who shared the geotag (domain/geotag.py): "resident" (a hint) or "enumerator" (at the door,
    # authoritative), their Telegram id, and why it needs review ("outside-sls", "too-far") or None.
    geo_by: str | None = None
    geo_sender: int | None = None
    geo_flag: str | None = None
    geo_live_until: dt.datetime | None = None  # a live location: its later points update the geotag until then
    status: str = "draft"  # draft | completed
    completed_at: dt.datetime | None = None
    consent_version: str | None = None  # the notice agreed to, copied at completion
    consent_at: dt.datetime | None = None
    consent_recorded_by: int | None = None  # users.id of the officer who recorded consent at the door
    appointment_id: int | None = None
    enumerator_id: int | None = None
    version: int = 1
    replaces_id: str | None = None
    created_at: dt.datetime = unset()
    updated_at: dt.datetime = unset()
    reviewed_at: dt.datetime | None = None  # marked reviewed by a supervisor (web/review_routes.py)
    reviewed_by_user_id: int | None = None


@dataclass(kw_only=True, eq=False)
class RecordPhoto:
    """A photo of a record; the file lives under PINTU_MEDIA_DIR at ``path``, checked by its SHA-256."""

    id: int = unset()
    record_id: str = unset()
    path: str = unset()  # relative to the media directory
    sha256: str = unset()
    size: int = unset()
    width: int | None = None
    height: int | None = None
    mime: str = unset()
    taken_at: dt.datetime | None = None
    sender: int | None = None  # Telegram user id of whoever sent it


@dataclass(kw_only=True, eq=False)
class RecordDelivery:
    """The registry outbox: one row per completed record and target, written with the completion."""

    id: int = unset()
    record_id: str = unset()
    target: str = "registry"
    status: str = "pending"  # pending | delivered | parked
    attempts: int = 0
    next_attempt_at: dt.datetime = unset()
    claimed_until: dt.datetime | None = None  # a worker's lease; also the token that settles the row
    last_error: str | None = None  # status code and reason only, never personal data
    delivered_at: dt.datetime | None = None
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FkpDecisionDelivery:
    """A public-consultation decision queued for the registry (domain/fkp_registry.py), one per key."""

    id: int = unset()
    decision_key: str = unset()
    document: dict[str, Any] = field(default_factory=dict)  # pintu.fkp-decision/1, as decided
    target: str = "registry"
    status: str = "pending"  # pending | delivered | parked
    attempts: int = 0
    next_attempt_at: dt.datetime = unset()
    claimed_until: dt.datetime | None = None
    last_error: str | None = None  # status code and reason only
    delivered_at: dt.datetime | None = None
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class VisitOutcome:
    """What happened at the door, as the enumerator recorded it (one row per attempt)."""

    id: int = unset()
    family_id: int = unset()
    appointment_id: int | None = None
    enumerator_id: int | None = None
    outcome: str = unset()  # done | not_home | refused | moved | not_found
    note: str | None = None
    recorded_at: dt.datetime = unset()
    recorded_by_user_id: int | None = None


@dataclass(kw_only=True, eq=False)
class FamilyNudge:
    """An RT head's reminder to a family that has not booked: the unique key allows one per family and day."""

    id: int = unset()
    family_id: int = unset()
    day: dt.date = unset()  # the local day in the family's area
    sent_by_user_id: int | None = None
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class RtGroup:
    """An RT's Telegram group, linked by its RT head with /grup; gets a daily progress line (counts only)."""

    id: int = unset()
    chat_id: int = unset()
    sls_id: int = unset()
    linked_by_user_id: int | None = None
    linked_at: dt.datetime = unset()
    bot_key: str | None = None  # the bot that is in the group (users.bot_key)


@dataclass(kw_only=True, eq=False)
class BotEntry:
    """One of the deployment's bots and the areas it serves (area codes; a code serves everything below
    it). Each bot process writes its own row at start, so the others can name it to a user who wrote to
    the wrong one."""

    key: str = unset()
    username: str = unset()
    area_codes: list[str] = unset()
    updated_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class CampaignWindow:
    """The field work's window of an area and everything below it (the nearest area with one wins):
    progress reports count a unit as behind schedule against it (domain/progress.py)."""

    area_id: int = unset()
    starts_on: dt.date = unset()
    ends_on: dt.date = unset()
    updated_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FamilyClaim:
    """A resident asking to be linked to a family (domain/claims.py). ``family_id`` names the family when
    one is known (listed, or already claimed); a claim of a family nobody listed carries its details and
    the family is created when the RT head approves."""

    id: int = unset()
    user_id: int = unset()
    sls_id: int = unset()
    family_id: int | None = None
    head_name: str = unset()
    kk_number: str | None = None
    members: int = unset()
    # The house as the resident gave it (address typed, position shared): the family's when approved.
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    via_invite: bool = False
    status: str = "pending"  # pending | linked | rejected | removed
    created_at: dt.datetime = unset()
    decided_at: dt.datetime | None = None
    decided_by_user_id: int | None = None


@dataclass(kw_only=True, eq=False)
class KkAttempt:
    """One KK number typed by a resident: a keyed digest of it, for the rate limits."""

    id: int = unset()
    user_id: int = unset()
    kk_digest: str = unset()
    attempted_at: dt.datetime = unset()

@dataclass(frozen=True)
class AuditEntry:
    """One access of staff to personal data (domain/audit.py): who, what kind, which family or area,
    when — never the values seen or changed. Ids are plain numbers (no foreign keys), so an entry
    outlives the erasure of the family or user it names."""

    id: int
    at: dt.datetime
    actor_user_id: int | None  # None: an operator at the command line
    actor_role: str  # the actor's role then ("cli" for the command line)
    action: str  # one of domain.audit.ACTIONS
    family_id: int | None = None
    area_id: int | None = None
    count: int | None = None  # rows of an export or import


@dataclass(kw_only=True, eq=False)
class PrivacyRequest:
    """A resident's correction or erasure request (domain/privacy.py); outlives the account it came from."""

    id: int = unset()
    kind: str = unset()  # correction | erasure
    status: str = "open"  # open | done
    telegram_id: int = unset()
    family_id: int | None = None
    sls_id: int | None = None
    text: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime = unset()
    closed_at: dt.datetime | None = None
    closed_by: int | None = None


# --- the public consultation (FKP, domain/fkp.py) -----------------------------------------------------

@dataclass(kw_only=True, eq=False)
class FkpForum:
    """One forum of a kelurahan's public consultation (one per up to 12 SLS)."""

    id: int = unset()
    village_id: int = unset()
    number: int = unset()
    at: dt.datetime = unset()  # the session's start, UTC
    place: str = ""
    prep_opens_at: dt.datetime = unset()  # the embargo ends: groups are shown from here on
    status: str = "planned"  # planned | open | closed | escalated
    opened_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    created_at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FkpParticipant:
    """A seat at a forum: its role there and, once the invite is redeemed (or for an RT head), its user."""

    id: int = unset()
    forum_id: int = unset()
    role: str = unset()  # facilitator | assistant | administrator | figure | rt_head
    user_id: int | None = None
    sls_id: int | None = None
    joined_at: dt.datetime | None = None


@dataclass(kw_only=True, eq=False)
class FkpProposal:
    id: int = unset()
    forum_id: int = unset()
    family_id: int = unset()
    kind: str = unset()  # confirm | move
    proposed_group: int | None = None
    reason: str | None = None
    note: str | None = None
    by_user_id: int | None = None
    at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FkpAddedFamily:
    id: int = unset()
    forum_id: int = unset()
    sls_id: int = unset()
    head_name: str = unset()
    kk_number: str | None = None
    status: str = unset()  # present | moved | died | not_found
    by_user_id: int | None = None
    at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FkpObjection:
    id: int = unset()
    forum_id: int = unset()
    family_id: int = unset()
    user_id: int = unset()
    claimed_group: int = unset()
    reason: str = unset()
    note: str | None = None
    at: dt.datetime = unset()


@dataclass(kw_only=True, eq=False)
class FkpDecision:
    id: int = unset()
    forum_id: int = unset()
    family_id: int | None = None
    added_id: int | None = None
    group: int | None = None
    outcome: str = unset()  # accepted | rejected
    reason: str | None = None
    by_user_id: int | None = None
    at: dt.datetime = unset()


@dataclass(frozen=True)
class WebLink:
    """A one-time sign-in link of the web dashboard (domain/dashboard.py), as stored: its digest's row."""

    user_id: int
    expires_at: dt.datetime
    used_at: dt.datetime | None


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser of the web dashboard (domain/dashboard.py)."""

    id: int
    user_id: int
    language: str
    created_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
