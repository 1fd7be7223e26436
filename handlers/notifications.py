"""Outbox rows rendered into messages: in the recipient's language, at send time, in the family's zone.

The booking rules queue facts (which family, which start) rather than text, so a message is written
in the language its recipient has chosen by the time it is sent. Rendering only reads: it never
changes a row; what to do with a row that cannot be rendered is the dispatcher's decision.
"""
from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from domain.ports import UnitOfWork
from domain.booking import BookingRules, offers
from domain.nudges import NUDGE
from domain.outcomes import NEW_TIME_OFFER
from domain.reminders import home_time_fit
from domain.rt_groups import progress
from domain import fkp
from handlers import daily_messages, keyboards
from chat.keyboard import Button, Keyboard, Markup, choices, keyboard
from chat.i18n import Translator, language_for
from chat.events import EditMessage
from chat.render import HOME_MARK, day_button, day_label, home_times_label, visit_when
from chat.wire import action_from_json

# Catalog keys of the notifications; an outbox row's kind is its key without the "notify-" prefix.
NOTIFICATION_KEYS = frozenset({"notify-visit-new", "notify-visit-moved", "notify-visit-cancelled"})
# Reminders (domain/reminders.py): about one appointment, sent only while it still stands.
REMINDER_KEYS = frozenset({"notify-reminder-evening", "notify-reminder-hour", "notify-reminder-unconfirmed"})
UNDELIVERABLE_KEY = "notify-reminder-undeliverable"  # to the RT head: a family member has blocked the bot
UNDELIVERED_ABOUT = {NUDGE: "notify-reminder-undeliverable-nudge",
                     NEW_TIME_OFFER: "notify-reminder-undeliverable-new-time"}
DAILY_KEYS = frozenset({"notify-daily-schedule", "notify-rt-summary"})
# Coordination (issue 6): a nudge, a new time after "not home", an RT group's progress line.
COORDINATION_KEYS = frozenset({"notify-nudge", "notify-offer-new-time", "notify-rt-group-progress"})
# Family claims (domain/claims.py): to the RT heads with buttons, and the decision to the resident.
CLAIM_KEYS = frozenset({"notify-claim-new", "notify-claim-linked", "notify-claim-rejected", "notify-claim-removed"})

# Privacy requests (domain/privacy.py): a correction to the RT head, "your request is done" to the resident.
PRIVACY_KEYS = frozenset({"notify-privacy-correction", "notify-privacy-done"})

# The public consultation (domain/fkp.py): the kind is the catalog key itself (fkp-chat-notify-…).
FKP_KINDS = frozenset(fkp.NOTIFY_KINDS)

# A step's reply written ahead with the step (bot/replies.py): the action itself, already rendered.
REPLY_KIND = "reply"


class OutboxRow(Protocol):
    """What rendering needs of an outbox row (the ORM row or the dispatcher's copy of it)."""

    chat_id: int
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Notification:
    """A message ready to send; with ``edit_message_id``, the new text of a message already sent (a
    reply's edit, handed over to the outbox)."""

    chat_id: int
    text: str
    markup: Markup = None
    edit_message_id: int | None = None


@dataclass(frozen=True)
class NotRendered:
    """Nothing can be said any more; ``reason`` is for the row's last_error, never for a user."""

    reason: str


def recipient_language(uow: UnitOfWork, chat_id: int) -> str:
    """The language the recipient chose; Indonesian for groups and for chats of unknown users."""
    user = uow.users.by_telegram_id(chat_id) if chat_id > 0 else None
    return language_for(None, user.language if user is not None else None)


@dataclass(frozen=True)
class Prepared:
    """What rendering a batch of outbox rows reads once for all of them (see :func:`prepare_outbox`)."""

    plans: Mapping[tuple[int, dt.date], Any] = field(default_factory=dict)  # daily schedules' routes
    languages: Mapping[int, str] = field(default_factory=dict)  # chat id -> language, known users
    held: tuple[Any, ...] = ()  # what was read, kept alive while the batch renders (the session holds it weakly)


