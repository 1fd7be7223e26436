"""Who may claim a family: a resident linked to a family only when the RT vouches for it.

A resident who came by their RT's invite and types the KK number and head's name of a family the RT
head listed (imported, or registered for it) is linked at once: the invite shows they belong to the RT,
the list that the family is real, and nobody has claimed it yet. Anything else (no invite, a family not
on the list, a KK someone already claimed, a name that does not match) becomes a *pending claim* that
the RT head of the family's RT approves or rejects from a message with buttons. A second member of a
family already claimed is a pending claim too: several members may be linked, each approved.

The resident hears the same thing whatever the KK: the answer never says whether a family has that
number (no oracle). KK numbers typed are rate-limited per user and per number (:func:`note_kk_attempt`);
only a keyed digest of the number is kept for that.

The RT head may remove a wrong link: the person is unlinked and the family's data stays.

Services flush, never commit.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from domain.errors import DuplicateKK, NotAllowed
from domain.model import Family, FamilyClaim, User
from domain.onboarding import fill_house
from domain.ports import UnitOfWork

PENDING, LINKED, REJECTED, REMOVED = "pending", "linked", "rejected", "removed"

# KK numbers a resident may type, and attempts on one number by anyone, per window: enough for typing
# slips and a family of several members, far too few to guess a 16-digit number.
ATTEMPT_WINDOW = dt.timedelta(hours=24)
ATTEMPTS_PER_USER = 5
ATTEMPTS_PER_KK = 5

APOSTROPHES = frozenset("'’ʼ`")

# Outbox kinds (handlers/notifications.py renders them).
CLAIM_NEW = "claim-new"  # to the RT heads: approve or reject
CLAIM_LINKED, CLAIM_REJECTED, CLAIM_REMOVED = "claim-linked", "claim-rejected", "claim-removed"  # to the resident


class ClaimDecided(NotAllowed):
    """The claim was decided already (by this RT head earlier, or another)."""


@dataclass(frozen=True)
class ClaimOutcome:
    """A claim made: ``family`` when the resident was linked at once, None while the claim waits."""

    claim: FamilyClaim
    family: Family | None

    @property
    def linked(self) -> bool:
        return self.family is not None


# --- rate limits ------------------------------------------------------------------------------------

def kk_digest(secret: str, kk_number: str) -> str:
    """A keyed digest of a KK number: equal numbers give equal digests; the number cannot be read back
    (a plain hash of 16 digits could be reversed by trying them all)."""
    return hmac.new(secret.encode(), b"pintu-kk:" + kk_number.encode(), hashlib.sha256).hexdigest()


def note_kk_attempt(uow: UnitOfWork, user: User, kk_number: str, secret: str, now: dt.datetime) -> bool:
    """Count one KK number typed by ``user``; False (nothing counted) once the user or the number has
    had its attempts in the window. Decided without looking at the families, so it tells nothing."""
    since = now - ATTEMPT_WINDOW
    digest = kk_digest(secret, kk_number)
    if uow.claims.attempts_by_user(user.id, since) >= ATTEMPTS_PER_USER:
        return False
    if uow.claims.attempts_on_kk(digest, since) >= ATTEMPTS_PER_KK:
        return False
    uow.claims.add_attempt(user.id, digest, now)
    return True


# --- claiming ---------------------------------------------------------------------------------------

def same_name(typed: str, listed: str) -> bool:
    """The head's name as the resident typed it matches the listed one: letters compared without case,
    accents, punctuation or spacing ("M. Yusuf" = "m yusuf")."""
    return _name_key(typed) == _name_key(listed) and bool(_name_key(typed))


def _name_key(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    # An apostrophe joins ("Nur'aini" = "Nuraini"); a dot, hyphen or space separates ("M.Yusuf" = "M Yusuf").
    letters = "".join(c if c.isalpha() else " " for c in decomposed
                      if not unicodedata.combining(c) and c not in APOSTROPHES)
    return " ".join(letters.split())


def claim_family(uow: UnitOfWork, user: User, sls_id: int, head_name: str, kk_number: str, members: int,
                 now: dt.datetime, *, via_invite: bool, address: str | None = None,
                 position: tuple[float, float] | None = None) -> ClaimOutcome:
    """The resident ``user`` says their family is (head_name, kk_number) in ``sls_id``: linked at once
    when it is a listed family nobody claimed and they came by invite; otherwise a pending claim, sent
    to the RT heads of the family's RT (of ``sls_id`` for a family nobody has). ``address`` and
    ``position`` (the house, as the resident gave it) fill what the family's listing lacks."""
    if user.role != "resident" or user.family_id is not None:
        raise NotAllowed("claim")
    waiting = uow.claims.pending_of_user(user.id)
    if waiting is not None:
        return ClaimOutcome(waiting, None)  # one question to the RT head at a time
    family = uow.families.by_kk(kk_number)
    if family is not None:
        # Locked: two people linking to one listed family at the same moment link one, the other waits.
        family = uow.questionnaires.lock_family(family.id)
    if via_invite and family is not None and _listed_and_free(uow, family, sls_id, head_name):
        claim = uow.claims.add(FamilyClaim(user_id=user.id, sls_id=family.sls_id, family_id=family.id,
                                           head_name=head_name, members=members, via_invite=True, status=LINKED,
                                           created_at=now, decided_at=now))
        _link(user, family)
        fill_house(family, address, position)
        return ClaimOutcome(claim, family)
    claim = uow.claims.add(FamilyClaim(
        user_id=user.id, sls_id=family.sls_id if family is not None else sls_id,
        family_id=family.id if family is not None else None,
        # The number is kept only while no family has it: it is the new family's on approval.
        kk_number=None if family is not None else kk_number,
        head_name=head_name, members=members, via_invite=via_invite, status=PENDING, created_at=now,
        address=address, latitude=position[0] if position else None, longitude=position[1] if position else None))
    user.sls_id = user.sls_id or sls_id
    for head in uow.users.rt_heads_of(claim.sls_id):
        uow.outbox.add(head.telegram_id, CLAIM_NEW, {"claim_id": claim.id}, now, now)
    uow.flush()
    return ClaimOutcome(claim, None)


