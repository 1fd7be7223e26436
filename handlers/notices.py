"""The privacy notices as the chat shows them: one per role (domain/privacy.py NOTICES), naming the
data controller and its contact (PINTU_CONTROLLER_NAME, PINTU_CONTROLLER_CONTACT), and the line that
stays under a notice once it is agreed to. Shared by onboarding, the router's re-consent, /privasi and
the enumerator's read-out at the door."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from chat.i18n import Translator
from chat.render import day_label, clock_time, zone_name
from domain import privacy
from domain.invites import InviteKind
from handlers.context import HandlerConfig

KEYS = {privacy.RESIDENT_NOTICE: "consent", privacy.RT_HEAD_NOTICE: "consent-rt-head",
        privacy.STAFF_NOTICE: "consent-staff"}
DEFAULT_ZONE = ZoneInfo("Asia/Jakarta")  # before a person has an area: WIB, said as such


def notice(t: Translator, config: HandlerConfig, kind: str) -> str:
    """The current notice of ``kind`` (resident, rt_head, staff)."""
    return t(KEYS[kind], version=privacy.NOTICES[kind][-1], controller=config.controller_name,
             contact=config.controller_contact)


def door_notice(t: Translator, config: HandlerConfig) -> str:
    """The resident's notice as the enumerator reads it out to a family at the door."""
    return t("consent-door", version=privacy.NOTICES[privacy.RESIDENT_NOTICE][-1],
             controller=config.controller_name, contact=config.controller_contact)


def agreed_line(t: Translator, at: dt.datetime, tz: ZoneInfo | None) -> str:
    """ "You agreed on 23 November 2026, 10.00 WITA": kept under the notice in the chat."""
    zone = tz or DEFAULT_ZONE
    return t("consent-agreed-at", day=day_label(at.astimezone(zone).date(), t.language),
             time=clock_time(at, zone, t.language), zone=zone_name(zone))


def renewed_notice(t: Translator, config: HandlerConfig, role: str | None) -> str:
    """The role's current notice, under the line saying it changed (or that the role's notice is another)."""
    kind = privacy.notice_kind(role)
    return t("consent-new-version", version=privacy.NOTICES[kind][-1]) + "\n\n" + notice(t, config, kind)


def kind_for_invite(invite_kind: InviteKind | None) -> str:
    """The notice a newcomer opening an invite link reads: the role the link gives."""
    if invite_kind is InviteKind.RT_HEAD:
        return privacy.RT_HEAD_NOTICE
    if invite_kind in (InviteKind.ENUMERATOR, InviteKind.SUPERVISOR, InviteKind.COORDINATOR):
        return privacy.STAFF_NOTICE
    return privacy.RESIDENT_NOTICE