def prepare_outbox(uow: UnitOfWork, rows: Sequence[OutboxRow], now: dt.datetime | None = None) -> Prepared:
    """Read for a batch of rows what would otherwise be read row by row: the daily schedules' routes
    (a whole city's 06.00 run is one batch) and the recipients' languages."""
    daily = [row for row in rows if "notify-" + row.kind in DAILY_KEYS]
    if not daily:
        return Prepared()
    payloads = [row.payload for row in daily if isinstance(row.payload, dict)]
    held: list[Any] = []
    plans = daily_messages.plan_schedules(uow, payloads, now, held)
    return Prepared(plans, uow.users.languages_of({row.chat_id for row in daily if row.chat_id > 0}), tuple(held))


def render_outbox(uow: UnitOfWork, row: OutboxRow, now: dt.datetime | None = None,
                  prepared: Prepared | None = None) -> Notification | NotRendered:
    """Render one outbox row for its recipient; ``now`` (the dispatcher's clock) lets a reminder
    about a visit that has begun be skipped rather than sent; ``prepared``: read for its batch already."""
    if row.kind == REPLY_KIND:
        return _render_reply(row)
    if row.kind in FKP_KINDS:
        return _render_fkp(uow, row)
    key = "notify-" + row.kind
    if key in REMINDER_KEYS:
        return _render_reminder(uow, row, key, now)
    if key == UNDELIVERABLE_KEY:
        return _render_undeliverable(uow, row)
    if key in DAILY_KEYS:
        payload = row.payload if isinstance(row.payload, dict) else {}
        known = prepared.languages.get(row.chat_id) if prepared is not None else None
        t = Translator(language_for(None, known) if known is not None else recipient_language(uow, row.chat_id))
        rendered = daily_messages.render(uow, key, payload, t, now, prepared.plans if prepared else None)
        return Notification(row.chat_id, rendered) if rendered is not None else NotRendered(f"bad {row.kind} payload")
    if key in COORDINATION_KEYS:
        return _render_coordination(uow, row, key, now)
    if key in CLAIM_KEYS:
        return _render_claim(uow, row, key)

    if key in PRIVACY_KEYS:
        return _render_privacy(uow, row, key)
    if key not in NOTIFICATION_KEYS:
        return NotRendered(f"unknown outbox kind {row.kind!r}")
    payload = row.payload if isinstance(row.payload, dict) else {}
    family = uow.families.get(payload.get("family_id")) if isinstance(payload.get("family_id"), int) else None
    if family is None:
        return NotRendered(f"family {payload.get('family_id')!r} no longer exists")
    start = _instant(payload.get("start")) or _appointment_start(uow, payload.get("appointment_id"))
    if start is None:
        return NotRendered(f"no visit time in payload and appointment {payload.get('appointment_id')!r} is gone")
    area = uow.areas.get(family.sls_id)
    t = Translator(recipient_language(uow, row.chat_id))
    text = _text(t, key, start, _instant(payload.get("old_start")), family.head_name, area.name, ZoneInfo(area.timezone))
    if family.address and key != "notify-visit-cancelled":  # where to go: the officer's next question
        text += "\n" + t("notify-visit-address", address=family.address)
    if key != "notify-visit-cancelled" and home_time_fit(family, start, ZoneInfo(area.timezone)) is not None:
        text += "\n" + t("rh-home-times", times=home_times_label(family.home_times, t))  # the officer knows when they are in
    return Notification(row.chat_id, text)


def _render_reply(row: OutboxRow) -> Notification | NotRendered:
    payload = row.payload if isinstance(row.payload, dict) else {}
    try:
        action = action_from_json(payload["action"])
    except (KeyError, TypeError, ValueError) as error:
        return NotRendered(f"bad reply payload ({type(error).__name__})")
    edit = action.message_id if isinstance(action, EditMessage) else None
    return Notification(action.chat_id, action.text, action.markup, edit)


def _text(t: Translator, key: str, start: dt.datetime, old: dt.datetime | None, name: str, rt: str, tz: ZoneInfo) -> str:
    when = visit_when(start, tz, t)
    if key == "notify-visit-moved" and old is not None:
        return t("notify-visit-moved", when=when, name=name, rt=rt, old=visit_when(old, tz, t))
    if key == "notify-visit-cancelled":
        return t("notify-visit-cancelled", when=when, name=name, rt=rt)
    # A move whose old time is unknown still announces a visit at the new time: say just that.
    return t("notify-visit-new", when=when, name=name, rt=rt)