def _listed_and_free(uow: UnitOfWork, family: Family, sls_id: int, head_name: str) -> bool:
    """A family the RT head listed (not one a resident's claim created), in the invite's RT, with the
    name typed, and nobody linked to it yet."""
    listed = family.registered_by_user_id is None or _registered_by_officer(uow, family.registered_by_user_id)
    return (listed and family.sls_id == sls_id and same_name(head_name, family.head_name)
            and not uow.users.residents_of_family(family.id))


def _registered_by_officer(uow: UnitOfWork, user_id: int) -> bool:
    registrar = uow.users.get(user_id)
    return registrar is not None and registrar.role in ("rt_head", "admin")


def _link(user: User, family: Family) -> None:
    user.family_id, user.sls_id = family.id, family.sls_id


# --- the RT head's decisions ----------------------------------------------------------------------------

def decide_claim(uow: UnitOfWork, rt_head: User, claim_id: int, approve: bool, now: dt.datetime) -> FamilyClaim:
    """Approve (link the resident; create the family when nobody has its KK yet) or reject a pending
    claim of the RT head's RT; the resident is told by message. ClaimDecided when decided already."""
    claim = uow.claims.lock(claim_id)
    if claim is None or rt_head.role != "rt_head" or rt_head.sls_id != claim.sls_id:
        raise NotAllowed("claim")
    if claim.status != PENDING:
        raise ClaimDecided(claim.status)
    resident = uow.users.get(claim.user_id)
    claim.decided_at, claim.decided_by_user_id = now, rt_head.id
    if not approve or resident is None or resident.family_id is not None:
        claim.status, claim.kk_number = REJECTED, None  # the number typed is not kept once refused
    else:
        family = _family_of(uow, claim, now)
        claim.family_id, claim.kk_number, claim.status = family.id, None, LINKED
        _link(resident, family)
        position = (claim.latitude, claim.longitude) if claim.latitude is not None and claim.longitude is not None else None
        fill_house(family, claim.address, position)
    if resident is not None:
        kind = CLAIM_LINKED if claim.status == LINKED else CLAIM_REJECTED
        uow.outbox.add(resident.telegram_id, kind, {"claim_id": claim.id}, now, now)
    uow.flush()
    return claim


def _family_of(uow: UnitOfWork, claim: FamilyClaim, now: dt.datetime) -> Family:
    """The claimed family: the one named, the one that has the KK meanwhile, or a new one."""
    if claim.family_id is not None:
        return uow.families.get(claim.family_id)
    existing = uow.families.by_kk(claim.kk_number) if claim.kk_number else None
    if existing is not None:
        return existing
    try:
        return uow.families.register(Family(
            sls_id=claim.sls_id, head_name=claim.head_name, kk_number=claim.kk_number, members=claim.members,
            registered_by_user_id=claim.user_id, created_at=now))
    except DuplicateKK:  # registered by someone else this very moment
        return uow.families.by_kk(claim.kk_number)


def remove_link(uow: UnitOfWork, rt_head: User, family_id: int, user_id: int, now: dt.datetime) -> User:
    """The RT head unlinks a person from a family of their RT (a wrong claim); the family keeps its data
    (visits, questionnaire, details) and the person is told."""
    family = uow.families.get(family_id)
    person = uow.users.get(user_id)
    if (family is None or person is None or person.family_id != family.id or rt_head.role != "rt_head"
            or rt_head.sls_id != family.sls_id):
        raise NotAllowed("remove claim")
    person.family_id = None
    claim = uow.claims.linked_of(family.id, person.id)
    if claim is not None:
        claim.status, claim.decided_at, claim.decided_by_user_id = REMOVED, now, rt_head.id
    uow.outbox.add(person.telegram_id, CLAIM_REMOVED, {"family_id": family.id}, now, now)
    uow.flush()
    return person


def pending_claims(uow: UnitOfWork, rt_head: User) -> list[FamilyClaim]:
    """The claims waiting for this RT head."""
    if rt_head.role != "rt_head" or rt_head.sls_id is None:
        return []
    return list(uow.claims.pending_in_sls(rt_head.sls_id))
