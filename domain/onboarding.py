"""Consent, joining by invite or by choosing an RT, and registering a family."""
from __future__ import annotations

import datetime as dt

from domain.errors import AlreadyAnotherOfficer, DuplicateKK, NotAllowed, RevokedInvite, UsedInvite
from domain.invites import Invite, InviteKind
from domain.model import Family, User
from domain.ports import UnitOfWork


def record_consent(uow: UnitOfWork, telegram_id: int, first_name: str, language: str, version: str, now: dt.datetime) -> User:
    """Create the user at the moment they agree; before this nothing about them is stored."""
    existing = uow.users.by_telegram_id(telegram_id)
    if existing is not None:
        existing.consent_version, existing.consent_at = version, now
        return existing
    return uow.users.add(
        User(telegram_id=telegram_id, first_name=first_name[:120] or "-", language=language, role="resident",
             consent_version=version, consent_at=now, created_at=now)
    )


def redeem_invite(uow: UnitOfWork, user: User, invite: Invite, now: dt.datetime) -> User:
    """Give the user the role the invite carries; single-use invites work once.

    Checked before the invite is used up, so a refused invite can still be given to the right person.
    """
    if uow.invites.is_revoked(int(invite.kind), invite.nonce):
        raise RevokedInvite()
    if invite.kind is InviteKind.ENUMERATOR:
        linked = uow.enumerators.by_user(user.id)
        if linked is not None and linked.id != invite.target_id:
            raise AlreadyAnotherOfficer()
    role_before = user.role
    if invite.kind.single_use and not uow.invites.redeem(int(invite.kind), invite.nonce, user.id, now):
        raise UsedInvite()
    if invite.kind is InviteKind.RT_HEAD:
        _require_sls(uow, invite.target_id)
        user.role, user.sls_id = "rt_head", invite.target_id
    elif invite.kind is InviteKind.ENUMERATOR:
        enumerator = uow.enumerators.get(invite.target_id)
        if enumerator is None:
            raise NotAllowed("enumerator")
        enumerator.user_id, user.role = user.id, "enumerator"
    elif invite.kind in (InviteKind.SUPERVISOR, InviteKind.COORDINATOR):
        from domain.access import assign_scope

        assign_scope(uow, user, "supervisor" if invite.kind is InviteKind.SUPERVISOR else "coordinator", invite.target_id)
    elif invite.kind is InviteKind.FKP_SEAT:
        from domain.fkp import redeem_seat

        redeem_seat(uow, user, invite.target_id, now)  # a role at one forum; users.role stays as it is
    else:
        join_sls(uow, user, invite.target_id)
    uow.flush()
    if user.role != role_before:
        from domain import audit

        audit.record(uow, user, audit.ROLE_CHANGE, now, area_id=user.sls_id or getattr(user, "scope_area_id", None),
                     always=True)
    return user


def join_sls(uow: UnitOfWork, user: User, sls_id: int) -> None:
    """A resident joins an RT; officers keep their role and place."""
    _require_sls(uow, sls_id)
    if user.role == "resident" and user.family_id is None:
        user.sls_id = sls_id


def _require_sls(uow: UnitOfWork, sls_id: int) -> None:
    area = uow.areas.get(sls_id)
    if area is None or area.level != "sls":
        raise NotAllowed("sls")


def register_family(
    uow: UnitOfWork, user: User, sls_id: int, head_name: str, kk_number: str, members: int, now: dt.datetime,
    for_self: bool, address: str | None = None, position: tuple[float, float] | None = None,
) -> Family:
    """Register a family in an SLS; a resident registers their own, an RT head any in their RT.
    ``address`` as typed, ``position`` (latitude, longitude) of the house when it was shared."""
    if not for_self and not (user.role in ("rt_head", "admin") and (user.role == "admin" or user.sls_id == sls_id)):
        raise NotAllowed("register")
    if uow.families.by_kk(kk_number) is not None:
        raise DuplicateKK()
    # Two people may register the same card at the same moment: the database lets one of them
    # (register raises DuplicateKK for the other).
    family = uow.families.register(
        Family(sls_id=sls_id, head_name=head_name, kk_number=kk_number, members=members, address=address,
               latitude=position[0] if position else None, longitude=position[1] if position else None,
               registered_by_user_id=user.id, created_at=now)
    )
    if for_self:
        user.family_id, user.sls_id = family.id, sls_id
    return family


def fill_house(family: Family, address: str | None, position: tuple[float, float] | None) -> None:
    """A resident's address and house position fill what the family's listing lacks; what the RT head
    listed (or the enumerator will capture at the door) is never replaced by a resident's hint."""
    if address and not family.address:
        family.address = address
    if position is not None and (family.latitude is None or family.longitude is None):
        family.latitude, family.longitude = position