def _instant(value: object) -> dt.datetime | None:
    """An aware instant from the payload's ISO text; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _appointment_start(uow: UnitOfWork, appointment_id: object) -> dt.datetime | None:
    appointment = uow.appointments.get(appointment_id) if isinstance(appointment_id, int) else None
    return appointment.start_at if appointment is not None else None


def _render_reminder(uow: UnitOfWork, row: OutboxRow, key: str, now: dt.datetime | None) -> Notification | NotRendered:
    """A reminder, with Confirm/Move/Cancel buttons; skipped when its visit no longer stands as planned."""
    payload = row.payload if isinstance(row.payload, dict) else {}
    appointment_id = payload.get("appointment_id")
    appointment = uow.appointments.get(appointment_id) if isinstance(appointment_id, int) else None
    if appointment is None:
        return NotRendered(f"appointment {appointment_id!r} no longer exists")
    if appointment.status != "booked":
        return NotRendered(f"visit {appointment.status}")
    planned = _instant(payload.get("start"))
    if planned is not None and planned != appointment.start_at:
        return NotRendered("visit moved")
    if now is not None and now >= appointment.start_at:
        return NotRendered("visit has begun or passed")
    if key == "notify-reminder-unconfirmed" and appointment.confirmed_at is not None:
        return NotRendered("confirmed by the family")
    family = uow.families.get(appointment.family_id)
    area = uow.areas.get(family.sls_id)
    tz = ZoneInfo(area.timezone)
    t = Translator(recipient_language(uow, row.chat_id))
    when = visit_when(appointment.start_at, tz, t)
    home = _home_times_lines(family, appointment.start_at, tz, t)
    if key == "notify-reminder-unconfirmed":
        return Notification(row.chat_id, t("notify-reminder-unconfirmed", when=when, name=family.head_name, rt=area.name)
                            + home)
    officer = uow.enumerators.get(appointment.enumerator_id)
    markup = keyboards.reminder_actions(t, appointment.id, family.id, appointment.confirmed_at is not None)
    if key == "notify-reminder-evening":
        text = t("notify-reminder-evening", when=when, officer=officer.name, name=family.head_name) + home
    else:
        text = t("notify-reminder-hour", when=when, officer=officer.name, name=family.head_name)
    return Notification(row.chat_id, text, markup)


def _home_times_lines(family: Any, start: dt.datetime, tz: ZoneInfo, t: Translator) -> str:
    """When the family said it is home, and (a visit outside those times) the suggestion to move it."""
    fit = home_time_fit(family, start, tz)
    if fit is None:
        return ""
    lines = "\n\n" + t("reminder-home-times", times=home_times_label(family.home_times, t))
    return lines if fit else lines + "\n" + t("reminder-home-mismatch")


def _render_undeliverable(uow: UnitOfWork, row: OutboxRow) -> Notification | NotRendered:
    payload = row.payload if isinstance(row.payload, dict) else {}
    family = uow.families.get(payload.get("family_id")) if isinstance(payload.get("family_id"), int) else None
    if family is None:
        return NotRendered(f"family {payload.get('family_id')!r} no longer exists")
    area = uow.areas.get(family.sls_id)
    t = Translator(recipient_language(uow, row.chat_id))
    # The note says what did not arrive: an invitation to book, a new time offered, or (rows written
    # before the note named it) a message about the visit.
    key = UNDELIVERED_ABOUT.get(str(payload.get("about", "")), UNDELIVERABLE_KEY)
    return Notification(row.chat_id, t(key, name=family.head_name, rt=area.name))


def _render_coordination(uow: UnitOfWork, row: OutboxRow, key: str, now: dt.datetime | None) -> Notification | NotRendered:
    payload = row.payload if isinstance(row.payload, dict) else {}
    t = Translator(recipient_language(uow, row.chat_id))
    if key == "notify-rt-group-progress":
        sls_id = payload.get("sls_id")
        if not isinstance(sls_id, int) or uow.areas.get(sls_id) is None:
            return NotRendered("bad rt-group-progress payload")
        return Notification(row.chat_id, progress_line(uow, sls_id, t))
    if key == "notify-nudge":
        rendered = render_nudge(uow, payload.get("family_id"), t)
    elif now is None:
        return NotRendered("free times need the dispatcher's clock")
    else:
        rendered = render_offer(uow, payload.get("family_id"), t, now, BookingRules())
    if rendered is None:
        return NotRendered("family gone or already booked")
    return Notification(row.chat_id, rendered[0], rendered[1])


# --- coordination: a group's progress line, a nudge, a new time after "not home" ---------------------

def progress_line(uow: UnitOfWork, sls_id: int, t: Translator) -> str:
    """Counts only: never a name, a KK number, an address or anyone's visit time."""
    done = progress(uow, sls_id)
    area = uow.areas.get(sls_id)
    return t.raw("notify-rt-group-progress", rt=html.escape(area.name, quote=False), families=done.families,
                 booked=done.of("booked"), visited=done.of("visited"), completed=done.of("completed"),
                 open=done.of("not_contacted"), not_home=done.of("not_home"),
                 closed=done.of("refused", "moved", "not_found"))


