"""Staff: who holds a role beyond resident, taking a role back, and withdrawing an open invite."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from domain.errors import NotAllowed
from domain.invites import Invite, read_invite
from domain.model import User
from domain.ports import UnitOfWork


@dataclass(frozen=True)
class StaffMember:
    telegram_id: int
    first_name: str
    role: str
    place: str  # the RT, the enumerator's name or the supervised area; "" when none


def staff_list(uow: UnitOfWork) -> list[StaffMember]:
    return [StaffMember(user.telegram_id, user.first_name, user.role, _place(uow, user)) for user in uow.users.staff()]


def _place(uow: UnitOfWork, user: User) -> str:
    if user.role == "enumerator":
        enumerator = uow.enumerators.by_user(user.id)
        return f"enumerator #{enumerator.id} {enumerator.name}" if enumerator else ""
    area_id = user.scope_area_id if user.role in ("supervisor", "coordinator") else user.sls_id
    area = uow.areas.get(area_id) if area_id is not None else None
    return f"{area.name} ({area.code})" if area else ""


def revoke_role(uow: UnitOfWork, telegram_id: int) -> tuple[User, str]:
    """Make a staff member a resident again; returns the user and the role taken away.

    The user's chat menu follows on their next message (handlers/menus.py compares role and menu), and
    a step they were in is dropped, so no screen of the old role stays usable.
    """
    user = uow.users.by_telegram_id(telegram_id)
    if user is None:
        raise NotAllowed(f"no user with Telegram id {telegram_id}")
    old = user.role
    if old == "resident":
        raise NotAllowed(f"user {telegram_id} has no role to revoke (already a resident)")
    if old == "enumerator":
        enumerator = uow.enumerators.by_user(user.id)
        if enumerator is not None:
            enumerator.user_id = None  # the enumerator's schedule stays; a new officer can be invited to it
    user.role, user.scope_area_id = "resident", None
    if old == "rt_head":
        user.sls_id = None  # the RT was theirs as its head; as a resident they choose or are invited again
    uow.conversations.clear(telegram_id)
    uow.flush()
    return user, old


def revoke_invite(uow: UnitOfWork, secret: str, token: str, now: dt.datetime) -> tuple[Invite, bool]:
    """Withdraw an invite not used yet (InvalidInvite/ExpiredInvite for a token that is not one);
    the flag says whether it was newly withdrawn."""
    invite = read_invite(secret, token, now)
    return invite, uow.invites.revoke(int(invite.kind), invite.nonce, now)
