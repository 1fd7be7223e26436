"""The audit log: every view, export and change of personal data by staff, appended as it happens.

An entry says who (the user and their role, or the command line), what kind of access (:data:`ACTIONS`),
which family or area, and when — never the values seen or changed, so the log itself holds no personal
data beyond ids. It is written in the same transaction as the access: an access that rolls back leaves
no entry, and one that commits always has one. ``pintu audit [--user ID] [--family ID] [--since DATE]``
reads it (bot/cli.py).

A resident looking at or filling their own family's data is not staff and is not logged; everyone else
is (RT heads, enumerators, supervisors, coordinators, admins, operators at the command line). Other
parts call :func:`record` wherever they show, export or change personal data:

    audit.record(uow, ctx.user, audit.VIEW_FAMILY, ctx.now, family_id=family.id)
"""
from __future__ import annotations

import datetime as dt

from domain.model import AuditEntry, User
from domain.ports import UnitOfWork

VIEW_FAMILY = "family.view"  # a family's page (name, KK, members, address, status)
CHANGE_FAMILY = "family.change"  # a family's details corrected, a photo asked for
VIEW_QUESTIONNAIRE = "questionnaire.view"  # another family's questionnaire opened (or its review)
CHANGE_QUESTIONNAIRE = "questionnaire.change"  # an answer given for another family
SUBMIT_QUESTIONNAIRE = "questionnaire.submit"  # the record completed
ADD_PHOTO = "photo.add"  # a photo of another family's house stored
VIEW_PHOTO = "photo.view"  # a stored photo shown or sent
EXPORT = "export"  # an area's families as a file
IMPORT = "import"  # families imported from a list
ROLE_CHANGE = "role.change"  # a role given or taken (an invite redeemed, the admin)
ERASURE = "erasure"  # personal data erased (a request, retention)
FKP_VIEW = "fkp.view"  # a list of families with their welfare group (the public consultation, domain/fkp.py)
FKP_PROPOSE = "fkp.propose"  # an RT head confirms, moves or adds a family
FKP_DECIDE = "fkp.decide"  # the forum decides on a family
DOOR_CONSENT = "consent.door"  # a family's answer to the notice read out at the door (agreed or refused)
ACTIONS = (VIEW_FAMILY, CHANGE_FAMILY, VIEW_QUESTIONNAIRE, CHANGE_QUESTIONNAIRE, SUBMIT_QUESTIONNAIRE, ADD_PHOTO,
           VIEW_PHOTO, EXPORT, IMPORT, ROLE_CHANGE, ERASURE, FKP_VIEW, FKP_PROPOSE, FKP_DECIDE, DOOR_CONSENT)
COMMAND_LINE = "cli"  # the actor role of an operator at the command line (no user)


def is_staff(actor: User | None) -> bool:
    """Whose access is logged: anyone but a resident (None: the command line)."""
    return actor is None or actor.role != "resident"


def record(uow: UnitOfWork, actor: User | None, action: str, now: dt.datetime, *, family_id: int | None = None,
           area_id: int | None = None, count: int | None = None, always: bool = False, role: str | None = None) -> bool:
    """Append an entry for ``actor`` (None: the command line) when they are staff (or ``always``: a role
    change or an erasure is logged whoever asked); True when an entry was written. ``role``: the role the
    access was made in when it is not the user's own (a seat at a consultation forum, domain/fkp.py)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    if not always and not is_staff(actor):
        return False
    uow.audit.add(at=now, actor_user_id=actor.id if actor is not None else None,
                  actor_role=role or (actor.role if actor is not None else COMMAND_LINE), action=action,
                  family_id=family_id, area_id=area_id, count=count)
    return True


def entries(uow: UnitOfWork, *, user_id: int | None = None, family_id: int | None = None,
            since: dt.datetime | None = None, limit: int | None = None) -> list[AuditEntry]:
    """The log, oldest first, filtered by actor, family and time (each optional)."""
    return uow.audit.entries(user_id=user_id, family_id=family_id, since=since, limit=limit)


def describe(entry: AuditEntry) -> str:
    """One line for ``pintu audit`` (UTC, ISO 8601): time, actor, action, family, area, count."""
    who = f"user {entry.actor_user_id} ({entry.actor_role})" if entry.actor_user_id is not None else entry.actor_role
    parts = [entry.at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), who, entry.action]
    if entry.family_id is not None:
        parts.append(f"family {entry.family_id}")
    if entry.area_id is not None:
        parts.append(f"area {entry.area_id}")
    if entry.count is not None:
        parts.append(f"{entry.count} rows")
    return "  ".join(parts)