MAX_OFFERED_DAYS = 6


def new_time_keyboard(uow: UnitOfWork, family: Any, t: Translator, now: dt.datetime, rules: Any) -> Keyboard | None:
    """The first free days as buttons ``oc:d:<family>:<day>``, those at the family's home times first and
    marked 🏠 (a family not found at home is best offered when it is); None when nothing is free."""
    offered = offers(uow, family, now, rules)
    days = offered.days[:MAX_OFFERED_DAYS]
    if not days:
        return None
    buttons = [Button(f"{HOME_MARK} {day_button(d, t.language)}" if d in offered.home_days else day_button(d, t.language),
                      f"oc:d:{family.id}:{d:%Y%m%d}") for d in days]
    return keyboard([choices(buttons)])


def render_offer(uow: UnitOfWork, family_id: Any, t: Translator, now: dt.datetime, rules: Any) -> tuple[str, Keyboard | None] | None:
    """The "not home" message to a family member (rendered at send time from fresh free days)."""
    family = uow.families.get(family_id) if isinstance(family_id, int) else None
    if family is None or uow.appointments.active_for_family(family.id) is not None:
        return None  # gone, or they booked meanwhile
    markup = new_time_keyboard(uow, family, t, now, rules)
    key = "notify-offer-new-time" if markup is not None else "notify-offer-new-time-none"
    return t(key, name=family.head_name), markup


def render_nudge(uow: UnitOfWork, family_id: Any, t: Translator) -> tuple[str, Keyboard] | None:
    family = uow.families.get(family_id) if isinstance(family_id, int) else None
    if family is None or uow.appointments.active_for_family(family.id) is not None:
        return None
    rt = uow.areas.get(family.sls_id)
    return (t("notify-nudge", name=family.head_name, rt=rt.name),
            keyboard([[keyboards.book_family(t, family.id)]]))


# --- family claims ----------------------------------------------------------------------------------

def _render_claim(uow: UnitOfWork, row: OutboxRow, key: str) -> Notification | NotRendered:
    payload = row.payload if isinstance(row.payload, dict) else {}
    t = Translator(recipient_language(uow, row.chat_id))
    if key == "notify-claim-removed":
        family = uow.families.get(payload.get("family_id")) if isinstance(payload.get("family_id"), int) else None
        if family is None:
            return NotRendered("family gone")
        return Notification(row.chat_id, t(key, name=family.head_name))
    claim = uow.claims.get(payload.get("claim_id")) if isinstance(payload.get("claim_id"), int) else None
    if claim is None:
        return NotRendered("claim gone")
    if key == "notify-claim-new":
        if claim.status != "pending":
            return NotRendered(f"claim {claim.status}")  # decided before the message went out
        return Notification(row.chat_id, claim_text(uow, claim, t), keyboards.claim_decision(t, claim.id))
    family = uow.families.get(claim.family_id) if claim.family_id is not None else None
    return Notification(row.chat_id, t(key, name=family.head_name if family is not None else claim.head_name))


def claim_text(uow: UnitOfWork, claim: Any, t: Translator) -> str:
    """A pending claim as the RT head reads it: who, what they typed, and how it compares to the list.
    The KK number is masked like in the family list (the message may be read over a shoulder)."""
    family = uow.families.get(claim.family_id) if claim.family_id is not None else None
    kk = family.kk_number if family is not None else claim.kk_number
    if family is None:
        details = [t("claim-detail-new")]
    else:
        details = [t("claim-detail-listed", listed=family.head_name)]
        linked = len(uow.users.residents_of_family(family.id))
        if linked:
            details.append(t("claim-detail-linked", count=linked))
    if not claim.via_invite:
        details.append(t("claim-detail-no-invite"))
    if getattr(claim, "address", None):
        details.append(t("rh-address", address=claim.address))
    person = uow.users.get(claim.user_id)
    esc = lambda value: html.escape(str(value), quote=False)  # noqa: E731
    return t.raw("notify-claim-new", rt=esc(uow.areas.get(claim.sls_id).name),
                 person=esc(person.first_name if person is not None else "-"), name=esc(claim.head_name),
                 kk=f"····{kk[-4:]}" if kk else "-", members=claim.members, detail="\n".join(details))

def _render_privacy(uow: UnitOfWork, row: OutboxRow, key: str) -> Notification | NotRendered:
    payload = row.payload if isinstance(row.payload, dict) else {}
    request_id = payload.get("request_id")
    request = uow.privacy.get(request_id) if isinstance(request_id, int) else None
    if request is None:
        return NotRendered(f"privacy request {request_id!r} is gone")
    t = Translator(recipient_language(uow, row.chat_id))
    if key == "notify-privacy-done":
        kind = t("pv-kind-erasure" if request.kind == "erasure" else "pv-kind-correction")
        return Notification(row.chat_id, t("notify-privacy-done", id=request.id, kind=kind))
    if request.status != "open":
        return NotRendered(f"privacy request {request.id} already closed")
    family = uow.families.get(request.family_id) if request.family_id is not None else None
    user = uow.users.by_telegram_id(request.telegram_id)
    text = t("notify-privacy-correction", id=request.id, name=family.head_name if family else "-",
             person=user.first_name if user else "-", text=request.text or "")
    return Notification(row.chat_id, text, keyboards.privacy_request_done(t, request.id))


def _render_fkp(uow: UnitOfWork, row: OutboxRow) -> Notification | NotRendered:
    """A forum planned, the evening-before reminder, "please sign", "the minutes are ready", an escalation.
    A notice about a forum that has moved on (rescheduled, closed) is skipped, not sent."""
    payload = row.payload if isinstance(row.payload, dict) else {}
    forum = uow.fkp.get(payload.get("forum_id")) if isinstance(payload.get("forum_id"), int) else None
    if forum is None:
        return NotRendered(f"forum {payload.get('forum_id')!r} no longer exists")
    village = uow.areas.get(forum.village_id)
    tz = ZoneInfo(village.timezone)
    t = Translator(recipient_language(uow, row.chat_id))
    values = {"number": forum.number, "village": village.name, "when": visit_when(forum.at, tz, t), "place": forum.place or "-"}
    if row.kind in (fkp.NOTIFY_PLANNED, fkp.NOTIFY_REMINDER, fkp.NOTIFY_RESIDENT):
        if forum.status != fkp.PLANNED or _instant(payload.get("at")) != forum.at:
            return NotRendered(f"forum {forum.status} or moved")
        prep = forum.prep_opens_at.astimezone(tz).date()
        return Notification(row.chat_id, t(row.kind, prep=day_label(prep, t.language), **values), keyboards.fkp_open(t))
    if row.kind == fkp.NOTIFY_SIGN:
        return Notification(row.chat_id, t(row.kind, **values), keyboards.fkp_sign(t, forum.id))
    if row.kind == fkp.NOTIFY_MINUTES:
        return Notification(row.chat_id, t(row.kind, **values), keyboards.fkp_minutes(t, forum.id))
    seat = uow.fkp.participant(payload.get("seat_id")) if isinstance(payload.get("seat_id"), int) else None
    person = uow.users.get(seat.user_id) if seat is not None and seat.user_id is not None else None
    return Notification(row.chat_id, t(row.kind, role=t(fkp.ROLE_KEYS[seat.role]) if seat else "-",
                                       person=person.first_name if person else "-", code=village.code, **values))
